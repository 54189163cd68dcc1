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
    text, exact = expand_percent(rest)
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


_DELAYED_RE = re.compile(r"^\s*@?setlocal\b.*\benabledelayedexpansion\b", re.I)
_COMMENT_RE = re.compile(r"^\s*@?(rem(\s|$)|::)", re.I)


def is_comment(line):
    return bool(_COMMENT_RE.match(line))


_IF_PREFIX = re.compile(r'^if\s+(?:/i\s+)?(?:not\s+)?(?:(?:exist|defined|errorlevel)\s+(?:"[^"]*"|\S+)|\S+\s*==\s*\S+)\s*',
                        re.I)
_LAUNCHER = re.compile(r'^(?:call\s+|start\s+(?:(?:"[^"]*"|/\S+)\s+)*|cmd(?:\.exe)?\s+(?:/\S+\s+)*?/[ck]\s+)?', re.I)
_HERE = ("%~dp0\\", "%~dp0", ".\\", "%cd%\\")


def _commands(line):
    """The commands of a line: split at & && | || outside quotes and carets."""
    parts, cur, quoted, i = [], [], False, 0
    while i < len(line):
        ch = line[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "^" and not quoted:
            cur.append(line[i:i + 2])
            i += 2
            continue
        elif ch in "&|" and not quoted:
            parts.append("".join(cur))
            cur = []
            i += 1
            continue
        cur.append(ch)
        i += 1
    parts.append("".join(cur))
    return parts


def _names_webui(command):
    text = command.strip().lstrip("(@ \t")
    while True:
        match = _IF_PREFIX.match(text)
        if not match:
            break
        text = text[match.end():].lstrip("(@ \t")
    text = text[_LAUNCHER.match(text).end():].lstrip("@")
    if not text:
        return False
    if text.startswith('"'):
        end = text.find('"', 1)
        name = text[1:end if end > 0 else len(text)]
    else:
        name = re.split(r'[\s()<>]', text, maxsplit=1)[0]
    name = name.replace('"', "").lower()
    for prefix in _HERE:
        if name.startswith(prefix):
            name = name[len(prefix):]
            break
    return name in ("webui", "webui.bat")  # cmd finds webui.bat for "webui" through PATHEXT, in this folder first


def is_call_webui(line):
    """True when the line runs this folder's webui.bat: ``webui.bat``, ``call webui``, ``call .\\webui.bat``,
    ``start webui.bat``, ``cmd /c webui``, ``"%~dp0webui.bat"``, behind ``if exist`` or ``&``, in any case."""
    if is_comment(line):
        return False
    return any(_names_webui(cmd) for cmd in _commands(line))


def enables_delayed(line):
    return bool(_DELAYED_RE.match(line))


def calls_webui(lines):
    return any(is_call_webui(line) for line in lines)


def block_depths(lines):
    """The parenthesis depth each line starts at (0 = top level), by the usual one-block-per-lines layout. A line
    continued with ``^`` goes on in the next one: that line is still part of the same command."""
    depths = []
    depth = 0
    is_set = continued = False
    for line in lines:
        stripped = line.strip()
        if is_comment(line) and not continued:
            depths.append(depth)
            continue
        if stripped.startswith(")") and not continued:
            depth = max(0, depth - 1)
        depths.append(depth)
        if not continued:
            is_set = bool(_SET_RE.match(stripped))  # set X=( is a value: only a ")" inside a block ends that block
        quoted = False
        opened = 0
        for ch in stripped:
            if ch == '"':
                quoted = not quoted
            elif not quoted and ch == "(" and not is_set:
                opened += 1
            elif not quoted and ch == ")":
                opened -= 1
        if stripped.startswith(")") and not continued:
            opened += 1
        depth = max(0, depth + opened)
        continued = ends_with_caret(line)
    return depths


# Characters that make webui.bat's unquoted %PYTHON% fall apart unless the value carries its own quotes.
_PYTHON_NEEDS_QUOTES = set(" \t&|<>^(),;=!%")


def python_value(path):
    """PYTHON for webui.bat, which uses it unquoted: a path with spaces (or cmd's own characters) carries quotes."""
    return '"%s"' % path if _PYTHON_NEEDS_QUOTES & set(path) else path


# -- the one reader: logical lines in order, as cmd runs a settings file --------------------------------------------

def ends_with_caret(text):
    """True when ``text`` ends with a ``^`` that cmd takes as a line continuation (unescaped, outside quotes)."""
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == '"':
            quoted = not quoted
        elif ch == "^" and not quoted:
            if i + 1 == len(text):
                return True
            i += 1
        i += 1
    return False


def expand_percent(text, variables=None, file_dir=""):
    """Phase 1: (text, exact). With ``variables`` (names compared without case) undefined names become nothing, as in
    a batch file, and ``%~dp0`` is ``file_dir`` with a trailing backslash; other batch arguments make it inexact.
    Without ``variables`` every reference stays as written and makes it inexact."""
    upper = None if variables is None else dict((k.upper(), v) for k, v in variables.items())
    out = []
    exact = True
    i = 0
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
        if not match:
            i += 1  # a lone % disappears
            continue
        ref = match.group(0)
        i = match.end()
        if upper is not None and ref.lower() == "%~dp0":
            out.append(file_dir.rstrip("\\/") + "\\" if file_dir else "")
        elif upper is not None and ref.endswith("%") and len(ref) > 2 and ":" not in ref:
            out.append(upper.get(ref[1:-1].upper(), ""))
        else:
            exact = False  # no variables, or %1, %*, %~nx0, %VAR:a=b%: not modelled
            out.append(ref)
    return "".join(out), exact


class Statement(object):
    """One logical line: physical lines ``first``..``last``; ``raw`` their joined text (percent signs as written);
    ``kind``: 'set', 'call' (this folder's webui.bat), 'comment', 'dead' (the BOM line), 'blank' or 'other'."""

    __slots__ = ("first", "last", "raw", "kind", "set", "depth", "clean_end")

    def __init__(self, first, last, raw, kind, parsed=None, depth=0, clean_end=True):
        self.first = first
        self.last = last
        self.raw = raw
        self.kind = kind
        self.set = parsed
        self.depth = depth
        self.clean_end = clean_end


def _join(texts, i):
    """(last index, joined raw text) of the logical line starting at physical line ``i``."""
    joined = texts[i]
    while ends_with_caret(joined) and not _COMMENT_RE.match(joined) and i + 1 < len(texts):
        i += 1
        nxt = texts[i]
        joined = joined[:-1] + ("^" + nxt if nxt else "^")  # the first character of the next line is taken literally
    return i, joined


def _parse_with(raw, variables, file_dir, delayed):
    """parse_set on a logical line, with %VAR% expanded from ``variables`` (None: references make it inexact)."""
    if variables is None:
        return parse_set(raw, delayed)
    text, exact = expand_percent(raw, variables, file_dir)
    parsed = parse_set(text.replace("%", "%%"), delayed)
    if parsed is not None and not exact:
        parsed.exact = False
    return parsed


def statements(texts, variables=None, file_dir="", bom=False, delayed=False):
    """The logical lines of a batch file in order, as cmd runs them top to bottom.

    ``variables`` (a dict, changed in place): set lines are applied to it as they come (``set X=`` deletes X) and
    %VAR% expands from it; None reads each line on its own. ``bom``: the file starts with a UTF-8 byte-order mark,
    which cmd takes as part of the first command, so that line never runs. Lines after a top-level call of webui.bat
    run only once the web UI has exited: they are listed, but not applied to ``variables``."""
    depths = block_depths(texts)
    out = []
    i = 0
    launched = False
    while i < len(texts):
        last, raw = _join(texts, i)
        depth = depths[i]
        if bom and i == 0:
            out.append(Statement(i, last, raw, "dead", depth=depth))
        elif not raw.strip():
            out.append(Statement(i, last, raw, "blank", depth=depth))
        elif is_comment(raw):
            out.append(Statement(i, last, raw, "comment", depth=depth))
        elif is_call_webui(raw):
            out.append(Statement(i, last, raw, "call", depth=depth))
            launched = launched or depth == 0
        else:
            delayed = delayed or enables_delayed(raw)
            parsed = _parse_with(raw, variables, file_dir, delayed)
            kind = "set" if parsed is not None else "other"
            clean = not _special_phase(expand_percent(raw)[0])[1]
            out.append(Statement(i, last, raw, kind, parsed, depth, clean))
            if parsed is not None and variables is not None and not launched:
                _apply(variables, parsed)
        i = last + 1
    return out


def _apply(variables, parsed):
    for key in [k for k in variables if k.upper() == parsed.name.upper()]:
        del variables[key]
    if parsed.value != "":
        variables[parsed.name.upper()] = parsed.value
