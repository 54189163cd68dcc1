"""Proof harness: the REAL launcher files of ../shared/webui-launchers, run for real, report what reached the web UI.

Long because it is one harness for three launch paths that share the probe and the checkout (bash + webui.sh,
Wine cmd + webui-user.bat + webui.bat, the one-click package's run.bat chain) and the real argument parsers.

- ``make_checkout(name, dest)``: a copy of one corpus folder (conftest.copy_corpus) made a git checkout (webui.sh
  takes "a .git folder here" as "already cloned, use this folder"; without one it would clone the web UI again),
  with ``launch.py`` (``webui.py`` for 2022-09-08, whose webui.bat runs that) replaced by PROBE_SOURCE.
- ``run_webui_sh(checkout, ...)``: the real webui.sh under bash, a controlled PATH with a real Linux Python; returns
  (Completed, probe dict). It creates its venv with ``python -m venv``, as it does for users.
- ``wine_prefix(folder)`` / ``WineLauncher``: a Wine prefix with the Windows tier's bed (tests/wine/bed.py) plus a
  "registered" Windows CPython the launcher can run; ``run_webui_user_bat`` double-clicks webui-user.bat.
- ``make_one_click(name, root)``: the one-click package layout around a corpus folder (run.bat, environment.bat,
  system\\python, system\\git, webui\\).
- ``parse_with_real_parser(folder, token_lists)``: each list of COMMANDLINE_ARGS tokens fed to that folder's own
  argparse parser (modules/cmd_args.py, or the argument block of modules/shared.py before March 2023) in a
  subprocess; flags launch.py's ``extract_arg`` takes out of argv first count as declared.

The corpus files are test data read at test time, never copied into the project (GUIDE.md).
"""

import ast
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time

from conftest import ROOT, copy_corpus

PROBE_NAME = "sd-probe.json"

# What the launcher hands the web UI, written next to the probe itself (so no path needs translating between Linux
# and Wine). It runs on any Python 3 the launcher picks; it never imports anything beyond the standard library.
PROBE_SOURCE = r'''# sd-doctor test probe: stands in for launch.py; records what the launcher handed the web UI, then exits 0.
import json, os, shlex, sys
raw = os.environ.get("COMMANDLINE_ARGS")
try:
    split = shlex.split(raw or "")
except ValueError as exc:
    split = {"error": str(exc)}
names = ("VENV_DIR", "venv_dir", "SKIP_VENV", "PYTHON", "python_cmd", "VIRTUAL_ENV", "PIP_INSTALLER_LOCATION",
         "GIT", "PATH", "TORCH_COMMAND", "STABLE_DIFFUSION_REPO", "CUDA_VISIBLE_DEVICES", "HSA_OVERRIDE_GFX_VERSION",
         "PIP_INDEX_URL")
env = {}
for key, value in os.environ.items():
    for name in names:
        if key.upper() == name.upper() and (key == name or os.name == "nt"):
            env[name] = value
out = {"executable": sys.executable, "prefix": sys.prefix, "base_prefix": getattr(sys, "base_prefix", sys.prefix),
       "version": list(sys.version_info[:3]), "commandline_args": raw, "split": split, "argv": sys.argv,
       "env": env, "cwd": os.getcwd(), "os": os.name}
out["in_venv"] = out["prefix"] != out["base_prefix"]
with open(os.path.join(os.path.dirname(os.path.abspath(__file__)), "sd-probe.json"), "w") as fh:
    json.dump(out, fh)
print("SD-PROBE reached")
'''


class LaunchFailed(AssertionError):
    """The launcher ran but never reached the probe (its output says why)."""


class Completed(object):
    def __init__(self, argv, returncode, stdout, stderr, elapsed):
        self.argv, self.returncode, self.stdout, self.stderr, self.elapsed = argv, returncode, stdout, stderr, elapsed

    def __repr__(self):
        return "Completed(%r, rc=%r, %.1fs)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.argv, self.returncode, self.elapsed, self.stdout[-4000:], self.stderr[-4000:])


# -- checkouts -----------------------------------------------------------------------------------------------------
def probe_target(checkout):
    """The file the launcher runs: launch.py, or webui.py where webui.bat runs that (2022-09-08 has no launch.py)."""
    if os.path.isfile(os.path.join(checkout, "launch.py")) or not os.path.isfile(os.path.join(checkout, "webui.bat")):
        return "launch.py"
    with open(os.path.join(checkout, "webui.bat"), encoding="utf-8", errors="replace") as fh:
        return "webui.py" if "webui.py" in fh.read() else "launch.py"


def write_probe(checkout, name=None):
    """Replace the launch script by the probe; returns its path. The real launch.py stays as launch.py.real
    (the doctor reads the launcher's repositories and torch command from launch.py in 2022-11-10)."""
    name = name or probe_target(checkout)
    path = os.path.join(checkout, name)
    if os.path.isfile(path) and not os.path.exists(path + ".real"):
        shutil.copy2(path, path + ".real")
    with open(path, "w", newline="\n") as fh:
        fh.write(PROBE_SOURCE)
    return path


def git_commit_all(folder, message="corpus checkout"):
    """``git init`` + commit everything, with a fixed identity and no user/system git config."""
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", HOME=folder, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@t",
               GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@t")
    for argv in (["git", "init", "-q"], ["git", "add", "-A"], ["git", "commit", "-q", "-m", message]):
        subprocess.run(argv, cwd=folder, env=env, check=True, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=60)


def make_checkout(name, dest, git=True, probe=True, user_bat_eol=None):
    """A test checkout of corpus folder ``name`` at ``dest`` (any path: spaces, non-ASCII).

    ``user_bat_eol``: None keeps webui-user.bat as git stored it (LF); "\\r\\n" makes it CRLF as a Windows checkout
    with core.autocrlf=true does. The probe replaces the launch script before the commit, so ``git status`` is clean
    (the doctor's git check then sees a plain checkout)."""
    copy_corpus(name, dest)
    user_bat = os.path.join(dest, "webui-user.bat")
    if user_bat_eol is not None and os.path.isfile(user_bat):
        with open(user_bat, "rb") as fh:
            data = fh.read().replace(b"\r\n", b"\n")
        with open(user_bat, "wb") as fh:
            fh.write(data.replace(b"\n", user_bat_eol.encode()))
    if probe:
        write_probe(dest)
    if git:
        git_commit_all(dest)
    return dest


def read_probe(checkout, result=None):
    """The probe's JSON, removed afterwards so the next launch starts clean. ``result`` explains a missing probe."""
    path = os.path.join(checkout, PROBE_NAME)
    if not os.path.isfile(path):
        raise LaunchFailed("the launcher never reached the probe:\n%r" % (result,))
    with open(path, encoding="utf-8") as fh:
        data = json.load(fh)
    os.remove(path)
    return data


def _run_bounded(argv, env, cwd, timeout, input_text="\n", user=None):
    start = time.monotonic()
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = proc.communicate(input_text.encode(), timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, 9)  # the whole group: bash and whatever it started
        out, err = proc.communicate()
        raise AssertionError("%s did not finish within %s s: %s" % (argv, timeout, out.decode("utf-8", "replace")))
    return Completed(argv, proc.returncode, out.decode("utf-8", "replace"), err.decode("utf-8", "replace"),
                     time.monotonic() - start)


# -- Linux: the real webui.sh under bash ---------------------------------------------------------------------------
def real_python(minor="3.10"):
    """A real Linux CPython of that minor: pyenv's, else one on PATH; None when this machine has none."""
    import glob

    for pattern in (os.path.expanduser("~/.pyenv/versions/%s.*/bin/python%s" % (minor, minor)),
                    "/usr/bin/python%s" % minor, "/usr/local/bin/python%s" % minor):
        found = sorted(glob.glob(pattern))
        if found and os.access(found[-1], os.X_OK):
            return found[-1]
    return shutil.which("python%s" % minor)


def world_temp(prefix="sd-proof-"):
    """A temporary folder every user can enter (pytest's tmp_path is 0700 under /tmp/pytest-of-root): for runs of
    webui.sh as ``nobody``."""
    folder = tempfile.mkdtemp(prefix=prefix, dir="/tmp" if os.path.isdir("/tmp") else None)
    os.chmod(folder, 0o755)
    return folder


def supports_run_as_root(checkout):
    """webui.sh of 2023+ takes ``-f`` to run as root; the 2022 one refuses root outright."""
    with open(os.path.join(checkout, "webui.sh"), encoding="utf-8", errors="replace") as fh:
        return "can_run_as_root" in fh.read()


def launcher_bin(folder, pythons=None):
    """A bin folder for the launcher's PATH: links named like the interpreters a user has (``{"python3.10":
    "/path/to/real/python3.10"}``). PATH is then this folder plus /usr/bin:/bin (bash, git, ldd, ... and Debian's
    python3)."""
    os.makedirs(folder, exist_ok=True)
    for name, target in (pythons or {}).items():
        link = os.path.join(folder, name)
        if not os.path.lexists(link):
            os.symlink(target, link)
    return folder


def sh_environ(bin_dir, home, extra=None):
    """What webui.sh runs with: a controlled PATH, an empty HOME, C.UTF-8, no web UI variables from this machine."""
    env = {"PATH": os.pathsep.join([bin_dir, "/usr/bin", "/bin"]), "HOME": home, "LANG": "C.UTF-8",
           "LC_ALL": "C.UTF-8", "TERM": "dumb", "PIP_NO_INPUT": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1",
           "PIP_NO_INDEX": "1"}  # no index: a first-start pip call may not reach out from a test
    env.update(extra or {})
    return env


def _chown_tree(folder, uid, gid):
    os.chown(folder, uid, gid)
    for base, dirs, files in os.walk(folder):
        for entry in dirs + files:
            os.lchown(os.path.join(base, entry), uid, gid)


def run_webui_sh(checkout, env, timeout=180, as_nobody=None):
    """The real ``bash webui.sh`` from the checkout (as a user types ``./webui.sh`` there). Returns
    (Completed, probe dict).

    Root: webui.sh refuses it. Where the file knows ``-f`` it is passed (webui.sh hands "$@" on to launch.py, so
    the probe's argv then ends with '-f': a harness artifact, not the plan). The 2022 file has no -f: it runs as
    ``nobody`` (setpriv), with the checkout handed to that user; the checkout must then lie in a folder nobody can
    enter (world_temp) and the Python on PATH must be one nobody can run (pyenv under /root is not)."""
    argv = ["bash", "webui.sh"]
    if os.geteuid() == 0:
        if as_nobody is None:
            as_nobody = not supports_run_as_root(checkout)
        if as_nobody:
            import pwd

            user = pwd.getpwnam("nobody")
            _chown_tree(checkout, user.pw_uid, user.pw_gid)
            home = env.get("HOME")
            if home and os.path.isdir(home):
                _chown_tree(home, user.pw_uid, user.pw_gid)
            argv = ["setpriv", "--reuid=%d" % user.pw_uid, "--regid=%d" % user.pw_gid, "--clear-groups"] + argv
        else:
            argv.append("-f")
    result = _run_bounded(argv, env, checkout, timeout)
    if as_nobody and os.geteuid() == 0:
        _chown_tree(checkout, 0, 0)  # back to root, so the doctor (root) may rewrite its files
    return result, read_probe(checkout, result)


def venv_of(probe):
    """The venv folder the probe ran in (Linux or Windows), or None when it ran on a base interpreter."""
    exe = probe["executable"].replace("\\", "/")
    folder = os.path.dirname(exe)
    if probe.get("in_venv"):
        return probe["prefix"]
    if folder.lower().endswith("/scripts") and os.path.basename(os.path.dirname(folder)):
        # the Windows stand-in venv (a copy of the interpreter; see WineLauncher.precreate_venv)
        return probe["executable"][:len(os.path.dirname(folder))]
    return None


# -- the real argument parsers --------------------------------------------------------------------------------------
def extracted_flags(folder):
    """The flags launch.py takes out of sys.argv with ``extract_arg(sys.argv, '--flag')`` before the web UI's
    parser sees them (2022-11-10): they count as declared. Read with ast, never run."""
    path = os.path.join(folder, "launch.py.real")
    if not os.path.isfile(path):
        path = os.path.join(folder, "launch.py")
    if not os.path.isfile(path):
        return []
    with open(path, encoding="utf-8", errors="replace") as fh:
        tree = ast.parse(fh.read())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "extract_arg" and len(node.args) == 2:
            arg = node.args[1]
            value = getattr(arg, "value", getattr(arg, "s", None))
            if isinstance(value, str):
                found.append(value)
    return found


def shared_py_parser_block(path):
    """Source of the argument-parser statements of a pre-2023 modules/shared.py (which imports torch and gradio at
    the top, so it cannot be imported here): the simple assignments before the parser (defaults such as
    sd_model_file), ``parser = argparse.ArgumentParser()`` and every ``parser.add_argument`` / argument-group
    statement up to (not including) ``cmd_opts = parser.parse_args()``. Returned as a list of source snippets; the
    runner executes each in a namespace where a missing name is a harmless string."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        source = fh.read()
    tree = ast.parse(source)
    snippets, started = [], False
    for node in tree.body:
        text = ast.get_source_segment(source, node) if hasattr(ast, "get_source_segment") else None
        names = set(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
        uses_parse = any(isinstance(n, ast.Attribute) and n.attr in ("parse_args", "parse_known_args")
                         for n in ast.walk(node))
        if started and uses_parse:
            break
        if isinstance(node, (ast.Import, ast.ImportFrom, ast.FunctionDef, ast.ClassDef)):
            continue
        if "parser" in names or (not started and isinstance(node, ast.Assign)):
            started = started or "parser" in names
            snippets.append(text if text is not None else ast.unparse(node))
    return snippets


# The stand-in for Forge's backend/args.py, which the corpus leaves out (backend/ holds only .present): Forge's
# cmd_args.py starts from ``from backend.args import parser``. These are the flag NAMES Forge's backend declares
# (its README and webui-facts.md §8 name them: the --always-* memory modes, offloading, cuda-malloc, ...), so that
# the parser of the installed cmd_args.py is otherwise the real one. Flags in mutually exclusive groups there are in
# one group here too.
FORGE_BACKEND_GROUPS = [
    ["--always-gpu", "--always-high-vram", "--always-normal-vram", "--always-low-vram", "--always-no-vram",
     "--always-cpu"],
    ["--all-in-fp32", "--all-in-fp16"],
    ["--attention-split", "--attention-quad", "--attention-pytorch"],
    ["--vae-in-fp16", "--vae-in-fp32", "--vae-in-bf16"],
]
FORGE_BACKEND_FLAGS = ["--always-offload-from-vram", "--cuda-malloc", "--cuda-stream", "--pin-shared-memory",
                       "--disable-xformers", "--vae-in-cpu", "--pytorch-deterministic"]

_PARSER_RUNNER = r'''
import argparse, contextlib, io, json, os, sys
folder, mode = sys.argv[1], sys.argv[2]
job = json.loads(sys.stdin.read())
sys.argv = ["launch.py"]
os.environ.pop("COMMANDLINE_ARGS", None)
os.chdir(folder)
if mode == "cmd_args":
    sys.path[:0] = [job["stubs"], folder]
    from modules import cmd_args
    parser = cmd_args.parser
else:
    class Lenient(dict):
        def __missing__(self, key):
            import builtins
            if hasattr(builtins, key):  # looked up here before the builtins: str, int, ...
                return getattr(builtins, key)
            return folder  # a default path component the block needs (script_path, sd_path, ...)
    ns = Lenient(argparse=argparse, os=os, sys=sys, json=json)
    for snippet in job["snippets"]:
        try:
            exec(snippet, {"__builtins__": __builtins__}, ns)
        except Exception as exc:
            if "parser" in snippet.split("=")[0]:
                raise
    parser = ns["parser"]
declared = sorted(s for a in parser._actions for s in a.option_strings)
results = []
for tokens in job["token_lists"]:
    left = [t for t in tokens if t not in job["extracted"]]
    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parser.parse_args(left)
        results.append(None)
    except SystemExit:
        results.append(err.getvalue().strip().splitlines()[-1:] or ["rejected"])
print(json.dumps({"declared": declared, "results": results}))
'''


def _write_forge_stub(stubs):
    pkg = os.path.join(stubs, "backend")
    os.makedirs(pkg, exist_ok=True)
    open(os.path.join(pkg, "__init__.py"), "w").close()
    lines = ["import argparse", "parser = argparse.ArgumentParser()"]
    for group in FORGE_BACKEND_GROUPS:
        lines.append("g = parser.add_mutually_exclusive_group()")
        lines += ["g.add_argument(%r, action='store_true')" % flag for flag in group]
    lines += ["parser.add_argument(%r, action='store_true')" % flag for flag in FORGE_BACKEND_FLAGS]
    with open(os.path.join(pkg, "args.py"), "w") as fh:
        fh.write("\n".join(lines) + "\n")


def parse_with_real_parser(folder, token_lists, timeout=60, python=None):
    """Feed each token list to the folder's own parser (subprocess). Returns {"declared": [...], "results":
    [None (accepted) or [error line], ...], "extracted": [...], "parser": "modules/cmd_args.py" | "modules/shared.py"}.

    ``folder`` may be the corpus folder itself (read only: nothing is written into it; stubs go to a temp dir)."""
    extracted = extracted_flags(folder)
    stubs = tempfile.mkdtemp(prefix="sd-parser-stubs-")
    try:
        if os.path.isfile(os.path.join(folder, "modules", "cmd_args.py")):
            mode, where, snippets = "cmd_args", "modules/cmd_args.py", []
            _write_forge_stub(stubs)  # only imported where cmd_args.py imports backend.args (Forge)
        else:
            mode, where = "shared", "modules/shared.py"
            snippets = shared_py_parser_block(os.path.join(folder, where))
        job = {"token_lists": [list(t) for t in token_lists], "extracted": extracted, "snippets": snippets,
               "stubs": stubs}
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
        proc = subprocess.run([python or sys.executable, "-c", _PARSER_RUNNER, folder, mode],
                              input=json.dumps(job), capture_output=True, text=True, timeout=timeout, env=env,
                              cwd=stubs)
    finally:
        shutil.rmtree(stubs, ignore_errors=True)
    if proc.returncode != 0:
        raise AssertionError("the real parser of %s could not be built:\n%s" % (folder, proc.stderr[-3000:]))
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out.update(extracted=extracted, parser=where)
    return out


# -- Windows: the real webui.bat under Wine's cmd -------------------------------------------------------------------
# The stand-in pip for the bed's Windows CPython. The embeddable build has no pip, and webui.bat of 2023+ checks
# ``%PYTHON% -mpip --help`` before anything else ("Couldn't install pip" otherwise). The one-click package solves the
# same thing with PIP_INSTALLER_LOCATION (get-pip.py); a plain install has a real pip. This stand-in answers
# ``--help`` (exit 0) and refuses everything else loudly, so that no test can pass by installing something.
PIP_STANDIN = {
    "pip/__init__.py": "__version__ = '0+sd-doctor-test-standin'\n",
    "pip/__main__.py": ("import sys\n"
                        "if sys.argv[1:] in (['--help'], ['-h']):\n"
                        "    print('Usage: pip <command> [options]  (sd-doctor test stand-in)')\n"
                        "    sys.exit(0)\n"
                        "sys.stderr.write('sd-doctor test stand-in pip: %r refused\\n' % (sys.argv[1:],))\n"
                        "sys.exit(3)\n"),
}
# What a real venv's activate.bat does that matters to the launcher (Forge's webui.bat calls it): VIRTUAL_ENV and
# the venv's Scripts first on PATH.
ACTIVATE_BAT = ('@echo off\r\nset "VIRTUAL_ENV=%~dp0.."\r\nset "PATH=%~dp0;%PATH%"\r\n')


def add_pip_standin(python_dir):
    """Put the stand-in pip next to python.exe ("." is on the embeddable build's path through its ._pth file)."""
    for rel, body in PIP_STANDIN.items():
        path = os.path.join(python_dir, *rel.split("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="\n") as fh:
            fh.write(body)


class WineLauncher(object):
    """Runs the real batch files of a checkout in one Wine prefix (tests/wine/bed.py's Prefix, created once per test
    module by the caller), with the bed's plain embeddable CPython as the user's Python."""

    def __init__(self, prefix):
        self.prefix = prefix

    def install_user_python(self, win_folder=None, register=True):
        """Windows CPython 3.10 where the python.org installer puts it (registered in HKCU, not on PATH), with the
        stand-in pip. Returns its python.exe (Windows path)."""
        win_folder = win_folder or "C:\\users\\%s\\AppData\\Local\\Programs\\Python\\Python310" % self.prefix.user
        exe = self.prefix.install_python(win_folder, register=register)
        add_pip_standin(self.prefix.unix(win_folder))
        return exe

    def precreate_venv(self, venv_unix, base_win):
        """The venv the launcher would create with ``%PYTHON% -m venv``, which the embeddable build cannot do (it has
        no venv module). webui.bat reuses any folder that has ``Scripts\\Python.exe`` as is, so a copy of the base
        interpreter there plus the pyvenv.cfg and activate.bat that venv writes is what the launcher meets on a
        user's second start. The copy reports sys.executable = ...\\venv\\Scripts\\python.exe (venv_of() reads it);
        it does not switch sys.prefix the way the venv launcher would (no ``import site`` in the embeddable
        build)."""
        base_unix = self.prefix.unix(base_win.rsplit("\\", 1)[0])
        scripts = os.path.join(venv_unix, "Scripts")
        if not os.path.isdir(scripts):
            shutil.copytree(base_unix, scripts)
            add_pip_standin(scripts)
        with open(os.path.join(venv_unix, "pyvenv.cfg"), "w", newline="\r\n") as fh:
            fh.write("home = %s\ninclude-system-site-packages = false\nversion = 3.10.11\n"
                     % base_win.rsplit("\\", 1)[0])
        with open(os.path.join(scripts, "activate.bat"), "w", newline="") as fh:
            fh.write(ACTIVATE_BAT)
        return venv_unix

    def run_bat(self, batch_file, cwd, timeout=120, env=None):
        """``wine cmd /c BATCH`` from ``cwd`` (a Linux path), as a double-click starts it (the folder of the file is
        the current directory). stdin is a closed pipe, so the final ``pause`` returns at once. Returns
        (Completed, probe dict) where the probe is read from ``cwd`` or its webui\\ subfolder."""
        result = self.prefix.cmd(batch_file, cwd=cwd, timeout=timeout, env=env)
        where = cwd if os.path.isfile(os.path.join(cwd, PROBE_NAME)) else os.path.join(cwd, "webui")
        return result, read_probe(where, result)

    def run_webui_user_bat(self, checkout, timeout=120, env=None):
        return self.run_bat("webui-user.bat", checkout, timeout=timeout, env=env)


def wine_available():
    from wine import bed as winebed

    return winebed.wine_command() is not None


def make_prefix(folder):
    """A created Wine prefix (Windows 10) with the bed, or raises winebed.BedError. The caller destroys it."""
    from wine import bed as winebed

    bed, _ = winebed.build_bed()
    prefix = winebed.Prefix(folder, bed)
    prefix.create()
    prefix.set_windows_version("win10")
    return prefix


def module_prefix(name):
    """A module-scoped fixture: make_prefix in a new temporary folder ``name``, destroyed after the module; the
    module is skipped, saying why, when there is no bed. Use: ``prefix = module_prefix("wine-kill")``."""
    import pytest
    from wine import bed as winebed

    @pytest.fixture(scope="module")
    def prefix(tmp_path_factory):
        try:
            made = make_prefix(str(tmp_path_factory.mktemp(name)))
        except winebed.BedError as exc:
            pytest.skip("no Wine bed: %s" % exc)
        yield made
        made.destroy()

    return prefix


# -- the one-click package ------------------------------------------------------------------------------------------
# run.bat and environment.bat are not in any corpus folder (the packages are release archives, not git). These
# stand-ins follow the description in ../shared/webui-launchers/README.md and webui-facts.md §8, nothing more:
# run.bat calls environment.bat, then starts webui\webui-user.bat from webui\; environment.bat puts system\git\bin,
# system\python and system\python\Scripts at the front of PATH and sets SKIP_VENV=1 and PIP_INSTALLER_LOCATION.
RUN_BAT = ("@echo off\r\n"
           "\r\n"
           "call environment.bat\r\n"
           "\r\n"
           "cd %~dp0webui\r\n"
           "call webui-user.bat\r\n")
ENVIRONMENT_BAT = ("@echo off\r\n"
                   "\r\n"
                   "set DIR=%~dp0system\r\n"
                   "\r\n"
                   "set PATH=%DIR%\\git\\bin;%DIR%\\python;%DIR%\\python\\Scripts;%PATH%\r\n"
                   "set PY_LIBS=%DIR%\\python\\Scripts\\Lib;%DIR%\\python\\Scripts\\Lib\\site-packages\r\n"
                   "set PY_PIP=%DIR%\\python\\Scripts\r\n"
                   "set SKIP_VENV=1\r\n"
                   "set PIP_INSTALLER_LOCATION=%DIR%\\python\\get-pip.py\r\n"
                   "set TRANSFORMERS_CACHE=%DIR%\\transformers-cache\r\n")
# A stand-in for get-pip.py: the bed already has the stand-in pip, so "installing pip" has nothing to do.
GET_PIP_STANDIN = "print('sd-doctor test stand-in get-pip.py: pip is present')\n"
# system\git\bin\git.exe: the package ships Git for Windows. The test stand-in is a batch file named git.cmd that
# answers --version / --help like git does, enough for `%GIT% --help` and the doctor's "git --version".
GIT_STANDIN_CMD = ("@echo off\r\n"
                   "if \"%1\" == \"--version\" (echo git version 2.43.0.windows.1& exit /b 0)\r\n"
                   "if \"%1\" == \"--help\" (echo usage: git [--version] [--help]& exit /b 0)\r\n"
                   "echo sd-doctor test stand-in git: %* refused 1>&2\r\n"
                   "exit /b 1\r\n")


def make_one_click(name, root, bed_python_dir, git=True):
    """The one-click layout around corpus folder ``name``: ``root``/run.bat, environment.bat, system\\python (a copy
    of ``bed_python_dir``: the embeddable CPython, as the package ships it, with the stand-in pip), system\\git\\bin,
    and webui\\ = the checkout (with the probe). Returns the webui folder."""
    os.makedirs(root, exist_ok=True)
    webui = make_checkout(name, os.path.join(root, "webui"), git=git)
    python_dir = os.path.join(root, "system", "python")
    if not os.path.isdir(python_dir):
        shutil.copytree(bed_python_dir, python_dir)
    add_pip_standin(python_dir)
    os.makedirs(os.path.join(python_dir, "Scripts"), exist_ok=True)
    with open(os.path.join(python_dir, "get-pip.py"), "w") as fh:
        fh.write(GET_PIP_STANDIN)
    git_bin = os.path.join(root, "system", "git", "bin")
    os.makedirs(git_bin, exist_ok=True)
    with open(os.path.join(git_bin, "git.cmd"), "w", newline="") as fh:
        fh.write(GIT_STANDIN_CMD)
    for fname, body in (("run.bat", RUN_BAT), ("environment.bat", ENVIRONMENT_BAT)):
        with open(os.path.join(root, fname), "w", newline="") as fh:
            fh.write(body)
    for base, dirs, files in os.walk(root):
        for entry in files:
            p = os.path.join(base, entry)
            os.chmod(p, os.stat(p).st_mode | stat.S_IWUSR)
    return webui


def repo_on_pythonpath():
    """ROOT, for subprocesses that import sd_doctor or the tests' helpers."""
    return ROOT
