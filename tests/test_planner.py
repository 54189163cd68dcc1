"""The launch-flag planner: the guide's ladder, every flavour, --oom from each rung, and the user's flags kept."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sd_doctor.core.context import Context, Options
from sd_doctor.core.finding import Finding
from sd_doctor.plan.flags import LADDER_FLAGS, plan, plan_flags
from sd_doctor.core.text import T, render

GB = 1024 ** 3
RTX = "NVIDIA GeForce RTX 3060"
MED = ["--medvram"]
MED_SPLIT = ["--medvram", "--opt-split-attention"]
LOW_SPLIT = ["--lowvram", "--opt-split-attention"]
XL = ["--medvram-sdxl"]
XL_SPLIT = ["--medvram-sdxl", "--opt-split-attention"]


def flags(p):
    return [t for t in p.commandline_args if t.startswith("--")]


def text(p, lang="en"):
    return "\n".join(render(p.notes, lang))


# (VRAM GiB, family, resolution) -> planned flags, for A1111 1.10.1 and a card that is not a GTX 16xx.
LADDER = [
    (2.0, "sd1", 512, LOW_SPLIT),
    (4.0, "sd1", 512, MED),  # the guide: 4 GB at 512x512 -> --medvram
    (4.0, "sd1", 640, MED),  # "or maybe up to 640x640"
    (4.0, "sd1", 768, LOW_SPLIT),  # 4 GB, larger than --medvram allows
    (3.8, "sd1", 512, MED),  # a 4 GB card reporting a little less
    (6.0, "sd1", 512, []),
    (6.0, "sd1", 1024, MED_SPLIT),  # more VRAM, larger images
    (8.0, "sd1", 1024, []),
    (8.0, "sd1", 1536, MED_SPLIT),
    (12.0, "sd1", 1024, []),
    (12.0, "sd1", 2048, MED_SPLIT),
    (24.0, "sd1", 2048, []),
    (6.0, "sd2", 512, []),
    (4.0, "sdxl", 1024, LOW_SPLIT),
    (6.0, "sdxl", 1024, LOW_SPLIT),  # SDXL on 6 GB or less: --lowvram
    (8.0, "sdxl", 1024, XL),  # the wiki: 8 GB -> --medvram-sdxl
    (8.0, "sdxl", 512, XL),
    (8.0, "sdxl", 1536, XL_SPLIT),
    (12.0, "sdxl", 1024, []),  # 12 GB+: nothing
    (12.0, "sdxl", 2048, XL),
    (24.0, "sdxl", 2048, []),
    (8.0, ["sd1", "sdxl"], 1024, XL),  # SD 1.x needs nothing: --medvram only for SDXL models
    (6.0, ["sd1", "sdxl"], 512, LOW_SPLIT),
    (4.0, ["sd1", "sdxl"], 512, LOW_SPLIT),
]


@pytest.mark.parametrize("gib, family, res, expected", LADDER)
def test_ladder(gib, family, res, expected):
    p = plan_flags(int(gib * GB), "nvidia", RTX, res, family, "a1111", "1.10.1", None, [], False)
    assert flags(p) == expected
    for flag in expected:
        assert render(p.reasons[flag], "en") and render(p.reasons[flag], "zh")
        assert render(p.reasons[flag], "en") != render(p.reasons[flag], "zh")
    if not expected:
        assert "no memory flag needed" in text(p)
    if "--lowvram" in expected:
        assert "top of the ladder" in text(p)


def test_unknown_family_is_planned_as_sd1_and_said():
    p = plan_flags(4 * GB, "nvidia", RTX, 512, None, "a1111", "1.10.1", None, [], False)
    assert flags(p) == MED
    assert "SD 1.x" in text(p)


# --oom from each rung: one rung above the current flags (never below the start rung).
OOM = [
    (4.0, "sd1", [], "1.10.1", MED),
    (4.0, "sd1", MED, "1.10.1", MED_SPLIT),
    (4.0, "sd1", MED_SPLIT, "1.10.1", LOW_SPLIT),
    (4.0, "sd1", MED_SPLIT, "1.5.2", ["--lowvram", "--always-batch-cond-uncond", "--opt-split-attention"]),
    (4.0, "sd1", LOW_SPLIT, "1.10.1", LOW_SPLIT),
    (24.0, "sd1", [], "1.10.1", MED),
    (24.0, "sd1", MED, "1.10.1", MED_SPLIT),
    (8.0, "sdxl", XL, "1.10.1", XL_SPLIT),
    (8.0, "sdxl", XL_SPLIT, "1.10.1", LOW_SPLIT),
    (8.0, "sdxl", [], "1.10.1", XL),
]


@pytest.mark.parametrize("gib, family, current, version, expected", OOM)
def test_oom_moves_one_rung_up(gib, family, current, version, expected):
    p = plan_flags(int(gib * GB), "nvidia", RTX, 512, family, "a1111", version, None, list(current), True)
    assert flags(p) == expected
    assert "--oom" in render(p.reasons[expected[0]], "en")
    notes = text(p)
    if current == LOW_SPLIT:
        assert "Already at the top of the ladder" in notes
        assert "upgrade the graphics card" in notes
    if expected[0] == "--lowvram" and version == "1.10.1":
        assert "--always-batch-cond-uncond is not added: it does nothing since 1.6.0" in notes


def test_always_batch_cond_uncond_is_removed_since_1_6_and_kept_before():
    new = plan_flags(4 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.6.0", None, ["--medvram",
                                                                                  "--always-batch-cond-uncond"], False)
    assert flags(new) == MED
    assert new.removed == ["--always-batch-cond-uncond"]
    assert "1.6.0" in render(new.reasons["--always-batch-cond-uncond"], "en")
    old = plan_flags(4 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.5.2", None, ["--medvram",
                                                                                  "--always-batch-cond-uncond"], False)
    assert flags(old) == ["--medvram", "--always-batch-cond-uncond"]


def test_medvram_sdxl_needs_1_6_or_an_accepting_parser():
    old = plan_flags(8 * GB, "nvidia", RTX, 1024, "sdxl", "a1111", "1.5.2", None, [], False)
    assert flags(old) == MED
    accepted = ["--medvram", "--lowvram", "--opt-split-attention", "--xformers"]
    p = plan_flags(8 * GB, "nvidia", RTX, 1024, "sdxl", "a1111", None, accepted, [], False)
    assert flags(p) == MED


def test_user_flags_are_kept_in_order_and_replaced_in_place():
    existing = ["--xformers", "--ckpt-dir", "D:\\models", "--medvram", "--api", "--listen", "--port", "7861"]
    same = plan_flags(4 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.10.1", None, existing, False)
    assert same.commandline_args == existing and same.removed == []
    bigger = plan_flags(4 * GB, "nvidia", RTX, 1024, "sd1", "a1111", "1.10.1", None, existing, False)
    assert bigger.commandline_args == ["--xformers", "--ckpt-dir", "D:\\models", "--lowvram", "--opt-split-attention",
                                       "--api", "--listen", "--port", "7861"]
    assert bigger.removed == ["--medvram"]
    assert "--lowvram" in render(bigger.reasons["--medvram"], "en")
    assert "removed --medvram" in text(bigger)


def test_needless_memory_flags_are_removed_with_a_reason():
    p = plan_flags(24 * GB, "nvidia", "NVIDIA GeForce RTX 4090", 512, "sd1", "a1111", "1.10.1", None,
                   ["--lowvram", "--xformers", "--opt-split-attention"], False)
    assert p.commandline_args == ["--xformers"]
    assert p.removed == ["--lowvram", "--opt-split-attention"]
    assert "not needed" in render(p.reasons["--lowvram"], "en")


def test_duplicate_flags_collapse():
    p = plan_flags(4 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.10.1", None, ["--medvram", "--api", "--medvram"],
                   False)
    assert p.commandline_args == ["--medvram", "--api"]


@pytest.mark.parametrize("name, gib, existing, expected", [
    ("NVIDIA GeForce GTX 1650", 4.0, [], ["--medvram", "--upcast-sampling", "--no-half-vae"]),
    ("NVIDIA GeForce GTX 1660 SUPER", 6.0, [], ["--upcast-sampling", "--no-half-vae"]),
    ("NVIDIA GeForce GTX 1660 Ti", 6.0, ["--no-half"], ["--no-half"]),  # --no-half already covers it
    ("NVIDIA GeForce GTX 1080", 8.0, [], []),
])
def test_gtx_16xx_precision(name, gib, existing, expected):
    p = plan_flags(int(gib * GB), "nvidia", name, 512, "sd1", "a1111", "1.10.1", None, existing, False)
    assert flags(p) == expected
    if "--upcast-sampling" in expected:
        assert "black" in render(p.reasons["--upcast-sampling"], "en")


def test_gtx_16xx_without_upcast_sampling_falls_back_to_full_precision():
    accepted = ["--medvram", "--lowvram", "--opt-split-attention", "--precision", "--no-half", "--no-half-vae"]
    p = plan_flags(6 * GB, "nvidia", "NVIDIA GeForce GTX 1660", 512, "sd1", "a1111", None, accepted, [], False)
    assert p.commandline_args == ["--precision", "full", "--no-half", "--no-half-vae"]


CPU = ["--use-cpu", "all", "--precision", "full", "--no-half", "--skip-torch-cuda-test"]


@pytest.mark.parametrize("vendor, platform, fork, expected", [
    (None, "linux", False, CPU),
    (None, "windows", False, CPU),
    ("intel", "windows", False, CPU),
    ("amd", "windows", False, CPU),  # A1111 cannot use AMD on Windows
    ("amd", "windows", True, MED),  # the DirectML fork can: the ladder applies
    ("amd", "linux", False, MED),  # ROCm
])
def test_vendors(vendor, platform, fork, expected):
    p = plan_flags(4 * GB if vendor else None, vendor, "card", 512, "sd1", "a1111", "1.10.1", None, ["--api"], False,
                   platform=platform, directml_fork=fork)
    assert p.commandline_args == ["--api"] + expected
    if expected == CPU:
        assert set(p.reasons) == {"--use-cpu", "--precision", "--no-half", "--skip-torch-cuda-test"}


def test_cpu_plan_replaces_other_precision_and_drops_memory_flags():
    p = plan_flags(None, None, None, 512, "sd1", "a1111", "1.10.1", None, ["--precision=autocast", "--medvram",
                                                                           "--xformers"], False)
    assert p.commandline_args == ["--use-cpu", "all", "--precision", "full", "--no-half", "--skip-torch-cuda-test",
                                  "--xformers"]
    assert p.removed == ["--precision=autocast", "--medvram"]


def test_nvidia_gpu_drops_use_cpu_all_but_keeps_interrogate():
    p = plan_flags(12 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.10.1", None,
                   ["--use-cpu", "all", "--skip-torch-cuda-test", "--api"], False)
    assert p.commandline_args == ["--skip-torch-cuda-test", "--api"]
    assert p.removed == ["--use-cpu all"]
    keep = plan_flags(12 * GB, "nvidia", RTX, 512, "sd1", "a1111", "1.10.1", None, ["--use-cpu", "interrogate"], False)
    assert keep.commandline_args == ["--use-cpu", "interrogate"]


def test_apple_plans_nothing():
    p = plan_flags(16 * GB, "apple", "Apple silicon", 512, "sd1", "a1111", None, None, ["--api"], False,
                   platform="darwin")
    assert p.commandline_args == ["--api"] and "Apple" in text(p)


@pytest.mark.parametrize("flavour, label", [("forge", "Forge"), ("reforge", "reForge")])
def test_forge_flavours_plan_no_memory_flags_and_remove_stale_ones(flavour, label):
    existing = ["--medvram", "--xformers", "--precision", "full", "--no-half-vae", "--opt-split-attention", "--api"]
    for gib, oom in ((4.0, False), (4.0, True), (24.0, False)):
        p = plan_flags(int(gib * GB), "nvidia", "NVIDIA GeForce GTX 1650", 1024, "sdxl", flavour, None, None, existing,
                       oom)
        assert p.commandline_args == ["--xformers", "--api"]
        assert p.removed == ["--medvram", "--precision full", "--no-half-vae", "--opt-split-attention"]
        for flag in ("--medvram", "--no-half-vae", "--opt-split-attention"):
            assert label in render(p.reasons[flag], "en")
        if oom:  # Forge's own flag is named only where the install declares it (backend/args.py)
            assert "GPU Weights" in text(p) and "--always-low-vram" not in text(p)
            declared = plan_flags(int(gib * GB), "nvidia", "NVIDIA GeForce GTX 1650", 1024, "sdxl", flavour, None,
                                  ["--always-low-vram", "--xformers", "--api"], existing, oom)
            assert "--always-low-vram" in text(declared)


def test_forge_without_gpu():
    accepted = ["--always-cpu", "--skip-torch-cuda-test", "--xformers"]
    p = plan_flags(None, None, None, 512, "sd1", "forge", None, accepted, [], False)
    assert p.commandline_args == ["--always-cpu", "--skip-torch-cuda-test"]


def test_sdnext_is_left_alone():
    p = plan_flags(4 * GB, "nvidia", RTX, 512, "sd1", "sdnext", None, None, ["--medvram"], False)
    assert p.commandline_args == ["--medvram"] and "SD.Next" in text(p)


def test_not_installed_yet_is_planned_as_a1111():
    p = plan_flags(8 * GB, "nvidia", RTX, 1024, "sdxl", None, None, None, [], False)
    assert flags(p) == XL


def test_unknown_gpu_plans_no_memory_flags_and_keeps_the_users():
    p = plan_flags(None, None, None, 512, "sd1", "a1111", "1.10.1", None, ["--medvram", "--api"], False,
                   gpu_known=False)
    assert p.commandline_args == ["--medvram", "--api"]
    assert "No memory flags planned" in text(p)


def test_flags_the_parser_does_not_declare_are_never_emitted():
    accepted = ["--medvram", "--precision", "--no-half", "--skip-torch-cuda-test"]  # no --use-cpu (hypothetical)
    p = plan_flags(None, None, None, 512, "sd1", "a1111", None, accepted, [], False)
    assert p.commandline_args == ["--precision", "full", "--no-half", "--skip-torch-cuda-test"]
    assert "--use-cpu is not added" in text(p)


def test_notes_show_every_planned_flag_with_its_reason_in_both_languages():
    p = plan_flags(4 * GB, "nvidia", "NVIDIA GeForce GTX 1650", 512, "sd1", "a1111", "1.10.1", None, [], True)
    en, zh = text(p, "en"), text(p, "zh")
    for flag in flags(p):
        assert ("%s: " % flag) in en and ("%s：" % flag) in zh
    assert render(p.to_json()["reasons"]["--medvram"], "zh") != render(p.to_json()["reasons"]["--medvram"], "en")


USER_TOKENS = st.lists(st.sampled_from(["--xformers", "--api", "--listen", "--ckpt-dir", "D:\\models x", "--port",
                                        "7861", "--medvram", "--lowvram", "--opt-split-attention", "--medvram-sdxl",
                                        "--always-batch-cond-uncond", "--theme", "dark"]), max_size=10)


@settings(max_examples=150, deadline=None)
@given(tokens=USER_TOKENS, gib=st.sampled_from([2, 4, 6, 8, 12, 24]), res=st.sampled_from([512, 768, 1024, 2048]),
       family=st.sampled_from(["sd1", "sdxl", None]), oom=st.booleans(),
       version=st.sampled_from(["1.5.2", "1.10.1", None]), flavour=st.sampled_from(["a1111", "forge"]))
def test_property_other_flags_kept_in_order(tokens, gib, res, family, oom, version, flavour):
    p = plan_flags(gib * GB, "nvidia", RTX, res, family, flavour, version, None, tokens, oom)
    others = [t for t in tokens if t not in LADDER_FLAGS]
    assert [t for t in p.commandline_args if t not in LADDER_FLAGS] == others
    planned = [t for t in p.commandline_args if t in LADDER_FLAGS]
    assert len(planned) == len(set(planned))
    for t in planned:
        assert t in p.reasons
    for r in p.removed:
        assert r.split()[0] in p.reasons or r in p.reasons
    if flavour == "forge":
        assert planned == []


# -- the ctx-reading wrapper, on a real Context and a real Finding -----------------------------------------------
def _ctx(tmp_path, args, resolution=512, oom=False):
    webui = tmp_path / "webui"
    webui.mkdir()
    (webui / "launch.py").write_text("# stand-in\n")
    env = {"PATH": "/usr/bin:/bin", "COMMANDLINE_ARGS": args}
    return Context(str(webui), Options(resolution=resolution, oom=oom, timeout=2.0), environ=env)


def _gpu(status="ok", **facts):
    f = Finding("gpu", "GPU")
    if status == "skip":
        f.skip(T("Did not finish within 5.8 s; skipped.", "未能在 5.8 秒内完成，已跳过。"))
    f.facts = dict({"vendor": "nvidia", "name": RTX, "vram_total": 8 * GB, "checkpoints": {"families": ["sdxl"]}},
                   **facts)
    return f


def test_wrapper_reads_the_context(tmp_path):
    ctx = _ctx(tmp_path, '--xformers --ckpt-dir "D:\\models" --medvram', resolution=1024)
    p = plan(ctx, {"gpu": _gpu()})
    assert p.commandline_args == ["--xformers", "--ckpt-dir", "D:\\models", "--medvram-sdxl"]


def test_wrapper_with_a_skipped_gpu_check(tmp_path):
    ctx = _ctx(tmp_path, "--lowvram")
    p = plan(ctx, {"gpu": _gpu(status="skip")})
    assert p.commandline_args == ["--lowvram"] and "did not finish" in text(p)


def test_wrapper_refuses_unsplittable_args(tmp_path):
    ctx = _ctx(tmp_path, '--ckpt-dir "D:\\models\\"')
    assert plan(ctx, {"gpu": _gpu()}) is None


# -- mutations that once survived the suite (issue 15) ------------------------------------------------------------

# --oom never plans below the start rung: a card whose start rung is above "current + 1" goes to the start rung.
OOM_FROM_BELOW_THE_START = [
    (4.0, "sd1", 768, [], LOW_SPLIT),  # 4 GB above 640 px starts at --lowvram; --oom from no flags stays there
    (4.0, "sd1", 768, MED, LOW_SPLIT),
    (2.0, "sd1", 512, [], LOW_SPLIT),
    (6.0, "sdxl", 1024, [], LOW_SPLIT),
    (6.0, "sd1", 1024, [], MED_SPLIT),  # start rung 2, current 0: rung 2, not 1
]


@pytest.mark.parametrize("gib, family, res, current, expected", OOM_FROM_BELOW_THE_START)
def test_oom_never_plans_below_the_start_rung(gib, family, res, current, expected):
    p = plan_flags(int(gib * GB), "nvidia", RTX, res, family, "a1111", "1.10.1", None, list(current), True)
    assert flags(p) == expected


# The "under 4 GB" band ends at 3.5 GiB: a 4 GB card reporting a little less (or exactly 4 GiB) is a 4 GB card.
UNDER_4_GB_BOUND = [
    (4 * GB, MED),
    (4 * GB - 1, MED),
    (int(3.5 * GB), MED),  # the bound itself belongs to the 4 GB band
    (int(3.5 * GB) - 1, LOW_SPLIT),  # just under it: the "under 4 GB" band
]


@pytest.mark.parametrize("vram, expected", UNDER_4_GB_BOUND)
def test_under_4_gb_bound(vram, expected):
    p = plan_flags(vram, "nvidia", RTX, 512, "sd1", "a1111", "1.10.1", None, [], False)
    assert flags(p) == expected


def test_sdxl_barely_fits_note_only_under_the_bound():
    under = plan_flags(int(3.5 * GB) - 1, "nvidia", RTX, 1024, "sdxl", "a1111", "1.10.1", None, [], False)
    at = plan_flags(int(3.5 * GB), "nvidia", RTX, 1024, "sdxl", "a1111", "1.10.1", None, [], False)
    assert "SDXL barely fits" in text(under)
    assert "SDXL barely fits" not in text(at)


# The 12 GB SDXL row: nothing up to 1536 px, --medvram-sdxl above; the band runs from 9.5 to 14 GiB.
SDXL_12_GB_ROW = [
    (12 * GB, 1536, []),
    (12 * GB, 1537, XL),
    (int(9.5 * GB), 1536, []),  # the band's lower bound is in it
    (int(9.5 * GB) - 1, 1536, XL_SPLIT),  # just under: the 8 GB row (above 1024 px: rung 2)
    (int(14 * GB) - 1, 2048, XL),  # just under the upper bound: still the 12 GB row
    (int(14 * GB), 2048, []),  # 14 GiB: the 16 GB+ row
]


@pytest.mark.parametrize("vram, res, expected", SDXL_12_GB_ROW)
def test_sdxl_12_gb_row(vram, res, expected):
    p = plan_flags(vram, "nvidia", RTX, res, "sdxl", "a1111", "1.10.1", None, [], False)
    assert flags(p) == expected
