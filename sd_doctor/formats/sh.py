"""Reading and writing the assignments of ``webui-user.sh`` (sourced by webui.sh with bash, webui-facts.md §3)."""

import re
import shlex

_ASSIGN_RE = re.compile(r"^(?P<indent>[ \t]*)(?P<export>export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$",
                        re.S)  # a value in quotes may span lines
_COMMENTED_RE = re.compile(r"^[ \t]*#+[ \t]*(?:export[ \t]+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=")

# What webui.sh itself reads as shell variables; every other name reaches launch.py only when exported.
SHELL_ONLY = ("python_cmd", "venv_dir", "install_dir", "clone_dir", "LAUNCH_SCRIPT", "use_venv")
# Names a child of webui.sh reads (launch.py, pip, git, requests, the ROCm runtime): they work only exported.
EXPORTED = ("COMMANDLINE_ARGS", "NO_PROXY", "no_proxy", "STABLE_DIFFUSION_REPO", "GIT", "TORCH_COMMAND",
            "TORCH_INDEX_URL", "INDEX_URL", "HF_ENDPOINT", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy",
            "ALL_PROXY", "all_proxy", "PIP_PROXY", "PIP_INDEX_URL", "PIP_EXTRA_INDEX_URL", "PIP_CERT",
            "REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "HSA_OVERRIDE_GFX_VERSION")


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
    parts = _words(raw)
    if parts is None:
        parts, exact = [raw], False
    if len(parts) > 1:
        exact = False  # a second word: not a plain assignment we can reproduce
    value = parts[0] if parts else ""
    return Assignment(match.group("name"), value, exact, match.group("indent"), bool(match.group("export")))


def _words(raw):
    """bash's words of ``raw`` (quotes removed, comment cut), or None for an unclosed quote. By hand, since Python's
    shlex differs from bash where it matters here: inside double quotes bash's backslash also escapes ``$`` and a
    backquote, and bash splits words at blanks only, so a CR is part of a word."""
    text, words, word, started, i = _without_comment(raw), [], [], False, 0
    while i < len(text):
        ch = text[i]
        if ch in " \t\n":
            if started:
                words.append("".join(word))
            word, started = [], False
        elif ch == "\\":
            if i + 1 == len(text):  # the file's last byte: bash keeps it
                word.append(ch)
            elif text[i + 1] != "\n":  # backslash-newline joins lines: nothing is left of it
                word.append(text[i + 1])
            started, i = True, i + 1
        elif ch in "'\"":
            end = _closing_quote(text, i)
            if end < 0:
                return None
            word.append(_quoted_text(text[i + 1:end], ch))
            started, i = True, end
        else:
            word.append(ch)
            started = True
        i += 1
    if started:
        words.append("".join(word))
    return words


def _closing_quote(text, start):
    """Where the quote opened at ``start`` closes, or -1; a backslash escapes only inside double quotes."""
    i = start + 1
    while i < len(text):
        if text[i] == text[start]:
            return i
        i += 2 if text[start] == '"' and text[i] == "\\" else 1
    return -1


def _quoted_text(inner, quote):
    """The text of a quoted part: single quotes keep everything; in double quotes a backslash drops before one of
    $ ` " \\ (and with a newline, both go)."""
    if quote == "'":
        return inner
    return re.sub(r'\\([$`"\\\n])', lambda m: "" if m.group(1) == "\n" else m.group(1), inner)


def _more_assignments(st, parsed):
    """The other words of ``NAME=v W2 W3`` as bash runs them: ``export`` assigns each ``N=v`` word and exports each
    name; without ``export`` all words must be assignments, else they only set the command's environment (None)."""
    words = _words(_ASSIGN_ANY_RE.match(st.raw).group("value")) or []
    pairs = []
    for word in words[1:]:
        name, eq, value = word.partition("=")
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", name) or not (eq or parsed.export):
            return None if not parsed.export else pairs
        pairs.append((name, value if eq else None))
    return pairs


def _without_comment(raw):
    """``raw`` (a value, after ``=``) up to bash's comment: a ``#`` after an unquoted, unescaped blank; ``a#b`` and
    ``a\\ #b`` are one word to bash, although Python's shlex would cut them."""
    i, quoted, blank = 0, None, False
    while i < len(raw):
        ch = raw[i]
        if quoted == "'":
            quoted = None if ch == "'" else quoted
        elif ch == "\\":
            i += 1
        elif quoted == '"':
            quoted = None if ch == '"' else quoted
        elif ch in "'\"":
            quoted = ch
        elif ch == "#" and blank:
            return raw[:i]
        blank = quoted is None and ch in " \t"
        i += 1
    return raw


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
    """One logical line (physical lines ``first``..``last``, joined where a line ends in ``\\`` or a quote is still
    open). ``kind``: 'assign', 'dead' (the line a BOM starts), 'other'; ``unclosed``: a quote never closed."""

    __slots__ = ("first", "last", "raw", "kind", "assign", "op", "unclosed")

    def __init__(self, first, last, raw, kind, assign=None, op="="):
        self.first, self.last, self.raw, self.kind, self.assign, self.op = first, last, raw, kind, assign, op
        self.unclosed = False


def _line_end(text, quoted):
    """(quote still open at the end of the physical line ``text`` or None, True when it ends in a backslash that
    joins the next line), ``quoted`` being the quote open at its start. A ``#`` that starts a word outside quotes
    comments out the rest: a backslash there joins nothing."""
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if quoted == "'":
            quoted = None if ch == "'" else quoted
        elif ch == "\\":
            if i + 1 == n:
                return quoted, True  # backslash-newline: removed by bash, inside double quotes too
            i += 1
        elif quoted == '"':
            quoted = None if ch == '"' else quoted
        elif ch in "'\"":
            quoted = ch
        elif ch == "#" and (i == 0 or text[i - 1] in " \t;&|()<>"):
            return None, False
        i += 1
    return quoted, False


def logical_lines(lines):
    """(first, last, joined text, unclosed) for each command line of a sourced file, as bash's reader joins them:
    a trailing backslash (outside single quotes and comments) joins the next line without the newline; an open
    quote continues on the next line with the newline kept."""
    out = []
    i = 0
    while i < len(lines):
        first, raw = i, lines[i]
        quoted, join = _line_end(raw, None)
        while (join or quoted) and i + 1 < len(lines):
            i += 1
            raw = (raw[:-1] if join else raw + "\n") + lines[i]
            quoted, join = _line_end(lines[i], quoted)
        out.append((first, i, raw, bool(quoted)))
        i += 1
    return out


def statements(text, variables=None, exported=None, bom=False):
    """Logical lines of a sourced file, applied in order to ``variables`` (dict) when given. ``\\r`` stays part of
    the line (bash reads it as a character of the last word); ``exported``: a set of exported names, extended by
    ``export`` lines."""
    lines = text.split("\n") if isinstance(text, str) else list(text)
    out = []
    for first, last, raw, unclosed in logical_lines(lines):
        st = Statement(first, last, raw, "other")
        st.unclosed = unclosed
        if bom and first == 0:
            st.kind = "dead"
        else:
            _read_statement(st, variables, exported)
        out.append(st)
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
    more = [] if parsed.exact else _more_assignments(st, parsed)
    if more is None:
        return  # NAME=v command ...: the value is only in that command's environment
    value = parsed.value if parsed.exact else _VAR_RE.sub(lambda m: variables.get(m.group(1), ""), parsed.value)
    if st.op == "+=":
        value = variables.get(parsed.name, "") + value
    # a CR before the line end is in the value already: bash splits words at blanks only
    for name, other in [(parsed.name, value)] + more:
        if other is not None:
            variables[name] = other
        if exported is not None and parsed.export:
            exported.add(name)


# -- what the writer may replace -------------------------------------------------------------------------------------

def rewrite_blocker(st):
    """Why the assignment ``st`` may not be replaced by a plain ``[export ]NAME=value`` line (that would drop what
    else the line does), as a key of _blockers(), or None. A trailing ``# comment`` is no obstacle: the writer keeps it."""
    if st.unclosed:
        return "unclosed"
    raw = st.raw
    match = _ASSIGN_ANY_RE.match(raw)
    i, n, quoted, blank = (match.start("value") if match else 0), len(raw), None, False
    while i < n:
        ch = raw[i]
        if quoted == "'":
            quoted = None if ch == "'" else quoted
        elif ch == "\\":
            i += 1
        elif ch == "`" or raw.startswith("$(", i):
            return "command"
        elif quoted == '"':
            quoted = None if ch == '"' else quoted
        elif ch in " \t":
            blank = True
        elif ch == "#" and blank:
            return None
        elif ch in ";&|<>()":
            return "command"
        elif blank:
            return "words"
        elif ch in "'\"":
            quoted = ch
        i += 1
    return None


def _blockers():
    from sd_doctor.core.text import T

    return {
        "unclosed": T("a quote there is never closed", "其中有未闭合的引号"),
        "command": T("it also runs a command", "它还会执行别的命令"),
        "words": T("another word follows the value, which bash runs as a command", "值后面还有别的词，bash 会把它当作命令执行"),
    }


def refuse_rewrite(merge, name, st, wanted):
    """True when the writer must not replace ``st`` by the line ``wanted``; the finding that says why and what to
    write by hand goes to ``merge.warnings`` (``merge.name``: the file's name); the launcher keeps what it had."""
    blocker = rewrite_blocker(st)
    if blocker is not None:
        merge.warnings.append(_not_rewritten(name, merge.name, st, blocker, wanted))
    return blocker is not None


def _not_rewritten(name, file_name, st, blocker, wanted):
    from sd_doctor.core.text import T

    return T("{n} is not written: line {l} of {f} ({t}) does more than set {n} ({r}), and replacing it would drop the "
             "rest. Change it by hand so that it sets: {w}",
             "未写入 {n}：{f} 第 {l} 行（{t}）不只是设置 {n}（{r}），替换它会丢掉其余部分。请手动修改，使它设置为：{w}",
             n=name, l=st.first + 1, f=file_name, t=st.raw.strip(), r=_blockers()[blocker], w=wanted)


def unexported_findings(owned, exported, file_name):
    """A finding for each variable launch.py reads (COMMANDLINE_ARGS, ...) that the file sets (``owned``: {name:
    Statement}) but nobody exports (``exported``: the names exported by the environment or the file)."""
    return [_not_exported(name, file_name, st.assign.value) for name, st in sorted(owned.items())
            if name in EXPORTED and name not in exported]


def _not_exported(name, file_name, value):
    from sd_doctor.core.text import T

    return T("{n} is set in {f} without export ({n}={v}): webui.sh sources the file but never exports {n}, so "
             "launch.py does not get it. sd-doctor plans from what launch.py gets; where --fix rewrites that line it "
             "writes export.",
             "{f} 中设置了 {n} 但没有 export（{n}={v}）：webui.sh 会读取该文件，但从不 export {n}，所以 launch.py 收不到"
             "它。sd-doctor 按 launch.py 实际收到的值来规划；--fix 改写这一行时会加上 export。",
             n=name, f=file_name, v=value)
