"""Packaging and Python versions: every supported interpreter runs the CLI; ``pip install .`` into fresh 3.8 and
3.13 venvs works from another folder and ships the templates. The venv tests are the slow part (about 15 s, both
venvs built at once); they are marked ``slow``."""

import json
import os
import shutil
import subprocess
import tempfile
import threading

import pytest

from conftest import ROOT, cli_env, machine_env

PYENV = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")
VERSIONS = ["3.8", "3.9", "3.10", "3.11", "3.12", "3.13"]


def interpreter(minor):
    versions = os.path.join(PYENV, "versions")
    if os.path.isdir(versions):
        for name in sorted(os.listdir(versions)):
            exe = os.path.join(versions, name, "bin", "python" + minor)
            if name.startswith(minor + ".") and os.path.exists(exe):
                return exe
    return shutil.which("python" + minor)


def repo_templates():
    folder = os.path.join(ROOT, "templates")
    return sorted(n for n in os.listdir(folder) if not n.startswith(".") and n != "__pycache__") \
        if os.path.isdir(folder) else []


@pytest.mark.parametrize("minor", VERSIONS)
def test_every_supported_python_runs_the_cli_from_source(minor, tmp_path):
    """Imports every module (all of them, Windows' and macOS' included) and runs a full offline report. The
    dependencies may be absent there: checks that need them are skipped with a reason, never a traceback."""
    exe = interpreter(minor)
    if not exe:
        pytest.skip("Python %s is not installed" % minor)
    env = machine_env(str(tmp_path), extra={"PYTHONPYCACHEPREFIX": str(tmp_path / "pyc")})
    script = ("import pkgutil, importlib, sys, sd_doctor\n"
              "for m in pkgutil.walk_packages(sd_doctor.__path__, 'sd_doctor.'):\n"
              "    if m.name != 'sd_doctor.__main__': importlib.import_module(m.name)\n"
              "from sd_doctor.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    r = subprocess.run([exe, "-c", script, str(tmp_path / "w"), "--offline", "--json"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert "Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert [c["id"] for c in doc["checks"]][:2] == ["install-path", "python"] and len(doc["checks"]) == 11
    assert [c["status"] for c in doc["checks"]][:2] == ["ok", "ok"]


@pytest.fixture(scope="module")
def installed():
    """Fresh venvs for the oldest and newest supported Python, each with ``pip install`` of a copy of the project."""
    pythons = dict((m, interpreter(m)) for m in ("3.8", "3.13"))
    pythons = dict((m, p) for m, p in pythons.items() if p)
    if not pythons:
        pytest.skip("neither Python 3.8 nor 3.13 is installed")
    work = tempfile.mkdtemp(prefix="sd-doctor-pkg-")
    results = {}

    def build(minor, exe):
        src = os.path.join(work, "src" + minor)
        shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "dist", "__pycache__",
                                                                 ".pytest_cache", ".hypothesis", "tests"))
        venv = os.path.join(work, "venv" + minor)
        log = []
        for argv in ([exe, "-m", "venv", venv],
                     [os.path.join(venv, "bin", "python"), "-m", "pip", "install", "-q", "--no-input", src]):
            r = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=work)
            log.append(r.stdout + r.stderr)
            if r.returncode != 0:
                results[minor] = (None, "\n".join(log))
                return
        results[minor] = (venv, "\n".join(log))

    threads = [threading.Thread(target=build, args=item) for item in sorted(pythons.items())]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    yield results
    shutil.rmtree(work, ignore_errors=True)


def venv_for(installed, minor):
    if minor not in installed:
        pytest.skip("Python %s is not installed" % minor)
    venv, log = installed[minor]
    assert venv, "pip install failed:\n" + log[-3000:]
    return venv


def clean_env(root=None):
    """No PYTHONPATH: the installed copy must be what runs. With ``root``: a controlled PATH/HOME (fast)."""
    env = machine_env(root) if root else cli_env()
    env.pop("PYTHONPATH", None)
    return env


@pytest.mark.slow
@pytest.mark.parametrize("minor", ["3.8", "3.13"])
def test_pip_install_and_run_from_another_folder(installed, minor, tmp_path):
    venv = venv_for(installed, minor)
    script = os.path.join(venv, "bin", "sd-doctor")
    r = subprocess.run([script, "--version"], capture_output=True, text=True, env=clean_env(), cwd=str(tmp_path))
    from sd_doctor import __version__

    assert r.returncode == 0 and r.stdout.strip() == "sd-doctor " + __version__, r.stderr
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-m", "sd_doctor", "--offline", "--json"],
                       capture_output=True, text=True, env=clean_env(str(tmp_path / "m")), cwd=str(tmp_path),
                       timeout=60)
    assert r.returncode in (0, 1) and "Traceback" not in r.stderr, r.stderr
    doc = json.loads(r.stdout)
    assert doc["webui_dir"] == str(tmp_path)
    where = subprocess.run([os.path.join(venv, "bin", "python"), "-c", "import sd_doctor; print(sd_doctor.__file__)"],
                           capture_output=True, text=True, env=clean_env(), cwd=str(tmp_path)).stdout.strip()
    assert where.startswith(venv), where  # the installed copy, not the source tree
    # with its dependencies installed nothing is skipped for a missing library
    windows = [c for c in doc["checks"] if c["id"] == "windows"][0]
    assert windows["status"] != "skip", windows


@pytest.mark.slow
@pytest.mark.parametrize("minor", ["3.8", "3.13"])
def test_templates_ship_inside_the_package(installed, minor):
    venv = venv_for(installed, minor)
    r = subprocess.run([os.path.join(venv, "bin", "python"), "-c",
                        "import os, sd_doctor; d = os.path.join(os.path.dirname(sd_doctor.__file__), 'templates');"
                        "print('\\n'.join(sorted(n for n in os.listdir(d) if n != '__pycache__')) if os.path.isdir(d)"
                        " else '')"], capture_output=True, text=True, env=clean_env(), cwd="/")
    shipped = [n for n in r.stdout.splitlines() if n]
    expected = repo_templates()
    assert shipped == expected, "repository templates/: %s; installed: %s" % (expected, shipped)


def test_templates_folder_is_not_empty():
    assert repo_templates(), "templates/ is empty: the writer's templates have not landed yet"
