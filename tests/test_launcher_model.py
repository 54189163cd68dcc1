"""The launcher model (ctx.launcher): its ast readers on small files written here, and the real launcher files of
../shared/webui-launchers read through the real CLI's --json (expectations written by reading each file)."""

import os
import re

import pytest

from conftest import CORPUS_NAMES, copy_corpus, machine_env, make_webui, run_json, write_fake_python
from writer_support import make_ctx
from sd_doctor.launcher import cmd_args, launch_utils, pysource, webui_sh


def _write(root, rel, content):
    path = os.path.join(root, *rel.split("/"))
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb" if isinstance(content, bytes) else "w") as fh:
        fh.write(content)
    return path


CLONES = '''import os
def prepare_environment():
    live_repo = os.environ.get('LIVE_REPO', "https://example.invalid/live.git")
    live_hash = os.environ.get('LIVE_COMMIT_HASH', "1111")
    dead_repo = os.environ.get('DEAD_REPO', "https://example.invalid/dead.git")
    torch_index_url = os.environ.get('TORCH_INDEX_URL', "https://example.invalid/whl/cu121")
    torch_command = os.environ.get('TORCH_COMMAND', f"pip install torch==2.3.1 --extra-index-url {torch_index_url}")
    clip_package = os.environ.get('CLIP_PACKAGE', "https://example.invalid/clip.zip")
    git_clone(live_repo, repo_dir('live'), "Live", live_hash)
    # git_clone(dead_repo, repo_dir('commented'), "Commented", None)
    if False:
        git_clone(dead_repo, repo_dir('if-false'), "Dead", None)
    run_pip(f"install --no-build-isolation {clip_package}", "clip")
    return
    git_clone(dead_repo, repo_dir('after-return'), "Dead", None)


def check_python_version():
    if is_windows:
        supported_minors = [10, 11]
    else:
        supported_minors = [9, 10, 11, 12]
'''


def test_only_reachable_clones_count(tmp_path):
    root = str(tmp_path)
    _write(root, "modules/launch_utils.py", CLONES)
    facts, notes = launch_utils.read(root)
    assert notes == []
    assert [(r["folder"], r["url_var"], r["default_commit"]) for r in facts["repos"]] == [("live", "LIVE_REPO", "1111")]
    assert facts["torch_command"] == "pip install torch==2.3.1 --extra-index-url https://example.invalid/whl/cu121"
    assert facts["python_minors"]["windows"] == [10, 11] and facts["python_minors"]["other"] == [9, 10, 11, 12]
    assert facts["clip_install"]["no_build_isolation"] is True


@pytest.mark.parametrize("content,why", [
    ("def broken(:\n    pass\n", "syntax error at line 1"),
    (b"\x7fELF\x00\x00binary", "binary"),
])
def test_unparsable_launcher_file_is_a_note_not_a_traceback(tmp_path, content, why):
    root = make_webui(str(tmp_path / "w"))
    _write(root, "modules/launch_utils.py", content)
    facts, notes = launch_utils.read(root)
    assert notes and notes[0][0] == "modules/launch_utils.py" and why in notes[0][1]
    ctx = make_ctx(root, "linux")
    assert ctx.launcher.notes[0]["file"] == "modules/launch_utils.py"
    assert ctx.launcher.repositories == []  # launch.py ("# stand-in") still parses: it clones nothing


def test_huge_file_is_not_read(tmp_path):
    root = str(tmp_path)
    path = _write(root, "modules/cmd_args.py", "")
    with open(path, "r+b") as fh:
        fh.truncate(50 * 1024 * 1024)  # 50 MB (sparse): refused by its size, never read into memory
    facts, notes = cmd_args.read(root)
    assert facts is None and notes == [("modules/cmd_args.py", "too large to be a launcher file (50 MB)")]


def test_cmd_args_reader(tmp_path):
    root = str(tmp_path)
    _write(root, "modules/cmd_args.py", "import argparse\nfrom backend.args import parser\n"
                                        "parser.add_argument('--medvram', action='store_true', help='does not do anything')\n"
                                        "parser.add_argument('-f', action='store_true', help=argparse.SUPPRESS)\n"
                                        "if False:\n    parser.add_argument('--dead')\n"
                                        "# parser.add_argument('--commented')\n")
    facts, _ = cmd_args.read(root, extracted=["--tests"])
    assert sorted(facts["flags"]) == ["--medvram", "--tests"] and facts["flags"]["--medvram"]["noop"] is True
    assert facts["missing"] == ["backend/args.py"]
    _write(root, "backend/args.py", "import argparse\nparser = argparse.ArgumentParser()\n"
                                    "parser.add_argument('--always-cpu', action='store_true')\n")
    facts, _ = cmd_args.read(root)
    assert "--always-cpu" in facts["flags"] and facts["missing"] == []


def test_pysource_dead_branches():
    import ast

    tree = ast.parse("if 0:\n    a()\nelse:\n    b()\nwhile False:\n    c()\ndef f():\n    raise X(e())\n    d()\n")
    assert [pysource.call_name(c) for _, c in pysource.live_calls(tree)] == ["b", "X", "e"]


# -- the real launcher files ------------------------------------------------------------------------------------------
# Read from each folder's files: (flavour, the repositories/ folders it clones, accepted Python minors on Windows
# and elsewhere (None: the file states none), torch pin, Windows settings file, whether SDXL loads, webui.sh default)
EXPECTED = {
    "a1111-2022-09-08": ("a1111", ["stable-diffusion", "taming-transformers", "CodeFormer"], None, "1.12.1+cu113",
                         "webui.settings.bat", False, None),
    "a1111-2022-11-10": ("a1111", ["stable-diffusion", "taming-transformers", "k-diffusion", "CodeFormer", "BLIP"],
                         None, "1.12.1+cu113", "webui-user.bat", False, "python3"),
    "a1111-2023-06-05": ("a1111", ["stable-diffusion-stability-ai", "k-diffusion", "CodeFormer", "BLIP"],
                         ([10], [7, 8, 9, 10, 11]), "2.0.1", "webui-user.bat", False, "python3"),
    "a1111-2023-10-14-v1.7": ("a1111", ["stable-diffusion-stability-ai", "generative-models", "k-diffusion",
                                        "CodeFormer", "BLIP"], ([10], [7, 8, 9, 10, 11]), "2.0.1", "webui-user.bat",
                              True, "python3"),
    "a1111-2024-02-26-v1.8": ("a1111", ["stable-diffusion-webui-assets", "stable-diffusion-stability-ai",
                                        "generative-models", "k-diffusion", "BLIP"], ([10], [7, 8, 9, 10, 11]),
                              "2.1.2", "webui-user.bat", True, "python3"),
    "forge-2025-06-26": ("forge", ["stable-diffusion-webui-assets", "huggingface_guess", "BLIP"],
                         ([10], [7, 8, 9, 10, 11]), "2.3.1", "webui-user.bat", True, "python3.10"),
}


def _checkout(tmp_path, name, crlf_user_bat=False):
    root = copy_corpus(name, str(tmp_path / u"my webui ü 测试" / name))
    user_bat = os.path.join(root, "webui-user.bat")
    if os.path.isfile(user_bat):
        with open(user_bat, "rb") as fh:
            data = fh.read().replace(b"\r\n", b"\n")
        with open(user_bat, "wb") as fh:
            fh.write(data.replace(b"\n", b"\r\n") if crlf_user_bat else data)
    return root


@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_corpus_json(name, tmp_path):
    flavour, folders, minors, pin, win_file, sdxl, sh_python = EXPECTED[name]
    root = _checkout(tmp_path, name)
    env = machine_env(str(tmp_path / "machine"))
    if sh_python == "python3":  # before v1.10 webui.sh runs python3, never python3.10 (PR #16092)
        proc, doc, checks = run_json([root, "--offline"], env=env)
        assert "python3 was not found (webui.sh line" in checks["python"]["detail"]
        write_fake_python(env["SD_TEST_BIN"], "python3", "3.10.6")
    proc, doc, checks = run_json([root, "--offline"], env=env)
    model = doc["launcher"]
    assert model["flavour"] == flavour
    assert [r["folder"] for r in model["repositories"]] == folders
    assert (model["python"] and (model["python"]["windows"], model["python"]["other"])) == (minors or None)
    assert model["torch"]["pin"] == pin and model["sdxl_capable"] is sdxl
    assert (model["webui_sh"] or {}).get("default_python") == sh_python
    assert model["target"]["file"] == "webui-user.sh" and model["target"]["why"]
    # the deleted Stability-AI repository is named only where it is really cloned
    stability = "stable-diffusion-stability-ai" in folders
    assert ("Stability-AI/stablediffusion" in checks["git"]["detail"]) is stability
    assert "STABLE_DIFFUSION_REPO" not in (doc.get("settings") or {}).get("variables", {}) or stability
    if minors:  # the verdict names the flavour and the line it read
        assert re.search(r"modules/launch_utils\.py line \d+ accepts", checks["python"]["detail"]), checks["python"]
    # no advice names a flag this install does not declare, or one the plan would not write
    declared = set(model["accepted_flags"])
    planned = set((doc.get("settings") or {}).get("commandline_args") or [])
    for advice in checks["gpu"]["advice"]:
        for flag in re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", advice):
            assert flag in declared and flag in planned, (flag, advice)
    windows = make_ctx(_checkout(tmp_path / "crlf", name, crlf_user_bat=True), "windows").launcher
    assert windows.target.name == win_file and windows.flavour == flavour


def test_forge_checkout_has_no_false_errors(tmp_path):
    root = _checkout(tmp_path, "forge-2025-06-26")
    proc, doc, checks = run_json([root, "--offline"], env=machine_env(str(tmp_path / "machine")))
    assert "Couldn't clone Stable Diffusion" not in checks["git"]["detail"]
    assert "--use-cpu" not in " ".join(checks["gpu"]["advice"])
    assert doc["launcher"]["flags_missing"] == ["backend/args.py"]  # Forge's own flags live there (absent here)


def test_webui_sh_generations():
    for name, dash, in_venv in (("a1111-2022-11-10", False, False), ("a1111-2023-10-14-v1.7", True, False),
                                ("forge-2025-06-26", True, True)):
        from conftest import corpus_path

        sh = webui_sh.describe(corpus_path(name))
        assert (sh["venv_dash_honoured"], sh["absolute_python_in_venv"]) == (dash, in_venv), name


def test_pre_110_webui_sh_never_gets_an_absolute_python_cmd(tmp_path):
    from writer_support import run_writer

    root = _checkout(tmp_path, "a1111-2024-02-26-v1.8")
    result, text = run_writer(make_ctx(root, "linux", fix=True), {"PYTHON": "/opt/py310/bin/python3.10"})
    assert "python_cmd" not in result["variables"] and "#16113" in text
    assert 'export PATH=/opt/py310/bin:"$PATH"\npython_cmd=python3.10' in text
    root = _checkout(tmp_path / "forge", "forge-2025-06-26")
    result, _ = run_writer(make_ctx(root, "linux", fix=True), {"PYTHON": "/opt/py310/bin/python3.10"})
    assert result["variables"]["python_cmd"] == "/opt/py310/bin/python3.10"  # v1.10 form: runs in the venv


def test_no_venv_on_a_pre_17_webui_sh_says_it_cannot(tmp_path):
    from writer_support import run_writer

    root = _checkout(tmp_path, "a1111-2023-06-05")
    result, text = run_writer(make_ctx(root, "linux", fix=True, no_venv=True))
    assert "venv_dir" not in result["variables"] and "before v1.7" in text


@pytest.mark.parametrize("name", ["forge-2025-06-26", "a1111-2024-02-26-v1.8"])
def test_one_click_package_judges_the_package_python(name, tmp_path):
    from sd_doctor.checks import path as path_check, python as python_check, venv as venv_check
    from sd_doctor.core.runner import run_one

    package = tmp_path / u"sd-webui-aki 包"
    root = copy_corpus(name, str(package / "webui"))
    _write(str(package), "environment.bat", "@echo off\r\nset DIR=%~dp0system\r\nset SKIP_VENV=1\r\n")
    _write(str(package), "run.bat", "@echo off\r\ncall environment.bat\r\ncd webui\r\ncall webui-user.bat\r\n")
    os.makedirs(str(package / "system" / "git" / "bin"))
    write_fake_python(str(package / "system" / "python"), "python", "3.10.11")
    write_fake_python(str(package / "system" / "git" / "bin"), "git")
    ctx = make_ctx(root, "windows", environ={"PATH": "/nonexistent"})  # no Python on the user's PATH at all
    assert ctx.launcher.one_click["root"] == str(package) and ctx.launcher.target.name == "webui.settings.bat"
    for check in (python_check, path_check, venv_check):
        finding = run_one(check, ctx)
        assert finding.status != "error", (check.ID, [m.render("en") for _, m in finding.lines])
    python = run_one(python_check, ctx)
    text = " ".join(m.render("en") for _, m in python.lines)
    assert "run.bat" in text and "not found" not in text and "Install Python" not in str(python.advice)


GIB = 1024 ** 3
GPU_MATRIX = [  # (vendor, name, VRAM GiB, adapter source): what the gpu check's probe would have found
    (None, None, None, None), ("intel", "Intel(R) UHD Graphics 630", 1, "registry"),
    ("amd", "AMD Radeon RX 6600", 8, "registry"), ("nvidia", "NVIDIA GeForce GTX 1650", 4, "nvml"),
    ("nvidia", "NVIDIA GeForce RTX 3050", 4, "nvml"), ("nvidia", "NVIDIA GeForce RTX 3060", 12, "nvml"),
    ("nvidia", "NVIDIA GeForce RTX 4090", 24, "nvml"),
]


@pytest.mark.parametrize("name", CORPUS_NAMES)
@pytest.mark.parametrize("platform", ["windows", "linux"])
def test_gpu_advice_names_only_flags_the_plan_writes_and_the_install_declares(name, platform, tmp_path):
    """A property over the corpus x a GPU matrix x --oom: every flag the gpu advice or the plan's notes name is
    declared by that folder's parser, and every flag in the gpu advice is in the planned COMMANDLINE_ARGS."""
    from sd_doctor.checks import gpu
    from sd_doctor.plan.flags import plan_flags

    model = make_ctx(_checkout(tmp_path, name), platform).launcher
    declared = set(model.accepted_flags)
    for vendor, card_name, vram, source in GPU_MATRIX:
        for oom in (False, True):
            facts = {"platform": platform, "flavour": model.flavour, "source": source, "vendor": vendor,
                     "name": card_name, "vram_total": vram and vram * GIB, "devices": [], "torch": {},
                     "cpu_flags": " ".join(" ".join([f] + v) for f, v in model.cpu_flags()) or None,
                     "nvml": {"status": "no-library"}, "nvidia_smi": {"status": "missing"}}
            advice = " ".join(a.render("en") for a in gpu.judge(facts).advice)
            plan = plan_flags(vram and vram * GIB, vendor, card_name, 512, None, model.flavour, None,
                              model.accepted_flags, [], oom, platform=platform, sdxl_capable=model.sdxl_capable)
            notes = " ".join(n.render("en") for n in plan.notes if "is not added" not in n.render("en"))
            named = lambda text: set(re.findall(r"(?<![\w-])--[a-z][a-z0-9-]+", text))
            assert set(plan.commandline_args) - {"all", "full"} <= declared, (vendor, plan.commandline_args)
            assert named(advice) <= set(plan.commandline_args) & declared, (vendor, advice)
            assert named(notes) - {"--oom"} <= declared, (vendor, notes)  # "X is not added: ..." lines aside


def test_sdxl_flags_only_where_the_version_loads_sdxl():
    from sd_doctor.plan.flags import plan_flags

    card = (8 * GIB, "nvidia", "NVIDIA GeForce RTX 3070", 1024, ["sd1", "sdxl"], "a1111")
    loads = plan_flags(*card, sdxl_capable=True)
    old = plan_flags(*card, sdxl_capable=False)  # the 2023-06-05 folder: no generative-models clone
    assert "--medvram-sdxl" in loads.commandline_args or "--medvram" in loads.commandline_args
    assert not any("sdxl" in t for t in old.commandline_args)
    assert any("1.5.0" in n.render("en") for n in old.notes)
    assert plan_flags(*card, version="1.4.1").commandline_args == old.commandline_args


def test_oom_without_a_gpu_answer_says_it_cannot_climb():
    from sd_doctor.plan.flags import plan_flags

    for vendor, gpu_known in ((None, True), ("nvidia", False)):
        p = plan_flags(None, vendor, None, 512, None, "a1111", None, None, [], True, gpu_known=gpu_known)
        assert any("cannot go a rung higher" in n.render("en") for n in p.notes), vendor


def test_checkpoint_folders_are_followed_through_symlinks(tmp_path):
    from sd_doctor.probes import checkpoints

    real = tmp_path / "elsewhere" / "sdxl"
    real.mkdir(parents=True)
    (real / "model.ckpt").write_bytes(b"pickle")
    top = tmp_path / "webui" / "models" / "Stable-diffusion"
    top.mkdir(parents=True)
    os.symlink(str(real), str(top / "linked"))
    os.symlink(str(top), str(real / "loop"))  # a loop back up must not be walked forever
    names = [f["name"] for f in checkpoints.scan([str(top)])["files"]]
    assert names == [os.path.join("linked", "model.ckpt")]
