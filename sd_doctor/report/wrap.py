"""Wrapping report lines to the console's width without breaking what the user copies.

A line breaks only at a space, or between two CJK characters. A flag, a path, a URL (any run of non-space, non-CJK
characters) is never split, and a command that follows ": " (``As administrator: reg add ... /f``) moves whole to a
line of its own when it does not fit. Lines that are commands already (the second line of an advice) are never
wrapped. CJK characters take two columns (``unicodedata.east_asian_width``).
"""

import re
import unicodedata

# Words that start a command the advice quotes inline, after ": ".
_COMMAND_WORDS = ("sudo", "reg", "git", "pip", "python", "python3", "py", "rmdir", "rm", "mv", "ren", "move",
                  "deactivate", "brew", "pyenv", "export", "set", "apt", "winget", "xcode-select", "icacls", "takeown",
                  "sd-doctor", "setx", "conda", "chmod", "chown")
_COMMAND = re.compile(r"(?<=: )((?:%s) [^()（）]*?)(?=\s*[（(]|[.;。；]?$)" % "|".join(re.escape(w) for w in _COMMAND_WORDS))
_CJK = u"\u2e80-\u9fff\uac00-\ud7af\uf900-\ufaff\uff00-\uffef\u3000-\u303f"
_TOKEN = re.compile(u"(\\s+)|([%s])|([^\\s%s]+)" % (_CJK, _CJK))
# Punctuation that must not start a line (it sticks to what stands before it).
_NO_LINE_START = set(u"，。：；、）」』！？》】,.;:)")
# ... and punctuation that must not end one (it sticks to what follows).
_NO_LINE_END = set(u"（「『《【")
_GLUE = u"\u0000"  # stands for a space inside a command while wrapping


def width(text):
    """Columns ``text`` takes on a console: East Asian wide and full-width characters count double."""
    return sum(2 if unicodedata.east_asian_width(c) in ("W", "F") else 1 for c in text
               if not unicodedata.combining(c))


def _pieces(text):
    """Units that stay whole, each with the space before it: [(space, unit)]."""
    text = _COMMAND.sub(lambda m: m.group(1).replace(" ", _GLUE), text)
    pieces, space = [], ""
    for m in _TOKEN.finditer(text):
        if m.group(1):
            space = " "
            continue
        unit = (m.group(2) or m.group(3)).replace(_GLUE, " ")
        if pieces and not space and (unit[0] in _NO_LINE_START or pieces[-1][1][-1] in _NO_LINE_END):
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + unit)
        elif pieces and not space and m.group(3) and not _is_cjk(pieces[-1][1][-1]):
            pieces[-1] = (pieces[-1][0], pieces[-1][1] + unit)
        else:
            pieces.append((space, unit))
        space = ""
    return pieces


def _is_cjk(char):
    return bool(re.match(u"[%s]" % _CJK, char))


def wrap(text, columns, first_prefix="", prefix=""):
    """``text`` as lines of at most ``columns`` (when possible), the first starting with ``first_prefix``, the
    others with ``prefix``. ``columns`` None: one line, unwrapped."""
    if columns is None:
        return [first_prefix + text]
    lines, line = [], first_prefix
    used = width(line)
    fresh = True
    for space, unit in _pieces(text):
        gap = space if not fresh else ""
        if not fresh and used + width(gap) + width(unit) > columns:
            lines.append(line)
            line, used, gap = prefix, width(prefix), ""
        line += gap + unit
        used += width(gap) + width(unit)
        fresh = False
    lines.append(line)
    return lines
