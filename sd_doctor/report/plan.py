"""The launch settings in a few lines: the file, the values it will carry, what changes, what to do next.

Under ``--verbose``, or when ``--fix`` wrote the file, the writer's full account (every reason and the diff) is shown
instead.
"""

from sd_doctor.core.text import T, render
from sd_doctor.report.wrap import wrap


def diff_counts(diff):
    """(lines added, lines removed) of a unified diff."""
    added = removed = 0
    for line in (diff or "").splitlines():
        if line.startswith("+") and not line.startswith("+++"):
            added += 1
        elif line.startswith("-") and not line.startswith("---"):
            removed += 1
    return added, removed


def _remedy_lines(settings_lines):
    """The writer's remedy lines (renames of broken folders): they follow its "Remedies:" line."""
    for i, line in enumerate(settings_lines or []):
        if isinstance(line, T) and line.en == "  Remedies:":
            return settings_lines[i:]
    return []


def _full(settings_lines, lang, columns):
    out = []
    in_diff = False
    for line in settings_lines:
        text = render(line, lang)
        template = line.en if isinstance(line, T) else None
        if template == "  Changes to {f}:":
            in_diff = True
        elif in_diff and template != "    {l}":
            in_diff = False
        if in_diff and template == "    {l}":
            out.append(text)  # the diff as it is
        else:
            out.extend(wrap(text.lstrip(" "), columns, text[:len(text) - len(text.lstrip(" "))],
                            text[:len(text) - len(text.lstrip(" "))] + "  "))
    return out


def _state(settings):
    added, removed = diff_counts(settings.get("diff"))
    if not settings.get("changed"):
        return T("No change needed.", "无需改动。")
    count = _count(added, "{n} line added", "{n} lines added", "增加 {n} 行")
    if removed:
        count = T("{a}, {r}", "{a}，{r}", a=count, r=_count(removed, "{n} removed", "{n} removed", "删除 {n} 行"))
    if settings.get("blocked"):
        return T("{c}; not written: {b}", "{c}；未写入：{b}", c=count, b=settings["blocked"])
    return T("{c}, not written: --fix writes it (backup kept), -v shows the diff.",
             "{c}，尚未写入：--fix 会写入（保留备份），-v 显示改动。", c=count)


def _count(n, one, many, zh):
    return T(one if n == 1 else many, zh, n=n)


def plan_lines(settings, settings_lines, lang, verbose, columns):
    if settings is None or verbose or settings.get("applied"):
        return _full(settings_lines or [], lang, columns)
    out = wrap(render(T("Launch settings: {f}", "启动设置：{f}", f=settings.get("file") or "-"), lang), columns, "",
               "  ")
    for warning in settings.get("warnings") or []:
        out.extend(wrap(render(warning, lang), columns, "  ! ", "    "))
    reasons = settings.get("reasons") or {}
    for name, value in (settings.get("variables") or {}).items():
        out.append("  %s=%s" % (name, render(value, lang)))  # copied as it is: never wrapped
        if name == "COMMANDLINE_ARGS":
            for flag in settings.get("commandline_args") or []:
                if flag in reasons:
                    out.extend(wrap(render(T("{f}: {r}", "{f}：{r}", f=flag, r=reasons[flag]), lang), columns,
                                    "    ", "      "))
    if settings.get("file"):
        out.extend(wrap(render(_state(settings), lang), columns, "  ", "  "))
    out.extend(_full(_remedy_lines(settings_lines), lang, columns))
    return out
