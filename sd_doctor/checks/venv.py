"""venv: the web UI's virtual environment still points at a working Python 3.10 (webui-facts.md §4), and what is
installed in it, read from its ``*.dist-info`` folders without running anything (§10, sd_doctor/probes/venv_packages.py):
pip missing (in the venv, or in the base Python that webui.bat asks first), ``~``-prefixed half-uninstalled
packages, torch missing or a CPU build on a machine with an NVIDIA driver, xformers built for another torch, an
extension that pins another torch.
"""

import os

from sd_doctor.checks._common import delete_folder_command, join_path
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "venv"
TITLE = T("Virtual environment", "虚拟环境 (venv)")


def read_pyvenv_cfg(path):
    values = {}
    from sd_doctor.formats.textfile import read_text_lenient

    for line in read_text_lenient(path).splitlines():
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip().lower()] = value.strip()
    return values


def probe(ctx):
    from sd_doctor.probes.interpreters import interrogate, local_bound
    from sd_doctor.launcher.settings import venv_path

    launch = ctx.launch
    folder = venv_path(ctx.webui_dir, launch)
    facts = {"platform": ctx.platform, "webui_dir": ctx.webui_dir, "venv": folder,
             "repositories": os.path.join(ctx.webui_dir, "repositories"), "exists": False}
    facts["dp0_absolute"] = _dp0_absolute(ctx, launch) if folder is not None else None
    facts["clip"] = _clip(ctx, folder)
    if folder is None or not os.path.isdir(folder):
        return facts
    facts["exists"] = True
    cfg_path = os.path.join(folder, "pyvenv.cfg")
    facts["cfg_exists"] = os.path.isfile(cfg_path)
    cfg = read_pyvenv_cfg(cfg_path) if facts["cfg_exists"] else {}
    facts["home"] = cfg.get("home")
    facts["cfg_version"] = cfg.get("version") or cfg.get("version_info")
    facts["home_exists"] = bool(cfg.get("home")) and os.path.isdir(cfg["home"])
    if ctx.platform == "windows":
        python = os.path.join(folder, "Scripts", "python.exe")
    else:
        python = os.path.join(folder, "bin", "python")
    facts["python"] = python
    facts["python_exists"] = os.path.exists(python)
    facts["python_info"] = interrogate([python], local_bound(ctx.timeout)) if facts["python_exists"] else None
    facts["packages"] = _packages(ctx, folder, facts.get("home"))
    return facts


def _dp0_absolute(ctx, launch):
    """Where webui.bat builds "%~dp0%VENV_DIR%\\Scripts\\Python.exe" (before January 2023, #6608) and VENV_DIR is
    absolute: {'value', 'launcher_path' (what that webui.bat runs), 'relative' (the same folder relative to the web UI
    folder, None on another drive)}; else None."""
    import ntpath

    value = (launch["variables"].get("VENV_DIR") or "").strip('"')
    if ctx.platform != "windows" or not (ctx.layout or {}).get("venv_under_dp0") or not ntpath.splitdrive(value)[0]:
        return None
    base = ctx.webui_dir.rstrip("\\/")
    relative = None
    if ntpath.splitdrive(base)[0].lower() == ntpath.splitdrive(value)[0].lower():
        relative = ntpath.relpath(value, base)
    return {"value": value, "launcher_path": base + "\\" + value + "\\Scripts\\Python.exe", "relative": relative}


def _judge_dp0(f, bad):
    """An absolute VENV_DIR under a webui.bat that puts %~dp0 in front of it: the launch breaks (#6608)."""
    f.error(T("VENV_DIR={v} is absolute, but this webui.bat (before January 2023) runs \"%~dp0%VENV_DIR%\\Scripts\\"
              "Python.exe\", i.e. {p}, which does not exist (#6608).",
              "VENV_DIR={v} 是绝对路径，但这个 webui.bat（2023 年 1 月之前）运行的是 \"%~dp0%VENV_DIR%\\Scripts\\"
              "Python.exe\"，即 {p}，这个路径不存在（#6608）。", v=bad["value"], p=bad["launcher_path"]))
    if bad.get("relative"):
        f.advise(T("Give VENV_DIR relative to the web UI folder (sd-doctor --fix writes it): set VENV_DIR={r}",
                   "把 VENV_DIR 写成相对于 web UI 文件夹的路径（sd-doctor --fix 会写入）：set VENV_DIR={r}",
                   r=bad["relative"]))
        f.proposals["VENV_DIR"] = bad["relative"]
    else:
        f.advise(T("VENV_DIR is on another drive than the web UI, so no relative path reaches it: move the venv into "
                   "the web UI folder (set VENV_DIR=venv), or update the web UI (git pull), whose webui.bat takes an "
                   "absolute VENV_DIR.",
                   "VENV_DIR 与 web UI 不在同一个驱动器上，无法用相对路径指向它：请把 venv 移到 web UI 文件夹内"
                   "（set VENV_DIR=venv），或更新 web UI（git pull），新版 webui.bat 接受绝对路径的 VENV_DIR。"))


def _clip(ctx, folder):
    from sd_doctor.probes import clip_install, venv_packages

    facts = clip_install.describe(ctx.webui_dir, ctx.launch["variables"])
    sites = venv_packages.site_packages(folder, ctx.platform) if folder and os.path.isdir(folder) else []
    facts["installed"] = bool(sites) and "clip" in venv_packages.read(sites[0])["dists"]
    facts["skip_install"] = "--skip-install" in (ctx.commandline_args or [])
    facts["flavour"] = (ctx.layout or {}).get("flavour")
    facts["base_python"] = ctx.launch["variables"].get("PYTHON") or ctx.launch["variables"].get("python_cmd")
    return facts


def _nvidia_driver_present(ctx):
    """An NVIDIA driver is installed (its files; the gpu check asks NVML itself)."""
    if ctx.platform == "windows":
        windir = ctx.environ.get("WINDIR") or ctx.environ.get("SystemRoot") or "C:\\Windows"
        return os.path.isfile(os.path.join(windir, "System32", "nvml.dll"))
    return os.path.isfile("/proc/driver/nvidia/version")


def _packages(ctx, folder, home):
    from sd_doctor.probes import torch_build, venv_packages

    sites = venv_packages.site_packages(folder, ctx.platform)
    pkgs = venv_packages.read(sites[0]) if sites else {"dists": {}, "half_uninstalled": [], "pip": False, "count": 0,
                                                         "folder": None}
    pkgs["torch_installed"] = torch_build.read_installed_torch(folder)
    pkgs["extension_pins"] = venv_packages.extension_pins(ctx.webui_dir)
    pkgs["nvidia_driver"] = _nvidia_driver_present(ctx)
    pkgs["base_pip"] = None
    if ctx.platform == "windows" and home:  # webui.bat runs "%PYTHON% -m pip --help" before it uses the venv
        base = venv_packages.site_packages(home, "windows", base=True)
        pkgs["base_pip"] = bool(base) and venv_packages.read(base[0])["pip"]
        pkgs["base_python"] = os.path.join(home, "python.exe")
    pkgs["pip_installer"] = bool(ctx.launch["variables"].get("PIP_INSTALLER_LOCATION"))
    return pkgs


def judge(facts):
    f = Finding(ID, TITLE)
    folder = facts.get("venv")
    if folder is None:
        f.ok(T("The launcher is set to skip the venv.", "启动脚本已设置为不使用 venv。"))
        return f
    from sd_doctor.checks._venv_packages import judge_clip

    if facts.get("dp0_absolute"):
        _judge_dp0(f, facts["dp0_absolute"])
    if not facts.get("exists"):
        f.ok(T("No venv yet; the launcher will create one at {p}.", "尚无 venv；启动脚本会在 {p} 创建。", p=folder))
        judge_clip(f, facts)
        return f
    platform = facts["platform"]
    info = facts.get("python_info") or {}
    from sd_doctor.probes.interpreters import version_tuple

    version = info.get("version") or facts.get("cfg_version")
    broken = False
    if not facts.get("cfg_exists"):
        f.error(T("{p} has no pyvenv.cfg: it is not a complete venv.", "{p} 中没有 pyvenv.cfg：不是完整的 venv。", p=folder))
        broken = True
    elif facts.get("home") and not facts.get("home_exists"):
        f.error(T("The venv's base Python is gone (pyvenv.cfg home = {h}): the launcher fails with \"No Python at ...\".",
                  "venv 的基础 Python 已不存在（pyvenv.cfg 中 home = {h}）：启动时会报 \"No Python at ...\"。",
                  h=facts["home"]))
        broken = True
    if not broken and not info.get("runs"):
        f.error(T("The venv's python does not run: {e}", "venv 中的 python 无法运行：{e}",
                  e=info.get("error") or (T("missing: {p}", "缺失：{p}", p=facts.get("python")))))
        broken = True
    if not broken and version and version_tuple(version)[:2] != (3, 10):
        f.error(T("The venv was made with Python {v}; the web UI needs 3.10.", "该 venv 由 Python {v} 创建；web UI 需要 3.10。",
                  v=version))
        broken = True
    if broken:
        f.advise(T("Delete the venv; the launcher rebuilds it from PYTHON on the next start:\n{c}",
                   "删除 venv；下次启动时会按 PYTHON 重新创建：\n{c}", c=delete_folder_command(platform, folder)))
        f.advise(T("For a full reinstall also delete repositories:\n{c}", "如需完全重装，再删除 repositories：\n{c}",
                   c=delete_folder_command(platform, facts.get("repositories") or join_path(platform, facts["webui_dir"],
                                                                                            "repositories"))))
        f.advise(T("A new PYTHON setting has no effect while the old venv exists.", "只要旧 venv 还在，修改 PYTHON 就不会生效。"))
        f.remedies.append({"action": "rename-aside", "path": folder})
    else:
        f.ok(T("{p} (Python {v})", "{p}（Python {v}）", p=folder, v=version or "?"))
        from sd_doctor.checks._venv_packages import judge_packages

        judge_packages(f, facts)
        judge_clip(f, facts)
    return f
