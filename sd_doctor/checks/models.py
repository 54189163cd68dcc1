"""models: the checkpoints the web UI will list (models/Stable-diffusion and --ckpt-dir) are really checkpoints
(webui-facts.md §1, §10), read from their first bytes and headers by sd_doctor/probes/checkpoints.py; with none,
what the flavour downloads at the first start and whether that still works.

A Git LFS pointer, an HTML or JSON page saved under a model's name, or a truncated download fail at load with
"HeaderTooLarge" / "MetadataIncompleteBuffer" (#10014, #10199). A1111 v1.x downloads SD 1.5 from the runwayml
repository when it finds no checkpoint; that repository is gone since September 2024 (#16459). Forge downloads its
own default model.
"""

import os
import re

from sd_doctor.checks._common import gib, quote_cmd_path, quote_sh
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "models"
TITLE = T("Checkpoints", "模型文件")

_MODEL_URL_RE = re.compile(r"""https?://[^\s"']+/resolve/[^\s"']+\.(?:safetensors|ckpt)""")
GONE_REPOS = ("runwayml/stable-diffusion-v1-5",)


def default_download(webui_dir):
    """The model URL the installed modules/sd_models.py downloads when there is no checkpoint, or None."""
    from sd_doctor.formats.textfile import read_text_lenient

    path = os.path.join(webui_dir, "modules", "sd_models.py")
    try:
        match = _MODEL_URL_RE.search(read_text_lenient(path))
    except (OSError, ValueError):
        return None
    return match.group(0) if match else None


def probe(ctx):
    from sd_doctor.launcher.settings import flag_value
    from sd_doctor.probes import checkpoints

    tokens = ctx.commandline_args or []
    layout = ctx.layout or {}
    dirs = checkpoints.checkpoint_dirs(ctx.webui_dir, tokens)
    scan = ctx.cached("checkpoints", lambda: checkpoints.scan(dirs, budget_s=checkpoints.scan_budget(
        ctx.timeout)))
    return {"platform": ctx.platform, "dirs": dirs, "scan": scan, "installed": bool(layout.get("installed")),
            "flavour": layout.get("flavour"), "version": layout.get("version"),
            "no_download": "--no-download-sd-model" in tokens, "ckpt": flag_value(tokens, "--ckpt"),
            "download_url": default_download(ctx.webui_dir)}


BAD_SHOWN = 20  # broken files named one by one; the rest are counted


def _delete(platform_name, path):
    return ("del %s" % quote_cmd_path(path)) if platform_name == "windows" else ("rm %s" % quote_sh(path))


_WHAT = {
    "lfs": T("a Git LFS pointer, not the model: the clone fetched the small text stub instead of the file",
             "Git LFS 指针文件，不是模型：克隆时只取得了小文本占位文件"),
    "html": T("a web page saved under a model's name (a login, error or \"file not found\" page)",
              "以模型名保存的网页（登录页、错误页或“文件不存在”页面）"),
    "json": T("a JSON error message saved under a model's name", "以模型名保存的 JSON 错误信息"),
    "empty": T("an empty file", "空文件"),
    "truncated": T("a truncated download", "下载不完整的文件"),
    "corrupt": T("not a readable checkpoint", "无法读取的模型文件"),
    "unreadable": T("a file that cannot be read", "无法读取的文件"),
}


def _bad_file(f, platform_name, entry, path):
    f.error(T("{n} is {what} ({d}): the web UI fails to load it (\"HeaderTooLarge\" / \"MetadataIncompleteBuffer\").",
              "{n} 是{what}（{d}）：web UI 加载时会失败（\"HeaderTooLarge\" / \"MetadataIncompleteBuffer\"）。",
              n=entry["name"], what=_WHAT.get(entry["kind"], _WHAT["corrupt"]), d=entry.get("error") or "?"))
    if entry["kind"] == "lfs":
        f.advise(T("Run `git lfs install && git lfs pull` in the repository it came from, or download the file itself "
                   "(the model page's download button, a /resolve/ link, not /blob/).",
                   "在它所在的仓库中运行 `git lfs install && git lfs pull`，或直接下载文件本身（模型页面的下载按钮，/resolve/ "
                   "链接，而不是 /blob/）。"))
    elif entry["kind"] in ("html", "json"):
        f.advise(T("Download it again from the model's page (log in first where the model asks for it); check the "
                   "file is gigabytes, not kilobytes.", "从模型页面重新下载（需要登录的模型请先登录）；确认文件大小是 GB 级，"
                   "而不是 KB 级。"))
    else:
        f.advise(T("Download it again (a download manager that resumes helps on slow links).",
                   "重新下载（网络慢时可用支持断点续传的下载工具）。"))
    f.advise(T("Delete the broken file: {c}", "删除损坏的文件：{c}", c=_delete(platform_name, path)))


def _no_checkpoint(f, facts):
    where = ", ".join(facts["dirs"])
    if facts.get("ckpt"):
        f.ok(T("No checkpoint in {w}; --ckpt names {c}.", "{w} 中没有模型；--ckpt 指定了 {c}。", w=where, c=facts["ckpt"]))
        return
    if facts.get("no_download"):
        f.warn(T("No checkpoint in {w}, and --no-download-sd-model: the web UI starts without a model.",
                 "{w} 中没有模型，且设置了 --no-download-sd-model：web UI 启动后没有可用的模型。", w=where),
               T("Put a .safetensors checkpoint into {d}.", "把 .safetensors 模型放入 {d}。", d=facts["dirs"][0]))
        return
    url = facts.get("download_url")
    gone = any(repo in (url or "") for repo in GONE_REPOS)
    if facts.get("flavour") in ("forge", "reforge") and not gone:
        f.ok(T("No checkpoint in {w}: {fl} downloads its default model at the first start (several GB; it needs the "
               "network).", "{w} 中没有模型：{fl} 会在首次启动时下载默认模型（数 GB，需要联网）。", w=where,
               fl=facts["flavour"]))
        return
    if facts.get("flavour") in (None, "a1111") or gone:
        f.warn(T("No checkpoint in {w}: the web UI ({v}) will try to download SD 1.5 from {u}, which is gone since "
                 "2024 (#16459): the first start fails to get a model.",
                 "{w} 中没有模型：web UI（{v}）会尝试从 {u} 下载 SD 1.5，而该仓库自 2024 年起已不存在（#16459）：首次启动将无法"
                 "获得模型。", w=where, v=facts.get("version") or "A1111", u=url or "runwayml/stable-diffusion-v1-5"),
               T("Download a checkpoint yourself (e.g. v1-5-pruned-emaonly.safetensors from the "
                 "stable-diffusion-v1-5/stable-diffusion-v1-5 repository on Hugging Face) into {d}.",
                 "请自行下载模型（例如 Hugging Face 上 stable-diffusion-v1-5/stable-diffusion-v1-5 仓库中的 "
                 "v1-5-pruned-emaonly.safetensors）放入 {d}。", d=facts["dirs"][0]))
        return
    f.ok(T("No checkpoint in {w} yet.", "{w} 中还没有模型。", w=where))


def judge(facts):
    f = Finding(ID, TITLE)
    scan = facts.get("scan") or {}
    files = scan.get("files") or []
    platform_name = facts.get("platform")
    good = []
    bad = 0
    for entry in files:
        kind = entry.get("kind")
        path = _locate(facts["dirs"], entry["name"])
        if kind == "safetensors" or kind == "gguf":
            good.append(entry)
        elif kind == "pickle":
            good.append(entry)
            f.ok(T("{n}: a .ckpt pickle (torch runs code while loading it; sd-doctor does not open it); prefer "
                   ".safetensors from a source you trust.", "{n}：.ckpt pickle 文件（torch 加载时会执行其中的代码；sd-doctor "
                   "不打开它）；建议使用可信来源的 .safetensors。", n=entry["name"]))
        elif bad < BAD_SHOWN:
            bad += 1
            _bad_file(f, platform_name, entry, path)
        else:
            bad += 1
    if bad > BAD_SHOWN:  # thousands of broken files: each named would cost seconds and bury the report
        f.error(T("{n} more files in {w} are not readable checkpoints either (empty files, error pages or truncated "
                  "downloads).", "{w} 中另有 {n} 个文件同样不是可读的模型（空文件、错误页面或不完整的下载）。",
                  n=bad - BAD_SHOWN, w=", ".join(facts["dirs"])),
                T("Delete or download again every broken file in that folder.", "删除或重新下载该文件夹中所有损坏的文件。"))
    if scan.get("truncated"):
        f.warn(T("Stopped after {n} files (the time or file bound): the rest of the folders was not checked.",
                 "检查了 {n} 个文件后停止（时间或数量上限）：其余文件未检查。", n=len(files)))
    if good:
        names = ", ".join("%s (%s)" % (e["name"], e.get("family") or gib(e.get("size"))) for e in good[:5])
        more = T(" and {n} more", " 等另外 {n} 个", n=len(good) - 5) if len(good) > 5 else ""
        f.ok(T("{n} checkpoint(s): {names}{more}", "{n} 个模型：{names}{more}", n=len(good), names=names, more=more))
    elif not files and facts.get("installed"):
        _no_checkpoint(f, facts)
    elif not files:
        f.ok(T("No checkpoints yet.", "尚无模型。"))
    return f


def _locate(dirs, name):
    for top in dirs:
        path = os.path.join(top, name)
        if os.path.lexists(path):
            return path
    return os.path.join(dirs[0], name) if dirs else name
