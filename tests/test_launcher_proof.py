"""Proof on the real launcher files (issue 9 §3): what the doctor plans is what the real files accept and deliver.

- every planned COMMANDLINE_ARGS over a GPU matrix (the stand-in NVML) x SDXL checkpoint or not x --oom, for every
  corpus folder, is accepted by that folder's own parser (tests/launchers.parse_with_real_parser);
- after ``--fix``, the real webui.sh (bash) and the real webui.bat (Wine cmd, through webui-user.bat) hand the probe
  exactly the planned tokens, the Python the doctor judged and the planned venv choice; a second ``--fix`` changes
  nothing;
- a one-click package around Forge and v1.8, the doctor running as a Windows program: no python/path/venv error,
  webui.settings.bat written, run.bat -> environment.bat -> launcher hands the probe the plan.

The verdict table of the matrix is written to $SD_PROOF_TABLE when set (for the closing note of issue 9).
"""

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

import launchers
from conftest import CORPUS_NAMES, cli_env, corpus_path, run_json
from nvml_stub.build import GB, CompilerMissing, build, write_config
from test_safetensors import SD1_NAMES, SDXL_NAMES, write_safetensors

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="bash, Wine and the NVML stand-in")
MIB = 1024 ** 2


def card(name, gib, cc="8.6", **kw):
    return dict({"name": name, "total": int(gib * GB), "free": int(gib * GB * 0.9), "reserved": 300 * MIB,
                 "cc": cc}, **kw)


# (row name, devices or None, extra NVML config, --resolution)
GPU_MATRIX = [
    ("none", None, {}, 512),
    ("gtx1650-4gb", [card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], {}, 512),
    ("rtx3050-4gb-512", [card("NVIDIA GeForce RTX 3050 Laptop GPU", 4)], {}, 512),
    ("rtx3050-4gb-1024", [card("NVIDIA GeForce RTX 3050 Laptop GPU", 4)], {}, 1024),
    ("6gb", [card("NVIDIA GeForce RTX 2060", 6, cc="7.5")], {}, 512),
    ("8gb", [card("NVIDIA GeForce RTX 3070", 8)], {}, 512),
    ("12gb", [card("NVIDIA GeForce RTX 3060", 12)], {}, 512),
    ("24gb", [card("NVIDIA GeForce RTX 4090", 24, cc="8.9")], {}, 512),
    ("rtx50", [card("NVIDIA GeForce RTX 5070", 12, cc="12.0")], {"driver": "572.16", "cuda": 12080}, 512),
    ("two-gpus", [card("NVIDIA GeForce GTX 1650", 4, cc="7.5", uuid="GPU-1111aaaa"),
                  card("NVIDIA GeForce RTX 4090", 24, cc="8.9", uuid="GPU-2222bbbb")], {}, 512),
]
FAILING_SMI = "#!/bin/sh\necho 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n"


@pytest.fixture(scope="module")
def nvml_lib(tmp_path_factory):
    try:
        return build(str(tmp_path_factory.mktemp("nvml-proof")), "default")
    except CompilerMissing as exc:
        pytest.skip("cannot build the NVML stand-in: %s" % exc)


def gpu_env(folder, devices, config, lib, path_front=(), extra=None):
    """The doctor's environment for one GPU row: the stand-in NVML (or no library), a failing nvidia-smi first."""
    tools = os.path.join(folder, "tools")
    os.makedirs(tools, exist_ok=True)
    smi = os.path.join(tools, "nvidia-smi")
    with open(smi, "w") as fh:
        fh.write(FAILING_SMI)
    os.chmod(smi, 0o755)
    env = {"LD_LIBRARY_PATH": os.path.join(folder, "nolib")}
    os.makedirs(env["LD_LIBRARY_PATH"], exist_ok=True)
    if devices is not None:
        env["LD_LIBRARY_PATH"] = lib
        env["NVML_STUB_CONFIG"] = write_config(os.path.join(folder, "nvml.cfg"), devices, **config)
    env.update(extra or {})
    rest = [p for p in os.environ.get("PATH", "").split(os.pathsep) if p] if not path_front else ["/usr/bin", "/bin"]
    return cli_env(env, path=os.pathsep.join([tools] + list(path_front) + rest))


def planned_tokens(doc):
    settings = doc.get("settings") or {}
    return list(settings.get("commandline_args") or [])


# -- 1. the real parsers accept every plan over the matrix ----------------------------------------------------------
@pytest.mark.slow
def test_every_planned_commandline_is_accepted_by_the_folders_own_parser(tmp_path, nvml_lib):
    names = [n for n in CORPUS_NAMES if os.path.isdir(os.path.join(launchers_corpus(), n))]
    if not names:
        corpus_path(CORPUS_NAMES[0])  # skips with the one-line reason
    jobs = []
    for name in names:
        for sdxl in (False, True):
            checkout = launchers.make_checkout(name, str(tmp_path / ("%s-%s" % (name, "xl" if sdxl else "15"))),
                                               probe=False)
            write_safetensors(os.path.join(checkout, "models", "Stable-diffusion", "model.safetensors"),
                              SDXL_NAMES if sdxl else SD1_NAMES)
            for row, devices, config, res in GPU_MATRIX:
                for oom in (False, True):
                    jobs.append((name, checkout, row, devices, config, res, sdxl, oom))

    def one(job):
        name, checkout, row, devices, config, res, sdxl, oom = job
        folder = os.path.join(str(tmp_path), "env", "%s-%s-%d-%d" % (name, row, sdxl, oom))
        env = gpu_env(folder, devices, config, nvml_lib)
        args = [checkout, "--offline", "--timeout", "2", "--resolution", str(res)] + (["--oom"] if oom else [])
        proc, doc, checks = run_json(args, env=env)
        assert "Traceback" not in proc.stderr, proc.stderr
        return planned_tokens(doc)

    with ThreadPoolExecutor(max_workers=4) as pool:
        plans = list(pool.map(one, jobs))
    table, rejected = {}, []
    for name in names:
        mine = [(job, plan) for job, plan in zip(jobs, plans) if job[0] == name]
        verdict = launchers.parse_with_real_parser(corpus_path(name), [plan for _, plan in mine])
        for (job, plan), result in zip(mine, verdict["results"]):
            key = "%s%s%s" % (job[2], "+sdxl" if job[6] else "", "+oom" if job[7] else "")
            table.setdefault(name, {})[key] = {"plan": plan, "accepted": result is None, "error": result}
            if result is not None:
                rejected.append((name, key, plan, result))
    if os.environ.get("SD_PROOF_TABLE"):
        with open(os.environ["SD_PROOF_TABLE"], "w") as fh:
            json.dump(table, fh, indent=1)
    assert not rejected, "\n".join("%s %s: %s -> %s" % r for r in rejected)


def launchers_corpus():
    from conftest import CORPUS

    return CORPUS


# -- 2. webui.sh under bash after --fix --------------------------------------------------------------------------
SH_FOLDERS = [n for n in CORPUS_NAMES if n != "a1111-2022-09-08"]  # the Sept 2022 folder has no webui.sh


def _base_of(python, env):
    out = subprocess.run([python, "-c", "import sys; print(sys.base_prefix)"], env=env, capture_output=True,
                         text=True, timeout=30)
    return out.stdout.strip()


@pytest.mark.slow
@pytest.mark.parametrize("name", SH_FOLDERS)
def test_fix_then_real_webui_sh_hands_the_probe_the_plan(name, nvml_lib):
    corpus_path(name)
    top = launchers.world_temp()
    try:
        checkout = launchers.make_checkout(name, os.path.join(top, "web ui"))
        as_nobody = os.geteuid() == 0 and not launchers.supports_run_as_root(checkout)
        python = None if as_nobody else launchers.real_python("3.10")  # nobody cannot enter /root's pyenv
        bin_dir = launchers.launcher_bin(os.path.join(top, "bin"), {"python3.10": python} if python else {})
        home = os.path.join(top, "home")
        os.makedirs(home)
        env = gpu_env(os.path.join(top, "gpu"), [card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], {}, nvml_lib,
                      path_front=[bin_dir], extra={"HOME": home, "PYENV_ROOT": os.path.join(home, ".pyenv")})
        proc, doc, checks = run_json([checkout, "--offline", "--verbose", "--timeout", "2", "--fix"], env=env)
        settings = doc.get("settings") or {}
        variables = settings.get("variables") or {}
        sh_env = launchers.sh_environ(bin_dir, home)
        result, probe = launchers.run_webui_sh(checkout, sh_env, as_nobody=as_nobody)

        assert probe["split"] == planned_tokens(doc), (probe, settings)
        # the planned Python: python_cmd where the plan writes one, else what the doctor judged webui.sh will run
        resolved = variables.get("python_cmd") or (checks["python"].get("facts") or {}).get("resolved")
        assert resolved, checks["python"]
        assert probe["base_prefix"] == _base_of(resolved, sh_env), (probe, resolved, variables)
        if variables.get("venv_dir") == "-":
            assert not probe["in_venv"], probe
        else:
            want = os.path.join(checkout, variables.get("venv_dir") or "venv")
            assert probe["in_venv"] and probe["prefix"] == want, (probe, variables)

        with open(settings["file"], "rb") as fh:
            before = fh.read()
        proc2, doc2, checks2 = run_json([checkout, "--offline", "--verbose", "--timeout", "2", "--fix"], env=env)
        assert (doc2.get("settings") or {}).get("changed") is False, doc2.get("settings")
        # after the fix the python check judges the interpreter that really ran launch.py
        judged = checks2["python"]["facts"]["resolved"]
        assert judged and _base_of(judged, sh_env) == probe["base_prefix"], (checks2["python"], probe)
        with open(settings["file"], "rb") as fh:
            assert fh.read() == before
    finally:
        subprocess.run(["rm", "-rf", top])


# -- 3. webui.bat under Wine cmd, through webui-user.bat, after --fix (the doctor as a Windows program) --------------
BAT_FOLDERS = [n for n in CORPUS_NAMES if n != "a1111-2022-09-08"]  # Sept 2022: no webui-user.bat, no launch.py
WINE_TIMEOUT = "15"


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    if not launchers.wine_available():
        pytest.skip("Wine is not installed: the cmd read-back did not run")
    from wine import bed as winebed

    try:
        prefix = launchers.make_prefix(str(tmp_path_factory.mktemp("wine-proof")))
    except (winebed.BedError, subprocess.TimeoutExpired, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail("could not build the Windows bed: %s" % exc)
        pytest.skip("could not build the Windows bed: %s" % exc)
    try:
        launcher = launchers.WineLauncher(prefix)
        launcher.user_python = launcher.install_user_python()
        yield launcher
    finally:
        prefix.destroy()


def wine_doctor(wine, webui_unix, *args):
    result = wine.prefix.doctor([wine.prefix.win(webui_unix), "--json", "--verbose", "--offline", "--timeout",
                                 WINE_TIMEOUT] + list(args))
    assert "Traceback" not in result.stderr + result.stdout, result
    assert result.returncode in (0, 1), result
    doc = json.loads(result.stdout)
    return doc, dict((c["id"], c) for c in doc["checks"])


def _unquote(value):
    return (value or "").strip().strip('"')


@pytest.mark.slow
@pytest.mark.parametrize("name", BAT_FOLDERS)
def test_fix_then_real_webui_bat_by_cmd_hands_the_probe_the_plan(wine, name):
    corpus_path(name)
    checkout = launchers.make_checkout(name, wine.prefix.unix("C:\\sd\\proof ü\\" + name), user_bat_eol="\r\n")
    doc, checks = wine_doctor(wine, checkout, "--fix")
    settings = doc.get("settings") or {}
    variables = settings.get("variables") or {}
    assert settings.get("applied") is True, settings
    python = _unquote(variables.get("PYTHON")) or (checks["python"].get("facts") or {}).get("resolved")
    assert python and python.lower() == wine.user_python.lower(), (variables, checks["python"])
    skip = variables.get("VENV_DIR") == "-" or variables.get("SKIP_VENV") == "1"
    venv_win = _unquote(variables.get("VENV_DIR")) or "venv"
    if ":" not in venv_win:  # a relative VENV_DIR: webui.bat runs %~dp0%VENV_DIR%\Scripts\Python.exe
        venv_win = wine.prefix.win(checkout).rstrip("\\") + "\\" + venv_win
    if not skip:  # what the launcher's `-m venv` would make (the embeddable build cannot): see precreate_venv
        wine.precreate_venv(wine.prefix.unix(venv_win), python)
    result, probe = wine.run_webui_user_bat(checkout)

    assert probe["split"] == planned_tokens(doc), (probe, settings)
    if skip:
        assert probe["executable"].lower() == python.lower(), probe
    else:
        assert probe["executable"].lower() == (venv_win + "\\Scripts\\python.exe").lower(), (probe, result)

    written = wine.prefix.unix(settings["file"])
    with open(written, "rb") as fh:
        before = fh.read()
    doc2, _ = wine_doctor(wine, checkout, "--fix")
    assert (doc2.get("settings") or {}).get("changed") is False, doc2.get("settings")
    with open(written, "rb") as fh:
        assert fh.read() == before


# -- 4. the one-click package under the Windows tier --------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("name", ["forge-2025-06-26", "a1111-2024-02-26-v1.8"])
def test_one_click_package_is_judged_as_run_bat_starts_it(wine, name):
    corpus_path(name)
    root = wine.prefix.unix("C:\\pkg\\" + name)
    webui = launchers.make_one_click(name, root, os.path.join(wine.prefix.bed, "python"))
    doc, checks = wine_doctor(wine, webui, "--fix")
    for check_id in ("python", "path", "venv"):
        assert checks[check_id]["status"] != "error", checks[check_id]
    settings = doc.get("settings") or {}
    assert (settings.get("file") or "").lower().endswith("\\webui\\webui.settings.bat"), settings
    assert settings.get("applied") is True and os.path.isfile(os.path.join(webui, "webui.settings.bat")), settings

    result, probe = wine.run_bat("run.bat", root)
    assert probe["split"] == planned_tokens(doc), (probe, settings)
    # environment.bat's SKIP_VENV=1: the package's own Python runs launch.py
    assert probe["executable"].lower() == (wine.prefix.win(root) + "\\system\\python\\python.exe").lower(), probe
    assert probe["env"].get("SKIP_VENV") == "1", probe
