"""The memory ladder as data (the rungs, the VRAM bands, the reason of each flag) and the small rules that climb it.

See :mod:`sd_doctor.plan.flags` for the tables in prose. Everything here works on a draft plan (``draft``: the
present flags, what is planned, removed and noted; :class:`sd_doctor.plan.flags.Draft`).
"""

from sd_doctor.core.text import T

GIB = 1024.0 ** 3
TOP = 3

RUNG_FLAGS = {0: [], 1: ["--medvram"], 2: ["--medvram", "--opt-split-attention"], 3: ["--lowvram",
                                                                                       "--opt-split-attention"]}
# The rung a flag stands for on its own (a flag below the planned rung only slows generation down).
FLAG_RANK = {"--lowvram": 3, "--medvram": 1, "--medvram-sdxl": 1, "--opt-split-attention": 2}
# The flags the ladder owns: the plan decides them entirely (A1111).
LADDER_FLAGS = ("--medvram", "--medvram-sdxl", "--lowvram", "--opt-split-attention", "--always-batch-cond-uncond")

BANDS = (  # (upper bound in GiB, name, {family: [(max resolution, rung), ..., (None, rung)]})
    (3.5, "under 4 GB", {"sd1": [(None, 3)], "sdxl": [(None, 3)]}),
    (4.5, "4 GB", {"sd1": [(640, 1), (None, 3)], "sdxl": [(None, 3)]}),
    (7.0, "6 GB", {"sd1": [(768, 0), (None, 2)], "sdxl": [(None, 3)]}),
    (9.5, "8 GB", {"sd1": [(1024, 0), (None, 2)], "sdxl": [(1024, 1), (None, 2)]}),
    (14.0, "12 GB", {"sd1": [(1536, 0), (None, 2)], "sdxl": [(1536, 0), (None, 1)]}),
    (None, "16 GB+", {"sd1": [(None, 0)], "sdxl": [(None, 0)]}),
)

# Why each ladder flag is planned ({g}: the VRAM, {f}: the model family, {r}: the resolution).
REASONS = {
    "--medvram": T("{g} VRAM, {f} at {r} px: keeps only part of the model on the GPU (slower, less memory)",
                   "显存 {g}，{f}，{r} 像素：只把部分模型放在 GPU 上（稍慢，省显存）"),
    "--medvram-sdxl": T("{g} VRAM with an SDXL checkpoint: --medvram for SDXL models only (SD 1.x keeps full speed)",
                        "显存 {g} 且有 SDXL 模型：只对 SDXL 模型启用 --medvram（SD 1.x 保持全速）"),
    "--lowvram": T("{g} VRAM, {f} at {r} px: one model part on the GPU at a time (about 10x slower)",
                   "显存 {g}，{f}，{r} 像素：每次只把一个模块放在 GPU 上（约慢 10 倍）"),
    "--opt-split-attention": T("split cross-attention to save VRAM (the guide's next rung; --xformers, when given, "
                               "still takes precedence)", "拆分交叉注意力以节省显存（指南的下一级；若同时有 --xformers，仍以它为准）"),
    "--always-batch-cond-uncond": T("the guide's last rung for 4 GB cards (before 1.6.0)",
                                    "指南中 4 GB 显卡的最后一级（1.6.0 之前）"),
}
_WHY_OOM = T(" (--oom: one rung above the current flags)", "（--oom：比当前参数高一级）")
STALE_BATCH = T("does nothing since 1.6.0 (it became a setting)", "自 1.6.0 起无作用（已改为设置项）")


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


def current_rungs(flags):
    """The rung the current flags are on, for SD 1.x and for SDXL."""
    split = "--opt-split-attention" in flags
    if "--lowvram" in flags:
        return 3, 3
    sd1 = (2 if split else 1) if "--medvram" in flags else 0
    sdxl = (2 if split else 1) if ("--medvram" in flags or "--medvram-sdxl" in flags) else 0
    return sd1, sdxl


def climb(start, current):
    """--oom: one rung above the current flags, never below the start rung, never above the top."""
    return min(TOP, max(start, current + 1))


def gb(vram_bytes):
    return "%.1f GB" % (vram_bytes / GIB)


def is_new_1_6(vt):
    """1.6.0 or later (an unknown version counts as current)."""
    return vt is None or vt >= (1, 6)


def rungs_for(draft, vram, families, resolution):
    """{'sd1'|'sdxl': (rung, start rung, current rung)} for the families to plan for."""
    cur_sd1, cur_sdxl = current_rungs(draft.present)
    rungs = {}
    for fam in families:
        key = "sdxl" if fam == "sdxl" else "sd1"
        if key in rungs:
            continue
        start = start_rung(vram, key, resolution)
        current = cur_sdxl if key == "sdxl" else cur_sd1
        rung = climb(start, current) if draft.oom else start
        if draft.oom and current >= TOP and not any(r[2] >= TOP for r in rungs.values()):
            draft.notes.append(T("Already at the top of the ladder (--lowvram) and still out of memory: lower the "
                                 "image size or batch size, or upgrade the graphics card.",
                                 "已在阶梯最高一级（--lowvram）仍然显存不足：请减小图片尺寸或批量，或升级显卡。"))
        rungs[key] = (rung, start, current)
    return rungs


def _rung_and_flags(draft, rungs):
    """The rung to plan and its flags: --medvram-sdxl instead of --medvram when only SDXL needs a rung (1.6+)."""
    sd1_rung = rungs.get("sd1", (0, 0, 0))[0]
    sdxl_rung = rungs.get("sdxl", (0, 0, 0))[0]
    if ("sdxl" in rungs and sdxl_rung in (1, 2) and sd1_rung == 0 and is_new_1_6(draft.vt)
            and draft.accepts("--medvram-sdxl")):
        return sdxl_rung, ["--medvram-sdxl"] + (["--opt-split-attention"] if sdxl_rung == 2 else [])
    rung = max(sd1_rung, sdxl_rung)
    return rung, list(RUNG_FLAGS[rung])


def _reason(draft, flag, **kw):
    template = REASONS[flag]
    kw = dict((k, v) for k, v in kw.items() if "{%s}" % k in template.en)
    if draft.oom:
        return T(template.en + "{o}", template.zh + "{o}", o=_WHY_OOM, **kw)
    return T(template.en, template.zh, **kw)


def memory_flags(draft, vram, families, resolution):
    """Plan the ladder's flags for a GPU of ``vram`` bytes; stale ladder flags are removed or kept with a reason."""
    rungs = rungs_for(draft, vram, families, resolution)
    rung, flags = _rung_and_flags(draft, rungs)
    sd1_rung, sdxl_rung = rungs.get("sd1", (0, 0, 0))[0], rungs.get("sdxl", (0, 0, 0))[0]
    words = {"g": gb(vram), "f": "SDXL" if "sdxl" in rungs and sdxl_rung >= sd1_rung else "SD 1.x", "r": resolution}
    if rung == TOP and draft.oom and draft.vt is not None and draft.vt < (1, 6):
        flags.insert(1, "--always-batch-cond-uncond")
    elif rung == TOP and draft.oom and "--always-batch-cond-uncond" not in draft.present:
        draft.notes.append(T("The guide's --always-batch-cond-uncond is not added: it does nothing since 1.6.0 (it "
                             "became a setting).", "未加入指南中的 --always-batch-cond-uncond：自 1.6.0 起它没有作用（已改为设置项）。"))
    for flag in flags:
        if draft.accepts(flag):
            draft.planned.append((flag, [], _reason(draft, flag, **words)))
        elif flag == "--medvram-sdxl" and draft.accepts("--medvram"):
            draft.planned.append(("--medvram", [], _reason(draft, "--medvram", **words)))
    _top_notes(draft, rung, rungs, vram, flags, words)
    _stale_ladder_flags(draft, rung, words)


def _top_notes(draft, rung, rungs, vram, flags, words):
    at_top_already = draft.oom and any(r[2] >= TOP for r in rungs.values())
    if rung == TOP and not at_top_already:
        draft.notes.append(T("--lowvram is the top of the ladder (about 10x slower): if it still runs out of memory, "
                             "only a graphics card with more VRAM helps.",
                             "--lowvram 已是阶梯最高一级（约慢 10 倍）：若仍显存不足，只能换显存更大的显卡。"))
    if "sdxl" in rungs and vram / GIB < 3.5:
        draft.notes.append(T("SDXL barely fits in {g} even with --lowvram: prefer SD 1.x models on this card.",
                             "即使使用 --lowvram，{g} 也很难运行 SDXL：这块显卡建议使用 SD 1.x 模型。", g=words["g"]))
    if not flags:
        draft.notes.append(T("{g} VRAM is enough for {f} at {r} px: no memory flag needed.",
                             "显存 {g} 足够以 {r} 像素运行 {f}：不需要显存参数。", g=words["g"], f=" + ".join(
                                 "SDXL" if k == "sdxl" else "SD 1.x" for k in sorted(rungs)), r=words["r"]))


def _stale_ladder_flags(draft, rung, words):
    """A ladder flag the plan does not keep: removed (with why), or --always-batch-cond-uncond kept before 1.6.0."""
    planned_names = set(p[0] for p in draft.planned)
    for flag in draft.present:
        if flag not in LADDER_FLAGS or flag in planned_names or flag in draft.remove:
            continue
        if flag == "--always-batch-cond-uncond" and is_new_1_6(draft.vt):
            draft.remove[flag] = STALE_BATCH
        elif flag == "--always-batch-cond-uncond":  # before 1.6.0 it still works: the user's choice
            draft.planned.append((flag, [], T("kept: before 1.6.0 it batches the prompt and the negative prompt "
                                              "together (faster, a little more VRAM)",
                                              "保留：1.6.0 之前它会把正向与反向提示词合批计算（更快，稍多占显存）")))
            planned_names.add(flag)
        elif rung < FLAG_RANK.get(flag, 0):
            draft.remove[flag] = T("{g} VRAM, {f} at {r} px: {flag} is not needed and only slows generation down",
                                   "显存 {g}，{f}，{r} 像素：不需要 {flag}，它只会拖慢生成", flag=flag, **words)
        else:
            draft.remove[flag] = T("replaced by {p}", "已由 {p} 取代", p=" ".join(p[0] for p in draft.planned) or "-")
