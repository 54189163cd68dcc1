"""Turns facts into the web UI's memory and precision flags (webui-facts.md §7, §8; troubleshooting-zh.md).

The core, :func:`plan_flags`, is a function of plain inputs; :func:`plan` reads them from the context and the
findings (the gpu check's facts) and calls it.

The ladder (the troubleshooting guide's rows, for A1111 and forks that keep its memory flags):

=====  ==========================================  ============================================
rung   flags                                       when
=====  ==========================================  ============================================
0      (none)                                      enough VRAM
1      --medvram  (--medvram-sdxl: SDXL only)      4 GB at 512 px (up to 640); SDXL on 8 GB
2      --medvram --opt-split-attention             more VRAM, larger images (1024 instead of 512)
3      --lowvram --opt-split-attention             4 GB above 640 px; SDXL on 6 GB or less; top
=====  ==========================================  ============================================

``--oom`` ("still out of memory with the current flags") moves one rung above the rung the current flags are on
(never below the start rung); at rung 3 the top is reached: only better hardware helps (``--lowvram`` is about 10x
slower). Before v1.6.0 rung 3 reached through --oom also gets ``--always-batch-cond-uncond`` (the guide's row); since
v1.6.0 that flag does nothing (it became a setting), so it is not added and a stale one is removed.

VRAM bands (total VRAM in GiB; cards report a little under their nominal size) and the start rung per model family
and image size (the longer side, ``--resolution``):

============  ====================  ==============================  ==============================
band          VRAM                  SD 1.x / 2.x                    SDXL
============  ====================  ==============================  ==============================
under 4 GB    < 3.5                 3                               3 (and SDXL barely fits)
4 GB          3.5 to 4.5            1 up to 640 px, else 3          3
6 GB          4.5 to 7              0 up to 768 px, else 2          3
8 GB          7 to 9.5              0 up to 1024 px, else 2         1 (--medvram-sdxl) up to 1024, else 2
12 GB         9.5 to 14             0 up to 1536 px, else 2         0 up to 1536 px, else 1
16 GB+        14 and more           0                               0
============  ====================  ==============================  ==============================

When SDXL needs rung 1 or 2 and SD 1.x needs none, ``--medvram-sdxl`` (A1111 1.6+) replaces ``--medvram`` so SD 1.x
models keep full speed. Other rules: GTX 16xx -> ``--upcast-sampling --no-half-vae`` (black/green images, NaNs in
half precision); no usable GPU (none found, Intel, AMD on Windows with A1111) -> ``--use-cpu all --precision full
--no-half --skip-torch-cuda-test``; Forge and reForge manage memory themselves and ignore the memory, precision and
attention flags: nothing is planned there and stale ones are removed. A flag the installed web UI does not declare
(``accepted_flags``) is never emitted. The user's other flags stay untouched and in order.
"""

import re

from sd_doctor.core.text import T
from sd_doctor.launcher import flavour as flavours, settings as launch_settings

GIB = 1024.0 ** 3
TOP = 3

RUNG_FLAGS = {0: [], 1: ["--medvram"], 2: ["--medvram", "--opt-split-attention"], 3: ["--lowvram",
                                                                                       "--opt-split-attention"]}
# The flags the ladder owns: the plan decides them entirely (A1111).
LADDER_FLAGS = ("--medvram", "--medvram-sdxl", "--lowvram", "--opt-split-attention", "--always-batch-cond-uncond")
CPU_FLAGS = flavours.CPU_FLAGS["a1111"]
# Flags whose values follow them as separate tokens (nargs): --precision takes one, --use-cpu one or more.
VALUE_FLAGS = {"--precision": 1, "--use-cpu": "+"}
# What Forge and reForge ignore (their READMEs): the memory flags, precision full / no-half / no-half-vae, attention.
FORGE_IGNORED = ("--medvram", "--medvram-sdxl", "--lowvram", "--always-batch-cond-uncond", "--precision", "--no-half",
                 "--no-half-vae", "--opt-split-attention", "--opt-split-attention-v1", "--opt-sub-quad-attention",
                 "--opt-split-attention-invokeai", "--opt-sdp-attention", "--opt-sdp-no-mem-attention")
FORGE_FLAVOURS = flavours.FORGE_FAMILY

BANDS = (  # (upper bound in GiB, name, {family: [(max resolution, rung), ..., (None, rung)]})
    (3.5, "under 4 GB", {"sd1": [(None, 3)], "sdxl": [(None, 3)]}),
    (4.5, "4 GB", {"sd1": [(640, 1), (None, 3)], "sdxl": [(None, 3)]}),
    (7.0, "6 GB", {"sd1": [(768, 0), (None, 2)], "sdxl": [(None, 3)]}),
    (9.5, "8 GB", {"sd1": [(1024, 0), (None, 2)], "sdxl": [(1024, 1), (None, 2)]}),
    (14.0, "12 GB", {"sd1": [(1536, 0), (None, 2)], "sdxl": [(1536, 0), (None, 1)]}),
    (None, "16 GB+", {"sd1": [(None, 0)], "sdxl": [(None, 0)]}),
)

_NO_CLIMB = T("--oom: there is no GPU answer to climb from (no usable GPU, or its VRAM is unknown), so the memory "
               "ladder cannot go a rung higher.", "--oom：没有可用的显卡信息（没有可用显卡或显存未知），无法在显存阶梯上再升一级。")

GTX16_RE = re.compile(r"\bGTX\s*16\d\d\b", re.I)


class Plan(object):
    """The planned COMMANDLINE_ARGS.

    ``commandline_args``: the full planned token list (the user's other flags kept, superseded memory/precision flags
    replaced); ``reasons``: {flag: T} one line per planned flag; ``notes``: [T] extra lines for the report (e.g. the
    top of the ladder is reached); ``removed``: flags taken out, with why in ``reasons``; ``variables``: {name:
    (value, T reason)} other launcher variables to set (``TORCH_COMMAND`` for a torch build that fits the card).
    """

    def __init__(self, commandline_args, reasons=None, notes=None, removed=None, variables=None):
        self.commandline_args = list(commandline_args)
        self.reasons = dict(reasons or {})
        self.notes = list(notes or [])
        self.removed = list(removed or [])
        self.variables = dict(variables or {})

    def to_json(self):
        return {"commandline_args": list(self.commandline_args), "reasons": dict(self.reasons),
                "variables": dict((k, v[0]) for k, v in self.variables.items())}


# ------------------------------------------------------------------------------------------------------- helpers
def version_tuple(version):
    """'1.10.1' -> (1, 10, 1); None when unknown or unreadable (packaging.version reads it)."""
    from sd_doctor.core.versions import release

    return release(version, 3) or None


def band_of(vram_bytes):
    gib = vram_bytes / GIB
    for upper, name, table in BANDS:
        if upper is None or gib < upper:
            return name, table
    return BANDS[-1][1], BANDS[-1][2]


def start_rung(vram_bytes, family, resolution):
    """The ladder rung a card of ``vram_bytes`` needs for ``family`` ('sd1', 'sd2', 'sdxl') at ``resolution``."""
    _, table = band_of(vram_bytes)
    rows = table["sdxl" if family == "sdxl" else "sd1"]
    for limit, rung in rows:
        if limit is None or resolution <= limit:
            return rung
    return rows[-1][1]


def split_groups(tokens):
    """[(flag or None, [tokens])]: a flag with the values that belong to it (only for VALUE_FLAGS); other tokens
    stand alone, so unknown flags and their values are kept exactly as they were."""
    groups = []
    i = 0
    while i < len(tokens):
        tok = tokens[i]
        if tok.startswith("--"):
            name = tok.split("=", 1)[0]
            if "=" not in tok and name in VALUE_FLAGS:
                j = i + 1
                want = VALUE_FLAGS[name]
                while j < len(tokens) and not tokens[j].startswith("--") and (want == "+" or j - i <= want):
                    j += 1
                groups.append((name, tokens[i:j]))
                i = j
                continue
            groups.append((name, [tok]))
        else:
            groups.append((None, [tok]))
        i += 1
    return groups


def _values(group_tokens):
    if "=" in group_tokens[0]:
        return [group_tokens[0].split("=", 1)[1]]
    return group_tokens[1:]


def current_rungs(flags):
    """The rung the current flags are on, for SD 1.x and for SDXL."""
    split = "--opt-split-attention" in flags
    if "--lowvram" in flags:
        return 3, 3
    sd1 = (2 if split else 1) if "--medvram" in flags else 0
    sdxl = (2 if split else 1) if ("--medvram" in flags or "--medvram-sdxl" in flags) else 0
    return sd1, sdxl


def _gb(vram_bytes):
    return "%.1f GB" % (vram_bytes / GIB)


# ---------------------------------------------------------------------------------------------------------- core
def plan_flags(vram, vendor, name, resolution=512, family=None, flavour="a1111", version=None, accepted_flags=None,
               existing_tokens=(), oom=False, platform="linux", gpu_known=True, directml_fork=False, sdxl_capable=None):
    """The Plan for plain inputs.

    vram: total VRAM in bytes (None: unknown); vendor: 'nvidia'|'amd'|'intel'|'apple'|None (None with gpu_known:
    no GPU); name: the card's name; resolution: image side in px; family: 'sd1'|'sd2'|'sdxl', a list of them, or None
    (no checkpoint: the web UI downloads SD 1.5); flavour: 'a1111'|'forge'|'reforge'|'sdnext'|None (None: not
    installed yet, A1111 assumed); version: '1.10.1'|None; accepted_flags: the flags the installed web UI declares or
    None; existing_tokens: COMMANDLINE_ARGS split; oom: still out of memory with the current flags; gpu_known: False
    when the gpu check was skipped (no memory flag is planned then); sdxl_capable: False where the installed
    version cannot load SDXL (before 1.5.0: SDXL checkpoints are then left out of the plan).
    """
    tokens = list(existing_tokens or [])
    resolution = int(resolution or 512)
    families = [family] if isinstance(family, str) else sorted(set(family or []))
    families = [f for f in families if f] or []
    notes = []
    if "sdxl" in families and (sdxl_capable is False or (version_tuple(version) or (9,)) < (1, 5)):
        families = [f for f in families if f != "sdxl"]
        notes.append(T("This web UI version cannot load SDXL checkpoints (SDXL needs 1.5.0 or later): they are left "
                       "out of the plan; update the web UI (git pull) to use them.",
                       "此版本的 web UI 无法加载 SDXL 模型（SDXL 需要 1.5.0 及以上）：计划中不考虑它们；如需使用请更新 web UI（git pull）。"))
    flavour = flavour or "a1111"
    vt = version_tuple(version)
    accepted = set(accepted_flags) if accepted_flags is not None else None
    reasons = {}
    groups = split_groups(tokens)
    present = [g[0] for g in groups if g[0]]

    def accepts(flag):
        return accepted is None or flag in accepted

    planned = []  # [(flag, [values], T reason)]
    remove = {}  # flag -> T reason (every group of that flag is removed)

    if flavour in flavours.NOT_WEBUI_USER:
        notes.append(T("{f} is not a webui-user.bat launcher: it does not read COMMANDLINE_ARGS from webui-user, so no "
                       "flags are planned.", "{f} 不是 webui-user.bat 类启动器：它不读取 webui-user 中的 COMMANDLINE_ARGS，"
                       "因此不为它设置任何参数。", f=flavours.LABELS[flavour]))
        return Plan(tokens, notes=notes)

    if flavour in FORGE_FLAVOURS:
        label = flavours.LABELS[flavour]
        for flag in present:
            if flag in FORGE_IGNORED and flag not in remove:
                remove[flag] = T("{f} manages memory and precision itself and ignores {flag}",
                                 "{f} 自行管理显存与精度，会忽略 {flag}", f=label, flag=flag)
        no_gpu = gpu_known and (vendor is None or vendor == "intel")
        if no_gpu:
            if accepted is not None and "--always-cpu" in accepted:
                planned.append(("--always-cpu", [], T("no usable GPU: {f}'s own flag to run on the CPU",
                                                       "没有可用的显卡：{f} 自带的 CPU 运行参数", f=label)))
            planned.append(("--skip-torch-cuda-test", [], T("no usable GPU: start without the CUDA test",
                                                            "没有可用的显卡：启动时不检测 CUDA")))
        else:
            notes.append(T("{f} manages VRAM itself: no memory flags are planned.",
                           "{f} 会自行管理显存：无需设置显存参数。", f=label))
            if oom and accepted is not None and "--always-low-vram" in accepted:
                notes.append(T("Still out of memory in {f}: lower the \"GPU Weights\" slider at the top of the page, or "
                               "try {f}'s own --always-low-vram flag.",
                               "{f} 仍然显存不足：调低页面顶部的 \"GPU Weights\" 滑块，或尝试 {f} 自带的 --always-low-vram 参数。",
                               f=label))
            elif oom:
                notes.append(T("Still out of memory in {f}: lower the \"GPU Weights\" slider at the top of the page.",
                               "{f} 仍然显存不足：调低页面顶部的 \"GPU Weights\" 滑块。", f=label))
        return _assemble(groups, planned, remove, reasons, notes, accepts)

    if vendor == "apple":
        notes.append(T("Apple silicon: the web UI's macOS launcher sets its own flags; no memory flags are planned.",
                       "Apple 芯片：web UI 的 macOS 启动脚本会自行设置参数；无需设置显存参数。"))
        return _assemble(groups, planned, remove, reasons, notes, accepts)

    cpu_mode = gpu_known and (vendor is None or vendor == "intel" or (
        vendor == "amd" and platform == "windows" and not directml_fork))
    if cpu_mode:
        why = {None: T("no usable GPU", "没有可用的显卡"), "intel": T("Intel GPUs are not used by the web UI",
                                                                   "web UI 不使用 Intel 显卡"),
               "amd": T("A1111 cannot use AMD cards on Windows", "A1111 在 Windows 上无法使用 AMD 显卡")}[vendor]
        texts = {
            "--use-cpu": T("{w}: run every model on the CPU", "{w}：所有模型都在 CPU 上运行", w=why),
            "--precision": T("{w}: the CPU needs full precision", "{w}：CPU 需要全精度", w=why),
            "--no-half": T("{w}: no half-precision weights on the CPU", "{w}：CPU 上不使用半精度权重", w=why),
            "--skip-torch-cuda-test": T("{w}: start without the CUDA test (all four flags are needed, or \"Found no "
                                        "NVIDIA driver\" follows)", "{w}：启动时不检测 CUDA（四个参数缺一不可，否则会出现 "
                                        "\"Found no NVIDIA driver\"）", w=why),
        }
        for flag, values in CPU_FLAGS:
            planned.append((flag, values, texts[flag]))  # an existing --precision X / --use-cpu X is replaced
        if oom:
            notes.append(_NO_CLIMB)
        for flag in present:
            if flag in LADDER_FLAGS:
                remove[flag] = T("{flag} is for GPU memory; the CPU plan does not need it.",
                                 "{flag} 用于显存；CPU 方案不需要它。", flag=flag)
        return _assemble(groups, planned, remove, reasons, notes, accepts)

    # A GPU the web UI uses (NVIDIA, AMD with ROCm or the DirectML fork).
    if vendor == "nvidia" and "--use-cpu" in present:
        for g in groups:
            if g[0] == "--use-cpu" and any(v in ("all", "sd") for v in _values(g[1])):
                remove["--use-cpu"] = T("an NVIDIA GPU is present; --use-cpu {v} would run the models on the CPU.",
                                        "有 NVIDIA 显卡；--use-cpu {v} 会让模型在 CPU 上运行。",
                                        v=" ".join(_values(g[1])))
    if not gpu_known or vram is None:
        notes.append(T("No memory flags planned: the GPU and its VRAM are unknown (the gpu check did not finish).",
                       "没有设置显存参数：显卡及其显存未知（“显卡”检查项未完成）。") if not gpu_known else
                     T("No memory flags planned: the VRAM of {n} is unknown.", "没有设置显存参数：{n} 的显存未知。",
                       n=name or "?"))
        if oom:
            notes.append(_NO_CLIMB)
        if (vt is None or vt >= (1, 6)) and "--always-batch-cond-uncond" in present:
            remove["--always-batch-cond-uncond"] = T(
                "does nothing since 1.6.0 (it became a setting)", "自 1.6.0 起无作用（已改为设置项）")
        return _assemble(groups, planned, remove, reasons, notes, accepts)

    if not families:
        families = ["sd1"]
        notes.append(T("No checkpoint's family could be read: planned for SD 1.x (the web UI downloads SD 1.5 when "
                       "there is none).", "无法识别任何模型的类型：按 SD 1.x 设置参数（没有模型时 web UI 会下载 SD 1.5）。"))
    cur_sd1, cur_sdxl = current_rungs(present)
    rungs = {}
    for fam in families:
        key = "sdxl" if fam == "sdxl" else "sd1"
        if key in rungs:
            continue
        start = start_rung(vram, key, resolution)
        current = cur_sdxl if key == "sdxl" else cur_sd1
        rung = start
        if oom:
            rung = min(TOP, max(start, current + 1))
            if current >= TOP and not any(r[2] >= TOP for r in rungs.values()):
                notes.append(T("Already at the top of the ladder (--lowvram) and still out of memory: lower the "
                               "image size or batch size, or upgrade the graphics card.",
                               "已在阶梯最高一级（--lowvram）仍然显存不足：请减小图片尺寸或批量，或升级显卡。"))
        rungs[key] = (rung, start, current)

    gb = _gb(vram)
    sd1_rung = rungs.get("sd1", (0, 0, 0))[0]
    sdxl_rung = rungs.get("sdxl", (0, 0, 0))[0]
    medvram_sdxl_ok = (vt is None or vt >= (1, 6)) and accepts("--medvram-sdxl")
    fam_text = "SDXL" if "sdxl" in rungs and sdxl_rung >= sd1_rung else "SD 1.x"
    why_oom = T(" (--oom: one rung above the current flags)", "（--oom：比当前参数高一级）")
    if "sdxl" in rungs and sdxl_rung in (1, 2) and sd1_rung == 0 and medvram_sdxl_ok:
        flags = ["--medvram-sdxl"] + (["--opt-split-attention"] if sdxl_rung == 2 else [])
        rung = sdxl_rung
    else:
        rung = max(sd1_rung, sdxl_rung)
        flags = list(RUNG_FLAGS[rung])

    def reason(en, zh, **kw):
        if oom:
            return T(en + "{o}", zh + "{o}", o=why_oom, **kw)
        return T(en, zh, **kw)

    texts = {
        "--medvram": reason("{g} VRAM, {f} at {r} px: keeps only part of the model on the GPU (slower, less memory)",
                            "显存 {g}，{f}，{r} 像素：只把部分模型放在 GPU 上（稍慢，省显存）", g=gb, f=fam_text,
                            r=resolution),
        "--medvram-sdxl": reason("{g} VRAM with an SDXL checkpoint: --medvram for SDXL models only (SD 1.x keeps full "
                                 "speed)", "显存 {g} 且有 SDXL 模型：只对 SDXL 模型启用 --medvram（SD 1.x 保持全速）", g=gb),
        "--lowvram": reason("{g} VRAM, {f} at {r} px: one model part on the GPU at a time (about 10x slower)",
                            "显存 {g}，{f}，{r} 像素：每次只把一个模块放在 GPU 上（约慢 10 倍）", g=gb, f=fam_text,
                            r=resolution),
        "--opt-split-attention": reason("split cross-attention to save VRAM (the guide's next rung; --xformers, when "
                                        "given, still takes precedence)",
                                        "拆分交叉注意力以节省显存（指南的下一级；若同时有 --xformers，仍以它为准）"),
        "--always-batch-cond-uncond": reason("the guide's last rung for 4 GB cards (before 1.6.0)",
                                             "指南中 4 GB 显卡的最后一级（1.6.0 之前）"),
    }
    if rung == TOP and oom and vt is not None and vt < (1, 6):
        flags.insert(1, "--always-batch-cond-uncond")
    elif rung == TOP and oom and "--always-batch-cond-uncond" not in present:
        notes.append(T("The guide's --always-batch-cond-uncond is not added: it does nothing since 1.6.0 (it became "
                       "a setting).", "未加入指南中的 --always-batch-cond-uncond：自 1.6.0 起它没有作用（已改为设置项）。"))
    for flag in flags:
        if accepts(flag):
            planned.append((flag, [], texts[flag]))
        elif flag == "--medvram-sdxl" and accepts("--medvram"):
            planned.append(("--medvram", [], texts["--medvram"]))
    at_top_already = oom and any(r[2] >= TOP for r in rungs.values())
    if rung == TOP and not at_top_already:
        notes.append(T("--lowvram is the top of the ladder (about 10x slower): if it still runs out of memory, only "
                       "a graphics card with more VRAM helps.",
                       "--lowvram 已是阶梯最高一级（约慢 10 倍）：若仍显存不足，只能换显存更大的显卡。"))
    if "sdxl" in rungs and vram / GIB < 3.5:
        notes.append(T("SDXL barely fits in {g} even with --lowvram: prefer SD 1.x models on this card.",
                       "即使使用 --lowvram，{g} 也很难运行 SDXL：这块显卡建议使用 SD 1.x 模型。", g=gb))
    if not flags:
        notes.append(T("{g} VRAM is enough for {f} at {r} px: no memory flag needed.",
                       "显存 {g} 足够以 {r} 像素运行 {f}：不需要显存参数。", g=gb, f=" + ".join(
                           "SDXL" if k == "sdxl" else "SD 1.x" for k in sorted(rungs)), r=resolution))
    planned_names = set(p[0] for p in planned)
    for flag in present:
        if flag in LADDER_FLAGS and flag not in planned_names and flag not in remove:
            if flag == "--always-batch-cond-uncond" and (vt is None or vt >= (1, 6)):
                remove[flag] = T("does nothing since 1.6.0 (it became a setting)", "自 1.6.0 起无作用（已改为设置项）")
            elif flag == "--always-batch-cond-uncond":  # before 1.6.0 it still works: the user's choice
                planned.append((flag, [], T("kept: before 1.6.0 it batches the prompt and the negative prompt "
                                            "together (faster, a little more VRAM)",
                                            "保留：1.6.0 之前它会把正向与反向提示词合批计算（更快，稍多占显存）")))
                planned_names.add(flag)
            else:
                remove[flag] = T("{g} VRAM, {f} at {r} px: {flag} is not needed and only slows generation down",
                                 "显存 {g}，{f}，{r} 像素：不需要 {flag}，它只会拖慢生成", g=gb, f=fam_text,
                                 r=resolution, flag=flag) if rung < current_rank(flag) else T(
                    "replaced by {p}", "已由 {p} 取代", p=" ".join(p[0] for p in planned) or "-")

    # Precision: GTX 16xx cards produce black/green images or NaNs in half precision.
    if vendor == "nvidia" and name and GTX16_RE.search(name) and "--no-half" not in present:
        if accepts("--upcast-sampling"):
            planned.append(("--upcast-sampling", [], T("{n}: GTX 16xx cards give black/green images or \"NaNs in Unet\" "
                                                       "in half precision; upcast sampling fixes it",
                                                       "{n}：GTX 16xx 在半精度下会出黑图/绿图或 \"NaNs in Unet\"；"
                                                       "--upcast-sampling 可解决", n=name)))
        else:
            for flag, values in (("--precision", ["full"]), ("--no-half", [])):
                planned.append((flag, values, T("{n}: GTX 16xx needs full precision (this version cannot "
                                                "upcast sampling)", "{n}：GTX 16xx 需要全精度（此版本不支持 "
                                                "upcast sampling）", n=name)))
        planned.append(("--no-half-vae", [], T("{n}: keep the VAE in full precision (GTX 16xx black images)",
                                               "{n}：VAE 保持全精度（避免 GTX 16xx 黑图）", n=name)))
    return _assemble(groups, planned, remove, reasons, notes, accepts)


def current_rank(flag):
    return {"--lowvram": 3, "--medvram": 1, "--medvram-sdxl": 1, "--opt-split-attention": 2}.get(flag, 0)


def _assemble(groups, planned, remove, reasons, notes, accepts):
    """Merge: keep every group not removed, in order; planned flags already present stay where they are; new ones go
    where the first removed flag was (else at the end). Flags the web UI does not accept are dropped, with a note."""
    kept_planned = []
    for flag, values, why in planned:
        if not accepts(flag):
            notes.append(T("{flag} is not added: the installed web UI does not accept it.",
                           "未加入 {flag}：已安装的 web UI 不接受该参数。", flag=flag))
            continue
        kept_planned.append((flag, values, why))
    planned_by_flag = dict((p[0], p) for p in kept_planned)
    out = []
    insert_at = None
    removed = []
    seen = set()
    for flag, toks in groups:
        if flag is not None and flag in planned_by_flag:
            want = planned_by_flag[flag]
            same = (toks[0] == flag and toks[1:] == want[1]) or (len(toks) == 1 and "=" in toks[0] and [
                toks[0].split("=", 1)[1]] == want[1] and want[1])
            if flag in seen or not same:
                if insert_at is None:
                    insert_at = len(out)
                if not same:
                    removed.append(" ".join(toks))
                continue
            seen.add(flag)
            out.append(toks)
            continue
        if flag is not None and flag in remove:
            if insert_at is None:
                insert_at = len(out)
            removed.append(" ".join(toks))
            if remove[flag] is not None:
                reasons[" ".join(toks) if flag in VALUE_FLAGS else flag] = remove[flag]
            continue
        out.append(toks)
    new = [[flag] + list(values) for flag, values, _ in kept_planned if flag not in seen]
    if insert_at is None:
        insert_at = len(out)
    out[insert_at:insert_at] = new
    tokens = [t for group in out for t in group]
    for flag, values, why in kept_planned:
        reasons[flag] = why
    lines = []
    for flag, values, why in kept_planned:
        lines.append(T("{f}: {why}", "{f}：{why}", f=" ".join([flag] + list(values)), why=why))
    for item in removed:
        key = item if item in reasons else item.split()[0]
        if key in reasons and key not in planned_by_flag:
            lines.append(T("removed {f}: {why}", "已删除 {f}：{why}", f=item, why=reasons[key]))
        else:
            lines.append(T("replaced {f}", "已替换 {f}", f=item))
    return Plan(tokens, reasons=reasons, notes=lines + notes, removed=removed)


# ------------------------------------------------------------------------------------------------------- wrapper
def plan(ctx, findings):
    """A Plan for COMMANDLINE_ARGS from the context and the findings ({check id: Finding}); None when
    COMMANDLINE_ARGS cannot be split (an unbalanced quote: the writer must not rebuild it from a guess)."""
    tokens = launch_settings.planning_args(ctx.launch)  # what the launcher sees once --fix repaired the file
    if tokens is None:
        return None
    layout = ctx.layout or {}
    gpu = findings.get("gpu")
    facts = getattr(gpu, "facts", None) or {}
    gpu_known = gpu is not None and gpu.status != "skip" and bool(facts)
    checkpoints = facts.get("checkpoints") or {}
    result = plan_flags(
        vram=facts.get("vram_total") if gpu_known else None,
        vendor=facts.get("vendor") if gpu_known else None,
        name=facts.get("name"),
        resolution=getattr(ctx.options, "resolution", 512) or 512,
        family=checkpoints.get("families") or None,
        flavour=layout.get("flavour"),
        version=layout.get("version"),
        accepted_flags=layout.get("accepted_flags"),
        existing_tokens=tokens,
        oom=bool(getattr(ctx.options, "oom", False)),
        platform=ctx.platform,
        gpu_known=gpu_known and facts.get("selection_problem") not in ("bad-device-id", "device-id-out-of-range"),
        directml_fork=bool(facts.get("directml_fork")),
        sdxl_capable=ctx.launcher.sdxl_capable,
    )
    command = (getattr(gpu, "proposals", None) or {}).get("TORCH_COMMAND")
    if command:  # the gpu check's torch build for this card and driver (sd_doctor/checks/_torch_fit.py)
        result.variables["TORCH_COMMAND"] = (command, T("the gpu check: a torch build that runs on this card and driver",
                                                        "显卡检查：能在这块显卡和驱动上运行的 torch 版本"))
    return result
