"""``--report``: a Markdown block made for pasting into a web UI issue (like ``flutter doctor -v`` or
``react-native info``): versions, OS, GPU and driver, flavour and generation, each finding, the planned settings.

Redacted: credentials in URLs become ``***`` and the home folder becomes ``~`` (it carries the user's name).
"""

import os
import platform as pyplatform

from sd_doctor.core.redact import redact
from sd_doctor.core.text import render
from sd_doctor.report.text import ASCII_MARKS

_STATUS_WORD = {"ok": "ok", "warn": "WARN", "error": "ERROR", "skip": "skipped", "crash": "CRASHED"}


def _home_redactor(environ):
    homes = sorted(set(h for h in (environ.get("HOME"), environ.get("USERPROFILE"), os.path.expanduser("~"))
                       if h and len(h) > 3), key=len, reverse=True)

    def scrub(text):
        text = redact(text)
        for home in homes:
            text = text.replace(home, "~")
        return text

    return scrub


def _os_text(facts):
    info = facts.get("os") or {}
    if info.get("release") and facts.get("platform") == "windows":
        return "Windows %s (build %s)" % (info.get("release"), info.get("build"))
    return " ".join(str(info[k]) for k in ("distribution", "system", "release") if info.get(k)) or "?"


def _gpu_text(facts):
    if not facts.get("name"):
        return "none found"
    parts = [facts.get("name")]
    if facts.get("vram_total"):
        parts.append("%.1f GB VRAM" % (facts["vram_total"] / 1024.0 ** 3))
    if facts.get("driver_version"):
        parts.append("driver %s" % facts["driver_version"])
    return ", ".join(parts)


def _table(ctx, by_id, version):
    layout = ctx.layout or {}
    rows = [("sd-doctor", version),
            ("Python running sd-doctor", pyplatform.python_version()),
            ("OS", _os_text(getattr(by_id.get("windows"), "facts", {}) or {"platform": ctx.platform})),
            ("GPU", _gpu_text(getattr(by_id.get("gpu"), "facts", {}) or {})),
            ("web UI folder", ctx.webui_dir),
            ("flavour / webui.bat generation / version", "%s / %s / %s" % (
                layout.get("flavour") or "not installed", layout.get("generation") or "-", layout.get("version") or "-"))]
    python = getattr(by_id.get("python"), "facts", {}) or {}
    info = python.get("info") or {}
    rows.insert(2, ("Python for the web UI", "%s (%s)" % (info.get("version") or "?", python.get("resolved") or "-")))
    return ["| | |", "|---|---|"] + ["| %s | %s |" % (k, str(v).replace("|", "\\|")) for k, v in rows]


def to_markdown(ctx, findings, settings, version):
    """The report as Markdown text (English: issues on the web UI's tracker are read in English)."""
    lang = "en"
    scrub = _home_redactor(ctx.environ)
    by_id = dict((f.id, f) for f in findings)
    out = ["<details><summary>sd-doctor report</summary>", ""] + _table(ctx, by_id, version) + ["", "### Findings", ""]
    for f in findings:
        lines = render(f.detail_lines(), lang) or [""]
        out.append("- %s **%s** (`%s`, %s): %s" % (ASCII_MARKS[f.status], render(f.title, lang), f.id,
                                                   _STATUS_WORD[f.status], lines[0]))
        out.extend("  - %s" % line for line in lines[1:] if f.status in ("warn", "error"))
    out.extend(["", "### Planned settings", ""])
    if settings:
        out.append("File: `%s`" % (settings.get("file") or "-"))
        variables = settings.get("variables") or {}
        out.append("")
        out.append("```")
        out.extend("%s=%s" % (name, render(value, lang)) for name, value in variables.items())
        if not variables:
            out.append("(no values to set)")
        out.append("```")
        out.append("Changed: %s; written: %s" % ("yes" if settings.get("changed") else "no",
                                                 "yes" if settings.get("applied") else "no"))
    else:
        out.append("(not planned in this run)")
    out.extend(["", "</details>"])
    return "\n".join(scrub(line) for line in out) + "\n"
