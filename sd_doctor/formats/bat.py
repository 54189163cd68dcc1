"""Reading and writing ``set`` lines of cmd batch files exactly as cmd.exe reads them.

How cmd reads one line of a batch file (webui-facts.md §1; checked against Wine's cmd in tests/test_wine_cmd.py):

1. percent expansion: ``%%`` becomes ``%``, ``%NAME%`` the variable (nothing when undefined), ``%0``..``%9``,
   ``%*`` and ``%~...`` the batch arguments; a lone ``%`` disappears. This happens inside quotes too.
2. special characters: ``"`` toggles a quoted region; outside it ``^`` takes the next character literally and an
   unescaped ``& | < >`` ends the command (a second command or a redirection follows); ``( )`` matter in blocks.
3. ``set "NAME=value"`` takes the value up to the last ``"`` of the line; ``set NAME=value`` takes the rest of the
   line, quotes included. ``set NAME=`` with nothing after ``=`` deletes NAME.
4. ``!NAME!`` is expanded only after ``setlocal EnableDelayedExpansion``.

``set_line`` writes a value so that cmd stores exactly that value and runs nothing; ``parse_set`` reads a line back
(``exact`` is False when the value depends on other variables or on commands we do not model).
"""

import re

SPECIALS = "^&|<>()"  # escaped with ^ outside quotes
_PLAIN_UNSAFE = set('"%!' + SPECIALS)
MAX_LINE = 8000  # cmd's limit is 8191 characters per command line after expansion


class UnsafeValue(ValueError):
    """A value that cannot be stored in a batch file so that cmd reads it back exactly."""


def check_value(value, delayed=False):
    for ch in ("\r", "\n", "\x00", "\x1a"):
        if ch in value:
            raise UnsafeValue("control character %r" % ch)
    if delayed and "!" in value:
        raise UnsafeValue("'!' with delayed expansion enabled")
    if len(value) > MAX_LINE:
        raise UnsafeValue("longer than %d characters" % MAX_LINE)


def _encode(value, quoted):
    """The text that cmd turns back into ``value``, starting in the given quote state."""
    out = []
    for ch in value:
        if ch == '"':
            quoted = not quoted
            out.append(ch)
        elif ch == "%":
            out.append("%%")
        elif not quoted and ch in SPECIALS:
            out.append("^" + ch)
        else:
            out.append(ch)
    return "".join(out)


def set_line(name, value, delayed=False):
    """A ``set`` line that stores exactly ``value`` in ``name`` (cmd reads it back unchanged, runs nothing)."""
    check_value(value, delayed)
    if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name):
        raise UnsafeValue("bad variable name %r" % name)
    if value == "":
        return "set %s=" % name
    if not (_PLAIN_UNSAFE & set(value)) and value == value.strip():
        return "set %s=%s" % (name, value)
    if '"' in value and value == value.strip():
        # The unquoted form keeps the value's own quotes (PYTHON="C:\Program Files\...\python.exe", or
        # COMMANDLINE_ARGS with quoted paths): cmd's quote state follows the value's quotes, carets guard the rest.
        return "set %s=%s" % (name, _encode(value, False))
    # The quoted form: everything up to the last quote of the line is the value; & | < > ^ ( ) are protected.
    return 'set "%s=%s"' % (name, _encode(value, True))


# -- reading --------------------------------------------------------------------------------------------------------

_SET_RE = re.compile(r'^(?P<indent>[ \t]*)(?P<at>@?)set(?=[\s"])[ \t]*(?P<rest>.*)$', re.I | re.S)
_PCT_REF = re.compile(r"%(?:[0-9*]|~[a-zA-Z$:]*[0-9]|[^%\s=][^%]*%)")


class SetLine(object):
    __slots__ = ("name", "value", "exact", "indent", "at")

    def __init__(self, name, value, exact, indent, at):
        self.name = name
        self.value = value
        self.exact = exact
        self.indent = indent
        self.at = at

    def __repr__(self):
        return "SetLine(%r, %r, exact=%r)" % (self.name, self.value, self.exact)


def _expand_percent(text):
    """Phase 1 for text without variables: (text, exact). ``exact`` is False when a reference was found."""
    out = []
    i = 0
    exact = True
    while i < len(text):
        ch = text[i]
        if ch != "%":
            out.append(ch)
            i += 1
            continue
        if text.startswith("%%", i):
            out.append("%")
            i += 2
            continue
        match = _PCT_REF.match(text, i)
        if match:
            exact = False
            out.append(match.group(0))
            i = match.end()
            continue
        i += 1  # a lone % disappears
    return "".join(out), exact


def _special_phase(text):
    """Phase 2: (characters, quoted flags, ended early). Carets outside quotes are consumed."""
    chars = []
    quoted = False
    i = 0
    ended = False
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
            chars.append(ch)
        elif not quoted and ch == "^":
            if i + 1 >= len(text):
                ended = True  # a line continuation: the value goes on in the next line
                break
            chars.append(text[i + 1])
            i += 1
        elif not quoted and ch in "&|<>":
            ended = True
            break
        else:
            chars.append(ch)
        i += 1
    return "".join(chars), ended


def parse_set(line, delayed=False):
    """A ``SetLine`` for a ``set NAME=value`` line (without its line ending), or None for any other line."""
    match = _SET_RE.match(line)
    if not match:
        return None
    rest = match.group("rest")
    if not rest or rest.startswith("/") or "=" not in rest:
        return None
    text, exact = _expand_percent(rest)
    text, ended = _special_phase(text)
    if ended:
        exact = False
    if delayed and "!" in text:
        exact = False
    if text.startswith('"'):
        last = text.rfind('"')
        body = text[1:last] if last > 0 else text[1:]
    else:
        body = text
    if "=" not in body:
        return None
    name, value = body.split("=", 1)
    if not name or name != name.strip():
        return None
    return SetLine(name, value, exact, match.group("indent"), match.group("at"))


_CALL_WEBUI_RE = re.compile(r'^\s*@?call\s+"?(?:%~dp0)?webui\.bat"?(\s|$)', re.I)
_DELAYED_RE = re.compile(r"^\s*@?setlocal\b.*\benabledelayedexpansion\b", re.I)
_COMMENT_RE = re.compile(r"^\s*@?(rem(\s|$)|::)", re.I)


def is_comment(line):
    return bool(_COMMENT_RE.match(line))


def is_call_webui(line):
    return bool(_CALL_WEBUI_RE.match(line)) and not is_comment(line)


def enables_delayed(line):
    return bool(_DELAYED_RE.match(line))


def calls_webui(lines):
    return any(is_call_webui(line) for line in lines)


def block_depths(lines):
    """The parenthesis depth each line starts at (0 = top level), by the usual one-block-per-lines layout."""
    depths = []
    depth = 0
    for line in lines:
        stripped = line.strip()
        if is_comment(line):
            depths.append(depth)
            continue
        if stripped.startswith(")"):
            depth = max(0, depth - 1)
        depths.append(depth)
        quoted = False
        opened = 0
        for ch in stripped:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "(":
                opened += 1
            elif not quoted and ch == ")":
                opened -= 1
        if stripped.startswith(")"):
            opened += 1
        depth = max(0, depth + opened)
    return depths


# Characters that make webui.bat's unquoted %PYTHON% fall apart unless the value carries its own quotes.
_PYTHON_NEEDS_QUOTES = set(" \t&|<>^(),;=!%")


def python_value(path):
    """PYTHON for webui.bat, which uses it unquoted: a path with spaces (or cmd's own characters) carries quotes."""
    return '"%s"' % path if _PYTHON_NEEDS_QUOTES & set(path) else path
