"""The JSON document for programs (schema 1).

Its bytes are UTF-8 or pure ASCII, whatever the machine: readable non-ASCII only where the output really is UTF-8
(a UTF-8 pipe or file, a POSIX UTF-8 terminal) or a Windows console that can show it; everywhere else (a pipe on a
Chinese Windows, whose ANSI code page is GBK; cp437/cp1252) every non-ASCII character is a ``\\u`` escape.
"""

from __future__ import absolute_import

import codecs
import json

from sd_doctor.core.redact import redact_tree
from sd_doctor.core.text import render_tree
from sd_doctor.report.text import summary_counts


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
    launcher = ctx.launcher if getattr(ctx, "_launcher_factory", None) else None
    if launcher is not None:
        doc["launcher"] = render_tree(launcher.to_json(), lang)  # the launcher model every check read
    text = json.dumps(redact_tree(doc), indent=2, ensure_ascii=False, default=str, sort_keys=False)
    shown = readable_encoding(stream)
    try:
        text.encode(shown or "ascii")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    return text


def readable_encoding(stream):
    """The encoding non-ASCII may be written in to ``stream``, or None (then only ASCII): a Windows console's code
    page (Python writes UTF-16 to it; the page says what it can show), else the stream's encoding when it is UTF-8.
    No stream (a caller that wants the document itself): UTF-8."""
    from sd_doctor.host.console import console_encoding

    if stream is None:
        return "utf-8"
    console = console_encoding(stream)
    if console:
        return console
    name = getattr(stream, "encoding", None) or ""
    try:
        return "utf-8" if codecs.lookup(name).name == "utf-8" else None
    except LookupError:
        return None
