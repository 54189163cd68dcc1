"""The venv check's package health (issue 11 part 2), read from real venvs made by a real Python 3.10 with
dist-info folders written as pip writes them: pip missing, half-uninstalled `~` leftovers, torch missing or a CPU
build, xformers built for another torch, extensions pinning torch."""

import os
import shlex

import pytest

from dists import venv_site, write_dist
from test_torch_matrix import torch_version_py
from test_venv_check import PY310, judge_dir, make_venv
from conftest import make_webui, text_of

from sd_doctor.checks import venv as venv_check
from sd_doctor.probes import venv_packages

needs310 = pytest.mark.skipif(not PY310, reason="needs a real Python 3.10 (pyenv)")


def install_torch(site, version, cuda):
    write_dist(site, "torch", version, requires=["filelock", "typing-extensions>=4.8.0"],
               files={"torch/__init__.py": "", "torch/version.py": torch_version_py(version, cuda)})


def webui_with_venv(tmp_path, pip=True, files=None):
    root = make_webui(str(tmp_path / "webui"), files or {})
    venv = os.path.join(root, "venv")
    if pip:
        make_venv(PY310, venv)
    else:
        import subprocess

        subprocess.run([PY310, "-m", "venv", "--without-pip", venv], check=True, timeout=60)
    return root, venv, venv_site(venv, ".".join(venv_check_version().split(".")[:2]))


def venv_check_version():
    import subprocess

    return subprocess.run([PY310, "-c", "import sys;print('%d.%d' % sys.version_info[:2])"], capture_output=True,
                          text=True, timeout=30).stdout.strip()


@needs310
def test_pip_missing_from_the_venv(tmp_path):
    root, venv, site = webui_with_venv(tmp_path, pip=False)
    f = judge_dir(root)
    assert f.status == "error" and "No module named pip" in text_of(f)
    assert "%s -m ensurepip --upgrade" % os.path.join(venv, "bin", "python") in text_of(f)
    assert "pip" in text_of(f, "zh") and "缺少 pip" in text_of(f, "zh")


@needs310
def test_half_uninstalled_leftovers_and_torch_missing(tmp_path):
    root, venv, site = webui_with_venv(tmp_path)
    write_dist(site, "numpy", "1.26.2")
    os.makedirs(os.path.join(site, "~orch"))  # what pip leaves when killed while replacing torch
    os.makedirs(os.path.join(site, "~orch-2.1.2.dist-info"))
    f = judge_dir(root)
    assert f.status == "warn", text_of(f)
    assert "~orch, ~orch-2.1.2.dist-info" in text_of(f) and "rm -rf %s" % shlex.quote(os.path.join(site, "~orch")) in text_of(f)
    assert "torch is not installed" in text_of(f)
    assert f.facts["packages"]["dists"]["numpy"]["version"] == "1.26.2"


@needs310
def test_cpu_torch_with_an_nvidia_driver_needs_the_venv_renamed(tmp_path):
    root, venv, site = webui_with_venv(tmp_path)
    install_torch(site, "2.1.2+cpu", None)
    with open(os.path.join(site, "torch", "version.py"), "w") as fh:
        fh.write("__version__ = '2.1.2+cpu'\ndebug = False\ncuda = None\nhip = None\n")
    f = judge_dir(root)
    assert f.facts["packages"]["torch_installed"]["version"] == "2.1.2+cpu"
    with_driver = venv_check.judge(dict(f.facts, packages=dict(f.facts["packages"], nvidia_driver=True)))
    assert with_driver.status == "warn" and "CPU build" in text_of(with_driver)
    assert with_driver.remedies == [{"action": "rename-aside", "path": venv}]
    without = venv_check.judge(dict(f.facts, packages=dict(f.facts["packages"], nvidia_driver=False)))
    assert without.status == "ok" and not without.remedies


@needs310
@pytest.mark.parametrize("torch_version, status", [("2.3.1+cu121", "error"), ("2.1.2+cu121", "ok")])
def test_xformers_built_for_another_torch(tmp_path, torch_version, status):
    root, venv, site = webui_with_venv(tmp_path)
    install_torch(site, torch_version, "12.1")
    write_dist(site, "xformers", "0.0.23.post1", requires=["numpy", "torch ==2.1.2"])
    f = judge_dir(root)
    assert f.status == status, text_of(f)
    if status == "error":
        assert "xformers 0.0.23.post1 was built for torch 2.1.2" in text_of(f) and "pip uninstall -y xformers" in text_of(f)


@needs310
def test_extensions_that_pin_another_torch_are_named(tmp_path):
    files = {"extensions/sd-webui-old/requirements.txt": "numpy\ntorch==1.13.1\n",
             "extensions/sd-webui-setup/install.py": "import launch\nlaunch.run_pip('install torch==2.0.1', 'torch')\n",
             "extensions/sd-webui-fine/requirements.txt": "torch==2.1.2\ntorchvision\n",
             "extensions/sd-webui-loose/requirements.txt": "torch>=2.0\n"}
    root, venv, site = webui_with_venv(tmp_path, files=files)
    install_torch(site, "2.1.2+cu121", "12.1")
    f = judge_dir(root)
    out = text_of(f)
    assert f.status == "warn"
    assert "sd-webui-old pins torch==1.13.1 (requirements.txt)" in out
    assert "sd-webui-setup pins torch==2.0.1 (install.py)" in out
    assert "sd-webui-fine" not in out and "sd-webui-loose" not in out
    assert "sd-webui-old" in text_of(f, "zh")


def test_windows_base_python_without_pip(tmp_path):
    home = str(tmp_path / "Python310")
    write_dist(os.path.join(home, "Lib", "site-packages"), "setuptools", "65.5.0")
    base = venv_packages.site_packages(home, "windows", base=True)
    assert base and venv_packages.read(base[0])["pip"] is False
    pkgs = {"dists": {"pip": {}}, "pip": True, "folder": "C:\\sd\\venv\\Lib\\site-packages", "half_uninstalled": [],
            "torch_installed": None, "extension_pins": [], "nvidia_driver": False, "base_pip": False,
            "base_python": "C:\\Python310\\python.exe", "pip_installer": False}
    facts = {"platform": "windows", "venv": "C:\\sd\\venv", "exists": True, "cfg_exists": True, "home": "C:\\Python310",
             "home_exists": True, "python": "C:\\sd\\venv\\Scripts\\python.exe", "python_exists": True,
             "python_info": {"runs": True, "version": "3.10.11"}, "packages": pkgs, "webui_dir": "C:\\sd"}
    f = venv_check.judge(facts)
    assert f.status == "error" and '"C:\\Python310\\python.exe" -m ensurepip --upgrade' in text_of(f)
    assert venv_check.judge(dict(facts, packages=dict(pkgs, pip_installer=True))).status == "ok"


def test_requirement_parsing():
    assert venv_packages.torch_requirement(["numpy", "torch (==2.0.1)"]) == "2.0.1"
    assert venv_packages.torch_requirement(["torch==2.1.2; platform_system == 'Linux'"]) == "2.1.2"
    assert venv_packages.torch_requirement(["torch>=2.1", "torchvision==0.16.2"]) is None
