"""The gpu check's route for AMD and Intel cards, per flavour and OS (webui-facts.md §7), instead of only "runs on the
CPU":

- Windows, AMD: A1111 and Forge cannot use the card; the DirectML/ZLUDA forks can (lshqqytiger's
  stable-diffusion-webui-amdgpu for A1111, stable-diffusion-webui-amdgpu-forge for Forge).
- Linux, AMD: a ROCm build of torch (webui.sh picks one for AMD cards while TORCH_COMMAND is unset). ROCm's own list
  covers gfx1030 (RX 6800/6900), gfx1100 (RX 7900) and gfx1200/gfx1201 (RX 9000, ROCm 6.4+); the other consumer chips
  of a family run with ``HSA_OVERRIDE_GFX_VERSION`` set to the family's supported target (10.3.0 for RDNA2 gfx1031 to
  gfx1036, 11.0.0 for RDNA3 gfx1101 to gfx1103, 9.0.0 for the gfx90c APUs). The gfx target comes from the kernel's
  KFD topology (``gfx_target_version``, e.g. 100301 for gfx1031).
- Intel: ``--use-ipex`` where the installed cmd_args.py declares it (A1111 v1.7+, Forge): the launcher then installs
  Intel's XPU build of torch.
"""

from sd_doctor.checks._settings_lines import settings_line
from sd_doctor.core.text import T

DIRECTML_FORKS = {"forge": "lshqqytiger/stable-diffusion-webui-amdgpu-forge",
                  "a1111": "lshqqytiger/stable-diffusion-webui-amdgpu"}
# gfx family prefix: (the override, the chips ROCm lists natively)
HSA_OVERRIDES = (("gfx103", "10.3.0", ("gfx1030",)), ("gfx110", "11.0.0", ("gfx1100",)),
                 ("gfx90c", "9.0.0", ()), ("gfx120", None, ("gfx1200", "gfx1201")))


def hsa_override(gfx):
    """(override or None, natively supported) for a gfx target; (None, None) for a family not in the table."""
    for prefix, override, native in HSA_OVERRIDES:
        if gfx and gfx.startswith(prefix):
            return (None if gfx in native else override), gfx in native or override is None
    return None, None


def judge_amd(f, facts, torch, platform_name):
    name = facts.get("name") or "?"
    flavour = facts.get("flavour") or "a1111"
    if platform_name == "windows":
        if facts.get("directml_fork"):
            f.ok(T("The installed web UI is the DirectML/ZLUDA fork: it can use this card (--use-zluda for RX 6000 and "
                   "newer, --use-directml otherwise).", "已安装的是 DirectML/ZLUDA 分支：可以使用这块显卡（RX 6000 及更新的显卡用 "
                   "--use-zluda，其他用 --use-directml）。"))
            return
        fork = DIRECTML_FORKS.get(flavour, DIRECTML_FORKS["a1111"])
        f.warn(T("{name}: AMD cards on Windows are not supported by this web UI ({fl}): it would run on the CPU.",
                 "{name}：该 web UI（{fl}）在 Windows 上不支持 AMD 显卡：只能用 CPU 运行。", name=name, fl=flavour),
               T("Use the DirectML/ZLUDA fork {fork} for this card (or run on the CPU with the planned flags).",
                 "请为这块显卡使用 DirectML/ZLUDA 分支 {fork}（或用计划中的参数以 CPU 运行）。", fork=fork))
        return
    if platform_name != "linux":
        return
    if torch.get("kind") == "cuda":
        f.warn(T("The web UI will install a CUDA build of torch ({s}), which cannot use an AMD card.",
                 "web UI 将安装 CUDA 版 torch（{s}），它无法使用 AMD 显卡。", s=torch.get("source") or "?"),
               T("Use a ROCm build: webui.sh picks one for AMD cards when TORCH_COMMAND is not set; remove a "
                 "TORCH_COMMAND that names a CUDA build.", "请使用 ROCm 版 torch：未设置 TORCH_COMMAND 时 webui.sh 会为 AMD "
                 "显卡选择 ROCm 版；请删除指定 CUDA 版的 TORCH_COMMAND。"))
    gfx = facts.get("gfx")
    override, known = hsa_override(gfx)
    current = facts.get("hsa_override")
    if override and current != override:
        f.warn(T("{name} is {gfx}, which ROCm does not list: torch sees no GPU (\"HIP error: invalid device function\")"
                 " unless HSA_OVERRIDE_GFX_VERSION={o} makes it use its family's kernels.",
                 "{name} 是 {gfx}，不在 ROCm 的支持列表中：除非设置 HSA_OVERRIDE_GFX_VERSION={o} 让它使用同系列的内核，否则 "
                 "torch 找不到显卡（\"HIP error: invalid device function\"）。", name=name, gfx=gfx, o=override),
               T("Add this line to webui-user.sh:\n{l}", "在 webui-user.sh 中加入这一行：\n{l}",
                 l=settings_line("linux", "HSA_OVERRIDE_GFX_VERSION", override, export=True)))
    elif gfx and known is None:
        f.warn(T("{name} is {gfx}: not a gfx family ROCm builds of torch support; it may run on the CPU only.",
                 "{name} 是 {gfx}：ROCm 版 torch 不支持这一系列；可能只能用 CPU 运行。", name=name, gfx=gfx))
    else:
        f.ok(T("{name}{g}: the web UI runs it with a ROCm build of torch.", "{name}{g}：web UI 通过 ROCm 版 torch 使用它。",
               name=name, g=" (%s)" % gfx if gfx else ""))


def judge_intel(f, facts):
    """True when the route was given (the caller then skips its generic CPU warning)."""
    if not facts.get("use_ipex_declared"):
        return False
    name = facts.get("name") or "?"
    if "--use-ipex" in (facts.get("commandline_args") or []):
        f.ok(T("{name}: --use-ipex is set; the launcher installs Intel's XPU build of torch.",
               "{name}：已设置 --use-ipex；启动脚本会安装 Intel 的 XPU 版 torch。", name=name))
        return True
    f.warn(T("{name}: the web UI runs Intel GPUs only with --use-ipex (declared by the installed cmd_args.py); "
             "without it, it runs on the CPU.",
             "{name}：web UI 只有加上 --use-ipex（已安装的 cmd_args.py 声明了它）才使用 Intel 显卡；否则在 CPU 上运行。",
             name=name),
           T("Add --use-ipex to COMMANDLINE_ARGS (an Intel Arc card; the launcher then installs Intel's XPU torch) "
             "instead of the CPU flags.", "在 COMMANDLINE_ARGS 中加入 --use-ipex（适用于 Intel Arc 显卡；启动脚本随后会安装 "
             "Intel 的 XPU 版 torch），不要用 CPU 参数。"))
    return True
