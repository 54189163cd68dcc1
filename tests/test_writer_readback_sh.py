"""Issue 13 case 8, measured with the REAL webui.sh: webui-user.sh files people really have (built from the corpus
webui-user.sh of v1.7, v1.8 and Forge, whose webui.sh has the v1.10 python rule), ``sd-doctor --fix``, then bash runs
that folder's own webui.sh with the probe in place of launch.py. The probe must receive exactly the planned
COMMANDLINE_ARGS tokens (and the planned python_cmd and STABLE_DIFFUSION_REPO); a second ``--fix`` changes nothing.
Where a line cannot be merged exactly, the doctor says so instead of rewriting it.
"""

import os
import shutil
import sys

import pytest

import launchers
from conftest import cli_env, corpus_path, run_json
from nvml_stub.build import GB, CompilerMissing, build, write_config

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux") or not shutil.which("bash"),
                                reason="the real webui.sh needs bash on Linux")

V17, V18, FORGE = "a1111-2023-10-14-v1.7", "a1111-2024-02-26-v1.8", "forge-2025-06-26"
GTX1650 = [{"name": "NVIDIA GeForce GTX 1650", "total": 4 * GB, "cc": "7.5"}]


@pytest.fixture(scope="module")
def nvml_lib(tmp_path_factory):
    try:
        return build(str(tmp_path_factory.mktemp("nvml-sh")), "default")
    except CompilerMissing as exc:
        pytest.skip("cannot build the NVML stand-in: %s" % exc)


class World(object):
    """One corpus checkout with the probe, a launcher PATH holding a real python3.10, the doctor's environment (a
    4 GB card through the stand-in NVML) and webui.sh's environment."""

    def __init__(self, top, name, lib):
        corpus_path(name)  # skips with the one-line reason where the corpus is absent
        self.checkout = launchers.make_checkout(name, os.path.join(top, "web ui"))
        self.user_sh = os.path.join(self.checkout, "webui-user.sh")
        with open(self.user_sh, "rb") as fh:
            self.corpus = fh.read()  # the corpus webui-user.sh, the base of every file built here
        python = launchers.real_python("3.10")
        if python is None:
            pytest.skip("no real Python 3.10 on this machine for webui.sh")
        self.bin_dir = launchers.launcher_bin(os.path.join(top, "bin"), {"python3.10": python})
        self.home = os.path.join(top, "home")
        os.makedirs(self.home)
        cfg = write_config(os.path.join(top, "nvml.cfg"), GTX1650)
        self.env = cli_env({"LD_LIBRARY_PATH": lib, "NVML_STUB_CONFIG": cfg, "HOME": self.home},
                           path=os.pathsep.join([self.bin_dir, "/usr/bin", "/bin"]))
        self.sh_env = launchers.sh_environ(self.bin_dir, self.home)

    def corpus_user_sh(self):
        return self.corpus

    def write(self, data):
        with open(self.user_sh, "wb") as fh:
            fh.write(data)

    def read(self):
        with open(self.user_sh, "rb") as fh:
            return fh.read()

    def doctor(self, *args):
        proc, doc, checks = run_json([self.checkout, "--offline", "--timeout", "2"] + list(args), env=self.env)
        assert "Traceback" not in proc.stderr, proc.stderr
        return doc["settings"], checks

    def launch(self):
        return launchers.run_webui_sh(self.checkout, self.sh_env)

    def which(self, name):
        return shutil.which(name, path=self.sh_env["PATH"])


@pytest.fixture
def world(tmp_path, nvml_lib):
    return lambda name: World(str(tmp_path), name, nvml_lib)


def uncomment(data, *pairs):
    """The corpus webui-user.sh with some of its commented template lines made live (``(old, new)`` bytes)."""
    for old, new in pairs:
        assert old in data, old
        data = data.replace(old, new, 1)
    return data


def warnings_of(settings):
    return "\n".join(settings["warnings"])


def base_of(python, env):
    import subprocess

    out = subprocess.run([python, "-c", "import sys; print(sys.base_prefix)"], env=env, capture_output=True,
                         text=True, timeout=30)
    return out.stdout.strip()


def assert_probe_gets_the_plan(w, settings, python_name):
    """The real webui.sh hands the probe exactly the plan: its tokens, its STABLE_DIFFUSION_REPO, the python
    (``python_cmd`` where the plan writes one, else ``python_name`` as the file names it) in the venv."""
    result, probe = w.launch()
    assert probe["split"] == settings["commandline_args"], (probe, settings, result)
    variables = settings["variables"]
    if "STABLE_DIFFUSION_REPO" in variables:
        assert probe["env"].get("STABLE_DIFFUSION_REPO") == variables["STABLE_DIFFUSION_REPO"], probe
    python = variables.get("python_cmd") or python_name
    python = python if os.path.isabs(python) else w.which(python)
    assert probe["in_venv"] and probe["prefix"] == os.path.join(w.checkout, "venv"), probe
    assert probe["base_prefix"] == base_of(python, w.sh_env), (probe, python)
    return probe


def assert_second_fix_changes_nothing(w, *args):
    before = w.read()
    listing = sorted(os.listdir(w.checkout))
    settings, _ = w.doctor("--fix", *args)
    assert settings["changed"] is False, settings["diff"]
    assert w.read() == before
    assert sorted(os.listdir(w.checkout)) == listing


def backup_bytes(settings):
    assert settings["backup"] and os.path.isfile(settings["backup"]), settings
    with open(settings["backup"], "rb") as fh:
        return fh.read()


# -- a CRLF webui-user.sh --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [V17, V18, FORGE])
def test_crlf_user_sh_is_said_written_as_lf_and_read_back_exactly(world, name):
    w = world(name)
    data = uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', b'export COMMANDLINE_ARGS="--xformers"'),
                     (b'#python_cmd="python3"', b'python_cmd="python3.10"')).replace(b"\n", b"\r\n")
    w.write(data)
    if name == V17:
        # the premise: v1.7's webui.sh looks for a program named "python3.10\r" and aborts
        with pytest.raises(launchers.LaunchFailed, match=r"ERROR: python3\.10\r is not installed"):
            w.launch()
    settings, _ = w.doctor("--fix")
    assert "bash reads the CR as part of each value" in warnings_of(settings), settings["warnings"]
    assert settings["applied"] and "(CRLF -> LF)" in settings["diff"]
    assert backup_bytes(settings) == data  # the backup keeps the original, CRs and all
    written = w.read()
    assert b"\r" not in written and b"--xformers" in written
    assert_probe_gets_the_plan(w, settings, "python3.10")
    assert_second_fix_changes_nothing(w)


# -- a UTF-8 BOM before the first line -------------------------------------------------------------------------------
@pytest.mark.parametrize("name", [V17, FORGE])
def test_bom_before_export_commandline_args_is_said_dropped_and_read_back_exactly(world, name):
    w = world(name)
    data = b"\xef\xbb\xbfexport COMMANDLINE_ARGS=\"--xformers\"\n" + uncomment(
        w.corpus_user_sh(), (b'#python_cmd="python3"', b'python_cmd="python3.10"'))
    w.write(data)
    result, probe = w.launch()
    # the premise: bash runs "\ufeffexport" as a command name; the line never sets COMMANDLINE_ARGS
    assert probe["commandline_args"] is None and "command not found" in result.stderr, (probe, result)
    settings, _ = w.doctor("--fix")
    assert "byte-order mark: bash takes it as part of the first command" in warnings_of(settings), settings
    assert "(byte-order mark removed)" in settings["diff"]
    assert backup_bytes(settings) == data
    assert not w.read().startswith(b"\xef\xbb\xbf")
    assert_probe_gets_the_plan(w, settings, "python3.10")
    assert_second_fix_changes_nothing(w)


# -- COMMANDLINE_ARGS without export; COMMANDLINE_ARGS+= -------------------------------------------------------------
PY310 = (b'#python_cmd="python3"', b'python_cmd="python3.10"')


@pytest.mark.parametrize("name", [V17, FORGE])
def test_commandline_args_without_export_never_reaches_launch_py_and_fix_exports_it(world, name):
    w = world(name)
    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', b'COMMANDLINE_ARGS="--xformers"'), PY310))
    result, probe = w.launch()
    # the premise: webui.sh sources the file, so COMMANDLINE_ARGS is set in its shell, but it never exports it:
    # launch.py, a child process, does not get it
    assert probe["commandline_args"] is None, probe
    settings, _ = w.doctor("--fix")
    assert ("COMMANDLINE_ARGS is set in webui-user.sh without export (COMMANDLINE_ARGS=--xformers): webui.sh sources "
            "the file but never exports COMMANDLINE_ARGS, so launch.py does not get it") in warnings_of(settings)
    if name == V17:  # memory flags are planned: the line is rewritten, with export
        assert settings["applied"] and b"\nexport COMMANDLINE_ARGS=" in w.read(), settings
    else:  # Forge plans none: the file stays as it is, and launch.py keeps getting nothing, as planned
        assert settings["changed"] is False and settings["commandline_args"] == [], settings
    assert_probe_gets_the_plan(w, settings, "python3.10")
    assert_second_fix_changes_nothing(w)


@pytest.mark.parametrize("variable, value", [("HSA_OVERRIDE_GFX_VERSION", "10.3.0"), ("PIP_INDEX_URL",
                                                                                    "http://127.0.0.1:9/simple")])
def test_a_child_process_variable_without_export_is_named_and_with_export_arrives(world, variable, value):
    """The ROCm runtime and pip read these from their environment: set without export in webui-user.sh, bash keeps
    them in webui.sh's shell and launch.py never has them, which the doctor says; exported they arrive."""
    w = world(V17)
    line = ("%s=%s" % (variable, value)).encode()
    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', line), PY310))
    result, probe = w.launch()
    assert variable not in probe["env"], probe["env"]
    settings, _ = w.doctor()
    assert "%s is set in webui-user.sh without export" % variable in warnings_of(settings), settings

    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', b"export " + line), PY310))
    result, probe = w.launch()
    assert probe["env"].get(variable) == value, probe["env"]
    settings, _ = w.doctor()
    assert "without export" not in warnings_of(settings), settings


@pytest.mark.parametrize("name", [V17, V18])
def test_appended_medvram_is_seen_so_oom_climbs_from_it(world, name):
    w = world(name)

    def user_sh(line):
        return uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', line), PY310)

    w.write(user_sh(b'export COMMANDLINE_ARGS="--xformers --medvram"'))
    one_line, _ = w.doctor("--oom")
    w.write(user_sh(b'export COMMANDLINE_ARGS="--xformers"'))
    without, _ = w.doctor("--oom")
    assert without["commandline_args"] != one_line["commandline_args"]  # the --medvram the user has decides the rung
    appended = user_sh(b'export COMMANDLINE_ARGS="--xformers"\nCOMMANDLINE_ARGS+=" --medvram"')
    w.write(appended)
    result, probe = w.launch()
    assert probe["split"] == ["--xformers", "--medvram"], probe  # the premise: bash appends
    settings, _ = w.doctor("--oom")
    assert settings["commandline_args"] == one_line["commandline_args"]  # --oom climbs from the appended --medvram
    assert settings["commandline_args"].count("--medvram") <= 1
    # --fix (without --oom, which says "still out of memory" and so climbs on every run) reads back exactly
    settings, _ = w.doctor("--fix")
    assert_probe_gets_the_plan(w, settings, "python3.10")
    assert_second_fix_changes_nothing(w)


# -- a line continued with \, trailing comments; a line that does more than the assignment ---------------------------
CONTINUED = b'export COMMANDLINE_ARGS="--xformers \\\n    --api"   # my flags, see the wiki\n'


@pytest.mark.parametrize("name", [V17, V18])
def test_continued_commandline_args_is_merged_whole_and_keeps_its_comment(world, name):
    w = world(name)
    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""\n', CONTINUED), PY310))
    result, probe = w.launch()
    assert probe["split"] == ["--xformers", "--api"], probe  # the premise: bash joins the two lines
    settings, _ = w.doctor("--fix")
    assert settings["applied"] and "--medvram" in settings["commandline_args"], settings
    assert settings["commandline_args"][:2] == ["--xformers", "--api"]  # the user's flags, from both lines
    lines = w.read().decode().split("\n")
    args_lines = [l for l in lines if "COMMANDLINE_ARGS=" in l and not l.startswith("#")]
    assert len(args_lines) == 1 and args_lines[0].endswith("'   # my flags, see the wiki"), lines
    assert not any(l.strip().startswith('--api"') for l in lines), lines  # no orphaned continuation line
    assert_probe_gets_the_plan(w, settings, "python3.10")
    assert_second_fix_changes_nothing(w)


def test_rewritten_python_cmd_keeps_its_comment_and_an_untouched_continuation_still_reads(world):
    w = world(FORGE)  # Forge plans no memory flags: the continued line stays as the user wrote it
    gone = b'python_cmd="/opt/python310/bin/python3"  # my own build\n'
    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""\n', CONTINUED), (b'#python_cmd="python3"\n', gone)))
    settings, _ = w.doctor("--fix")
    python = settings["variables"].get("python_cmd")
    assert python and os.path.isabs(python) and python != "/opt/python310/bin/python3", settings
    data = w.read()
    assert CONTINUED in data
    assert ("python_cmd=%s  # my own build\n" % python).encode() in data, data
    assert_probe_gets_the_plan(w, settings, python)
    assert_second_fix_changes_nothing(w)


def test_a_line_that_also_runs_a_command_gets_a_finding_instead_of_a_rewrite(world):
    w = world(V18)
    line = b'export COMMANDLINE_ARGS="--xformers"; echo sd-doctor-user-command'
    w.write(uncomment(w.corpus_user_sh(), (b'#export COMMANDLINE_ARGS=""', line), PY310))
    settings, _ = w.doctor("--fix")
    text = warnings_of(settings)
    assert "COMMANDLINE_ARGS is not written: line 13 of webui-user.sh" in text and "it also runs a command" in text, text
    assert line + b"\n" in w.read()  # the user's line, byte for byte
    result, probe = w.launch()
    assert probe["split"] == ["--xformers"] and "sd-doctor-user-command" in result.stdout, (probe, result)
    assert_second_fix_changes_nothing(w)


# -- the reader itself against bash ----------------------------------------------------------------------------------
READER_CASES = [
    b'export COMMANDLINE_ARGS="--a" # note \\\nexport GIT=git2\n',  # a backslash in a comment joins nothing
    b'export COMMANDLINE_ARGS="--a \\\n  --b"  # c\n',  # joined inside double quotes, the newline gone
    b"export COMMANDLINE_ARGS='--a \\\n--b'\n",  # inside single quotes backslash and newline stay
    b'export COMMANDLINE_ARGS="--a\n--b"\nexport GIT=g\n',  # an open quote continues on the next line
    b'export COMMANDLINE_ARGS=--a\r\npython_cmd=python3\r\n',  # CRLF: the CR is the value's last character
    b'export COMMANDLINE_ARGS="--a"\nCOMMANDLINE_ARGS+=" --medvram"\n',
    b'COMMANDLINE_ARGS="--never-exported"\nexport GIT=g\n',
    b'export GIT=g \\\n\nexport COMMANDLINE_ARGS=--x\n',  # a backslash before an empty line
]


@pytest.mark.parametrize("data", READER_CASES)
def test_the_reader_gets_what_bash_gets(tmp_path, data):
    import subprocess

    from sd_doctor.launcher.settings import parse_sh

    path = tmp_path / "webui-user.sh"
    path.write_bytes(data)
    names = ["COMMANDLINE_ARGS", "GIT", "python_cmd"]
    script = 'source "$1" >/dev/null 2>&1; printf "%s\\0" "$python_cmd"; env -0'
    out = subprocess.run(["bash", "-c", script, "t", str(path)], env={"PATH": "/usr/bin:/bin"}, cwd=str(tmp_path),
                         capture_output=True, timeout=30).stdout.split(b"\0")
    bash = dict(e.decode().split("=", 1) for e in out[1:] if b"=" in e)
    bash["python_cmd"] = out[0].decode()
    variables, exported = {"PATH": "/usr/bin:/bin"}, {"PATH"}
    parse_sh(data.decode(), variables, exported)
    mine = dict((n, variables[n]) for n in names if n in variables and (n in exported or n == "python_cmd"))
    assert mine == dict((n, bash[n]) for n in names if bash.get(n)), data
