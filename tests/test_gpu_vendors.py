"""AMD and Intel routes of the gpu check (issue 11 part 1): the DirectML/ZLUDA forks on Windows, ROCm and
HSA_OVERRIDE_GFX_VERSION on Linux (gfx target read from a sysfs tree written as the kernel lays it out), --use-ipex
where the real cmd_args.py declares it."""

import os

import pytest

from conftest import copy_corpus, text_of
from nvml_stub.build import GB

from sd_doctor.checks import gpu
from sd_doctor.host.linux import drm_adapters
from sd_doctor.launcher import cmd_args


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as fh:
        fh.write(text)


def fake_sysfs(root, device_id, gfx_target_version, vram=8 * GB, vendor="0x1002"):
    card = os.path.join(root, "class", "drm", "card1", "device")
    write(os.path.join(card, "mem_info_vram_total"), "%d\n" % vram)
    write(os.path.join(card, "vendor"), vendor + "\n")
    write(os.path.join(card, "device"), device_id + "\n")
    nodes = os.path.join(root, "class", "kfd", "kfd", "topology", "nodes")
    write(os.path.join(nodes, "0", "properties"), "cpu_cores_count 16\nsimd_count 0\ngfx_target_version 0\n"
                                                  "vendor_id 0\ndevice_id 0\n")
    write(os.path.join(nodes, "1", "properties"), "cpu_cores_count 0\nsimd_count 80\ngfx_target_version %d\n"
                                                  "vendor_id 4098\ndevice_id %d\nlocation_id 768\n"
                                                  % (gfx_target_version, int(device_id, 16)))
    return root


def amd_facts(platform, adapter, **kw):
    facts = {"platform": platform, "flavour": "a1111", "source": "sysfs", "vendor": "amd", "name": adapter["name"],
             "vram_total": adapter["vram_total"], "gfx": adapter.get("gfx"), "nvml": {"status": "no-library"},
             "nvidia_smi": {"status": "missing"}, "adapters": [adapter], "devices": [],
             "torch": {"kind": None, "source": None}}
    facts.update(kw)
    return facts


@pytest.mark.parametrize("device_id, target, gfx, override", [
    ("0x73df", 100301, "gfx1031", "10.3.0"), ("0x73bf", 100300, "gfx1030", None),
    ("0x747e", 110001, "gfx1101", "11.0.0"), ("0x744c", 110000, "gfx1100", None),
    ("0x1636", 90012, "gfx90c", "9.0.0"), ("0x7550", 120001, "gfx1201", None)])
def test_linux_amd_gfx_target_from_sysfs_and_the_override(tmp_path, device_id, target, gfx, override):
    adapters = drm_adapters(fake_sysfs(str(tmp_path), device_id, target))
    assert [(a["vendor"], a["gfx"], a["vram_total"]) for a in adapters] == [("amd", gfx, 8 * GB)]
    assert device_id in adapters[0]["name"]
    f = gpu.judge(amd_facts("linux", adapters[0]))
    if override:
        assert f.status == "warn" and "export HSA_OVERRIDE_GFX_VERSION=%s" % override in text_of(f)
        assert "HSA_OVERRIDE_GFX_VERSION" in text_of(f, "zh")
        done = gpu.judge(amd_facts("linux", adapters[0], hsa_override=override))
        assert done.status == "ok", text_of(done)
    else:
        assert f.status == "ok" and "ROCm" in text_of(f)


def test_linux_amd_with_a_cuda_torch_command():
    adapter = {"name": "AMD GPU 0x73bf (card1)", "vendor": "amd", "vram_total": 16 * GB, "gfx": "gfx1030"}
    f = gpu.judge(amd_facts("linux", adapter, torch={"kind": "cuda", "cuda": "12.1", "source": "TORCH_COMMAND"}))
    assert f.status == "warn" and "CUDA build" in text_of(f) and "TORCH_COMMAND" in text_of(f)


@pytest.mark.parametrize("flavour, fork", [("a1111", "lshqqytiger/stable-diffusion-webui-amdgpu\n"),
                                           ("forge", "lshqqytiger/stable-diffusion-webui-amdgpu-forge")])
def test_windows_amd_names_the_fork_of_its_flavour(flavour, fork):
    adapter = {"name": "AMD Radeon RX 7800 XT", "vendor": "amd", "vram_total": 16 * GB, "source": "registry"}
    f = gpu.judge(amd_facts("windows", adapter, flavour=flavour))
    assert f.status == "warn" and (fork.strip() + " " in text_of(f) or fork.strip() + "（" in text_of(f, "zh"))
    assert gpu.judge(amd_facts("windows", adapter, flavour=flavour, directml_fork=True)).status == "ok"


@pytest.mark.parametrize("corpus, declared", [("a1111-2024-02-26-v1.8", True), ("forge-2025-06-26", True),
                                              ("a1111-2023-06-05", False)])
def test_intel_gets_use_ipex_where_the_real_cmd_args_declares_it(tmp_path, corpus, declared):
    webui = copy_corpus(corpus, str(tmp_path / "webui"))
    accepted = list(((cmd_args.read(webui)[0] or {}).get("flags") or {}))
    assert ("--use-ipex" in accepted) is declared
    facts = {"platform": "windows", "flavour": "a1111", "source": "registry", "vendor": "intel",
             "name": "Intel(R) Arc(TM) A770 Graphics", "vram_total": 16 * GB, "nvml": {"status": "no-library"},
             "nvidia_smi": {}, "adapters": [], "devices": [], "torch": {}, "use_ipex_declared": "--use-ipex" in accepted,
             "commandline_args": []}
    f = gpu.judge(facts)
    assert f.status == "warn"
    assert ("Add --use-ipex" in text_of(f)) is declared
    if declared:
        assert gpu.judge(dict(facts, commandline_args=["--use-ipex"])).status == "ok"
