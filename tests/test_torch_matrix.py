"""The torch build x compute capability x driver matrix (issue 11 part 1): the real CLI against the stand-in NVML
(tests/nvml_stub) with a torch ``version.py`` written into the venv as pip writes it, one run per row of the table;
TORCH_COMMAND through the planner and the writer (--fix, re-runs, --oom); the defaults of the real launch_utils.py
files of ../shared/webui-launchers."""

import os
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from conftest import cli_env, copy_corpus, make_webui, run_json
from nvml_stub.build import GB, CompilerMissing, build, write_config
from test_gpu import INDEX, LAUNCH_UTILS, card, fake_tool

from sd_doctor.checks import gpu
from sd_doctor.core.text import render
from sd_doctor.probes import cuda_builds, torch_build

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the NVML stand-in is a Linux .so")
BASE = INDEX[:-len("/whl")]

GTX1080 = card("NVIDIA GeForce GTX 1080", 8, cc="6.1")
V100 = card("Tesla V100-PCIE-16GB", 16, cc="7.0")
RTX2060 = card("NVIDIA GeForce RTX 2060", 6, cc="7.5")
RTX3060 = card("NVIDIA GeForce RTX 3060", 12, cc="8.6")
RTX4090 = card("NVIDIA GeForce RTX 4090", 24, cc="8.9")
RTX5090 = card("NVIDIA GeForce RTX 5090", 32, cc="12.0")

# row: (torch version installed in the venv, its CUDA, card, driver, expected status, build proposed or None)
ROWS = {
    "cu118-2.0": ("2.0.1+cu118", "11.8", GTX1080, "450.80.02", "ok", None),
    "cu121-rtx50": ("2.1.2+cu121", "12.1", RTX5090, "572.16", "error", "cu128"),
    "cu124-old-driver": ("2.4.1+cu124", "12.4", RTX3060, "525.60.11", "error", None),
    "cu126-pascal": ("2.7.1+cu126", "12.6", GTX1080, "535.104.05", "ok", None),
    "cu128-2.7-pascal": ("2.7.1+cu128", "12.8", GTX1080, "570.86.10", "ok", None),
    "cu128-2.8-pascal": ("2.8.0+cu128", "12.8", GTX1080, "570.86.10", "error", "cu126"),
    "cu128-2.8-ada": ("2.8.0+cu128", "12.8", RTX4090, "570.86.10", "ok", None),
    "cu128-2.11-volta": ("2.11.0+cu128", "12.8", V100, "570.86.10", "error", "cu126"),
    "cu130-r575": ("2.9.0+cu130", "13.0", RTX2060, "575.57.08", "error", "cu128"),
    "cu130-pascal": ("2.9.0+cu130", "13.0", GTX1080, "580.65.06", "error", "cu126"),
    "cu130-rtx50": ("2.9.0+cu130", "13.0", RTX5090, "580.65.06", "ok", None),
}


def torch_version_py(version, cuda):
    """torch/version.py as the torch wheel installs it."""
    return ("from typing import Optional\n\n__all__ = ['__version__', 'debug', 'cuda', 'git_version', 'hip']\n"
            "__version__ = '%s'\ndebug = False\ncuda: Optional[str] = '%s'\ngit_version = '0123abcd'\n"
            "hip: Optional[str] = None\nxpu: Optional[str] = None\n" % (version, cuda))


def venv_files(version, cuda):
    site = "venv/lib/python3.10/site-packages/"
    return {"venv/pyvenv.cfg": "home = /usr/bin\nversion = 3.10.12\n",
            site + "torch/version.py": torch_version_py(version, cuda)}


@pytest.fixture(scope="module")
def stub(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("nvml-matrix"))
    try:
        return build(folder, "default")
    except CompilerMissing as exc:
        pytest.skip("cannot build the NVML stand-in: %s" % exc)


def doctor(folder, webui, lib, devices, driver, args=(), cuda=12080):
    tools = os.path.join(folder, "tools")
    fake_tool(tools, "nvidia-smi", "exit 9\n")
    path = os.pathsep.join([tools] + [p for p in os.environ.get("PATH", "").split(os.pathsep)
                                      if p and not os.path.isfile(os.path.join(p, "nvidia-smi"))])
    env = cli_env({"LD_LIBRARY_PATH": lib, "NVML_STUB_CONFIG": write_config(
        os.path.join(folder, "nvml.cfg"), devices, driver=driver, cuda=cuda)}, path=path)
    proc, doc, checks = run_json([webui, "--offline", "--timeout", "3", "--verbose"] + list(args), env=env)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    return doc, checks


@pytest.fixture(scope="module")
def rows(stub, tmp_path_factory):
    top = str(tmp_path_factory.mktemp("matrix"))

    def one(name):
        version, cuda, dev, driver, _, _ = ROWS[name]
        folder = os.path.join(top, name)
        webui = make_webui(os.path.join(folder, "webui"), dict(venv_files(version, cuda), **{
            "modules/launch_utils.py": LAUNCH_UTILS}))
        return doctor(folder, webui, stub, [dev], driver)

    with ThreadPoolExecutor(max_workers=3) as pool:
        return dict(zip(ROWS, pool.map(one, list(ROWS))))


@linux_only
@pytest.mark.parametrize("name", sorted(ROWS))
def test_every_row_of_the_matrix_through_the_stand_in_nvml(rows, name):
    version, cuda, dev, driver, status, proposed = ROWS[name]
    doc, checks = rows[name]
    check = checks["gpu"]
    assert check["status"] == status, (name, check["detail"], check["advice"])
    assert check["facts"]["torch"]["torch_version"] == version
    command = doc["settings"]["variables"].get("TORCH_COMMAND")
    if proposed:
        assert command == "pip install torch torchvision --index-url %s/whl/%s" % (BASE, proposed)
        assert "+export TORCH_COMMAND='%s'" % command in doc["settings"]["diff"]
        assert any(r["action"] == "rename-aside" and r["path"].endswith(os.sep + "venv")
                   for r in doc["settings"]["remedies"])
        assert "rm -rf " in "\n".join(check["advice"])
    else:
        assert command is None, check["advice"]
    if name == "cu124-old-driver":
        assert "525.60.13" in check["detail"]
    if name == "cu130-r575":
        assert "580" in check["detail"] and "too old" in check["detail"]
    if name.endswith("pascal") and status == "error":
        assert "6.1" in check["detail"] and "no kernels" in check["detail"]


@linux_only
def test_torch_command_is_written_once_and_kept_by_reruns_and_oom(stub, tmp_path):
    folder = str(tmp_path)
    webui = make_webui(os.path.join(folder, "webui"), dict(venv_files("2.8.0+cu128", "12.8"), **{
        "modules/launch_utils.py": LAUNCH_UTILS, "webui-user.sh": "#!/bin/bash\n# my settings\n"}))
    want = "pip install torch torchvision --index-url %s/whl/cu126" % BASE
    doc, checks = doctor(folder, webui, stub, [GTX1080], "535.104.05", args=["--fix"])
    assert doc["settings"]["applied"] and doc["settings"]["variables"]["TORCH_COMMAND"] == want
    # The venv check (no runnable python in this stand-in venv) and the gpu check both want it gone: renamed once.
    renames = [r for r in doc["settings"]["remedies"] if r["path"] == os.path.join(webui, "venv")]
    assert len(renames) == 1 and renames[0]["applied"], doc["settings"]["remedies"]
    with open(os.path.join(webui, "webui-user.sh")) as fh:
        text = fh.read()
    assert text.startswith("#!/bin/bash\n# my settings\n") and text.count("export TORCH_COMMAND='%s'" % want) == 1
    assert not os.path.exists(os.path.join(webui, "venv"))  # renamed aside, kept
    assert [n for n in os.listdir(webui) if n.startswith("venv.broken-")]
    # The next run reads the new TORCH_COMMAND (cu126 covers 6.1): nothing more to change, with or without --oom.
    for args in (["--fix"], ["--fix", "--oom"]):
        doc, checks = doctor(folder, webui, stub, [GTX1080], "535.104.05", args=args)
        assert checks["gpu"]["facts"]["torch"]["source"] == "TORCH_COMMAND", checks["gpu"]
        assert checks["gpu"]["status"] == "ok", checks["gpu"]["detail"]
        with open(os.path.join(webui, "webui-user.sh")) as fh:
            assert fh.read().count("TORCH_COMMAND=") == 1


def test_plan_json_carries_the_variables():
    from sd_doctor.plan.flags import Plan

    assert Plan([], variables={"TORCH_COMMAND": ("x", None)}).to_json()["variables"] == {"TORCH_COMMAND": "x"}


# -- judge on facts: both directions, Windows, the table itself -------------------------------------------------
def facts_for(cc, driver, tag, torch_version, platform="windows", source="venv"):
    cuda = "%s.%s" % (tag[2:-1], tag[-1])
    torch = {"kind": "cuda", "cuda": cuda, "source": source, "detail": torch_version, "index_base": BASE,
             "installed": {"version": torch_version} if source == "venv" else None, "reinstall": False,
             "torch_version": torch_version, "venv": "C:\\sd\\webui\\venv"}
    dev = {"index": 0, "name": "card %s" % cc, "vram_total": 8 * GB, "compute_capability": cc}
    return {"platform": platform, "flavour": "a1111", "source": "nvml", "vendor": "nvidia", "name": dev["name"],
            "vram_total": 8 * GB, "driver_version": driver, "compute_capability": cc, "selected_index": 0,
            "devices": [dev], "nvml": {"status": "ok"}, "nvidia_smi": {}, "torch": torch}


@pytest.mark.parametrize("tag, torch_version, cc, covered", [
    ("cu118", "2.0.1", "3.7", True), ("cu118", "2.1.2", "3.7", False), ("cu121", "2.1.2", "12.0", False),
    ("cu121", "2.1.2", "5.2", True), ("cu124", "2.6.0", "9.0", True), ("cu126", "2.9.1", "6.1", True),
    ("cu126", "2.9.1", "12.0", False), ("cu128", "2.7.1", "5.0", True), ("cu128", "2.8.0", "6.1", False),
    ("cu128", "2.8.0", "7.0", True), ("cu128", "2.11.0", "7.0", False), ("cu128", "2.11.0", "12.0", True),
    ("cu128", None, "7.0", False), ("cu130", "2.9.0", "7.5", True), ("cu130", "2.9.0", "6.1", False),
    ("cu130", "2.10.0", "10.0", True), ("cu130", "2.9.0", "12.1", True)])
def test_table_coverage(tag, torch_version, cc, covered):
    assert cuda_builds.covers(cuda_builds.archs_for(tag, torch_version), cc) is covered


@pytest.mark.parametrize("tag, platform, driver, ok", [
    ("cu118", "windows", "452.39", True), ("cu118", "linux", "450.80.01", False), ("cu126", "windows", "527.41", True),
    ("cu128", "linux", "525.60.13", True), ("cu130", "linux", "575.64.03", False), ("cu130", "windows", "580.88", True)])
def test_driver_minimum_per_line_and_os(tag, platform, driver, ok):
    f = gpu.judge(facts_for("8.6", driver, tag, "2.9.0", platform=platform))
    assert (f.status == "ok") is ok, render(f.detail_lines(), "en")


def test_windows_rtx_50_on_cu121_proposes_cu128_and_the_venv_rename():
    f = gpu.judge(facts_for("12.0", "572.16", "cu121", "2.1.2+cu121"))
    advice = "\n".join(render(f.advice, "en"))
    assert f.status == "error" and f.proposals["TORCH_COMMAND"].endswith("/whl/cu128")
    assert "set TORCH_COMMAND=pip install torch torchvision --index-url %s/whl/cu128" % BASE in advice
    assert 'rmdir /s /q "C:\\sd\\webui\\venv"' in advice or "C:\\sd\\webui\\venv" in advice
    assert f.remedies == [{"action": "rename-aside", "path": "C:\\sd\\webui\\venv"}]
    assert "sm_120" in " ".join(render(f.detail_lines(), "zh"))


def test_pascal_on_cu130_not_yet_installed_proposes_cu126_without_a_rename():
    f = gpu.judge(facts_for("6.1", "581.57", "cu130", None, source="TORCH_COMMAND"))
    assert f.status == "error" and f.proposals["TORCH_COMMAND"].endswith("/whl/cu126") and not f.remedies


def test_fitting_tag():
    assert cuda_builds.fitting_tag("6.1") == "cu126" and cuda_builds.fitting_tag("12.0") == "cu128"
    assert cuda_builds.fitting_tag("8.6", (575, 57, 8), "linux") == "cu128"
    assert cuda_builds.fitting_tag("3.5") is None and cuda_builds.fitting_tag("8.6", (470, 1), "linux") == "cu118"


@pytest.mark.parametrize("name, tag, version", [("a1111-2024-02-26-v1.8", "cu121", "2.1.2"),
                                                ("forge-2025-06-26", "cu121", "2.3.1"),
                                                ("a1111-2023-10-14-v1.7", "cu118", "2.0.1"),
                                                ("a1111-2022-11-10", "cu113", "1.12.1")])
def test_defaults_of_the_real_launchers(tmp_path, name, tag, version):
    webui = copy_corpus(name, str(tmp_path / "webui"))
    facts = torch_build.describe(webui, {}, [], os.path.join(webui, "venv"))
    assert (facts["detail"], facts["torch_version"]) == (tag, version)
    assert facts["default_command"].startswith("pip install torch==")
    if tag != "cu113":
        f = gpu.judge(dict(facts_for("12.0", "572.16", "cu121", None), torch=facts))
        command = f.proposals["TORCH_COMMAND"]
        assert f.status == "error" and command == "pip install torch torchvision --index-url %s/whl/cu128" % (
            facts["index_base"]) and "://" in command


def test_xformers_users_are_told_that_the_pinned_xformers_brings_the_old_torch_back():
    facts = dict(facts_for("12.0", "572.16", "cu121", "2.1.2+cu121"), commandline_args=["--xformers", "--api"])
    advice = "\n".join(render(gpu.judge(facts).advice, "en"))
    assert "XFORMERS_PACKAGE" in advice and "Remove --xformers" in advice
    assert "XFORMERS_PACKAGE" not in "\n".join(render(gpu.judge(facts_for("12.0", "572.16", "cu121", "2.1.2")).advice,
                                                      "en"))
