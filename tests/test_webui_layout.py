"""The launcher model's layout: what is installed, read from real folders (generations, flavours, flags, version)."""

import os
import shutil
import subprocess

import pytest

from conftest import make_webui
from sd_doctor.core.context import Context, Options
from sd_doctor.launcher import flavour as flavours


def describe(root):
    """The layout facts as the launcher model reports them (ctx.layout)."""
    return Context(root, Options(offline=True)).layout


@pytest.mark.parametrize("generation", ["2022", "2023", "1.7+"])
def test_generations(generation, tmp_path):
    root = make_webui(str(tmp_path / "w"), bat_generation=generation)
    facts = describe(root)
    assert facts["generation"] == generation
    assert facts["calls_settings_bat"] is (generation == "1.7+")
    assert facts["installed"] is True and facts["flavour"] == "a1111"


def test_real_world_v17_bat_text():
    text = ("@echo off\r\n\r\nif exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n\r\n"
            "if not defined PYTHON (set PYTHON=python)\r\nif defined GIT (set \"GIT_PYTHON_GIT_EXECUTABLE=%GIT%\")\r\n"
            "if not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n")
    assert flavours.detect_generation(text) == "1.7+"
    assert flavours.detect_generation("@echo off\r\necho hello\r\n") is None


@pytest.mark.parametrize("folders,files,flavour", [
    (["modules_forge"], [], "forge"),
    (["modules_forge", "ldm_patched"], [], "forge"),  # Forge of early 2024 (before its backend/), not reForge
    (["modules_forge", "ldm_patched"], ["README.md"], "reforge"),
    ([], ["installer.py", "launch.py"], "sdnext"),
    ([], ["launch.py"], "a1111"),
    ([], [], None),
])
def test_flavours(folders, files, flavour, tmp_path):
    root = tmp_path / "w"
    root.mkdir()
    for d in folders:
        (root / d).mkdir()
    for f in files:
        (root / f).write_text("# Stable Diffusion WebUI reForge\n" if f == "README.md" else "# stand-in\n")
    assert flavours.detect(str(root))[0] == flavour


def test_accepted_flags_from_cmd_args(tmp_path):
    cmd_args = "\n".join([
        "import argparse",
        "parser = argparse.ArgumentParser()",
        'parser.add_argument("--medvram", action=\'store_true\', help="enable --lowvram-like things")',
        "parser.add_argument('--precision', type=str, choices=['full', 'autocast'])",
        'parser.add_argument("-c", "--config", type=str)',
        'parser.add_argument(\n    "--port",\n    type=int)',
        'group = parser.add_mutually_exclusive_group()',
        'group.add_argument("--attention-split", action="store_true")',
        ""])
    root = make_webui(str(tmp_path / "w"), {"modules/cmd_args.py": cmd_args})
    flags = describe(root)["accepted_flags"]
    assert flags == ["--attention-split", "--config", "--medvram", "--port", "--precision"]
    assert describe(make_webui(str(tmp_path / "none")))["accepted_flags"] is None


def test_forge_flags_are_merged(tmp_path):
    root = make_webui(str(tmp_path / "w"), {
        "modules/cmd_args.py": 'from backend.args import parser\nparser.add_argument("--xformers", action="store_true")\n',
        "backend/args.py": 'parser.add_argument("--always-low-vram", action="store_true")\n'})
    os.makedirs(os.path.join(root, "modules_forge"))
    facts = describe(root)
    assert facts["flavour"] == "forge"
    assert facts["accepted_flags"] == ["--always-low-vram", "--xformers"]


def test_version_from_git_tags(tmp_path):
    git = shutil.which("git")
    if not git:
        pytest.skip("git is not installed")
    root = make_webui(str(tmp_path / "w"))
    env = dict(os.environ, GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.invalid", GIT_COMMITTER_NAME="t",
               GIT_COMMITTER_EMAIL="t@example.invalid", GIT_CONFIG_NOSYSTEM="1", HOME=str(tmp_path))
    for args in (["init", "-q"], ["add", "-A"], ["commit", "-qm", "x"], ["tag", "v1.10.1"]):
        subprocess.run([git, "-C", root] + args, check=True, env=env, capture_output=True)
    facts = describe(root)
    assert facts["is_git"] is True and facts["version"] == "1.10.1"
    assert describe(make_webui(str(tmp_path / "plain")))["version"] is None


def test_one_click_package(tmp_path):
    pkg = tmp_path / "sd-webui-aki"
    (pkg / "system" / "python").mkdir(parents=True)
    (pkg / "environment.bat").write_text("@echo off\r\nset SKIP_VENV=1\r\n")
    root = make_webui(str(pkg / "webui"))
    assert describe(root)["one_click"] is True
    assert describe(make_webui(str(tmp_path / "plain")))["one_click"] is False


def test_missing_folder(tmp_path):
    facts = describe(str(tmp_path / "nope"))
    assert facts["exists"] is False and facts["installed"] is False and facts["flavour"] is None
