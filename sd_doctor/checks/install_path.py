"""install-path: a folder path the launchers, cmd and pip can all live with (webui-facts.md §4, §9)."""

import os
import re
import tempfile

from sd_doctor.checks._common import nearest_existing
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "install-path"
TITLE = T("Install path", "安装路径")

CMD_METACHARACTERS = "&()^%!"
MAX_PATH = 260
# One of the deepest files a web UI venv holds (torch 2.x headers), relative to the web UI folder.
DEEPEST_VENV_FILE = ("venv\\Lib\\site-packages\\torch\\include\\ATen\\native\\transformers\\cuda\\mem_eff_attention"
                     "\\iterators\\predicated_tile_access_iterator_residual_last.h")


def _writable(folder):
    """Really try: os.access lies on Windows ACLs and read-only network shares."""
    try:
        fd, name = tempfile.mkstemp(prefix=".sd-doctor-", dir=folder)
        os.close(fd)
        os.remove(name)
        return True
    except OSError:
        return False


def probe(ctx):
    env = ctx.environ
    path = ctx.webui_dir
    existing = nearest_existing(path)
    facts = {
        "platform": ctx.platform,
        "path": path,
        "exists": os.path.isdir(path),
        "checked_folder": existing,
        "writable": _writable(existing) if existing and os.path.isdir(existing) else False,
        "code_pages": ctx.host.code_pages(),
        "long_paths_enabled": ctx.host.long_paths_enabled(),
        "special_folders": {},
    }
    for name, var in (("Program Files", "ProgramFiles"), ("Program Files (x86)", "ProgramFiles(x86)"),
                      ("System32", "SystemRoot"), ("OneDrive", "OneDrive"), ("OneDrive", "OneDriveConsumer"),
                      ("OneDrive", "OneDriveCommercial")):
        value = env.get(var) or env.get(var.upper())
        if value:
            facts["special_folders"].setdefault(name, [])
            facts["special_folders"][name].append(os.path.join(value, "System32") if name == "System32" else value)
    return facts


def _under(path, folder, windows):
    norm = (lambda p: p.replace("/", "\\").rstrip("\\").lower()) if windows else (lambda p: p.rstrip("/"))
    p, f = norm(path), norm(folder)
    sep = "\\" if windows else "/"
    return p == f or p.startswith(f + sep)


def judge(facts):
    f = Finding(ID, TITLE)
    path = facts["path"]
    windows = facts["platform"] == "windows"
    if " " in path:
        f.error(T("The path contains a space: {p}", "路径中含有空格：{p}", p=path),
                T("Move the web UI to a folder without spaces, e.g. {s}", "把 web UI 移到不含空格的文件夹，例如 {s}",
                  s="C:\\sd\\stable-diffusion-webui" if windows else "~/sd/stable-diffusion-webui"))
    bad = sorted(set(c for c in path if c in CMD_METACHARACTERS))
    if bad:
        f.error(T("The path contains characters that cmd treats specially ({c}): {p}",
                  "路径中含有 cmd 会特殊处理的字符（{c}）：{p}", c=" ".join(bad), p=path),
                T("Rename the folder using only letters, digits, '-' and '_'.", "重命名文件夹，只使用字母、数字、'-' 和 '_'。"))
    if re.search(r"[^\x00-\x7f]", path):
        pages = facts.get("code_pages")
        if windows and pages and pages[0] != pages[1]:
            f.error(T("The path has non-ASCII characters and this Windows uses different ANSI and OEM code pages "
                      "({a}/{o}): creating the venv fails (cpython#101059).",
                      "路径含有非 ASCII 字符，且本机 ANSI 与 OEM 代码页不同（{a}/{o}）：创建 venv 会失败（cpython#101059）。",
                      a=pages[0], o=pages[1]),
                    T("Use a folder whose path is plain ASCII, e.g. C:\\sd\\webui.", "改用纯 ASCII 路径的文件夹，例如 C:\\sd\\webui。"))
        else:
            f.warn(T("The path has non-ASCII characters; some tools mis-handle them (an error on Windows where the "
                     "ANSI and OEM code pages differ).",
                     "路径含有非 ASCII 字符；部分工具处理不好（在 ANSI 与 OEM 代码页不同的 Windows 上会出错）。"),
                   T("A plain ASCII path is safest.", "纯 ASCII 路径最稳妥。"))
    if windows:
        deepest = len(path.rstrip("\\/")) + 1 + len(DEEPEST_VENV_FILE)
        if deepest >= MAX_PATH and not facts.get("long_paths_enabled"):
            f.warn(T("The path is so deep that files in the venv would be {n} characters long, past Windows' limit "
                     "of 260 ([WinError 206]).", "路径太深：venv 中的文件路径将长达 {n} 个字符，超过 Windows 的 260 字符限制（[WinError 206]）。",
                     n=deepest),
                   T("Use a shorter folder (e.g. C:\\sd), or enable long paths as administrator:\n"
                     "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem /v LongPathsEnabled /t REG_DWORD /d 1 /f",
                     "换一个更短的文件夹（如 C:\\sd），或以管理员身份启用长路径：\n"
                     "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem /v LongPathsEnabled /t REG_DWORD /d 1 /f"))
    for name, folders in sorted(facts.get("special_folders", {}).items()):
        if any(_under(path, folder, windows) for folder in folders):
            f.warn(T("The folder is under {n}: {why}", "文件夹位于 {n} 下：{why}", n=name,
                     why=T("OneDrive syncs and locks the model and venv files.", "OneDrive 会同步并锁定模型和 venv 文件。")
                     if name == "OneDrive" else
                     T("it needs administrator rights to write.", "写入需要管理员权限。")),
                   T("Move the web UI to a folder of your own, e.g. C:\\sd\\webui.", "把 web UI 移到自己的文件夹，例如 C:\\sd\\webui。"))
    if not facts.get("writable"):
        f.error(T("Cannot write in {p}.", "无法写入 {p}。", p=facts.get("checked_folder") or path),
                T("Choose a folder you own, or fix its permissions.", "选择你自己拥有的文件夹，或修正其权限。"))
    if not f.lines:
        if facts.get("exists"):
            f.ok(T("{p}", "{p}", p=path))
        else:
            f.ok(T("{p} (does not exist yet; fine for a new install)", "{p}（尚不存在；可用于全新安装）", p=path))
    return f
