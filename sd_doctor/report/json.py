"""The JSON document for programs (schema 1)."""

from __future__ import absolute_import

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
    try:
        text.encode(getattr(stream, "encoding", None) or "utf-8")
    except (UnicodeEncodeError, LookupError):
        text = json.dumps(json.loads(text), indent=2, ensure_ascii=True)
    return text
