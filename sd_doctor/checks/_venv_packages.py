"""The venv check's judgement of the packages in a working venv (facts from sd_doctor/probes/venv_packages.py)."""

import os

from sd_doctor.checks._common import delete_folder_command, quote_cmd_path, quote_sh
from sd_doctor.core.text import T


def _python_cmd(platform_name, python):
    return quote_cmd_path(python) if platform_name == "windows" else quote_sh(python)


def _pip(f, facts, pkgs, platform_name, python):
    if not pkgs.get("pip") and pkgs.get("folder"):
        f.error(T("pip is missing from the venv: the launcher stops with \"No module named pip\" (#8720).",
                  "venv 中缺少 pip：启动时会报 \"No module named pip\"（#8720）。"),
                T("Put pip back into the venv:\n{c} -m ensurepip --upgrade", "为 venv 重新安装 pip：\n{c} -m ensurepip --upgrade",
                  c=_python_cmd(platform_name, python)))
    if pkgs.get("base_pip") is False and not pkgs.get("pip_installer"):
        base = pkgs.get("base_python") or "python"
        f.error(T("The base Python {b} has no pip: webui.bat checks it first and stops with \"No module named pip\".",
                  "基础 Python {b} 没有 pip：webui.bat 会先检查它，并报 \"No module named pip\"。", b=base),
                T("Install pip into it:\n{c} -m ensurepip --upgrade", "为它安装 pip：\n{c} -m ensurepip --upgrade",
                  c=_python_cmd(platform_name, base)))


def _half_uninstalled(f, pkgs, platform_name):
    leftovers = pkgs.get("half_uninstalled") or []
    if not leftovers:
        return
    f.warn(T("Half-uninstalled packages in the venv ({n}): {names} (pip was interrupted while it replaced them; it "
             "warns \"Ignoring invalid distribution\" and the package may be broken).",
             "venv 中有卸载到一半的包（{n} 个）：{names}（pip 替换它们时被中断；会提示 \"Ignoring invalid distribution\"，"
             "该包可能已损坏）。", n=len(leftovers), names=", ".join(leftovers[:6])),
           T("Close every web UI window, then delete them and start the web UI again (it reinstalls what is missing):"
             "\n{c}", "关闭所有 web UI 窗口，删除它们后重新启动 web UI（缺少的包会被重新安装）：\n{c}",
             c="\n".join(delete_folder_command(platform_name, os.path.join(pkgs["folder"], n)) for n in leftovers[:6])))


def _torch(f, facts, pkgs, platform_name):
    torch = pkgs.get("torch_installed")
    folder = facts["venv"]
    if not torch:
        seeded = set(pkgs.get("dists") or {}) - {"pip", "setuptools", "wheel"}  # what venv itself puts there
        if seeded:
            f.warn(T("torch is not installed in the venv although other packages are (an earlier install stopped): "
                     "the next start downloads it again (about 2.5 GB).",
                     "venv 中已有其他包，但没有 torch（之前的安装中断了）：下次启动会重新下载它（约 2.5 GB）。"))
        return
    if not torch.get("cuda") and not torch.get("hip") and pkgs.get("nvidia_driver"):
        f.warn(T("torch {v} in the venv is a CPU build, but this computer has an NVIDIA driver: the web UI would not "
                 "use the card.", "venv 中的 torch {v} 是 CPU 版，但本机装有 NVIDIA 驱动：web UI 将不会使用显卡。",
                 v=torch.get("version") or "?"),
               T("Remove the venv so the next start installs the CUDA build (sd-doctor --fix renames it aside; pip "
                 "keeps a CPU build that has the same version number, even with --reinstall-torch):\n{c}",
                 "删除 venv，下次启动时会安装 CUDA 版（sd-doctor --fix 会把它改名保留；版本号相同时，即使加 --reinstall-torch，"
                 "pip 也会保留 CPU 版）：\n{c}", c=delete_folder_command(platform_name, folder)))
        f.remedies.append({"action": "rename-aside", "path": folder})


def _xformers(f, pkgs, platform_name, python):
    from sd_doctor.probes.venv_packages import public, torch_requirement

    xformers = (pkgs.get("dists") or {}).get("xformers")
    torch = pkgs.get("torch_installed")
    if not xformers or not torch:
        return
    wants = torch_requirement(xformers.get("requires") or [])
    if wants and public(wants) != public(torch.get("version")):
        f.error(T("xformers {x} was built for torch {w}, but the venv has torch {t}: it fails to load (\"xFormers was "
                  "built for ...\") and --xformers does nothing.",
                  "xformers {x} 是为 torch {w} 构建的，但 venv 中是 torch {t}：它无法加载（\"xFormers was built for ...\"），"
                  "--xformers 不起作用。", x=xformers.get("version"), w=wants, t=torch.get("version")),
                T("Uninstall it:\n{c} -m pip uninstall -y xformers\nthen install the xformers release built for torch "
                  "{t} (or drop --xformers: torch 2's own attention is about as fast).",
                  "卸载它：\n{c} -m pip uninstall -y xformers\n然后安装为 torch {t} 构建的 xformers（或去掉 --xformers："
                  "torch 2 自带的注意力实现速度相近）。", c=_python_cmd(platform_name, python), t=public(torch.get("version"))))


def _extensions(f, facts, pkgs):
    from sd_doctor.probes.venv_packages import public

    torch = pkgs.get("torch_installed") or {}
    have = public(torch.get("version"))
    for pin in pkgs.get("extension_pins") or []:
        if have and public(pin["torch"]) == have:
            continue
        f.warn(T("The extension {e} pins torch=={p} ({file}): when it installs its requirements it replaces the "
                 "torch the web UI runs{h} (#15282).",
                 "扩展 {e} 固定了 torch=={p}（{file}）：安装其依赖时会替换 web UI 使用的 torch{h}（#15282）。",
                 e=pin["extension"], p=pin["torch"], file=pin["file"],
                 h=T(" ({v})", "（{v}）", v=torch.get("version")) if have else ""),
               T("Disable that extension (move its folder out of extensions/) or remove the torch line from its {file}.",
                 "禁用该扩展（把它的文件夹移出 extensions/），或删除其 {file} 中的 torch 一行。", file=pin["file"]))


def judge_packages(f, facts):
    pkgs = facts.get("packages")
    if not pkgs:
        return
    platform_name = facts.get("platform")
    python = facts.get("python") or "python"
    _pip(f, facts, pkgs, platform_name, python)
    _half_uninstalled(f, pkgs, platform_name)
    _torch(f, facts, pkgs, platform_name)
    _xformers(f, pkgs, platform_name, python)
    _extensions(f, facts, pkgs)


def judge_clip(f, facts):
    """The setuptools 81 wall: CLIP not in the venv yet and the launcher builds it in an isolated environment."""
    clip = facts.get("clip") or {}
    if clip.get("installed") or clip.get("skip_install") or clip.get("isolated") is not True:
        return
    platform_name = facts.get("platform")
    windows = platform_name == "windows"
    venv = facts["venv"]
    python = facts.get("python") or os.path.join(venv, "Scripts", "python.exe") if windows else (
        facts.get("python") or os.path.join(venv, "bin", "python"))
    py = _python_cmd(platform_name, python)
    package = clip.get("package") or "<CLIP_PACKAGE>"
    steps = []
    if not facts.get("exists"):
        base = clip.get("base_python") or ("python" if windows else "python3.10")
        steps.append("%s -m venv %s" % (base, quote_cmd_path(venv) if windows else quote_sh(venv)))
    steps.append('%s -m pip install "setuptools<81" wheel' % py)
    steps.append("%s -m pip install --no-build-isolation %s" % (py, quote_cmd_path(package) if windows else
                                                               quote_sh(package)))
    f.warn(T("CLIP is not installed yet, and {file} installs it ({p}) in an isolated build that pulls setuptools 81 or "
             "newer, which has no pkg_resources: the first start stops with \"Couldn't install clip\" / \"No module "
             "named 'pkg_resources'\" (#17284).",
             "CLIP 尚未安装，而 {file} 会以隔离构建方式安装它（{p}），该构建会拉取没有 pkg_resources 的 setuptools 81 或更新版本："
             "首次启动会报 \"Couldn't install clip\" / \"No module named 'pkg_resources'\"（#17284）。",
             file=os.path.basename(clip.get("file") or "launch_utils.py"), p=package),
           T("Install CLIP before the first start, with a setuptools older than 81 and without build isolation:\n{c}",
             "在首次启动之前安装 CLIP：使用低于 81 的 setuptools，并关闭构建隔离：\n{c}", c="\n".join(steps)))
    if clip.get("flavour") in (None, "a1111"):
        f.advise(T("Or use A1111's dev branch, which installs CLIP this way itself (PR #17293):\ngit -C {w} checkout dev "
                   "&& git -C {w} pull", "或改用 A1111 的 dev 分支，它自己就这样安装 CLIP（PR #17293）：\ngit -C {w} checkout "
                   "dev && git -C {w} pull", w=quote_cmd_path(facts["webui_dir"]) if windows else quote_sh(
                       facts["webui_dir"])))
