"""The renderers under their old names: text (sd_doctor.report.text), JSON (.json), Markdown (.markdown)."""

from sd_doctor.report.json import to_json
from sd_doctor.report.markdown import to_markdown
from sd_doctor.report.text import (ASCII_MARKS, COLOURS, UNICODE_MARKS, marks_for, summary_counts,
                                   to_text, use_colour)

__all__ = ["ASCII_MARKS", "COLOURS", "UNICODE_MARKS", "marks_for", "summary_counts", "to_json", "to_markdown",
           "to_text", "use_colour"]
