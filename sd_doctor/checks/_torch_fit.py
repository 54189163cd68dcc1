"""The gpu check's judgement of the torch build against an NVIDIA card and its driver (webui-facts.md §7), with the
table in sd_doctor/probes/cuda_builds.py: the card not covered by the build's kernels (both directions: an RTX 50 on
cu121, a GTX 10xx on cu128 from torch 2.8 or cu130), the driver below the build's minimum, a CPU/ROCm torch.

The remedy is a ``TORCH_COMMAND`` for a build that fits, proposed in ``Finding.proposals`` (the planner carries it
into the plan's variables and the writer writes it); a venv that already holds the wrong build is renamed aside
under --fix (``launch_utils`` installs TORCH_COMMAND only while torch is missing, and an unpinned ``pip install
torch`` is satisfied by the torch already there).
"""

from sd_doctor.checks._settings_lines import default_file, settings_line
from sd_doctor.checks._common import delete_folder_command
from sd_doctor.core.text import T
from sd_doctor.probes import cuda_builds as builds


def parse_driver(version):
    """'535.104.05' -> (535, 104, 5); None when unreadable."""
    if not version:
        return None
    parts = []
    for piece in str(version).strip().split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts) or None


def cuda_tuple(text):
    try:
        major, minor = str(text).split(".")[:2]
        return int(major), int(minor)
    except (ValueError, TypeError):
        return None


def cuda_version_text(value):
    """NVML's 12020 -> '12.2'."""
    if not value:
        return None
    return "%d.%d" % (value // 1000, (value % 1000) // 10)


def dotted(version):
    return ".".join("%d" % v if i == 0 else "%02d" % v for i, v in enumerate(version))


def torch_command(index_base, tag):
    """The TORCH_COMMAND value for a build (the form PyTorch's own install selector gives), or None without a base."""
    if not index_base:
        return None
    return "pip install torch torchvision --index-url %s/whl/%s" % (index_base, tag)


def torch_command_advice(platform_name, index_base, tag):
    """How to make the web UI install a torch built for ``tag`` (e.g. cu128)."""
    command = torch_command(index_base, tag)
    if command:
        line, where = settings_line(platform_name, "TORCH_COMMAND", command), default_file(platform_name)
        return T("Install a torch built for {tag}: add this line to {where} (sd-doctor --fix writes it):\n{line}",
                 "安装为 {tag} 构建的 torch：在 {where} 中加入这一行（sd-doctor --fix 会写入）：\n{line}",
                 tag=tag, where=where, line=line)
    return T("Install a torch built for {tag}: set TORCH_COMMAND to \"pip install torch torchvision --index-url <the "
             "web UI's torch index URL with /whl/{tag} at the end>\" (the default index URL is in "
             "modules/launch_utils.py, TORCH_INDEX_URL).",
             "安装为 {tag} 构建的 torch：把 TORCH_COMMAND 设为 \"pip install torch torchvision --index-url <web UI 的 torch "
             "索引地址，结尾改为 /whl/{tag}>\"（默认索引地址见 modules/launch_utils.py 中的 TORCH_INDEX_URL）。", tag=tag)


def reinstall_advice(torch):
    if torch.get("installed") and not torch.get("reinstall"):
        return T("torch {v} is already installed in the venv: add --reinstall-torch to COMMANDLINE_ARGS for one start "
                 "(or delete the venv folder) so the new TORCH_INDEX_URL takes effect.",
                 "venv 中已安装 torch {v}：在 COMMANDLINE_ARGS 中临时加上 --reinstall-torch 启动一次（或删除 venv 文件夹），"
                 "新的 TORCH_INDEX_URL 才会生效。", v=torch["installed"].get("version") or "?")
    return None


def torch_label(torch):
    src = torch.get("source")
    what = "CUDA %s" % torch["cuda"] if torch.get("kind") == "cuda" else (torch.get("kind") or "?")
    if src == "venv":
        return T("the installed torch {d} ({w})", "已安装的 torch {d}（{w}）", d=torch.get("detail") or "?", w=what)
    if src:
        return T("the torch {s} names ({w})", "{s} 指定的 torch（{w}）", s=src, w=what)
    return T("the torch the web UI installs ({w})", "web UI 将安装的 torch（{w}）", w=what)


def propose_build(f, torch, platform_name, tag, tokens=()):
    """Advice, the TORCH_COMMAND proposal, and (for a venv holding the wrong build) the venv's removal."""
    f.advise(torch_command_advice(platform_name, torch.get("index_base"), tag))
    command = torch_command(torch.get("index_base"), tag)
    if command:
        f.proposals["TORCH_COMMAND"] = command
    if "--xformers" in (tokens or []):
        f.advise(T("With --xformers the launcher installs its own pinned xformers (XFORMERS_PACKAGE), built for its "
                   "default torch: pip would put that torch back. Remove --xformers (torch 2's own attention is about "
                   "as fast) or set XFORMERS_PACKAGE to an xformers release built for the new torch.",
                   "使用 --xformers 时，启动脚本会安装它固定版本的 xformers（XFORMERS_PACKAGE），该版本是为默认 torch 构建的："
                   "pip 会把那个 torch 装回来。请去掉 --xformers（torch 2 自带的注意力实现速度相近），或把 XFORMERS_PACKAGE 设为"
                   "为新 torch 构建的 xformers 版本。"))
    venv = torch.get("venv")
    if torch.get("source") == "venv" and venv:
        f.advise(T("The venv already holds {v}, and the launcher installs TORCH_COMMAND only while torch is missing: "
                   "remove the venv so the next start builds it with the new torch (sd-doctor --fix renames it aside):"
                   "\n{c}", "venv 中已装有 {v}，而启动脚本只在缺少 torch 时才执行 TORCH_COMMAND：请删除 venv，下次启动时会用新的 "
                   "torch 重建（sd-doctor --fix 会把它改名保留）：\n{c}",
                   v=(torch.get("installed") or {}).get("version") or "torch", c=delete_folder_command(platform_name,
                                                                                                     venv)))
        remedy = {"action": "rename-aside", "path": venv}
        if remedy not in f.remedies:
            f.remedies.append(remedy)


def _judge_driver(f, facts, torch, label, cuda, platform_name):
    driver = parse_driver(facts.get("driver_version"))
    need = builds.min_driver(cuda, platform_name)
    too_old = False
    if need and driver:
        too_old = driver < need
    elif need and facts.get("cuda_driver_version"):
        too_old = facts["cuda_driver_version"] < cuda_tuple(cuda)[0] * 1000
    if not too_old:
        return
    have = facts.get("driver_version") or "CUDA %s" % cuda_version_text(facts.get("cuda_driver_version"))
    f.error(T("The NVIDIA driver {have} is too old for {t}: it needs {need} or newer (torch stops with \"The NVIDIA "
              "driver on your system is too old\").",
              "NVIDIA 驱动 {have} 太旧，无法运行{t}：需要 {need} 或更新（torch 会报 \"The NVIDIA driver on your system is "
              "too old\"）。", have=have, t=label, need=dotted(need)),
            T("Update the NVIDIA driver to {need} or newer (the current Game Ready or Studio driver for {name}), then "
              "restart.", "把 NVIDIA 驱动更新到 {need} 或更新版本（{name} 的最新 Game Ready 或 Studio 驱动），然后重启。",
              need=dotted(need), name=facts.get("name") or "?"))
    if not driver or not torch.get("index_base"):
        return
    older = builds.min_driver("11.8", platform_name)
    if cuda_tuple(cuda)[0] == 12 and driver >= older and torch.get("source") != "TORCH_COMMAND":
        # the launcher's own pinned command with another index: TORCH_INDEX_URL is enough
        url = "%s/whl/cu118" % torch["index_base"]
        line = settings_line(platform_name, "TORCH_INDEX_URL", url)
        f.advise(T("If you cannot update the driver: a CUDA 11.8 build of torch runs on this driver:\n{line}",
                   "如果无法更新驱动：CUDA 11.8 版 torch 可以在此驱动上运行：\n{line}", line=line))
        again = reinstall_advice(torch)
        if again:
            f.advise(again)
        return
    tag = builds.fitting_tag(facts.get("compute_capability"), driver, platform_name)
    if tag:
        f.advise(T("If you cannot update the driver: a {tag} build runs on this driver.",
                   "如果无法更新驱动：{tag} 版 torch 可以在此驱动上运行。", tag=tag))
        propose_build(f, torch, platform_name, tag, facts.get("commandline_args"))


def _judge_coverage(f, facts, torch, label, cuda, platform_name):
    cc = facts.get("compute_capability")
    card = cuda_tuple(cc)
    if not card:
        return
    name = facts.get("name") or "?"
    if card < (5, 0):
        f.warn(T("{name} has compute capability {cc}: torch 2.x builds need 5.0 or newer, so it will run on the CPU.",
                 "{name} 的计算能力为 {cc}：torch 2.x 需要 5.0 或更高，因此只能用 CPU 运行。", name=name, cc=cc))
        return
    tag = builds.tag_of(cuda)
    archs = builds.archs_for(tag, torch.get("torch_version"))
    if archs is None or builds.covers(archs, cc):
        return
    wanted = builds.fitting_tag(cc)
    if card[0] >= 10:
        why = T("RTX 50 / Blackwell: it needs a CUDA 12.8 or newer build", "RTX 50 / Blackwell：需要 CUDA 12.8 或更新版")
    else:
        why = T("this build dropped cards older than {low}; {tag} still has them", "该版本已不支持早于 {low} 的显卡；"
                "{tag} 仍然支持", low=archs[0], tag=wanted or "cu126")
    f.error(T("{name} has compute capability {cc}: {t} has no kernels for it (it ships {a}; torch stops with \"no "
              "kernel image is available\" / \"sm_{sm} is not compatible\"): {why}.",
              "{name} 的计算能力为 {cc}：{t}没有对应的内核（它只包含 {a}；torch 会报 \"no kernel image is available\" / "
              "\"sm_{sm} is not compatible\"）：{why}。", name=name, cc=cc, t=label, a=builds.describe_archs(archs),
              sm="%d%d" % card, why=why))
    if wanted:
        propose_build(f, torch, platform_name, wanted, facts.get("commandline_args"))


def judge_nvidia_torch(f, facts, torch, platform_name):
    """Driver too old for the torch build; the card not covered by it; CPU/ROCm torch on NVIDIA."""
    kind = torch.get("kind")
    cuda = torch.get("cuda")
    assumed = False
    if kind is None and torch.get("source") is None:
        # Nothing installed yet: A1111 v1.8 to v1.10 installs torch 2.1.2 built for CUDA 12.1.
        kind, cuda, assumed = "cuda", "12.1", True
        torch = dict(torch, torch_version="2.1.2")
    label = torch_label(torch) if not assumed else T(
        "the torch the web UI installs (CUDA 12.1, as v1.8 to v1.10 do)", "web UI 将安装的 torch（CUDA 12.1，v1.8 至 v1.10 如此）")
    if kind in ("cpu", "rocm"):
        f.warn(T("{t} cannot use an NVIDIA card: the web UI will run on the CPU.",
                 "{t}无法使用 NVIDIA 显卡：web UI 将在 CPU 上运行。", t=label),
               T("Remove TORCH_COMMAND / TORCH_INDEX_URL (the default installs a CUDA build).",
                 "删除 TORCH_COMMAND / TORCH_INDEX_URL（默认会安装 CUDA 版）。"))
        if torch.get("source") == "venv":  # the venv check proposes the rename (one remedy per folder)
            f.advise(T("The venv already holds this torch: pip keeps a build with the same version number even with "
                       "--reinstall-torch, so remove the venv (see the venv check; sd-doctor --fix renames it aside).",
                       "venv 中已装有这个 torch：版本号相同时，即使加 --reinstall-torch，pip 也会保留它，所以请删除 venv（见 venv "
                       "检查；sd-doctor --fix 会把它改名保留）。"))
        return
    if kind != "cuda" or not cuda:
        return
    _judge_driver(f, facts, torch, label, cuda, platform_name)
    _judge_coverage(f, facts, torch, label, cuda, platform_name)
