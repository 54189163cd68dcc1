"""The filesystem remedies that checks propose (``Finding.remedies``) and that ``--fix`` applies.

Only what a check proposed, only with ``--fix``, and only the safe kind: a folder is renamed aside in its own parent
folder (never deleted, never copied), inside the web UI folder or exactly the folder the check's advice named.
"""

import os
import time

from sd_doctor.core.text import T, render

RENAME_ASIDE = "rename-aside"


def aside_name(path, stamp=None):
    """``venv.broken-YYYYmmdd-HHMMSS`` beside ``path`` (-2, -3 ... when taken)."""
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    base = "%s.broken-%s" % (path.rstrip("\\/"), stamp)
    candidate = base
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = "%s-%d" % (base, n)
    return candidate


def _inside(path, folder):
    try:
        return os.path.commonpath([os.path.realpath(path), os.path.realpath(folder)]) == os.path.realpath(folder)
    except ValueError:  # different drives
        return False


def _refusal(path, webui_dir, finding):
    """Why renaming ``path`` aside would not be safe (a T), or None."""
    if not path or not os.path.isabs(path):
        return T("not an absolute path", "不是绝对路径")
    real = os.path.realpath(path)
    home = os.path.realpath(os.path.expanduser("~"))
    if real in (os.path.realpath(webui_dir), home) or os.path.dirname(real) == real or _inside(webui_dir, path):
        return T("it is the web UI folder, the home folder, a drive root or above them", "它是 web UI 文件夹、用户主目录、磁盘根目录或其上级")
    if not os.path.lexists(path):
        return T("it does not exist (any more)", "它不存在（或已不存在）")
    if not os.path.isdir(path):
        return T("it is not a folder", "它不是文件夹")
    named = path in " ".join(render(finding.advice, "en")) if finding is not None else False
    if not (_inside(path, webui_dir) or named):
        return T("it is outside the web UI folder and no advice named it", "它在 web UI 文件夹之外，且没有任何建议提到它")
    return None


def pending(findings_by_id):
    """[(finding, remedy)] in the checks' order."""
    out = []
    seen = set()
    for finding in findings_by_id.values():
        for remedy in getattr(finding, "remedies", None) or []:
            key = (remedy.get("action"), remedy.get("path"))
            if key in seen:  # two checks may ask for the same venv to go (gpu: wrong torch build; venv: broken)
                continue
            seen.add(key)
            out.append((finding, remedy))
    return out


def apply(ctx, findings_by_id, fix):
    """Apply (with ``fix``) or describe the proposed remedies. Returns ([JSON entries], [T lines])."""
    entries, lines = [], []
    for finding, remedy in pending(findings_by_id):
        action, path = remedy.get("action"), remedy.get("path")
        entry = {"check": finding.id, "action": action, "path": path, "applied": False, "to": None, "error": None}
        entries.append(entry)
        if action != RENAME_ASIDE:
            entry["error"] = T("unknown action {a}", "未知操作 {a}", a=action)
            lines.append(T("  Not applied: {a} {p} (this version of sd-doctor does not know it).",
                           "  未执行：{a} {p}（此版本的 sd-doctor 不认识该操作）。", a=action, p=path))
            continue
        why_not = _refusal(path, ctx.webui_dir, finding)
        if why_not is not None:
            entry["error"] = why_not
            lines.append(T("  Not renamed: {p}: {w}.", "  未重命名：{p}：{w}。", p=path, w=why_not))
            continue
        target = aside_name(path)
        if not fix:
            lines.append(T("  With --fix: {p} would be renamed to {n} (kept, not deleted).",
                           "  使用 --fix 时：{p} 会被重命名为 {n}（保留，不删除）。", p=path, n=os.path.basename(target)))
            continue
        try:
            os.rename(path, target)
        except OSError as exc:
            entry["error"] = exc.strerror or str(exc)
            lines.append(T("  Could not rename {p}: {e}. Nothing was changed there.",
                           "  无法重命名 {p}：{e}。该处未做任何改动。", p=path, e=entry["error"]))
            continue
        entry["applied"] = True
        entry["to"] = target
        lines.append(T("  Renamed {p} to {n}; the launcher builds a new one on the next start. Delete the old one once "
                       "the web UI runs.",
                       "  已将 {p} 重命名为 {n}；下次启动时会重新创建。确认 web UI 能运行后再删除旧文件夹。",
                       p=path, n=os.path.basename(target)))
    return entries, lines
