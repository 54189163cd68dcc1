"""COMMANDLINE_ARGS as the web UI reads it: ``shlex.split(value)`` with POSIX rules (webui-facts.md §1).

``join`` quotes a token list so that ``shlex.split`` gives it back exactly, keeping Windows paths readable
(``--ckpt-dir "D:\\my models"``); ``literal_split`` reads a value the way a Windows user meant it (backslashes are
path separators, not escapes), which is how unquoted Windows paths are found and repaired.
"""

import shlex

_NEEDS_QUOTES = set(" \t\n\r\x0b\x0c'\"\\")


class BadArgs(ValueError):
    pass


def _double_quoted(token):
    """``"token"`` for shlex: inside double quotes a backslash only escapes ``\\`` and ``"``, so only a backslash
    before another backslash, a quote or the closing quote needs doubling."""
    out = []
    for i, ch in enumerate(token):
        if ch == '"':
            out.append('\\"')
        elif ch == "\\":
            nxt = token[i + 1] if i + 1 < len(token) else '"'
            out.append("\\\\" if nxt in ('"', "\\") else "\\")
        else:
            out.append(ch)
    return '"%s"' % "".join(out)


def quote(token):
    if token and not (_NEEDS_QUOTES & set(token)):
        return token
    if '"' in token and "'" not in token and "\\" not in token:
        return "'%s'" % token
    return _double_quoted(token)


def join(tokens):
    """A COMMANDLINE_ARGS value that ``shlex.split`` turns back into exactly ``tokens``."""
    value = " ".join(quote(t) for t in tokens)
    if split(value) != list(tokens):  # the web UI's own reading decides
        raise BadArgs("cannot quote %r" % (tokens,))
    return value


def split(value):
    """The tokens the web UI gets, or None when it cannot split the value ("No closing quotation")."""
    try:
        return shlex.split(value)
    except ValueError:
        return None


def literal_split(value):
    """Tokens as a Windows user meant them: quotes group, backslashes are literal. None when quotes do not close."""
    lexer = shlex.shlex(value, posix=True)
    lexer.whitespace_split = True
    lexer.commenters = ""
    lexer.escape = ""
    try:
        return list(lexer)
    except ValueError:
        return None


def windows_repair(value):
    """For a value with unquoted Windows paths: (tokens the web UI gets or None, tokens the user meant).
    None when the value reads the same both ways."""
    posix = split(value)
    literal = literal_split(value)
    if literal is None or literal == posix:
        return None
    return posix, literal


def set_flag(tokens, flag, value):
    """``tokens`` with ``flag value`` replacing any ``flag X`` / ``flag=X`` (appended when absent)."""
    out = []
    i = 0
    placed = False
    while i < len(tokens):
        tok = tokens[i]
        if tok == flag:
            if not placed:
                out.extend([flag, value])
                placed = True
            i += 2
            continue
        if tok.startswith(flag + "="):
            if not placed:
                out.extend([flag, value])
                placed = True
            i += 1
            continue
        out.append(tok)
        i += 1
    if not placed:
        out.extend([flag, value])
    return out
