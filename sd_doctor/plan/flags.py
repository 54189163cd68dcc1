"""Turns facts into the web UI's memory and precision flags (webui-facts.md §7, §8; troubleshooting-zh.md).

The core, :func:`plan_flags`, is a function of plain inputs; :func:`plan` reads them from the context and the
findings (the gpu check's facts) and calls it. The ladder's data and rules live in :mod:`sd_doctor.plan.ladder`,
the COMMANDLINE_ARGS groups and the merge in :mod:`sd_doctor.plan.args`; this module holds the situations
(not a webui-user launcher, Forge, Apple, CPU, unknown VRAM, GTX 16xx).

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
from sd_doctor.plan import ladder
from sd_doctor.plan.args import assemble, split_groups, values_of
from sd_doctor.plan.ladder import LADDER_FLAGS

CPU_FLAGS = flavours.CPU_FLAGS["a1111"]
# What Forge and reForge ignore (their READMEs): the memory flags, precision full / no-half / no-half-vae, attention.
FORGE_IGNORED = ("--medvram", "--medvram-sdxl", "--lowvram", "--always-batch-cond-uncond", "--precision", "--no-half",
                 "--no-half-vae", "--opt-split-attention", "--opt-split-attention-v1", "--opt-sub-quad-attention",
                 "--opt-split-attention-invokeai", "--opt-sdp-attention", "--opt-sdp-no-mem-attention")
FORGE_FLAVOURS = flavours.FORGE_FAMILY

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


class Draft(object):
    """A plan being made: the user's flag groups, what is planned ([(flag, [values], T reason)]), what is removed
    ({flag: T reason}: every group of that flag goes) and the notes; the rules below and in ladder fill it."""

    def __init__(self, tokens, accepted_flags, version, oom):
        self.tokens = list(tokens or [])
        self.groups = split_groups(self.tokens)
        self.present = [g[0] for g in self.groups if g[0]]
        self.accepted = set(accepted_flags) if accepted_flags is not None else None
        self.vt = version_tuple(version)
        self.oom = oom
        self.planned = []
        self.remove = {}
        self.notes = []

    def accepts(self, flag):
        return self.accepted is None or flag in self.accepted

    def plan(self):
        tokens, reasons, notes, removed = assemble(self.groups, self.planned, self.remove, {}, self.notes,
                                                   self.accepts)
        return Plan(tokens, reasons=reasons, notes=notes, removed=removed)


def version_tuple(version):
    """'1.10.1' -> (1, 10, 1); None when unknown or unreadable (packaging.version reads it)."""
    from sd_doctor.core.versions import release

    return release(version, 3) or None


# ---------------------------------------------------------------------------------------------------- situations
def _families(draft, family, sdxl_capable):
    families = [family] if isinstance(family, str) else sorted(set(family or []))
    families = [f for f in families if f]
    if "sdxl" in families and (sdxl_capable is False or (draft.vt or (9,)) < (1, 5)):
        families = [f for f in families if f != "sdxl"]
        draft.notes.append(T("This web UI version cannot load SDXL checkpoints (SDXL needs 1.5.0 or later): they are "
                             "left out of the plan; update the web UI (git pull) to use them.",
                             "此版本的 web UI 无法加载 SDXL 模型（SDXL 需要 1.5.0 及以上）：计划中不考虑它们；如需使用请更新 web UI（git pull）。"))
    return families


def _forge(draft, label, no_gpu):
    """Forge and reForge manage memory themselves: stale memory/precision flags go, only a CPU start is planned."""
    for flag in draft.present:
        if flag in FORGE_IGNORED and flag not in draft.remove:
            draft.remove[flag] = T("{f} manages memory and precision itself and ignores {flag}",
                                   "{f} 自行管理显存与精度，会忽略 {flag}", f=label, flag=flag)
    if no_gpu:
        if draft.accepted is not None and "--always-cpu" in draft.accepted:
            draft.planned.append(("--always-cpu", [], T("no usable GPU: {f}'s own flag to run on the CPU",
                                                         "没有可用的显卡：{f} 自带的 CPU 运行参数", f=label)))
        draft.planned.append(("--skip-torch-cuda-test", [], T("no usable GPU: start without the CUDA test",
                                                              "没有可用的显卡：启动时不检测 CUDA")))
        return
    draft.notes.append(T("{f} manages VRAM itself: no memory flags are planned.", "{f} 会自行管理显存：无需设置显存参数。",
                         f=label))
    if draft.oom and draft.accepted is not None and "--always-low-vram" in draft.accepted:
        draft.notes.append(T("Still out of memory in {f}: lower the \"GPU Weights\" slider at the top of the page, or "
                             "try {f}'s own --always-low-vram flag.",
                             "{f} 仍然显存不足：调低页面顶部的 \"GPU Weights\" 滑块，或尝试 {f} 自带的 --always-low-vram 参数。",
                             f=label))
    elif draft.oom:
        draft.notes.append(T("Still out of memory in {f}: lower the \"GPU Weights\" slider at the top of the page.",
                             "{f} 仍然显存不足：调低页面顶部的 \"GPU Weights\" 滑块。", f=label))


_CPU_WHY = {None: T("no usable GPU", "没有可用的显卡"), "intel": T("Intel GPUs are not used by the web UI",
                                                                "web UI 不使用 Intel 显卡"),
            "amd": T("A1111 cannot use AMD cards on Windows", "A1111 在 Windows 上无法使用 AMD 显卡")}


def _cpu(draft, vendor):
    """No GPU the web UI can use: the four CPU flags; the ladder's flags go."""
    why = _CPU_WHY[vendor]
    texts = {
        "--use-cpu": T("{w}: run every model on the CPU", "{w}：所有模型都在 CPU 上运行", w=why),
        "--precision": T("{w}: the CPU needs full precision", "{w}：CPU 需要全精度", w=why),
        "--no-half": T("{w}: no half-precision weights on the CPU", "{w}：CPU 上不使用半精度权重", w=why),
        "--skip-torch-cuda-test": T("{w}: start without the CUDA test (all four flags are needed, or \"Found no "
                                    "NVIDIA driver\" follows)", "{w}：启动时不检测 CUDA（四个参数缺一不可，否则会出现 "
                                    "\"Found no NVIDIA driver\"）", w=why),
    }
    for flag, values in CPU_FLAGS:
        draft.planned.append((flag, values, texts[flag]))  # an existing --precision X / --use-cpu X is replaced
    if draft.oom:
        draft.notes.append(_NO_CLIMB)
    for flag in draft.present:
        if flag in LADDER_FLAGS:
            draft.remove[flag] = T("{flag} is for GPU memory; the CPU plan does not need it.",
                                   "{flag} 用于显存；CPU 方案不需要它。", flag=flag)


def _nvidia_use_cpu(draft, vendor):
    """An NVIDIA GPU with --use-cpu all/sd: the models would run on the CPU."""
    if vendor != "nvidia" or "--use-cpu" not in draft.present:
        return
    for g in draft.groups:
        if g[0] == "--use-cpu" and any(v in ("all", "sd") for v in values_of(g[1])):
            draft.remove["--use-cpu"] = T("an NVIDIA GPU is present; --use-cpu {v} would run the models on the CPU.",
                                          "有 NVIDIA 显卡；--use-cpu {v} 会让模型在 CPU 上运行。",
                                          v=" ".join(values_of(g[1])))


def _unknown_vram(draft, gpu_known, name):
    draft.notes.append(T("No memory flags planned: the GPU and its VRAM are unknown (the gpu check did not finish).",
                         "没有设置显存参数：显卡及其显存未知（“显卡”检查项未完成）。") if not gpu_known else
                       T("No memory flags planned: the VRAM of {n} is unknown.", "没有设置显存参数：{n} 的显存未知。",
                         n=name or "?"))
    if draft.oom:
        draft.notes.append(_NO_CLIMB)
    if ladder.is_new_1_6(draft.vt) and "--always-batch-cond-uncond" in draft.present:
        draft.remove["--always-batch-cond-uncond"] = ladder.STALE_BATCH


def _gtx16(draft, vendor, name):
    """GTX 16xx cards produce black/green images or NaNs in half precision."""
    if not (vendor == "nvidia" and name and GTX16_RE.search(name) and "--no-half" not in draft.present):
        return
    if draft.accepts("--upcast-sampling"):
        draft.planned.append(("--upcast-sampling", [], T("{n}: GTX 16xx cards give black/green images or \"NaNs in "
                                                          "Unet\" in half precision; upcast sampling fixes it",
                                                          "{n}：GTX 16xx 在半精度下会出黑图/绿图或 \"NaNs in Unet\"；"
                                                          "--upcast-sampling 可解决", n=name)))
    else:
        for flag, values in (("--precision", ["full"]), ("--no-half", [])):
            draft.planned.append((flag, values, T("{n}: GTX 16xx needs full precision (this version cannot "
                                                  "upcast sampling)", "{n}：GTX 16xx 需要全精度（此版本没有 "
                                                  "--upcast-sampling 参数）", n=name)))
    draft.planned.append(("--no-half-vae", [], T("{n}: keep the VAE in full precision (GTX 16xx black images)",
                                                 "{n}：VAE 保持全精度（避免 GTX 16xx 黑图）", n=name)))


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
    draft = Draft(existing_tokens, accepted_flags, version, oom)
    families = _families(draft, family, sdxl_capable)
    flavour = flavour or "a1111"
    if flavour in flavours.NOT_WEBUI_USER:
        draft.notes.append(T("{f} is not a webui-user.bat launcher: it does not read COMMANDLINE_ARGS from webui-user, "
                             "so no flags are planned.", "{f} 不是 webui-user.bat 类启动器：它不读取 webui-user 中的 "
                             "COMMANDLINE_ARGS，因此不为它设置任何参数。", f=flavours.LABELS[flavour]))
        return Plan(draft.tokens, notes=draft.notes)
    if flavour in FORGE_FLAVOURS:
        _forge(draft, flavours.LABELS[flavour], gpu_known and (vendor is None or vendor == "intel"))
    elif vendor == "apple":
        draft.notes.append(T("Apple silicon: the web UI's macOS launcher sets its own flags; no memory flags are "
                             "planned.", "Apple 芯片：web UI 的 macOS 启动脚本会自行设置参数；无需设置显存参数。"))
    elif gpu_known and (vendor is None or vendor == "intel" or (
            vendor == "amd" and platform == "windows" and not directml_fork)):
        _cpu(draft, vendor)
    else:  # a GPU the web UI uses (NVIDIA, AMD with ROCm or the DirectML fork)
        _nvidia_use_cpu(draft, vendor)
        if not gpu_known or vram is None:
            _unknown_vram(draft, gpu_known, name)
        else:
            if not families:
                families = ["sd1"]
                draft.notes.append(T("No checkpoint's family could be read: planned for SD 1.x (the web UI downloads "
                                     "SD 1.5 when there is none).",
                                     "无法识别任何模型的类型：按 SD 1.x 设置参数（没有模型时 web UI 会下载 SD 1.5）。"))
            ladder.memory_flags(draft, vram, families, int(resolution or 512))
        _gtx16(draft, vendor, name)  # by the name: also when the VRAM is unknown (an NVML memory failure)
    return draft.plan()


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
