"""disk: free space where the web UI, pip's cache, the Hugging Face cache and TEMP will write (webui-facts.md §9)."""

import os
import tempfile

from sd_doctor.checks._common import gib, nearest_existing
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "disk"
TITLE = T("Disk space", "磁盘空间")

GB = 1024 ** 3
ERROR_BELOW = 5 * GB
WARN_BELOW = 20 * GB

ROLES = {
    "install": T("the web UI", "web UI"),
    "pip-cache": T("pip's cache", "pip 缓存"),
    "hf-cache": T("the Hugging Face cache", "Hugging Face 缓存"),
    "temp": T("TEMP", "TEMP 临时目录"),
}


def _locations(ctx):
    env = ctx.environ
    home = os.path.expanduser("~")
    if ctx.platform == "windows":
        local = env.get("LOCALAPPDATA") or os.path.join(home, "AppData", "Local")
        pip_cache = env.get("PIP_CACHE_DIR") or os.path.join(local, "pip", "Cache")
    elif ctx.platform == "darwin":
        pip_cache = env.get("PIP_CACHE_DIR") or os.path.join(home, "Library", "Caches", "pip")
    else:
        pip_cache = env.get("PIP_CACHE_DIR") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "pip")
    hf = env.get("HF_HOME") or os.path.join(env.get("XDG_CACHE_HOME") or os.path.join(home, ".cache"), "huggingface")
    temp = env.get("TEMP") or env.get("TMP") or env.get("TMPDIR") or tempfile.gettempdir()
    return [("install", ctx.webui_dir), ("pip-cache", pip_cache), ("hf-cache", hf), ("temp", temp)]


def _volume_key(path, windows):
    if windows:
        drive = os.path.splitdrive(path)[0]
        return drive.upper() or path
    try:
        return os.stat(path).st_dev
    except OSError:
        return path


def probe(ctx):
    import shutil

    windows = ctx.platform == "windows"
    volumes = {}
    order = []
    for role, path in _locations(ctx):
        existing = nearest_existing(path)
        key = _volume_key(existing, windows)
        if key not in volumes:
            usage = shutil.disk_usage(existing)
            volumes[key] = {"path": existing, "roles": [], "free": usage.free, "total": usage.total,
                            "drive": os.path.splitdrive(existing)[0] if windows else None}
            order.append(key)
        volumes[key]["roles"].append(role)
    return {"platform": ctx.platform, "volumes": [volumes[k] for k in order]}


def judge(facts):
    f = Finding(ID, TITLE)
    for vol in facts["volumes"]:
        where = vol.get("drive") or vol["path"]
        roles = [ROLES[r] for r in vol["roles"]]
        roles_kw = dict(("r%d" % i, r) for i, r in enumerate(roles))
        roles_t = T(", ".join("{r%d}" % i for i in range(len(roles))), "、".join("{r%d}" % i for i in range(len(roles))),
                    **roles_kw)
        free = vol["free"]
        if free < ERROR_BELOW:
            f.error(T("{w} has {g} free for {r}: too little (torch alone is about 2.5 GB, caches double it).",
                      "{w} 只剩 {g} 可用（用于 {r}）：空间不足（仅 torch 约 2.5 GB，缓存还会翻倍）。",
                      w=where, g=gib(free), r=roles_t))
        elif free < WARN_BELOW:
            f.warn(T("{w} has {g} free for {r}: enough to install, but each checkpoint is 2 to 7 GB.",
                     "{w} 有 {g} 可用（用于 {r}）：够安装，但每个模型 2 到 7 GB。", w=where, g=gib(free), r=roles_t))
        else:
            f.ok(T("{g} free on {w} ({r})", "{w} 上有 {g} 可用（{r}）", w=where, g=gib(free), r=roles_t))
        if free < WARN_BELOW:
            if "pip-cache" in vol["roles"] or "hf-cache" in vol["roles"] or "temp" in vol["roles"]:
                f.advise(T("Move the caches to a bigger drive before installing, e.g. set PIP_CACHE_DIR, HF_HOME and "
                           "TEMP to folders on it (set them in webui-user.bat / webui-user.sh).",
                           "安装前把缓存移到更大的磁盘：把 PIP_CACHE_DIR、HF_HOME 和 TEMP 设为该盘上的文件夹"
                           "（写在 webui-user.bat / webui-user.sh 中）。"))
            f.advise(T("Free at least {n} on {w}.", "在 {w} 上至少腾出 {n}。", n=gib(WARN_BELOW - free), w=where))
    return f
