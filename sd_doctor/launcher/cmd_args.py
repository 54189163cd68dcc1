"""The flags the installed web UI's argument parser declares, read with ``ast`` from ``modules/cmd_args.py`` (March
2023 and later) or ``modules/shared.py`` (before: the parser lived there), plus the files that add to the same
parser (Forge's ``backend/args.py``, which cmd_args.py imports its parser from; reForge's extra parsers).

Each flag keeps its help text; a help text that says the flag does nothing marks it as a no-op (Forge and A1111
say so in their help strings). A file that is imported for the parser but absent is named in ``missing``: the
flags it would declare are unknown, never assumed.
"""

import ast
import os
import re

from sd_doctor.launcher import pysource

PARSER_FILES = (("modules", "cmd_args.py"),)
LEGACY_PARSER_FILES = (("modules", "shared.py"),)  # before March 2023
EXTRA_PARSER_FILES = (("modules_forge", "cmd_args.py"), ("ldm_patched", "modules", "args_parser.py"))

_NOOP_RE = re.compile(r"^\s*(?:does not do anything|does nothing|no-?op\b|deprecated|obsolete|removed|"
                      r"not used|unused)", re.I)


def _help_text(call):
    for kw in call.keywords:
        if kw.arg == "help":
            if isinstance(kw.value, ast.Attribute) and kw.value.attr == "SUPPRESS":
                return None
            return pysource.string_value(kw.value)
    return None


def flags_in(tree, rel):
    """{'--flag': {'help', 'noop', 'file', 'line'}} for every live ``<x>.add_argument('--flag', ...)`` call."""
    flags = {}
    for _, call in pysource.live_calls(tree):
        if not (isinstance(call.func, ast.Attribute) and call.func.attr == "add_argument"):
            continue
        help_text = _help_text(call)
        for arg in call.args:
            option = pysource.string_value(arg)
            if option and option.startswith("--") and option not in flags:
                flags[option] = {"help": help_text, "noop": bool(help_text and _NOOP_RE.match(help_text)),
                                 "file": rel, "line": call.lineno}
    return flags


def imported_parser_files(tree):
    """['backend/args.py'] for ``from backend.args import parser`` (the module that owns the parser)."""
    out = []
    for stmt in pysource.live_statements(tree.body):
        if isinstance(stmt, ast.ImportFrom) and stmt.module and any(a.name == "parser" for a in stmt.names):
            out.append(stmt.module.replace(".", "/") + ".py")
    return out


def _parse(webui_dir, rel, notes):
    path = os.path.join(webui_dir, *rel.split("/"))
    try:
        return pysource.parse_file(path)
    except pysource.Unparsable as exc:
        notes.append((rel, exc.why))
    except OSError as exc:
        notes.append((rel, "%s: %s" % (exc.__class__.__name__, exc.strerror or exc)))
    return None


def read(webui_dir, extracted=()):
    """(facts or None, notes). facts: {'files': [rel], 'flags': {...}, 'missing': [rel], 'legacy': bool};
    None when the install has no parser file at all (nothing known: every flag is unknown, none is planned as
    certain). ``extracted``: the flags launch.py takes out of argv itself; they count as declared."""
    notes = []
    main = [r for r in PARSER_FILES if os.path.isfile(os.path.join(webui_dir, *r))]
    legacy = not main
    main = main or [r for r in LEGACY_PARSER_FILES if os.path.isfile(os.path.join(webui_dir, *r))]
    if not main:
        return None, notes
    queue = ["/".join(r) for r in main] + ["/".join(r) for r in EXTRA_PARSER_FILES
                                            if os.path.isfile(os.path.join(webui_dir, *r))]
    facts = {"files": [], "flags": {}, "missing": [], "legacy": legacy, "unreadable": []}
    while queue:
        rel = queue.pop(0)
        if rel in facts["files"] or rel in facts["missing"]:
            continue
        if not os.path.isfile(os.path.join(webui_dir, *rel.split("/"))):
            facts["missing"].append(rel)
            continue
        tree = _parse(webui_dir, rel, notes)
        if tree is None:
            facts["unreadable"].append(rel)
            continue
        facts["files"].append(rel)
        queue.extend(imported_parser_files(tree))
        for flag, info in flags_in(tree, rel).items():
            facts["flags"].setdefault(flag, info)
    for flag in extracted or ():
        facts["flags"].setdefault(flag, {"help": "taken out of argv by launch.py before the parser runs",
                                         "noop": False, "file": "launch.py", "line": None})
    if not facts["files"]:
        return None, notes
    return facts, notes
