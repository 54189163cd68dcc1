"""Rendering findings: the text report for people and the JSON document for programs."""

import json
import os
import sys

from sd_doctor.core.finding import ERROR, OK, SKIP, STATUSES, WARN
from sd_doctor.core.redact import redact, redact_tree
from sd_doctor.core.text import T, render, render_tree

UNICODE_MARKS = {OK: u"\u2713", WARN: u"!", ERROR: u"\u2717", SKIP: u"-"}
ASCII_MARKS = {OK: "+", WARN: "!", ERROR: "x", SKIP: "-"}
COLOURS = {OK: "32", WARN: "33", ERROR: "31", SKIP: "90"}


def summary_counts(findings):
    counts = dict((s, 0) for s in STATUSES)
    for f in findings:
        counts[f.status] += 1
    return counts


def marks_for(stream):
    """Unicode marks when the stream's encoding can print them (not cp437, cp936), else plain ASCII."""
    from sd_doctor.host.console import console_encoding

    encoding = console_encoding(stream) or getattr(stream, "encoding", None) or "ascii"
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
    try:
        if not stream.isatty():
            return False
    except (AttributeError, ValueError):
        return False
    if sys.platform == "win32":
        return _enable_windows_vt()
    return True


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


def to_json(ctx, findings, settings, version, stream=None):
    """The JSON document. Non-ASCII stays readable when ``stream`` can print it, else it is escaped (never lost)."""
    lang = ctx.options.lang
    doc = {
        "schema": 1,
        "tool_version": version,
        "webui_dir": ctx.webui_dir,
        "platform": ctx.platform,
        "checks": [f.to_dict(lang) for f in findings],
        "summary": summary_counts(findings),
    }
    if ctx.options.verbose:
        for entry, f in zip(doc["checks"], findings):
            entry["facts"] = f.facts
            entry["elapsed_s"] = round(f.elapsed, 3)
    if settings:
        doc["settings"] = render_tree(settings, lang)
    text = json.dumps(redact_tree(doc), indent=2, ensure_ascii=False, default=str, sort_keys=False)
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    return text


def to_text(ctx, findings, settings_lines, version, stream):
    lang = ctx.options.lang
    marks = marks_for(stream)
    colour = use_colour(stream)

    def paint(status, text):
        return "\x1b[%sm%s\x1b[0m" % (COLOURS[status], text) if colour else text

    out = []
    out.append(render(T("sd-doctor {v}: checking {d} ({p})", "sd-doctor {v}：正在检查 {d}（{p}）",
                        v=version, d=ctx.webui_dir, p=ctx.platform), lang))
    out.append("")
    for f in findings:
        lines = render(f.detail_lines(), lang) or [""]
        head = "%s %s: %s" % (paint(f.status, marks[f.status]), render(f.title, lang), lines[0])
        if ctx.options.verbose:
            head += "  (%.2f s)" % f.elapsed
        out.append(head)
        for line in lines[1:]:
            out.append("    " + line)
        for advice in render(f.advice, lang):
            for i, line in enumerate(advice.splitlines()):
                out.append(("    -> " if i == 0 else "       ") + line)
        if ctx.options.verbose and f.facts:
            for line in json.dumps(redact_tree(f.facts), indent=2, ensure_ascii=False, default=str).splitlines():
                out.append("      | " + line)
    if settings_lines:
        out.append("")
        out.extend(render(settings_lines, lang))
    counts = summary_counts(findings)
    out.append("")
    out.append(render(T("Summary: {ok} ok, {warn} warnings, {error} errors, {skip} skipped",
                        "汇总：{ok} 项正常，{warn} 项警告，{error} 项错误，{skip} 项跳过", **counts), lang))
    return "\n".join(redact(line) for line in out) + "\n"
