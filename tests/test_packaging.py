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
    folder = os.path.join(ROOT, "sd_doctor", "templates")
    return sorted(n for n in os.listdir(folder) if not n.startswith(".") and n not in ("__pycache__", "__init__.py")) \
        if os.path.isdir(folder) else []


@pytest.mark.parametrize("minor", VERSIONS)
def test_every_supported_python_runs_the_cli_from_source(minor, tmp_path):
    """Imports every module (all of them, Windows' and macOS' included) and runs a full offline report. The
    dependencies may be absent there: checks that need them are skipped with a reason, never a traceback."""
    exe = interpreter(minor)
    if not exe:
        pytest.skip("Python %s is not installed" % minor)
    # packaging is the one dependency every version comparison needs (pure Python: a copy of this interpreter's
    # works on all of them); psutil and pynvml may be absent, and the checks that need them are skipped.
    import packaging

    deps = tmp_path / "deps"
    shutil.copytree(os.path.dirname(packaging.__file__), str(deps / "packaging"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    env = machine_env(str(tmp_path), extra={"PYTHONPYCACHEPREFIX": str(tmp_path / "pyc")})
    env["PYTHONPATH"] += os.pathsep + str(deps)
    script = ("import pkgutil, importlib, sys, sd_doctor\n"
              "for m in pkgutil.walk_packages(sd_doctor.__path__, 'sd_doctor.'):\n"
              "    if m.name != 'sd_doctor.__main__': importlib.import_module(m.name)\n"
              "from sd_doctor.cli import main\n"
              "sys.exit(main(sys.argv[1:]))\n")
    r = subprocess.run([exe, "-c", script, str(tmp_path / "w"), "--offline", "--json"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert "Traceback" not in r.stderr and r.returncode in (0, 1), r.stderr
    doc = json.loads(r.stdout)
    assert [c["id"] for c in doc["checks"]][:2] == ["install-path", "python"] and len(doc["checks"]) == 12
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
                        "print('\\n'.join(sorted(n for n in os.listdir(d) if n not in ('__pycache__', '__init__.py', '.gitattributes'))) if os.path.isdir(d)"
                        " else '')"], capture_output=True, text=True, env=clean_env(), cwd="/")
    shipped = [n for n in r.stdout.splitlines() if n]
    expected = repo_templates()
    assert shipped == expected, "repository templates/: %s; installed: %s" % (expected, shipped)


def test_templates_folder_is_not_empty():
    assert repo_templates(), "templates/ is empty: the writer's templates have not landed yet"


# -- the wheel and the sdist, as a user or a distribution packager meets them -----------------------------------------

SDIST_TESTS = ["tests/test_report.py", "tests/test_report_layout.py", "tests/test_webui_layout.py"]


def _venv(path, python=None):
    subprocess.run([python or interpreter("3.13") or shutil.which("python3"), "-m", "venv", path], check=True,
                   capture_output=True, timeout=120)
    return os.path.join(path, "bin", "python")


def _pip(python, *args):
    r = subprocess.run([python, "-m", "pip", "install", "-q", "--no-input", "--disable-pip-version-check"] + list(args),
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-3000:]


@pytest.mark.slow
def test_wheel_and_sdist_build_install_and_the_sdists_tests_run(tmp_path):
    """``python -m build`` makes both; the metadata carries the SPDX license; the wheel installs and runs; the sdist
    installs with its test extras, and a subset of its own tests (SDIST_TESTS) passes from the unpacked sdist."""
    import tarfile
    import zipfile

    src = str(tmp_path / "src")
    shutil.copytree(ROOT, src, ignore=shutil.ignore_patterns(".git", "*.egg-info", "build", "dist", "__pycache__",
                                                             ".pytest_cache", ".hypothesis", "*.so*"))
    builder = _venv(str(tmp_path / "builder"))
    _pip(builder, "build")
    r = subprocess.run([builder, "-m", "build", "--sdist", "--wheel", "--outdir", str(tmp_path / "dist"), src],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-2000:] + r.stderr[-2000:]
    assert "warning" not in (r.stdout + r.stderr).lower().replace("warnings", ""), r.stdout + r.stderr
    dist = sorted(os.listdir(str(tmp_path / "dist")))
    sdist = [os.path.join(str(tmp_path / "dist"), n) for n in dist if n.endswith(".tar.gz")][0]
    wheel = [os.path.join(str(tmp_path / "dist"), n) for n in dist if n.endswith(".whl")][0]
    with tarfile.open(sdist) as tar:
        names = set(n.split("/", 1)[1] for n in tar.getnames() if "/" in n)
        tar.extractall(str(tmp_path / "unpacked"))
    for needed in ["LICENSE", "tests/conftest.py", "tests/net_servers.py", "tests/nvml_stub/nvml_stub.c",
                   "tests/wine/bed.py", "sd_doctor/templates/webui-user.bat"] + SDIST_TESTS:
        assert needed in names, needed
    with zipfile.ZipFile(wheel) as whl:
        metadata = [whl.read(n).decode() for n in whl.namelist() if n.endswith(".dist-info/METADATA")][0]
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in whl.namelist())
        assert "sd_doctor/templates/webui-user.sh" in whl.namelist()
    assert "License-Expression: MIT" in metadata and "GitPython" not in metadata

    user = _venv(str(tmp_path / "user"), interpreter("3.8"))
    _pip(user, wheel)
    env = clean_env(str(tmp_path / "m"))
    r = subprocess.run([user, "-m", "sd_doctor", str(tmp_path / "new"), "--offline", "--json"], capture_output=True,
                       text=True, env=env, cwd=str(tmp_path), timeout=60)
    assert r.returncode in (0, 1) and json.loads(r.stdout)["schema"] == 1, r.stderr

    packager = _venv(str(tmp_path / "packager"))
    _pip(packager, "sd-doctor[test] @ file://" + sdist)
    unpacked = os.path.join(str(tmp_path / "unpacked"), os.listdir(str(tmp_path / "unpacked"))[0])
    from conftest import CORPUS

    r = subprocess.run([packager, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not slow"] + SDIST_TESTS,
                       capture_output=True, text=True, cwd=unpacked, timeout=600,
                       env=dict(cli_env(), SD_DOCTOR_CORPUS=CORPUS, PYTHONPATH=""))
    assert r.returncode == 0 and " passed" in r.stdout, r.stdout[-4000:] + r.stderr[-2000:]
