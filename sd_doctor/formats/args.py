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


def _unquoted_backslash_split(value):
    """shlex's reading, except that a backslash outside quotes is a literal character (a Windows path separator).
    Inside double quotes a backslash still escapes only ``\\`` and ``"``, as shlex does. None when quotes do not
    close."""
    tokens, current, in_token, quote_char = [], [], False, None
    i = 0
    while i < len(value):
        ch = value[i]
        if quote_char is None:
            if ch in " \t\r\n":
                if in_token:
                    tokens.append("".join(current))
                    current, in_token = [], False
            elif ch in "\"'":
                quote_char, in_token = ch, True
            else:
                current.append(ch)
                in_token = True
        elif quote_char == "'":
            if ch == "'":
                quote_char = None
            else:
                current.append(ch)
        elif ch == '"':
            quote_char = None
        elif ch == "\\" and i + 1 < len(value) and value[i + 1] in '"\\':
            current.append(value[i + 1])
            i += 1
        else:
            current.append(ch)
        i += 1
    if quote_char is not None:
        return None
    if in_token:
        tokens.append("".join(current))
    return tokens


def windows_repair(value):
    """For a value with Windows paths the web UI would mangle: (tokens the web UI gets, or None when it cannot split
    the value at all, and the tokens the user meant). None when nothing needs repair.

    Two cases: a backslash outside quotes (``--ckpt-dir C:\\models`` arrives as ``C:models``), and a value shlex
    cannot split, typically a path ending in a backslash before its closing quote (``"D:\\models\\"``, #15025),
    which is read with every backslash literal."""
    posix = split(value)
    if posix is None:
        literal = literal_split(value)
        return (None, literal) if literal is not None else None
    meant = _unquoted_backslash_split(value)
    if meant is None or meant == posix:
        return None
    return posix, meant


def meant_tokens(value, windows):
    """The tokens the user meant by COMMANDLINE_ARGS ``value``: what the web UI splits, or on Windows the repaired
    split of a value with unquoted backslashes or a ``\\"`` before its closing quote (#15025), which --fix writes
    back quoted. None when it cannot be split at all."""
    repair = windows_repair(value) if windows else None
    return repair[1] if repair is not None else split(value)


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
