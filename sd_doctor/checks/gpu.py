"""gpu: the graphics card the web UI will use, its VRAM and driver, and whether the torch it installs can use it
(webui-facts.md §7).

Sources, in order: NVML (``pynvml``, in a child process killed at its bound: a wedged driver can hang nvmlInit);
``nvidia-smi --query-gpu``; the operating system's adapter list (``ctx.host.display_adapters()``: the Windows
registry's ``HardwareInformation.qwMemorySize``, Linux ``/sys/class/drm/card*/device/mem_info_vram_total``, Apple
silicon's unified memory). Never WMI's AdapterRAM (32-bit, caps at 4 GB).

The device the web UI uses: ``--device-id N`` (default 0) among the devices ``CUDA_VISIBLE_DEVICES`` leaves visible.
The facts of that device are at the top level of the facts dict for the planner: vendor, name, vram_total, vram_free,
driver_version, cuda_driver_version, compute_capability, selected_index, source; plus ``torch`` (the build the web UI
will run, sd_doctor/probes/torch_build.py) and ``checkpoints`` (model families, sd_doctor/probes/checkpoints.py).
"""

import os
import shutil
import re
import time

from sd_doctor.checks._common import gib
from sd_doctor.checks._torch_fit import cuda_version_text, judge_nvidia_torch
from sd_doctor.checks._vendor_routes import judge_amd, judge_intel
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T, join

ID = "gpu"
TITLE = T("GPU", "显卡")


# ---------------------------------------------------------------------------------------------------------- probe
def _variable(variables, name):
    for key, value in variables.items():
        if key.upper() == name:
            return value
    return None


def _nvml_present_windows(environ):
    windir = environ.get("WINDIR") or environ.get("SystemRoot") or "C:\\Windows"
    program_files = environ.get("ProgramFiles") or "C:\\Program Files"
    return any(os.path.isfile(p) for p in (os.path.join(windir, "System32", "nvml.dll"),
                                           os.path.join(program_files, "NVIDIA Corporation", "NVSMI", "nvml.dll")))


def parse_smi(text):
    """Rows of ``nvidia-smi --query-gpu=index,name,memory.total,memory.free,driver_version,compute_cap
    --format=csv,noheader,nounits`` (MiB) -> (devices, driver_version)."""
    devices = []
    driver = None
    for line in text.splitlines():
        parts = [p.strip() for p in line.split(",")]
        if len(parts) < 5:
            continue

        def mib(value):
            try:
                return int(float(value) * 1024 * 1024)
            except ValueError:
                return None

        try:
            index = int(parts[0])
        except ValueError:
            continue
        cc = parts[5] if len(parts) > 5 and parts[5] and parts[5][0].isdigit() else None
        devices.append({"index": index, "name": parts[1], "uuid": None, "vram_total": mib(parts[2]),
                        "vram_free": mib(parts[3]), "vram_reserved": None, "memory_info": None,
                        "compute_capability": cc})
        driver = driver or parts[4] or None
    return devices, driver


def _nvidia_smi(ctx, timeout):
    from sd_doctor.host.procs import run_bounded

    exe = shutil.which("nvidia-smi", path=ctx.environ.get("PATH") or ctx.environ.get("Path"))
    if not exe:
        return {"status": "missing", "error": "nvidia-smi is not on PATH", "devices": []}
    query = "--query-gpu=index,name,memory.total,memory.free,driver_version,compute_cap"
    done = run_bounded([exe, query, "--format=csv,noheader,nounits"], timeout)
    if not done.ok and not done.timed_out and "compute_cap" in (done.stdout + done.stderr):
        # drivers before 510 do not know the compute_cap field: ask again without it
        done = run_bounded([exe, query.rsplit(",", 1)[0], "--format=csv,noheader,nounits"], timeout)
    if done.timed_out:
        return {"status": "timeout", "error": "nvidia-smi did not answer within %.1f s" % timeout, "devices": []}
    if not done.ok:
        tail = (done.stdout.strip() or done.stderr.strip() or done.error or "").splitlines()
        return {"status": "failed", "error": "exit code %s: %s" % (done.returncode, tail[-1] if tail else ""),
                "devices": []}
    devices, driver = parse_smi(done.stdout)
    return {"status": "ok" if devices else "failed", "error": None if devices else "no rows in its output",
            "devices": devices, "driver_version": driver}


def cuda_order(devices, device_order):
    """Positions in ``devices`` (NVML / nvidia-smi order: PCI bus) in the order CUDA numbers them: fastest first
    (newest compute capability, then the most memory, as CUDA's own ranking approximates) unless
    CUDA_DEVICE_ORDER=PCI_BUS_ID."""
    positions = list(range(len(devices)))
    if (device_order or "").strip().upper() == "PCI_BUS_ID":
        return positions

    def speed(i):
        cc = re.match(r"(\d+)\.(\d+)", str(devices[i].get("compute_capability") or ""))
        return (-(int(cc.group(1)) * 10 + int(cc.group(2))) if cc else 0, -(devices[i].get("vram_total") or 0))

    return sorted(positions, key=speed)


def select_device(devices, cuda_visible_devices, device_id, device_order="PCI_BUS_ID"):
    """(position in ``devices`` or None, problem or None) for the device the web UI (torch) will use.

    CUDA_VISIBLE_DEVICES lists indexes (in CUDA's order, ``device_order``) or UUID prefixes; CUDA stops at the first
    entry it cannot parse; '' or -1 hides every device. ``--device-id`` indexes the visible list (default 0).
    """
    if not devices:
        return None, None
    order = cuda_order(devices, device_order)
    visible = list(order)
    if cuda_visible_devices is not None:
        visible = []
        for entry in cuda_visible_devices.split(","):
            entry = entry.strip()
            if entry.lstrip("-").isdigit():
                number = int(entry)
                if number < 0 or number >= len(devices):
                    break
                visible.append(order[number])
            elif entry.upper().startswith(("GPU-", "MIG-")):
                matches = [i for i, d in enumerate(devices) if d.get("uuid") and d["uuid"].upper().startswith(
                    entry.upper())]
                if len(matches) != 1:
                    break
                visible.append(matches[0])
            else:
                break
        if not visible:
            return None, "none-visible"
    try:
        wanted = int(device_id) if device_id is not None else 0
    except ValueError:
        return None, "bad-device-id"
    if wanted < 0 or wanted >= len(visible):
        return None, "device-id-out-of-range"
    return visible[wanted], None


def _pick_adapter(adapters):
    """The adapter the web UI could use: NVIDIA, then AMD, then Intel, largest VRAM first; None for virtual ones."""
    rank = {"nvidia": 3, "amd": 2, "apple": 2, "intel": 1}
    usable = [a for a in adapters if rank.get(a.get("vendor"))]
    if not usable:
        return None
    return max(usable, key=lambda a: (rank[a["vendor"]], a.get("vram_total") or 0))


def _probe_devices(ctx, facts, left):
    """NVML, then nvidia-smi, then the operating system's adapter list; the chosen device's facts at the top."""
    from sd_doctor.probes import nvidia as nvml_probe

    # 1. NVML, in a child process bounded in time
    if ctx.platform == "darwin":
        nvml = {"status": "not-applicable", "error": None, "devices": []}
    elif ctx.platform == "windows" and not _nvml_present_windows(ctx.environ):
        nvml = {"status": "no-library", "error": "nvml.dll is neither in System32 nor in NVSMI", "devices": []}
    else:
        nvml = nvml_probe.run(max(0.5, min(4.0, 0.6 * left())))
    facts["nvml"] = dict((k, v) for k, v in nvml.items() if k != "devices")
    devices = nvml.get("devices") or []
    if nvml.get("status") == "ok" and devices:
        facts.update(source="nvml", devices=devices, driver_version=nvml.get("driver_version"),
                     cuda_driver_version=nvml.get("cuda_driver_version"))

    # 2. nvidia-smi
    if facts["source"] is None and ctx.platform != "darwin":
        smi = _nvidia_smi(ctx, max(0.3, left() - 0.3))
        facts["nvidia_smi"] = dict((k, v) for k, v in smi.items() if k != "devices")
        if smi["status"] == "ok":
            facts.update(source="nvidia-smi", devices=smi["devices"], driver_version=smi.get("driver_version"))

    if facts["devices"]:
        for dev in facts["devices"]:
            dev["vendor"] = "nvidia"
        index, problem = select_device(facts["devices"], facts["cuda_visible_devices"], facts["device_id"],
                                       facts["cuda_device_order"] or "FASTEST_FIRST")
        facts["selection_problem"] = problem
        if index is not None:
            dev = facts["devices"][index]
            facts.update(selected_index=dev.get("index", index), vendor="nvidia", name=dev.get("name"),
                         vram_total=dev.get("vram_total"), vram_free=dev.get("vram_free"),
                         vram_reserved=dev.get("vram_reserved"), compute_capability=dev.get("compute_capability"),
                         memory_error=dev.get("memory_error"))
    else:
        # 3. the operating system's adapter list
        try:
            adapters = ctx.host.display_adapters() or []
        except Exception as exc:  # registry/sysfs surprises must not lose the rest of the facts
            adapters = []
            facts["adapters_error"] = "%s: %s" % (exc.__class__.__name__, exc)
        facts["adapters"] = adapters
        chosen = _pick_adapter(adapters)
        if chosen is not None:
            facts.update(source=chosen.get("source") or "adapters", vendor=chosen.get("vendor"),
                         name=chosen.get("name"), vram_total=chosen.get("vram_total"), gfx=chosen.get("gfx"))



def probe(ctx):
    from sd_doctor.launcher import settings as launch_settings
    from sd_doctor.probes import checkpoints as model_family
    from sd_doctor.probes import torch_build

    start = time.monotonic()
    end = start + max(1.0, ctx.timeout + 0.4)  # the runner gives up at timeout + 0.8 s
    left = lambda: end - time.monotonic()
    layout = ctx.layout or {}
    variables = ctx.launch["variables"]
    tokens = ctx.commandline_args or []
    accepted = layout.get("accepted_flags")
    cpu = [" ".join([flag] + values) for flag, values in ctx.launcher.cpu_flags()]
    facts = {"platform": ctx.platform, "flavour": layout.get("flavour"), "version": layout.get("version"),
             "cpu_flags": " ".join(cpu) or None,
             "directml_fork": bool(accepted and ("--use-directml" in accepted or "--use-zluda" in accepted)),
             "cuda_visible_devices": _variable(variables, "CUDA_VISIBLE_DEVICES") if ctx.platform == "windows"
             else variables.get("CUDA_VISIBLE_DEVICES"),
             "cuda_device_order": variables.get("CUDA_DEVICE_ORDER"),
             "device_id": launch_settings.flag_value(tokens, "--device-id"),
             "source": None, "vendor": None, "name": None, "vram_total": None, "vram_free": None,
             "vram_reserved": None, "driver_version": None, "cuda_driver_version": None, "compute_capability": None,
             "selected_index": None, "selection_problem": None, "devices": [], "adapters": [],
             "nvml": None, "nvidia_smi": None, "commandline_args": list(tokens),
             "use_ipex_declared": bool(accepted and "--use-ipex" in accepted),
             "hsa_override": variables.get("HSA_OVERRIDE_GFX_VERSION"), "gfx": None}

    _probe_devices(ctx, facts, left)

    # 4. the torch the web UI will run, and the checkpoints' families (plain file reads)
    venv = None if ctx.options.no_venv else launch_settings.venv_path(ctx.webui_dir, ctx.launch)
    facts["torch"] = torch_build.describe(ctx.webui_dir, variables, tokens, venv, defaults=ctx.launcher.torch)
    dirs = model_family.checkpoint_dirs(ctx.webui_dir, tokens)
    # one scan shared with the models check (same key and budget)
    facts["checkpoints"] = ctx.cached("checkpoints", lambda: model_family.scan(dirs, budget_s=model_family.scan_budget(
        ctx.timeout)))
    facts["elapsed_probe"] = round(time.monotonic() - start, 3)
    return facts


# ---------------------------------------------------------------------------------------------------------- judge
def _judge_no_source(f, facts, nvml, smi, failed_nvml):
    if failed_nvml:
        f.skip(T("Could not read the GPU: NVML failed ({e}) and no other source answered.",
                 "无法读取显卡信息：NVML 失败（{e}），其他来源也没有结果。", e=nvml.get("error") or nvml.get("status")),
               T("Restart the computer; if NVML still fails, reinstall the NVIDIA driver (nvidia-smi should list "
                 "the card).", "重启电脑；若 NVML 仍然失败，请重新安装 NVIDIA 驱动（nvidia-smi 应能列出显卡）。"))
        return
    if nvml.get("status") == "no-module" and not facts.get("adapters") and smi.get("status") != "failed":
        f.skip(T("Could not read the GPU: the nvidia-ml-py package (pynvml) is not installed ({e}).",
                 "无法读取显卡信息：未安装 nvidia-ml-py（pynvml）（{e}）。", e=nvml.get("error") or "?"),
               T("Install it: python -m pip install nvidia-ml-py", "安装它：python -m pip install nvidia-ml-py"))
        return
    if smi.get("status") in ("timeout", "failed") and not facts.get("adapters"):
        f.warn(T("No GPU could be read: nvidia-smi is installed but failed ({e}); NVML: {n}. The NVIDIA driver may be "
                 "hung or broken; without it the web UI runs on the CPU, which is very slow.",
                 "无法读取显卡：已安装 nvidia-smi 但它失败了（{e}）；NVML：{n}。NVIDIA 驱动可能卡住或已损坏；没有它 web UI "
                 "将在 CPU 上运行，速度很慢。", e=smi.get("error") or smi["status"],
                 n=nvml.get("error") or nvml.get("status") or "?"),
               T("Restart the computer; if nvidia-smi still hangs or fails, reinstall the NVIDIA driver.",
                 "重启电脑；若 nvidia-smi 仍然卡住或失败，请重新安装 NVIDIA 驱动。"))
        return
    f.warn(T("No usable GPU found (no NVIDIA driver answered, no other adapter with its own memory): the web UI "
             "will run on the CPU, which is very slow.",
             "未找到可用的显卡（没有 NVIDIA 驱动响应，也没有带独立显存的其他显卡）：web UI 将在 CPU 上运行，速度很慢。"),
           T("If this computer has an NVIDIA card, install its current driver; otherwise {c}",
             "如果电脑装有 NVIDIA 显卡，请安装最新驱动；否则{c}", c=_cpu_advice(facts)))


def _cpu_advice(facts):
    """The CPU flags the plan writes for this flavour (the launcher model's list, only flags the install declares)."""
    if facts.get("cpu_flags"):
        return T("the planned CPU flags ({c}) let the web UI start.", "计划中的 CPU 参数（{c}）可让 web UI 启动。",
                 c=facts["cpu_flags"])
    return T("the installed web UI declares no flag to run on the CPU: see its documentation.",
             "已安装的 web UI 没有声明在 CPU 上运行的参数：请查看它的文档。")


def _judge_selection(f, facts, problem, devices):
    cvd = facts.get("cuda_visible_devices")
    if problem == "none-visible":
        f.warn(T("CUDA_VISIBLE_DEVICES={v} hides every GPU: the web UI will not see the card.",
                 "CUDA_VISIBLE_DEVICES={v} 隐藏了所有显卡：web UI 将看不到显卡。", v=repr(cvd)),
               T("Remove CUDA_VISIBLE_DEVICES, or set it to an index from 0 to {n}.",
                 "删除 CUDA_VISIBLE_DEVICES，或把它设为 0 到 {n} 之间的编号。", n=len(devices) - 1))
    else:
        f.error(T("--device-id {d} names no visible GPU ({n} visible): torch stops with \"invalid device "
                  "ordinal\".", "--device-id {d} 指向的显卡不存在（可见 {n} 块）：torch 会报 \"invalid device "
                  "ordinal\"。", d=facts.get("device_id"), n=len(devices)),
                T("Use --device-id 0 (or remove it).", "改用 --device-id 0（或删除该参数）。"))
    for dev in devices:
        f.ok(T("GPU {i}: {name}, {vram}", "显卡 {i}：{name}，{vram}", i=dev.get("index"), name=dev.get("name"),
               vram=gib(dev.get("vram_total"))))


def _judge_nvidia(f, facts, nvml, failed_nvml, src_label):
    devices = facts.get("devices") or []
    known = facts.get("vram_total") is not None
    details = [T("{v} VRAM", "显存 {v}", v=gib(facts["vram_total"])) if known else T("VRAM unknown", "显存未知")]
    if facts.get("vram_free") is not None:
        details.append(T("{v} free", "可用 {v}", v=gib(facts["vram_free"])))
    if facts.get("driver_version"):
        details.append(T("driver {v}", "驱动 {v}", v=facts["driver_version"]))
    if facts.get("cuda_driver_version"):
        details.append(T("CUDA {v}", "CUDA {v}", v=cuda_version_text(facts["cuda_driver_version"])))
    if facts.get("compute_capability"):
        details.append(T("compute {v}", "计算能力 {v}", v=facts["compute_capability"]))
    which = T("GPU {i}: ", "显卡 {i}：", i=facts.get("selected_index")) if len(devices) > 1 else ""
    f.ok(T("{w}{name}: {d} (from {s})", "{w}{name}：{d}（来自 {s}）", w=which, name=facts.get("name") or "?",
           d=join(details, T(", ", "，")), s=src_label))
    if len(devices) > 1 and facts.get("cuda_device_order") != "PCI_BUS_ID":
        f.ok(T("Several GPUs: CUDA numbers them fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; torch will use "
               "GPU {i} above (the fastest, or the one CUDA_VISIBLE_DEVICES / --device-id picks), and the plan is "
               "for that card.", "有多块显卡：除非设置 CUDA_DEVICE_ORDER=PCI_BUS_ID，CUDA 按速度从快到慢编号；torch 会使用"
               "上面的显卡 {i}（最快的那块，或 CUDA_VISIBLE_DEVICES / --device-id 选中的那块），计划按这块显卡制定。",
               i=facts.get("selected_index")))
    if not known:
        f.warn(T("{s} could not read the memory of {name} ({e}): no memory flag (--medvram, --lowvram) is planned; "
                 "flags that depend only on the card's name still are.",
                 "{s} 无法读取 {name} 的显存（{e}）：不设置显存参数（--medvram、--lowvram）；只取决于显卡型号的参数仍会设置。",
                 s=src_label, name=facts.get("name") or "?", e=facts.get("memory_error") or T("no value", "没有数值")),
               T("Restart the computer; if the memory stays unknown, reinstall the NVIDIA driver (nvidia-smi should "
                 "show the card's memory).", "重启电脑；若显存仍然未知，请重新安装 NVIDIA 驱动（nvidia-smi 应能显示显存）。"))
    if failed_nvml:
        f.warn(T("NVML failed ({e}); the values above come from {s}. The driver may be in a bad state.",
                 "NVML 失败（{e}）；以上数值来自 {s}。驱动可能处于异常状态。", e=nvml.get("error"), s=src_label),
               T("Restart the computer; if it persists, reinstall the NVIDIA driver.",
                 "重启电脑；若仍然如此，请重新安装 NVIDIA 驱动。"))
    elif nvml.get("status") == "no-library" and facts.get("source") not in ("nvml", "nvidia-smi"):
        f.warn(T("An NVIDIA card is installed but its driver's NVML library is missing: the driver is not "
                 "installed completely, and torch will not find the card.",
                 "装有 NVIDIA 显卡，但驱动的 NVML 库缺失：驱动安装不完整，torch 将找不到显卡。"),
               T("Install the current NVIDIA driver for this card.", "为这块显卡安装最新的 NVIDIA 驱动。"))
    judge_nvidia_torch(f, facts, facts.get("torch") or {}, facts.get("platform"))


def judge(facts):
    f = Finding(ID, TITLE)
    nvml = facts.get("nvml") or {}
    source = facts.get("source")
    failed_nvml = nvml.get("status") in ("init-failed", "timeout", "error")
    if source is None:
        _judge_no_source(f, facts, nvml, facts.get("nvidia_smi") or {}, failed_nvml)
        return f
    vendor = facts.get("vendor")
    if facts.get("selection_problem"):
        _judge_selection(f, facts, facts["selection_problem"], facts.get("devices") or [])
        return f
    name = facts.get("name") or "?"
    src_label = {"nvml": "NVML", "nvidia-smi": "nvidia-smi"}.get(source, source)
    if vendor == "nvidia":
        _judge_nvidia(f, facts, nvml, failed_nvml, src_label)
    elif vendor == "amd":
        f.ok(T("{name}: {v} VRAM (from {s})", "{name}：显存 {v}（来自 {s}）", name=name, v=gib(facts.get("vram_total")),
               s=src_label))
        judge_amd(f, facts, facts.get("torch") or {}, facts.get("platform"))
    elif vendor == "apple":
        f.ok(T("{name}: {v} shared between the CPU and the GPU (MPS).", "{name}：{v} 内存由 CPU 与 GPU 共享（MPS）。",
               name=name, v=gib(facts.get("vram_total"))))
    elif not (vendor == "intel" and judge_intel(f, facts)):
        f.warn(T("{name} ({v}): the web UI does not use this GPU and will run on the CPU, which is very slow.",
                 "{name}（{v}）：web UI 不使用这块显卡，将在 CPU 上运行，速度很慢。", name=name,
                 v=gib(facts.get("vram_total"))),
               T("{c} An NVIDIA card with 6 GB or more is the practical minimum.",
                 "{c}实际可用至少需要 6 GB 以上显存的 NVIDIA 显卡。", c=_cpu_advice(facts)))
    return f
