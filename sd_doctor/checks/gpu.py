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
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T, join

ID = "gpu"
TITLE = T("GPU", "显卡")

AMD_FORK = "lshqqytiger/stable-diffusion-webui-amdgpu"

# Minimum driver for a torch build's CUDA version (NVIDIA's minor-version compatibility table): a CUDA 12.x build
# needs the 525 series, an 11.x build 450.80.02 on Linux / 452.39 on Windows.
DRIVER_FOR_CUDA = {
    12: {"linux": (525, 60, 13), "windows": (527, 41)},
    11: {"linux": (450, 80, 2), "windows": (452, 39)},
    10: {"linux": (440, 33), "windows": (441, 22)},
}
# Compute capability 10.x/12.x (Blackwell: RTX 50, B200) has kernels only in CUDA 12.8 and later torch builds.
BLACKWELL_MIN_CUDA = (12, 8)


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


def probe(ctx):
    from sd_doctor.launcher import settings as launch_settings
    from sd_doctor.probes import checkpoints as model_family
    from sd_doctor.probes import nvidia as nvml_probe
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
             "nvml": None, "nvidia_smi": None}

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
                         vram_reserved=dev.get("vram_reserved"), compute_capability=dev.get("compute_capability"))
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
                         name=chosen.get("name"), vram_total=chosen.get("vram_total"))

    # 4. the torch the web UI will run, and the checkpoints' families (plain file reads)
    venv = None if ctx.options.no_venv else launch_settings.venv_path(ctx.webui_dir, ctx.launch)
    facts["torch"] = torch_build.describe(ctx.webui_dir, variables, tokens, venv, defaults=ctx.launcher.torch)
    dirs = model_family.checkpoint_dirs(ctx.webui_dir, tokens)
    facts["checkpoints"] = ctx.cached("checkpoints", lambda: model_family.scan(dirs, budget_s=max(0.2, min(
        1.5, left()))))
    facts["elapsed_probe"] = round(time.monotonic() - start, 3)
    return facts


# ---------------------------------------------------------------------------------------------------------- judge
def parse_driver(version):
    """'535.104.05' -> (535, 104, 5) through packaging.version; None when unreadable."""
    from sd_doctor.core.versions import release

    return release(version) or None


def cuda_version_text(value):
    """NVML's 12020 -> '12.2'."""
    if not value:
        return None
    return "%d.%d" % (value // 1000, (value % 1000) // 10)


def _cuda_tuple(text):
    from sd_doctor.core.versions import release

    return release(text, 2) if len(release(text, 2)) == 2 else None


def required_driver(cuda, platform_name):
    """The minimum driver (tuple) for a torch built for CUDA ``cuda`` ('12.1'), or None."""
    version = _cuda_tuple(cuda)
    if not version:
        return None
    table = DRIVER_FOR_CUDA.get(version[0])
    if not table:
        return None
    return table["windows" if platform_name == "windows" else "linux"]


def _dotted(version):
    return ".".join("%d" % v if i == 0 else "%02d" % v for i, v in enumerate(version))


def torch_command_advice(platform_name, index_base, tag):
    """How to make the web UI install a torch built for ``tag`` (e.g. cu128)."""
    if index_base:
        url = "%s/whl/%s" % (index_base, tag)
        command = "pip install torch torchvision --extra-index-url %s" % url
        if platform_name == "windows":
            line = "set TORCH_COMMAND=%s" % command
            where = T("webui-user.bat", "webui-user.bat")
        else:
            line = 'export TORCH_COMMAND="%s"' % command
            where = T("webui-user.sh", "webui-user.sh")
        return T("Install a torch built for {tag}: add this line to {where} (before the web UI starts):\n{line}",
                 "安装为 {tag} 构建的 torch：在 {where} 中加入这一行（在 web UI 启动之前）：\n{line}",
                 tag=tag, where=where, line=line)
    return T("Install a torch built for {tag}: set TORCH_COMMAND to \"pip install torch torchvision "
             "--extra-index-url <the web UI's torch index URL with /whl/{tag} at the end>\" (the default index URL is "
             "in modules/launch_utils.py, TORCH_INDEX_URL).",
             "安装为 {tag} 构建的 torch：把 TORCH_COMMAND 设为 \"pip install torch torchvision --extra-index-url "
             "<web UI 的 torch 索引地址，结尾改为 /whl/{tag}>\"（默认索引地址见 modules/launch_utils.py 中的 "
             "TORCH_INDEX_URL）。", tag=tag)


def _reinstall_advice(torch):
    if torch.get("installed") and not torch.get("reinstall"):
        return T("torch {v} is already installed in the venv: add --reinstall-torch to COMMANDLINE_ARGS for one start "
                 "(or delete the venv folder) so the new TORCH_COMMAND takes effect.",
                 "venv 中已安装 torch {v}：在 COMMANDLINE_ARGS 中临时加上 --reinstall-torch 启动一次（或删除 venv 文件夹），"
                 "新的 TORCH_COMMAND 才会生效。", v=torch["installed"].get("version") or "?")
    return None


def _torch_label(torch):
    src = torch.get("source")
    what = "CUDA %s" % torch["cuda"] if torch.get("kind") == "cuda" else (torch.get("kind") or "?")
    if src == "venv":
        return T("the installed torch {d} ({w})", "已安装的 torch {d}（{w}）", d=torch.get("detail") or "?", w=what)
    if src:
        return T("the torch {s} names ({w})", "{s} 指定的 torch（{w}）", s=src, w=what)
    return T("the torch the web UI installs ({w})", "web UI 将安装的 torch（{w}）", w=what)


def judge(facts):
    f = Finding(ID, TITLE)
    platform_name = facts.get("platform")
    nvml = facts.get("nvml") or {}
    smi = facts.get("nvidia_smi") or {}
    torch = facts.get("torch") or {}
    source = facts.get("source")
    failed_nvml = nvml.get("status") in ("init-failed", "timeout", "error")

    if source is None:
        if failed_nvml:
            f.skip(T("Could not read the GPU: NVML failed ({e}) and no other source answered.",
                     "无法读取显卡信息：NVML 失败（{e}），其他来源也没有结果。", e=nvml.get("error") or nvml.get("status")),
                   T("Restart the computer; if NVML still fails, reinstall the NVIDIA driver (nvidia-smi should list "
                     "the card).", "重启电脑；若 NVML 仍然失败，请重新安装 NVIDIA 驱动（nvidia-smi 应能列出显卡）。"))
            return f
        if nvml.get("status") == "no-module" and not facts.get("adapters") and smi.get("status") != "failed":
            f.skip(T("Could not read the GPU: the nvidia-ml-py package (pynvml) is not installed ({e}).",
                     "无法读取显卡信息：未安装 nvidia-ml-py（pynvml）（{e}）。", e=nvml.get("error") or "?"),
                   T("Install it: python -m pip install nvidia-ml-py", "安装它：python -m pip install nvidia-ml-py"))
            return f
        f.warn(T("No usable GPU found (no NVIDIA driver answered, no other adapter with its own memory): the web UI "
                 "will run on the CPU, which is very slow.",
                 "未找到可用的显卡（没有 NVIDIA 驱动响应，也没有带独立显存的其他显卡）：web UI 将在 CPU 上运行，速度很慢。"),
               T("If this computer has an NVIDIA card, install its current driver; otherwise {c}",
                 "如果电脑装有 NVIDIA 显卡，请安装最新驱动；否则{c}", c=_cpu_advice(facts)))
        return f

    vendor = facts.get("vendor")
    devices = facts.get("devices") or []
    problem = facts.get("selection_problem")
    if problem:
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
        return f

    name = facts.get("name") or "?"
    src_label = {"nvml": "NVML", "nvidia-smi": "nvidia-smi"}.get(source, source)
    if vendor == "nvidia":
        details = [T("{v} VRAM", "显存 {v}", v=gib(facts.get("vram_total")))]
        if facts.get("vram_free") is not None:
            details.append(T("{v} free", "可用 {v}", v=gib(facts["vram_free"])))
        if facts.get("driver_version"):
            details.append(T("driver {v}", "驱动 {v}", v=facts["driver_version"]))
        if facts.get("cuda_driver_version"):
            details.append(T("CUDA {v}", "CUDA {v}", v=cuda_version_text(facts["cuda_driver_version"])))
        if facts.get("compute_capability"):
            details.append(T("compute {v}", "计算能力 {v}", v=facts["compute_capability"]))
        index = facts.get("selected_index")
        which = T("GPU {i}: ", "显卡 {i}：", i=index) if len(devices) > 1 else ""
        f.ok(T("{w}{name}: {d} (from {s})", "{w}{name}：{d}（来自 {s}）", w=which, name=name,
               d=join(details, T(", ", "，")), s=src_label))
        if len(devices) > 1 and facts.get("cuda_device_order") != "PCI_BUS_ID":
            f.ok(T("Several GPUs: CUDA numbers them fastest first unless CUDA_DEVICE_ORDER=PCI_BUS_ID; torch will use "
                   "GPU {i} above (the fastest, or the one CUDA_VISIBLE_DEVICES / --device-id picks), and the plan is "
                   "for that card.", "有多块显卡：除非设置 CUDA_DEVICE_ORDER=PCI_BUS_ID，CUDA 按速度从快到慢编号；torch 会使用"
                   "上面的显卡 {i}（最快的那块，或 CUDA_VISIBLE_DEVICES / --device-id 选中的那块），计划按这块显卡制定。", i=index))
        if failed_nvml:
            f.warn(T("NVML failed ({e}); the values above come from {s}. The driver may be in a bad state.",
                     "NVML 失败（{e}）；以上数值来自 {s}。驱动可能处于异常状态。", e=nvml.get("error"), s=src_label),
                   T("Restart the computer; if it persists, reinstall the NVIDIA driver.",
                     "重启电脑；若仍然如此，请重新安装 NVIDIA 驱动。"))
        elif nvml.get("status") == "no-library" and source not in ("nvml", "nvidia-smi"):
            f.warn(T("An NVIDIA card is installed but its driver's NVML library is missing: the driver is not "
                     "installed completely, and torch will not find the card.",
                     "装有 NVIDIA 显卡，但驱动的 NVML 库缺失：驱动安装不完整，torch 将找不到显卡。"),
                   T("Install the current NVIDIA driver for this card.", "为这块显卡安装最新的 NVIDIA 驱动。"))
        _judge_nvidia_torch(f, facts, torch, platform_name)
        return f

    if vendor == "amd":
        f.ok(T("{name}: {v} VRAM (from {s})", "{name}：显存 {v}（来自 {s}）", name=name, v=gib(facts.get("vram_total")),
               s=src_label))
        if platform_name == "windows" and facts.get("flavour") in (None, "a1111") and not facts.get("directml_fork"):
            f.warn(T("AMD cards on Windows are not supported by the AUTOMATIC1111 web UI: it would run on the CPU.",
                     "AUTOMATIC1111 web UI 在 Windows 上不支持 AMD 显卡：只能用 CPU 运行。"),
                   T("Use the DirectML fork {fork} for this card (or run on the CPU with the planned flags).",
                     "请为这块显卡使用 DirectML 分支 {fork}（或用计划中的参数以 CPU 运行）。", fork=AMD_FORK))
        elif platform_name == "windows" and facts.get("directml_fork"):
            f.ok(T("The installed web UI is the DirectML/ZLUDA fork: it can use this card.",
                   "已安装的是 DirectML/ZLUDA 分支：可以使用这块显卡。"))
        elif platform_name == "linux" and torch.get("kind") == "cuda":
            f.warn(T("The web UI will install a CUDA build of torch, which cannot use an AMD card.",
                     "web UI 将安装 CUDA 版 torch，它无法使用 AMD 显卡。"),
                   T("Use a ROCm build: webui.sh picks one for AMD cards when TORCH_COMMAND is not set; remove a "
                     "TORCH_COMMAND that names a CUDA build.", "请使用 ROCm 版 torch：未设置 TORCH_COMMAND 时 webui.sh 会为 AMD "
                     "显卡选择 ROCm 版；请删除指定 CUDA 版的 TORCH_COMMAND。"))
        return f

    if vendor == "apple":
        f.ok(T("{name}: {v} shared between the CPU and the GPU (MPS).", "{name}：{v} 内存由 CPU 与 GPU 共享（MPS）。",
               name=name, v=gib(facts.get("vram_total"))))
        return f

    f.warn(T("{name} ({v}): the web UI does not use this GPU and will run on the CPU, which is very slow.",
             "{name}（{v}）：web UI 不使用这块显卡，将在 CPU 上运行，速度很慢。", name=name, v=gib(facts.get("vram_total"))),
           T("{c} An NVIDIA card with 6 GB or more is the practical minimum.",
             "{c}实际可用至少需要 6 GB 以上显存的 NVIDIA 显卡。", c=_cpu_advice(facts)))
    return f


def _cpu_advice(facts):
    """The CPU flags the plan writes for this flavour (the launcher model's list, only flags the install declares)."""
    if facts.get("cpu_flags"):
        return T("the planned CPU flags ({c}) let the web UI start.", "计划中的 CPU 参数（{c}）可让 web UI 启动。",
                 c=facts["cpu_flags"])
    return T("the installed web UI declares no flag to run on the CPU: see its documentation.",
             "已安装的 web UI 没有声明在 CPU 上运行的参数：请查看它的文档。")


def _judge_nvidia_torch(f, facts, torch, platform_name):
    """Driver too old for the torch build; Blackwell cards with an older CUDA build; CPU/ROCm torch on NVIDIA."""
    kind = torch.get("kind")
    cuda = torch.get("cuda")
    assumed = False
    if kind is None and torch.get("source") is None:
        # Nothing installed yet: A1111 v1.8 to v1.10 installs torch 2.1.2 built for CUDA 12.1.
        kind, cuda, assumed = "cuda", "12.1", True
    label = _torch_label(torch) if not assumed else T(
        "the torch the web UI installs (CUDA 12.1, as v1.8 to v1.10 do)", "web UI 将安装的 torch（CUDA 12.1，v1.8 至 v1.10 如此）")
    if kind in ("cpu", "rocm"):
        f.warn(T("{t} cannot use an NVIDIA card: the web UI will run on the CPU.",
                 "{t}无法使用 NVIDIA 显卡：web UI 将在 CPU 上运行。", t=label),
               T("Remove TORCH_COMMAND / TORCH_INDEX_URL (the default installs a CUDA build); with torch already in "
                 "the venv, add --reinstall-torch for one start.",
                 "删除 TORCH_COMMAND / TORCH_INDEX_URL（默认会安装 CUDA 版）；若 venv 中已装有 torch，临时加上 --reinstall-torch "
                 "启动一次。"))
        return
    if kind != "cuda" or not cuda:
        return
    driver = parse_driver(facts.get("driver_version"))
    need = required_driver(cuda, platform_name)
    too_old = False
    if need and driver:
        too_old = driver < need
    elif need and facts.get("cuda_driver_version"):
        too_old = facts["cuda_driver_version"] < _cuda_tuple(cuda)[0] * 1000
    if too_old:
        have = facts.get("driver_version") or "CUDA %s" % cuda_version_text(facts.get("cuda_driver_version"))
        f.error(T("The NVIDIA driver {have} is too old for {t}: it needs {need} or newer (torch stops with \"The NVIDIA "
                  "driver on your system is too old\").",
                  "NVIDIA 驱动 {have} 太旧，无法运行{t}：需要 {need} 或更新（torch 会报 \"The NVIDIA driver on your system is "
                  "too old\"）。", have=have, t=label, need=_dotted(need)),
                T("Update the NVIDIA driver to {need} or newer (the current Game Ready or Studio driver for {name}), then "
                  "restart.", "把 NVIDIA 驱动更新到 {need} 或更新版本（{name} 的最新 Game Ready 或 Studio 驱动），然后重启。",
                  need=_dotted(need), name=facts.get("name") or "?"))
        older = DRIVER_FOR_CUDA[11]["windows" if platform_name == "windows" else "linux"]
        if _cuda_tuple(cuda)[0] >= 12 and driver and driver >= older and torch.get("index_base"):
            url = "%s/whl/cu118" % torch["index_base"]
            line = ("set TORCH_INDEX_URL=%s" % url) if platform_name == "windows" else ('export TORCH_INDEX_URL="%s"' % url)
            f.advise(T("If you cannot update the driver: a CUDA 11.8 build of torch runs on this driver:\n{line}",
                       "如果无法更新驱动：CUDA 11.8 版 torch 可以在此驱动上运行：\n{line}", line=line))
            again = _reinstall_advice(torch)  # TORCH_INDEX_URL changes nothing while torch is installed
            if again:
                f.advise(again)
    cc = _cuda_tuple(facts.get("compute_capability"))
    if cc and cc[0] >= 10 and _cuda_tuple(cuda) < BLACKWELL_MIN_CUDA:
        f.error(T("{name} has compute capability {cc} (RTX 50 / Blackwell): {t} has no kernels for it (\"no kernel "
                  "image is available\", \"sm_120 is not compatible\"); it needs a CUDA 12.8 build.",
                  "{name} 的计算能力为 {cc}（RTX 50 / Blackwell）：{t}没有对应的内核（\"no kernel image is available\"、"
                  "\"sm_120 is not compatible\"）；需要 CUDA 12.8 版 torch。",
                  name=facts.get("name") or "?", cc=facts.get("compute_capability"), t=label),
                torch_command_advice(platform_name, torch.get("index_base"), "cu128"))
        again = _reinstall_advice(torch)
        if again:
            f.advise(again)
    elif cc and cc < (5, 0):
        f.warn(T("{name} has compute capability {cc}: torch 2.x builds need 5.0 or newer, so it will run on the CPU.",
                 "{name} 的计算能力为 {cc}：torch 2.x 需要 5.0 或更高，因此只能用 CPU 运行。",
                 name=facts.get("name") or "?", cc=facts.get("compute_capability")))
