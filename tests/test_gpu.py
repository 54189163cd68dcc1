"""The gpu check and the planned flags, end to end: the real CLI in a subprocess, the real pynvml loading a stand-in
libnvidia-ml.so.1 (tests/nvml_stub, compiled here with the system C compiler) through LD_LIBRARY_PATH."""

import ctypes
import glob
import os
import stat
import sys
import time

import pytest

from conftest import cli_env, make_webui, run_cli, run_json
from nvml_stub.build import GB, CompilerMissing, build, write_config
from test_safetensors import SD1_NAMES, SDXL_NAMES, write_safetensors

from sd_doctor.checks import gpu
from sd_doctor.core.text import render

MIB = 1024 ** 2
INDEX = "https://torch-wheels.example/whl"  # written into the stand-in launch_utils.py; advice must reuse it
LAUNCH_UTILS = ("import os\n\n"
                "def prepare_environment():\n"
                "    torch_index_url = os.environ.get('TORCH_INDEX_URL', \"%s/cu121\")\n"
                "    torch_command = os.environ.get('TORCH_COMMAND', f\"pip install torch==2.1.2 torchvision==0.16.2 "
                "--extra-index-url {torch_index_url}\")\n" % INDEX)

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the NVML stand-in is a Linux .so")


@pytest.fixture(scope="session")
def stub_libs(tmp_path_factory):
    folder = str(tmp_path_factory.mktemp("nvml-stub"))
    try:
        return {"default": build(folder, "default"), "no-v2": build(folder, "no-v2")}
    except CompilerMissing as exc:
        pytest.skip("cannot build the NVML stand-in: %s" % exc)


def fake_tool(folder, name, body):
    os.makedirs(folder, exist_ok=True)
    path = os.path.join(folder, name)
    with open(path, "w") as fh:
        fh.write("#!/bin/sh\n" + body)
    os.chmod(path, os.stat(path).st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return path


def webui_with(tmp_path, checkpoints=(), user_sh=None, forge=False, torch_installed=None):
    files = {"modules/launch_utils.py": LAUNCH_UTILS}
    if user_sh is not None:
        files["webui-user.sh"] = user_sh
    if forge:
        files["modules_forge/__init__.py"] = ""
    if torch_installed:
        files["venv/lib/python3.10/site-packages/torch/version.py"] = (
            "__version__ = '%s'\ndebug = False\ncuda = '%s'\nhip = None\n" % torch_installed)
    root = make_webui(os.path.join(str(tmp_path), "webui"), files)
    for name, names in checkpoints:
        write_safetensors(os.path.join(root, "models", "Stable-diffusion", name), names)
    return root


def card(name, gib, cc="8.6", **kw):
    return dict({"name": name, "total": int(gib * GB), "free": int(gib * GB * 0.9), "reserved": 300 * MIB,
                 "cc": cc}, **kw)


FAILING_SMI = "echo 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.'\nexit 9\n"


class Scenario(object):
    """One run of the real CLI against the stand-in NVML (or none). ``devices`` None: no stand-in at all."""

    def __init__(self, devices=None, args=(), user_sh=None, checkpoints=(), forge=False, torch_installed=None,
                 env=None, variant="default", smi=FAILING_SMI, timeout="3", text=False, **config):
        self.devices = devices
        self.args = list(args)
        self.webui_kw = dict(checkpoints=checkpoints, user_sh=user_sh, forge=forge, torch_installed=torch_installed)
        self.env = env or {}
        self.variant = variant
        self.smi = smi
        self.timeout = timeout
        self.text = text
        self.config = config

    def run(self, folder, libs):
        os.makedirs(folder)
        tools = os.path.join(folder, "tools")
        os.makedirs(tools)
        if self.smi is not None:  # first on PATH: the result does not depend on what this machine has installed
            fake_tool(tools, "nvidia-smi", self.smi)
        path = os.pathsep.join([tools] + [p for p in os.environ.get("PATH", "").split(os.pathsep)
                                          if p and not os.path.isfile(os.path.join(p, "nvidia-smi"))])
        extra = {"LD_LIBRARY_PATH": os.path.join(folder, "nolib")}
        os.makedirs(extra["LD_LIBRARY_PATH"])
        if self.devices is not None:
            extra["LD_LIBRARY_PATH"] = libs[self.variant]
            extra["NVML_STUB_CONFIG"] = write_config(os.path.join(folder, "nvml.cfg"), self.devices, **self.config)
        extra.update(self.env)
        env = cli_env(extra, path=path)
        webui = webui_with(folder, **self.webui_kw)
        args = [webui, "--offline", "--timeout", self.timeout] + self.args
        start = time.monotonic()
        if self.text:
            proc = run_cli(args, env=env)
            self.elapsed = time.monotonic() - start
            return proc.stdout
        proc, doc, checks = run_json(args + ["--verbose"], env=env)
        self.elapsed = time.monotonic() - start
        assert proc.returncode in (0, 1), proc.stderr
        assert "Traceback" not in proc.stderr
        return checks["gpu"], doc.get("settings") or {}


DEVICES_2 = [card("NVIDIA GeForce GTX 1650", 4, cc="7.5", uuid="GPU-1111aaaa"),
             card("NVIDIA GeForce RTX 4090", 24, cc="8.9", uuid="GPU-2222bbbb")]
SMI_OLD = ('case "$1" in *compute_cap*) echo \'Field "compute_cap" is not a valid field to query.\'; exit 2;; '
           'esac\necho "0, NVIDIA GeForce GTX 1060 6GB, 6144, 5800, 472.12"\n')
SCENARIOS = {
    "gtx1650": Scenario([card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], driver="546.33", cuda=12030),
    "no-v2": Scenario([card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], variant="no-v2"),
    "6gb-1024": Scenario([card("NVIDIA GeForce RTX 2060", 6, cc="7.5")], args=["--resolution", "1024"], v2=False),
    "8gb-sdxl": Scenario([card("NVIDIA GeForce RTX 3070", 8)], args=["--resolution", "1024"],
                         checkpoints=[("sdxl_base.safetensors", SDXL_NAMES), ("v15.safetensors", SD1_NAMES)],
                         user_sh='export COMMANDLINE_ARGS="--xformers --api --medvram"\n'),
    "12gb": Scenario([card("NVIDIA GeForce RTX 3060", 12)], args=["--resolution", "1024"],
                     checkpoints=[("xl.safetensors", SDXL_NAMES)],
                     user_sh='export COMMANDLINE_ARGS="--lowvram --listen"\n'),
    "24gb": Scenario([card("NVIDIA GeForce RTX 4090", 24, cc="8.9")], args=["--resolution", "2048"]),
    "text": Scenario([card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], text=True),
    "text-zh": Scenario([card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], args=["--lang", "zh"], text=True),
    "old-driver": Scenario([card("NVIDIA GeForce GTX 1080", 8, cc="6.1")], driver="470.82.01", cuda=11040),
    "rtx50": Scenario([card("NVIDIA GeForce RTX 5070", 12, cc="12.0")], driver="572.16", cuda=12080,
                      torch_installed=("2.1.2+cu121", "12.1")),
    "rtx50-cu128": Scenario([card("NVIDIA GeForce RTX 5090", 32, cc="12.0")], driver="572.16", cuda=12080,
                            user_sh='export TORCH_COMMAND="pip install torch torchvision --extra-index-url '
                                    '%s/cu128"\n' % INDEX),
    "init-fails": Scenario([card("NVIDIA GeForce RTX 3060", 12)], init="fail:9",
                           user_sh='export COMMANDLINE_ARGS="--medvram --api"\n'),
    "hang": Scenario([card("x", 8)], init="hang", smi="sleep 30\n", timeout="1"),
    "cvd-1": Scenario(DEVICES_2, env={"CUDA_VISIBLE_DEVICES": "GPU-2222"}),
    "device-id": Scenario(DEVICES_2, user_sh='export CUDA_VISIBLE_DEVICES=1,0\nexport CUDA_DEVICE_ORDER=PCI_BUS_ID\n'
                                             'export COMMANDLINE_ARGS="--device-id 1"\n'),
    "two-gpus": Scenario(DEVICES_2),  # CUDA numbers the fastest first: torch's device 0 is the RTX 4090
    "device-id-fastest": Scenario(DEVICES_2, user_sh='export COMMANDLINE_ARGS="--device-id 1"\n'),
    "cvd-none": Scenario([card("NVIDIA GeForce RTX 3060", 12)], env={"CUDA_VISIBLE_DEVICES": "-1"}),
    "device-id-3": Scenario([card("NVIDIA GeForce RTX 3060", 12)], user_sh='export COMMANDLINE_ARGS="--device-id 3"\n'),
    "forge": Scenario([card("NVIDIA GeForce GTX 1650", 4, cc="7.5")], forge=True,
                      user_sh='export COMMANDLINE_ARGS="--medvram --xformers --no-half-vae"\n'),
    "no-gpu": Scenario(None, smi=None),
    "smi": Scenario(None, args=["--resolution", "1024"], smi='echo "0, NVIDIA GeForce RTX 3060, 12288, 11800, '
                                                           '546.33, 8.6"\n'),
    "smi-old": Scenario(None, args=["--resolution", "1024"], smi=SMI_OLD),
}


@pytest.fixture(scope="module")
def results(stub_libs, tmp_path_factory):
    """Every scenario, run concurrently (each is a separate CLI process; most of its time is waiting)."""
    from concurrent.futures import ThreadPoolExecutor

    top = str(tmp_path_factory.mktemp("gpu-cli"))

    def one(name):
        try:
            return SCENARIOS[name].run(os.path.join(top, name), stub_libs)
        except Exception as exc:  # reported by the test that reads this scenario
            return exc

    with ThreadPoolExecutor(max_workers=4) as pool:
        done = dict(zip(SCENARIOS, pool.map(one, list(SCENARIOS))))

    class Results(dict):
        def __getitem__(self, name):
            value = dict.__getitem__(self, name)
            if isinstance(value, Exception):
                raise value
            return value

    return Results(done)


def planned(settings):
    return settings.get("commandline_args")


# -- NVML through the real pynvml -----------------------------------------------------------------------------
def test_gtx_1650_4gb(results):
    check, settings = results["gtx1650"]
    facts = check["facts"]
    assert check["status"] == "ok", check
    assert (facts["source"], facts["vendor"], facts["name"]) == ("nvml", "nvidia", "NVIDIA GeForce GTX 1650")
    assert facts["vram_total"] == 4 * GB and facts["vram_free"] == int(4 * GB * 0.9)
    assert facts["vram_reserved"] == 300 * MIB and facts["devices"][0]["memory_info"] == "v2"
    assert (facts["driver_version"], facts["cuda_driver_version"], facts["compute_capability"]) == (
        "546.33", 12030, "7.5")
    assert facts["selected_index"] == 0
    assert facts["nvml"]["how"] == "child process"
    assert "NVIDIA GeForce GTX 1650: 4.0 GB VRAM" in check["detail"] and "CUDA 12.3" in check["detail"]
    assert planned(settings) == ["--medvram", "--upcast-sampling", "--no-half-vae"]
    assert set(settings["reasons"]) >= {"--medvram", "--upcast-sampling", "--no-half-vae"}


def test_memory_info_v1_when_the_driver_has_no_v2(results):
    dev = results["no-v2"][0]["facts"]["devices"][0]
    assert dev["memory_info"] == "v1" and dev["vram_reserved"] is None and dev["vram_total"] == 4 * GB


def test_6gb_at_1024_with_v2_not_supported(results):
    check, settings = results["6gb-1024"]
    assert check["status"] == "ok" and check["facts"]["devices"][0]["memory_info"] == "v1"
    assert planned(settings) == ["--medvram", "--opt-split-attention"]


def test_8gb_with_an_sdxl_checkpoint(results):
    check, settings = results["8gb-sdxl"]
    assert check["facts"]["checkpoints"]["families"] == ["sd1", "sdxl"]
    assert planned(settings) == ["--xformers", "--api", "--medvram-sdxl"]
    assert "SDXL" in settings["reasons"]["--medvram-sdxl"]
    assert "--medvram-sdxl" in settings["reasons"]["--medvram"]  # why the old flag went


def test_12gb_and_24gb_need_nothing(results):
    check, settings = results["12gb"]
    assert check["status"] == "ok" and planned(settings) == ["--listen"]
    assert "not needed" in settings["reasons"]["--lowvram"]
    check, settings = results["24gb"]
    assert check["status"] == "ok" and planned(settings) == []


@pytest.mark.parametrize("name, sep", [("text", ": "), ("text-zh", "：")])
def test_text_report_shows_each_planned_flag_and_its_reason(results, name, sep):
    stdout = results[name]
    for flag in ("--medvram", "--upcast-sampling", "--no-half-vae"):
        assert any(line.strip().startswith(flag + sep) for line in stdout.splitlines()), stdout


def test_driver_too_old_for_cuda_12(results):
    check, _ = results["old-driver"]
    assert check["status"] == "error"
    assert "470.82.01 is too old" in check["detail"] and "525.60.13" in check["detail"]
    assert "launch_utils.py" in check["detail"]  # where the CUDA 12.1 build came from
    assert any("Update the NVIDIA driver to 525.60.13" in a for a in check["advice"])
    assert any("export TORCH_INDEX_URL=%s/cu118" % INDEX in a for a in check["advice"])  # the line --fix writes


def test_rtx_50_needs_a_cuda_12_8_torch(results):
    check, _ = results["rtx50"]
    assert check["status"] == "error"
    assert "compute capability 12.0" in check["detail"] and "2.1.2+cu121" in check["detail"]
    advice = "\n".join(check["advice"])
    assert "export TORCH_COMMAND='pip install torch torchvision --index-url %s/cu128'" % INDEX in advice
    # an unpinned TORCH_COMMAND is satisfied by the torch already there: the venv must go (renamed aside by --fix)
    assert "rm -rf " in advice and os.path.join("webui", "venv") in advice


def test_rtx_50_with_a_cuda_12_8_torch_command_is_fine(results):
    check, _ = results["rtx50-cu128"]
    assert check["status"] == "ok", check
    assert check["facts"]["torch"]["source"] == "TORCH_COMMAND" and check["facts"]["torch"]["cuda"] == "12.8"


def test_nvml_failing_to_initialise(results):
    check, settings = results["init-fails"]
    assert check["status"] == "skip"
    assert "Driver Not Loaded" in check["detail"]
    assert check["facts"]["nvml"]["status"] == "init-failed" and check["facts"]["nvidia_smi"]["status"] == "failed"
    assert planned(settings) == ["--medvram", "--api"]  # no memory flag is planned or removed on a guess


def test_nvml_memory_failure_warns_and_keeps_the_name_based_flags(stub_libs, tmp_path):
    """NVML names the card but cannot read its memory (nvmlDeviceGetMemoryInfo and _v2 fail): the finding says so and
    why (not "ok, ? VRAM"), no memory flag is planned on a guess, and the GTX 16xx precision flags still are."""
    scenario = Scenario([card("NVIDIA GeForce GTX 1660 SUPER", 6, cc="7.5", memory="fail:999")],
                        user_sh='export COMMANDLINE_ARGS="--api"\n')
    check, settings = scenario.run(str(tmp_path / "run"), stub_libs)
    facts = check["facts"]
    assert check["status"] == "warn", check
    assert facts["source"] == "nvml" and facts["vram_total"] is None
    assert "Unknown Error (NVML error 999)" in facts["memory_error"]
    assert "VRAM unknown" in check["detail"] and "? VRAM" not in check["detail"]
    assert "could not read the memory of NVIDIA GeForce GTX 1660 SUPER" in check["detail"]
    assert "Unknown Error" in check["detail"]
    assert planned(settings) == ["--api", "--upcast-sampling", "--no-half-vae"], settings
    assert not set(planned(settings)) & {"--medvram", "--lowvram", "--medvram-sdxl"}


def test_hanging_nvml_is_abandoned_at_its_bound(results):
    check, _ = results["hang"]
    assert check["status"] == "skip"
    assert "did not answer" in check["detail"]
    assert check["facts"]["nvml"]["status"] == "timeout" and check["facts"]["nvidia_smi"]["status"] == "timeout"
    assert SCENARIOS["hang"].elapsed < 10, SCENARIOS["hang"].elapsed  # the stand-in sleeps 120 s, nvidia-smi 30 s


def test_cuda_visible_devices_and_device_id(results):
    check, settings = results["cvd-1"]  # a UUID prefix
    assert check["facts"]["selected_index"] == 1 and "GPU 1: NVIDIA GeForce RTX 4090" in check["detail"]
    assert planned(settings) == []
    check, settings = results["device-id"]  # --device-id 1 of "1,0" in PCI order is NVML's device 0
    assert check["facts"]["selected_index"] == 0 and "GPU 0: NVIDIA GeForce GTX 1650" in check["detail"]
    assert planned(settings)[:2] == ["--device-id", "1"] and "--medvram" in planned(settings)


def test_two_gpus_plan_for_the_card_torch_uses(results):
    check, settings = results["two-gpus"]  # not device 0 of NVML: CUDA's default order is fastest first
    assert check["facts"]["selected_index"] == 1 and "GPU 1: NVIDIA GeForce RTX 4090" in check["detail"]
    assert planned(settings) == []
    check, settings = results["device-id-fastest"]  # --device-id 1 is CUDA's second fastest: the GTX 1650
    assert check["facts"]["selected_index"] == 0 and "GPU 0: NVIDIA GeForce GTX 1650" in check["detail"]
    assert planned(settings)[:2] == ["--device-id", "1"] and "--medvram" in planned(settings)


def test_cuda_visible_devices_hiding_every_gpu(results):
    check, settings = results["cvd-none"]
    assert check["status"] == "warn" and "hides every GPU" in check["detail"]
    assert "--use-cpu" in planned(settings)


def test_device_id_out_of_range(results):
    check, settings = results["device-id-3"]
    assert check["status"] == "error" and "invalid device ordinal" in check["detail"]
    assert planned(settings) == ["--device-id", "3"]


def test_forge_gets_no_memory_flags(results):
    _, settings = results["forge"]
    assert planned(settings) == ["--xformers"]
    assert "Forge" in settings["reasons"]["--medvram"] and "Forge" in settings["reasons"]["--no-half-vae"]


# -- without NVML ------------------------------------------------------------------------------------------------
def _machine_has_nvidia():
    try:
        ctypes.CDLL("libnvidia-ml.so.1")
        return True
    except OSError:
        pass
    return bool(glob.glob("/sys/class/drm/card*/device/mem_info_vram_total"))


def test_no_nvml_for_real_falls_back_to_cpu_mode(results):
    if _machine_has_nvidia():
        pytest.skip("this machine has a GPU driver: the no-GPU path cannot be observed here")
    check, settings = results["no-gpu"]
    assert check["status"] == "warn" and "No usable GPU" in check["detail"]
    assert check["facts"]["nvml"]["status"] == "no-library"
    assert check["facts"]["nvidia_smi"]["status"] == "missing"
    assert planned(settings) == ["--use-cpu", "all", "--precision", "full", "--no-half", "--skip-torch-cuda-test"]


def test_nvidia_smi_fallback(results):
    if _machine_has_nvidia():
        pytest.skip("this machine has a real NVML: the fallback would not be reached")
    check, settings = results["smi"]
    facts = check["facts"]
    assert facts["source"] == "nvidia-smi" and facts["nvml"]["status"] == "no-library"
    assert (facts["name"], facts["vram_total"], facts["compute_capability"]) == (
        "NVIDIA GeForce RTX 3060", 12288 * MIB, "8.6")
    assert check["status"] == "ok" and planned(settings) == []


def test_nvidia_smi_fallback_on_a_driver_without_compute_cap(results):
    if _machine_has_nvidia():
        pytest.skip("this machine has a real NVML: the fallback would not be reached")
    check, settings = results["smi-old"]
    facts = check["facts"]
    assert facts["source"] == "nvidia-smi" and facts["vram_total"] == 6144 * MIB
    assert facts["compute_capability"] is None
    assert check["status"] == "error"  # 472.12 is too old for the CUDA 12.1 build launch_utils names
    assert planned(settings) == ["--medvram", "--opt-split-attention"]


# -- judge on facts recorded elsewhere (Windows, macOS) ----------------------------------------------------------
def base_facts(**kw):
    facts = {"platform": "windows", "flavour": "a1111", "version": "1.10.1", "directml_fork": False,
             "cuda_visible_devices": None, "cuda_device_order": None, "device_id": None, "source": None,
             "vendor": None, "name": None, "vram_total": None, "vram_free": None, "vram_reserved": None,
             "driver_version": None, "cuda_driver_version": None, "compute_capability": None, "selected_index": None,
             "selection_problem": None, "devices": [], "adapters": [], "nvml": {"status": "no-library"},
             "nvidia_smi": {"status": "missing"}, "torch": {"kind": "cuda", "cuda": "12.1",
                                                             "source": "launch_utils.py", "detail": "cu121",
                                                             "index_base": INDEX[:-4], "installed": None}}
    facts.update(kw)
    return facts


def nvidia_facts(driver, cc="8.6", **kw):
    dev = {"index": 0, "name": "NVIDIA GeForce RTX 3060", "vram_total": 12 * GB, "vram_free": 11 * GB,
           "compute_capability": cc}
    return base_facts(source="nvml", vendor="nvidia", name=dev["name"], vram_total=dev["vram_total"],
                      driver_version=driver, compute_capability=cc, selected_index=0, devices=[dev],
                      nvml={"status": "ok"}, **kw)


@pytest.mark.parametrize("platform, driver, status", [
    ("windows", "526.98", "error"), ("windows", "527.41", "ok"), ("windows", "452.39", "error"),
    ("linux", "525.60.13", "ok"), ("linux", "525.60.11", "error"), ("linux", "550.54.14", "ok")])
def test_driver_thresholds(platform, driver, status):
    f = gpu.judge(nvidia_facts(driver, platform=platform))
    assert f.status == status, render(f.detail_lines(), "en")


def test_cuda_11_8_build_thresholds():
    torch = {"kind": "cuda", "cuda": "11.8", "source": "TORCH_INDEX_URL", "detail": "cu118", "index_base": None}
    assert gpu.judge(nvidia_facts("452.39", torch=torch)).status == "ok"
    assert gpu.judge(nvidia_facts("452.06", torch=torch)).status == "error"
    assert gpu.judge(nvidia_facts("450.80.02", torch=torch, platform="linux")).status == "ok"


def test_old_driver_with_torch_installed_also_needs_a_reinstall():
    # The torch in the venv is kept as it is: a new TORCH_INDEX_URL only takes effect with --reinstall-torch.
    torch = {"kind": "cuda", "cuda": "12.1", "source": "venv", "detail": "2.1.2+cu121", "index_base": INDEX[:-4],
             "installed": {"version": "2.1.2+cu121", "cuda": "12.1"}, "reinstall": False}
    f = gpu.judge(nvidia_facts("470.82.01", torch=torch, platform="linux"))
    advice = "\n".join(render(f.advice, "en"))
    assert f.status == "error" and "export TORCH_INDEX_URL=%s/cu118" % INDEX in advice
    assert "--reinstall-torch" in advice and "--reinstall-torch" in "\n".join(render(f.advice, "zh"))
    torch = dict(torch, source="launch_utils.py", installed=None, detail="cu121")
    assert "--reinstall-torch" not in "\n".join(render(gpu.judge(nvidia_facts("470.82.01", torch=torch)).advice, "en"))


def test_windows_amd_with_a1111_names_the_directml_fork():
    adapter = {"name": "AMD Radeon RX 6700 XT", "vendor": "amd", "vram_total": 12 * GB, "source": "registry"}
    facts = base_facts(source="registry", vendor="amd", name=adapter["name"], vram_total=12 * GB, adapters=[adapter])
    f = gpu.judge(facts)
    assert f.status == "warn"
    assert "lshqqytiger/stable-diffusion-webui-amdgpu" in " ".join(render(f.advice, "en"))
    assert "12.0 GB" in " ".join(render(f.detail_lines(), "en"))
    fork = gpu.judge(base_facts(source="registry", vendor="amd", name=adapter["name"], vram_total=12 * GB,
                                directml_fork=True))
    assert fork.status == "ok"


def test_windows_nvidia_in_the_registry_without_nvml():
    facts = base_facts(source="registry", vendor="nvidia", name="NVIDIA GeForce RTX 3060", vram_total=12 * GB)
    f = gpu.judge(facts)
    assert f.status == "warn" and "NVML library is missing" in " ".join(render(f.detail_lines(), "en"))


def test_windows_rtx_50_advice_uses_set():
    f = gpu.judge(nvidia_facts("572.16", cc="12.0"))
    assert f.status == "error"
    assert "set TORCH_COMMAND=pip install torch torchvision --index-url %s/cu128" % INDEX in "\n".join(
        render(f.advice, "en"))


def test_rtx_50_without_a_known_index_url_names_none():
    torch = {"kind": "cuda", "cuda": "12.1", "source": None, "detail": None, "index_base": None, "installed": None}
    f = gpu.judge(nvidia_facts("572.16", cc="12.0", torch=torch))
    advice = "\n".join(render(f.advice, "en"))
    assert f.status == "error" and "TORCH_COMMAND" in advice and "://" not in advice


def test_apple_silicon_unified_memory():
    facts = base_facts(platform="darwin", source="unified memory", vendor="apple", name="Apple silicon (unified "
                       "memory)", vram_total=16 * GB, nvml={"status": "not-applicable"})
    f = gpu.judge(facts)
    assert f.status == "ok" and "16.0 GB" in render(f.detail_lines(), "en")[0]


def test_cpu_torch_on_an_nvidia_card():
    torch = {"kind": "cpu", "cuda": None, "source": "TORCH_COMMAND", "detail": "cpu", "index_base": None}
    f = gpu.judge(nvidia_facts("550.54.14", torch=torch, platform="linux"))
    assert f.status == "warn" and "CPU" in " ".join(render(f.detail_lines(), "en"))


def test_every_message_has_both_languages():
    for facts in (nvidia_facts("470.82.01"), nvidia_facts("572.16", cc="12.0"), base_facts()):
        f = gpu.judge(facts)
        en = render(f.detail_lines(), "en") + render(f.advice, "en")
        zh = render(f.detail_lines(), "zh") + render(f.advice, "zh")
        assert len(en) == len(zh) and all(a != b for a, b in zip(en, zh))


def test_select_device_rules():
    devs = [{"uuid": "GPU-aa"}, {"uuid": "GPU-bb"}, {"uuid": "GPU-bc"}]
    assert gpu.select_device(devs, None, None) == (0, None)
    assert gpu.select_device(devs, "2,0", "1") == (0, None)
    assert gpu.select_device(devs, "1,7,2", "1") == (None, "device-id-out-of-range")  # CUDA stops at 7
    assert gpu.select_device(devs, "GPU-b", None) == (None, "none-visible")  # ambiguous prefix
    assert gpu.select_device(devs, "GPU-bc", None) == (2, None)
    assert gpu.select_device(devs, "", None) == (None, "none-visible")
    assert gpu.select_device(devs, "0", "x") == (None, "bad-device-id")


# -- the torch build, read from real files ----------------------------------------------------------------------
def test_torch_build_sources_in_order(tmp_path):
    from sd_doctor.probes import torch_build

    webui = webui_with(tmp_path)
    venv = os.path.join(webui, "venv")
    got = torch_build.describe(webui, {}, [], venv)
    assert (got["kind"], got["cuda"], got["source"]) == ("cuda", "12.1", "launch_utils.py")
    assert got["index_base"] == INDEX[:-4] and got["index_url"] == INDEX + "/cu121"
    got = torch_build.describe(webui, {"TORCH_INDEX_URL": INDEX + "/cu118"}, [], venv)
    assert (got["cuda"], got["source"]) == ("11.8", "TORCH_INDEX_URL")
    got = torch_build.describe(webui, {"TORCH_COMMAND": "pip install torch==2.3.1+rocm5.7 --index-url "
                                                        "%s/rocm5.7" % INDEX}, [], venv)
    assert (got["kind"], got["source"]) == ("rocm", "TORCH_COMMAND")
    # an installed torch wins: launch_utils installs TORCH_COMMAND only when torch is missing
    webui_with(tmp_path / "b", torch_installed=("2.0.1+cu118", "11.8"))
    webui_b = os.path.join(str(tmp_path / "b"), "webui")
    got = torch_build.describe(webui_b, {"TORCH_INDEX_URL": INDEX + "/cu121"}, [], os.path.join(webui_b, "venv"))
    assert (got["cuda"], got["source"], got["detail"]) == ("11.8", "venv", "2.0.1+cu118")
    got = torch_build.describe(webui_b, {"TORCH_INDEX_URL": INDEX + "/cu121"}, ["--reinstall-torch"],
                               os.path.join(webui_b, "venv"))
    assert (got["cuda"], got["source"]) == ("12.1", "TORCH_INDEX_URL")


def test_torch_build_from_a_2022_launch_py(tmp_path):
    from sd_doctor.probes import torch_build

    root = make_webui(str(tmp_path / "old"), {"launch.py": (
        "import os\ntorch_command = os.environ.get('TORCH_COMMAND', \"pip install torch==1.12.1+cu113 "
        "torchvision==0.13.1+cu113 --extra-index-url %s/cu113\")\n" % INDEX)})
    got = torch_build.describe(root, {}, [], None)
    assert (got["kind"], got["cuda"], got["source"]) == ("cuda", "11.3", "launch.py")
    assert got["index_base"] == INDEX[:-4]
    assert torch_build.describe(str(tmp_path / "none"), {}, [], None)["source"] is None


def test_nvml_probe_in_process_reports_a_missing_library(tmp_path):
    """query() is what the child runs; here in a subprocess with an empty LD_LIBRARY_PATH and no real driver."""
    if _machine_has_nvidia():
        pytest.skip("this machine has a real NVML")
    import subprocess

    code = "import json; from sd_doctor.probes import nvidia; print(json.dumps(nvidia.query()))"
    out = subprocess.run([sys.executable, "-c", code], env=cli_env({"LD_LIBRARY_PATH": str(tmp_path)}),
                         capture_output=True, text=True, timeout=30)
    import json

    assert json.loads(out.stdout)["status"] == "no-library"
