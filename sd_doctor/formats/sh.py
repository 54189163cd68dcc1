"""Reading and writing the assignments of ``webui-user.sh`` (sourced by webui.sh with bash, webui-facts.md §3)."""

import re
import shlex

_ASSIGN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<export>export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_COMMENTED_RE = re.compile(r"^[ \t]*#+[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")

EXPORTED = ("COMMANDLINE_ARGS", "NO_PROXY", "no_proxy", "STABLE_DIFFUSION_REPO", "GIT", "TORCH_COMMAND")


class UnsafeValue(ValueError):
    pass


class Assignment(object):
    __slots__ = ("name", "value", "exact", "indent", "export")

    def __init__(self, name, value, exact, indent, export):
        self.name = name
        self.value = value
        self.exact = exact
        self.indent = indent
        self.export = export


def _active(raw):
    """True when bash would do more than quote removal on ``raw``: an expansion ($, backquote, a leading ~) outside
    single quotes, or a command separator, redirection or glob outside any quotes."""
    quoted = None
    escaped = False
    for i, ch in enumerate(raw):
        if escaped:
            escaped = False
            continue
        if quoted == "'":
            if ch == "'":
                quoted = None
            continue
        if ch == "\\":
            escaped = True
        elif ch in "$`" or (ch == "~" and i == 0):
            return True
        elif ch == '"':
            quoted = None if quoted == '"' else '"'
        elif quoted is None and ch == "'":
            quoted = "'"
        elif quoted is None and ch in ";&|<>()*?[":
            return True
    return False


def parse_assignment(line):
    """An ``Assignment`` for ``[export ]NAME=value`` (without the line ending), or None."""
    match = _ASSIGN_RE.match(line)
    if not match:
        return None
    raw = match.group("value")
    exact = not _active(raw)
    try:
        lexer = shlex.shlex(raw, posix=True)
        lexer.whitespace_split = True
        lexer.commenters = "#"
        parts = list(lexer)
    except ValueError:
        parts, exact = [raw], False
    if len(parts) > 1:
        exact = False  # a second word: not a plain assignment we can reproduce
    value = parts[0] if parts else ""
    return Assignment(match.group("name"), value, exact, match.group("indent"), bool(match.group("export")))


def commented_name(line):
    """The variable a commented-out template line (``#export COMMANDLINE_ARGS=""``) is about, or None."""
    match = _COMMENTED_RE.match(line)
    return match.group("name") if match else None


def assignment_line(name, value):
    for ch in ("\x00", "\n", "\r"):
        if ch in value:
            raise UnsafeValue("control character %r" % ch)
    prefix = "export " if name in EXPORTED else ""
    return "%s%s=%s" % (prefix, name, shlex.quote(value))
