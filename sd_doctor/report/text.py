"""The text report for people, laid out for an 80x30 console.

Order: the header (printed before the checks run), the findings (errors and warnings with their advice, ok lines
one each), the plan in a few lines (file, values, what changes), the summary naming the checks that failed. The
full diff of the settings file appears under ``--verbose`` or when ``--fix`` wrote it; otherwise a one-line hint.
"""

import json
import os
import shutil
import sys

from sd_doctor.core.finding import CRASH, ERROR, OK, SKIP, STATUSES, WARN
from sd_doctor.core.redact import redact, redact_tree
from sd_doctor.core.text import T, render
from sd_doctor.report.wrap import wrap

UNICODE_MARKS = {OK: u"\u2713", WARN: u"!", ERROR: u"\u2717", SKIP: u"-", CRASH: u"\u2717"}
ASCII_MARKS = {OK: "+", WARN: "!", ERROR: "x", SKIP: "-", CRASH: "x"}
COLOURS = {OK: "32", WARN: "33", ERROR: "31", SKIP: "90", CRASH: "31"}
ADVICE, MORE = "    -> ", "       "


def summary_counts(findings):
    counts = dict((s, 0) for s in STATUSES if s != CRASH)  # 'crash' appears only when a check crashed
    for f in findings:
        counts[f.status] = counts.get(f.status, 0) + 1
    return counts


def marks_for(stream):
    """Unicode marks when the stream's encoding can print them (not cp437, cp936), else plain ASCII."""
    encoding = getattr(stream, "encoding", None) or "ascii"
    try:
        u"".join(UNICODE_MARKS.values()).encode(encoding)
        return UNICODE_MARKS
    except (UnicodeEncodeError, LookupError):
        return ASCII_MARKS


def use_colour(stream, environ=os.environ):
    if "NO_COLOR" in environ and environ["NO_COLOR"] != "":
        return False
    if environ.get("TERM") == "dumb":
        return False
    if not _isatty(stream):
        return False
    if sys.platform == "win32":
        return _enable_windows_vt()
    return True


def _isatty(stream):
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False


def columns_for(stream, environ=os.environ):
    """The width to wrap to: the console's on a terminal (or COLUMNS when set), None (no wrapping) when piped."""
    if not (_isatty(stream) or environ.get("COLUMNS", "").isdigit()):
        return None
    return max(40, shutil.get_terminal_size((80, 30)).columns)


def _enable_windows_vt():
    try:
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.GetStdHandle(-11)
        mode = ctypes.c_uint32()
        if not kernel32.GetConsoleMode(handle, ctypes.byref(mode)):
            return False
        return bool(kernel32.SetConsoleMode(handle, mode.value | 0x0004))
    except Exception:
        return False


def plural(count, one, many, zh):
    """English singular or plural; Chinese has one form ("1 项警告", "2 项警告")."""
    return T(one if count == 1 else many, zh, n=count)


def title_sep(lang):
    return u"\uff1a" if lang == "zh" else ": "


def folder_note(ctx):
    """One line when the folder is not a web UI (and not empty), naming a web UI one level below."""
    layout = ctx.layout or {}
    if not layout.get("is_dir") or layout.get("installed") or layout.get("empty", True):
        return None
    nested = layout.get("nested_webui")
    if nested:
        return T("This folder is not a web UI (no webui.bat, webui.sh or launch.py); the web UI is in {n}: run "
                 "sd-doctor {n}", "这个文件夹不是 web UI（没有 webui.bat、webui.sh 或 launch.py）；web UI 在 {n}："
                 "请运行 sd-doctor {n}", n=nested)
    return T("This folder is not a web UI (no webui.bat, webui.sh or launch.py) and not empty: the doctor treats it "
             "as the place where the web UI will be installed.",
             "这个文件夹不是 web UI（没有 webui.bat、webui.sh 或 launch.py）且不为空：下面按“准备在此安装 web UI”来检查。")


def header(ctx, version, stream):
    lang = ctx.options.lang
    out = [render(T("sd-doctor {v}: checking {d} ({p})", "sd-doctor {v}：正在检查 {d}（{p}）", v=version,
                    d=ctx.webui_dir, p=ctx.platform), lang)]
    note = folder_note(ctx)
    if note is not None:
        out.extend(wrap(render(note, lang), columns_for(stream), "", "  "))
    out.append("")
    return "\n".join(redact(line) for line in out) + "\n"


def finding_lines(f, lang, verbose, paint, marks, columns):
    lines = render(f.detail_lines(), lang) or [""]
    if f.status in (WARN, ERROR) and not verbose:
        lines = [render(m, lang) for s, m in f.lines if s in (WARN, ERROR)] or lines
    elif not verbose:
        lines = lines[:1]
    head = u"%s %s%s" % (marks[f.status], render(f.title, lang), title_sep(lang))
    first = wrap(lines[0] + ("  (%.2f s)" % f.elapsed if verbose else ""), columns, head, "    ")
    if f.status in (OK, SKIP) and not verbose and len(first) > 1:
        first = [shorten(first[0], columns, u"\u2026" if marks is UNICODE_MARKS else "...")]  # one line each
    if paint:
        first[0] = paint(f.status, marks[f.status]) + first[0][len(marks[f.status]):]
    out = first
    for line in lines[1:]:
        out.extend(wrap(line, columns, "    ", "      "))
    for advice in render(f.advice, lang):
        parts = advice.splitlines() or [""]
        out.extend(wrap(parts[0], columns, ADVICE, MORE))
        out.extend(MORE + part for part in parts[1:])  # commands and file lines: copied as they are, never wrapped
    if verbose and f.facts:
        for line in json.dumps(redact_tree(f.facts), indent=2, ensure_ascii=False, default=str).splitlines():
            out.append("      | " + line)
    return out


def shorten(line, columns, ellipsis):
    """The first wrapped line of an ok note, marked as cut (the whole note is in -v and --json)."""
    from sd_doctor.report.wrap import width

    while line and width(line + ellipsis) > columns:
        line = line[:-1]
    return line.rstrip(" ,;(") + ellipsis


def summary_lines(findings, lang, columns):
    counts = summary_counts(findings)
    parts = [T("{n} ok", "{n} 项正常", n=counts[OK])]
    if counts[WARN]:
        parts.append(plural(counts[WARN], "{n} warning", "{n} warnings", "{n} 项警告"))
    if counts[ERROR]:
        parts.append(plural(counts[ERROR], "{n} error", "{n} errors", "{n} 项错误"))
    if counts[SKIP]:
        parts.append(T("{n} skipped", "{n} 项跳过", n=counts[SKIP]))
    if counts.get(CRASH):
        parts.append(T("{n} crashed", "{n} 项崩溃", n=counts[CRASH]))
    sep = u"\uff0c" if lang == "zh" else ", "
    text = render(T("Summary: {l}", "汇总：{l}", l=sep.join(render(parts, lang))), lang)
    failed = [render(f.title, lang) for f in findings if f.status == ERROR]
    if failed:
        text += render(T(". Failed: {l}.", "。未通过：{l}。", l=(u"、" if lang == "zh" else "; ").join(failed)), lang)
    return wrap(text, columns, "", "  ")


def to_text(ctx, findings, settings_lines, version, stream, settings=None):
    """The whole report: the header and the body (the CLI prints the header before the checks run)."""
    return header(ctx, version, stream) + body(ctx, findings, settings_lines, stream, settings)


def body(ctx, findings, settings_lines, stream, settings=None):
    from sd_doctor.report.plan import plan_lines

    lang, verbose = ctx.options.lang, ctx.options.verbose
    marks, columns = marks_for(stream), columns_for(stream)
    colour = use_colour(stream)

    def paint(status, text):
        return "\x1b[%sm%s\x1b[0m" % (COLOURS[status], text)

    out = []
    # The ok and skipped lines first, then the problems with their advice: on a full console what scrolls away is
    # what needs no action, and the errors stay next to the plan and the summary (warnings, then errors).
    ordered = [f for f in findings if f.status in (OK, SKIP)] + [f for f in findings if f.status == WARN] + \
        [f for f in findings if f.status == ERROR]
    for f in (findings if verbose else ordered):
        out.extend(finding_lines(f, lang, verbose, paint if colour else None, marks, columns))
    if settings_lines or settings:
        out.append("")
        out.extend(plan_lines(settings, settings_lines, lang, verbose, columns))
    out.append("")
    out.extend(summary_lines(findings, lang, columns))
    return "\n".join(redact(line) for line in out) + "\n"
