"""venv: real virtual environments made with real interpreters, broken the way users break them."""

import os
import shutil
import subprocess

import pytest

from conftest import make_webui
from dists import write_dist
from sd_doctor.checks import venv as venv_check
from sd_doctor.core.context import Context, Options
from sd_doctor.core.runner import run_one
from test_python_check import real_python

PY310 = real_python("3.10")
PY312 = real_python("3.12") or real_python("3.13")
needs310 = pytest.mark.skipif(not PY310, reason="needs a real Python 3.10 (pyenv)")


def make_venv(python, folder):
    """A real venv (made by that interpreter); pip's files written as pip writes them (ensurepip is slow)."""
    import glob

    subprocess.run([python, "-m", "venv", "--without-pip", folder], check=True, timeout=60)
    for site in glob.glob(os.path.join(folder, "lib", "python3*", "site-packages")):
        write_dist(site, "pip", "24.0")
    return folder


def judge_dir(root, files=None, environ=None):
    ctx = Context(root, Options(offline=True), environ=dict(os.environ, **(environ or {})))
    return run_one(venv_check, ctx)


def advice(f, lang="en"):
    return [a.render(lang) for a in f.advice]


@needs310
def test_good_310_venv_is_ok(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    make_venv(PY310, os.path.join(root, "venv"))
    f = judge_dir(root)
    assert f.status == "ok", [m.render("en") for m in f.detail_lines()]
    assert "Python 3.10." in f.detail_lines()[0].render("en")
    assert f.remedies == []


@needs310
def test_base_python_removed(tmp_path):
    """The venv's home names an interpreter folder that was deleted (uninstalled Python, renamed user folder)."""
    base = str(tmp_path / "py310")
    shutil.copytree(os.path.dirname(os.path.dirname(PY310)), base, symlinks=True,
                    ignore=shutil.ignore_patterns("site-packages", "test", "tests", "__pycache__", "include", "share"))
    root = make_webui(str(tmp_path / "webui"))
    venv = make_venv(os.path.join(base, "bin", os.path.basename(PY310)), os.path.join(root, "venv"))
    cfg = open(os.path.join(venv, "pyvenv.cfg")).read()
    assert os.path.join(base, "bin") in cfg
    shutil.rmtree(base)
    f = judge_dir(root)
    assert f.status == "error"
    assert "base Python is gone" in f.detail_lines()[0].render("en")
    a = advice(f)
    assert any("rm -rf %s" % venv in x for x in a)
    assert any("rm -rf %s" % os.path.join(root, "repositories") in x for x in a)
    assert any("new PYTHON setting has no effect" in x for x in a)
    assert f.remedies == [{"action": "rename-aside", "path": venv}]


@pytest.mark.skipif(not PY312, reason="needs a real Python 3.12 or 3.13 (pyenv)")
def test_venv_made_with_the_wrong_python(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    make_venv(PY312, os.path.join(root, "venv"))
    f = judge_dir(root)
    assert f.status == "error"
    assert "needs 3.10" in f.detail_lines()[0].render("en")
    assert f.remedies


def test_folder_without_pyvenv_cfg(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    os.makedirs(os.path.join(root, "venv", "bin"))
    f = judge_dir(root)
    assert f.status == "error" and "no pyvenv.cfg" in f.detail_lines()[0].render("en")


@needs310
def test_venv_dir_from_webui_user_sh(tmp_path):
    elsewhere = make_venv(PY310, str(tmp_path / "envs" / "sd"))
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": 'venv_dir="%s"\n' % elsewhere})
    os.makedirs(os.path.join(root, "venv"))  # a broken default venv that is not used
    f = judge_dir(root)
    assert f.status == "ok" and elsewhere in f.detail_lines()[0].render("en")


def test_venv_skipped(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": "venv_dir=-\n"})
    os.makedirs(os.path.join(root, "venv"))
    f = judge_dir(root)
    assert f.status == "ok" and "skip the venv" in f.detail_lines()[0].render("en")


def test_no_venv_yet(tmp_path):
    f = judge_dir(str(tmp_path / "new"))
    assert f.status == "ok" and "No venv yet" in f.detail_lines()[0].render("en")


def test_windows_broken_venv_commands():
    facts = {"platform": "windows", "webui_dir": "C:\\sd\\webui", "venv": "C:\\sd\\webui\\venv", "exists": True,
             "repositories": "C:\\sd\\webui\\repositories", "cfg_exists": True,
             "home": "C:\\Users\\old\\AppData\\Local\\Programs\\Python\\Python310", "home_exists": False,
             "cfg_version": "3.10.6", "python": "C:\\sd\\webui\\venv\\Scripts\\python.exe", "python_exists": True,
             "python_info": {"runs": False, "error": "No Python at '...'"}}
    f = venv_check.judge(facts)
    assert f.status == "error"
    a = advice(f)
    assert any('rmdir /s /q "C:\\sd\\webui\\venv"' in x for x in a)
    assert any('rmdir /s /q "C:\\sd\\webui\\repositories"' in x for x in a)
    assert advice(f, "zh") != a


def test_windows_venv_dir_setting(tmp_path):
    """VENV_DIR from webui-user.bat decides which folder is checked (Windows launch settings on this machine)."""
    from sd_doctor.launcher import settings as launch_settings

    root = make_webui(str(tmp_path / "webui"), {"webui-user.bat": "@echo off\r\nset VENV_DIR=-\r\ncall webui.bat\r\n"})
    launch = launch_settings.read(root, "windows", {}, {"calls_settings_bat": True, "generation": "1.7+"})
    assert launch_settings.venv_path(root, launch) is None
    plain = make_webui(str(tmp_path / "plain"))
    launch = launch_settings.read(plain, "windows", {"SKIP_VENV": "1"}, {"generation": "1.7+"})
    assert launch_settings.venv_path(plain, launch) is None
    launch = launch_settings.read(plain, "windows", {}, {"generation": "1.7+"})
    assert launch_settings.venv_path(plain, launch) == os.path.join(plain, "venv")
