"""Reading and writing the assignments of ``webui-user.sh`` (sourced by webui.sh with bash, webui-facts.md §3)."""

import re
import shlex

_ASSIGN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<export>export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")
_COMMENTED_RE = re.compile(r"^[ \t]*#+[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")

# What webui.sh itself reads as shell variables; every other name reaches launch.py only when exported.
SHELL_ONLY = ("python_cmd", "venv_dir", "install_dir", "clone_dir", "LAUNCH_SCRIPT", "use_venv")
EXPORTED = ("COMMANDLINE_ARGS", "NO_PROXY", "no_proxy", "STABLE_DIFFUSION_REPO", "GIT", "TORCH_COMMAND",
            "TORCH_INDEX_URL", "INDEX_URL", "HF_ENDPOINT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy")


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


# -- line ends: bash ends a line at LF only ---------------------------------------------------------------------------

def cr_line_ends(lines):
    """True when a line of ``lines`` ([content bytes, eol bytes], the CR of a CRLF in eol) ends in CR, before its LF
    or at the end of the file: bash reads that CR as the last character of the line (python_cmd=python3 becomes
    ``python3\\r``). A CR inside a line is an ordinary byte to bash, not a line end, and is not reported."""
    return any(eol == b"\r\n" or content.endswith(b"\r") for content, eol in lines)


def lf_line(content, eol):
    """[content, eol] as LF: every CR at the end of the line goes (``\\r\\r\\n`` too, and a CR before the end of the
    file), so the written file has no line that ends in CR and a second pass finds nothing to convert."""
    return [content.rstrip(b"\r"), b"\n" if eol else b""]


# -- the one reader: logical lines in order, as bash sources webui-user.sh ------------------------------------------

_ASSIGN_ANY_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<export>export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?P<op>\+?=)"
                            r"(?P<value>.*)$", re.S)
_EXPORT_ONLY_RE = re.compile(r"^[ \t]*export[ \t]+(?P<names>[A-Za-z_][A-Za-z0-9_ \t]*)$")
_VAR_RE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


class Statement(object):
    """One logical line (physical lines ``first``..``last``, joined where a line ends in ``\\``). ``kind``:
    'assign', 'dead' (the line a BOM starts), 'other'."""

    __slots__ = ("first", "last", "raw", "kind", "assign", "op")

    def __init__(self, first, last, raw, kind, assign=None, op="="):
        self.first, self.last, self.raw, self.kind, self.assign, self.op = first, last, raw, kind, assign, op


def _odd_backslash_end(text):
    stripped = text.rstrip("\\")
    return (len(text) - len(stripped)) % 2 == 1 and not text.lstrip().startswith("#")


def statements(text, variables=None, exported=None, bom=False):
    """Logical lines of a sourced file, applied in order to ``variables`` (dict) when given. ``\\r`` stays part of
    the line (bash reads it as a character of the last word); ``exported``: a set of exported names, extended by
    ``export`` lines."""
    lines = text.split("\n") if isinstance(text, str) else list(text)
    out = []
    i = 0
    while i < len(lines):
        first, raw = i, lines[i]
        while _odd_backslash_end(raw) and i + 1 < len(lines):
            i += 1
            raw = raw[:-1] + lines[i]  # backslash-newline disappears, inside double quotes too
        st = Statement(first, i, raw, "other")
        if bom and first == 0:
            st.kind = "dead"
        else:
            _read_statement(st, variables, exported)
        out.append(st)
        i += 1
    return out


def _read_statement(st, variables, exported):
    only = _EXPORT_ONLY_RE.match(st.raw)
    if only and exported is not None:
        exported.update(only.group("names").split())
        return
    match = _ASSIGN_ANY_RE.match(st.raw)
    if not match:
        return
    parsed = parse_assignment(match.group("indent") + (match.group("export") or "") + match.group("name") + "="
                              + match.group("value"))
    if parsed is None:
        return
    st.kind, st.assign, st.op = "assign", parsed, match.group("op")
    if variables is None:
        return
    value = parsed.value if parsed.exact else _VAR_RE.sub(lambda m: variables.get(m.group(1), ""), parsed.value)
    if st.raw.endswith("\r") and "#" not in st.raw:
        value += "\r"  # a CRLF file: bash keeps the carriage return as the value's last character
    if st.op == "+=":
        value = variables.get(parsed.name, "") + value
    variables[parsed.name] = value
    if exported is not None and parsed.export:
        exported.add(parsed.name)
