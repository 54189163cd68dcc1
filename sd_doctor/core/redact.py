"""Credentials never leave the process: every string that is printed passes through ``redact`` (the only routine).

What it catches, in any text (a report line, a diff, a JSON string, an error message):
- ``scheme://user:password@host`` and ``scheme://token@host``;
- ``user:password@host`` without a scheme (``https_proxy=user:pass@127.0.0.1:3128``, pip.conf ``proxy = ...``,
  the Windows registry's ``http=user:pass@host:8080;https=...``);
- passwords holding ``@``, ``:``, ``/``, ``;``, ``=`` or URL escapes (``%40``): the user-info runs up to the LAST ``@``
  before the host, so nothing of it is left.
A plain ``name@host`` without a scheme and without a password (``git@github.com``) is left as it is.
"""

import re

# Text is cut into words at whitespace and quotes; a credential never spans them (a URL cannot hold them raw).
_WORDS = re.compile(r"""(\s+|["'<>`])""")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://")
# Where an unschemed value starts inside a word: after ``NAME=`` (also after ``;`` in registry lists, ``-`` in diffs).
_ASSIGN = re.compile(r"(?:^|(?<=[^A-Za-z0-9_.]))[A-Za-z_][A-Za-z0-9_.-]*=")
_HOST_START = re.compile(r"[A-Za-z0-9\[]")
MASK = "***"


def redact(text):
    if not isinstance(text, str) or "@" not in text:
        return text
    parts = _WORDS.split(text)
    return "".join(_redact_word(p) if "@" in p else p for p in parts)


def _last_host_at(word, start, end):
    """The position of the last ``@`` in word[start:end] that is followed by a host, or -1."""
    at = word.rfind("@", start, end)
    while at >= 0:
        if at + 1 < len(word) and _HOST_START.match(word, at + 1):
            return at
        at = word.rfind("@", start, at)
    return -1


def _redact_word(word):
    schemes = [m.end() for m in _SCHEME.finditer(word)]
    if schemes:
        # Each URL's user-info runs from its '://' to the last '@' before the next URL.
        bounds = schemes + [len(word)]
        out = [word[:schemes[0]]]
        for start, end in zip(bounds, bounds[1:]):
            nxt = word[start:end]
            at = _last_host_at(word, start, end)
            if at < 0:
                at = word.rfind("@", start, end)  # 'scheme://user:pass@' cut off before its host
            if at > start:
                nxt = MASK + word[at:end]
            out.append(nxt)
        # The text before the first scheme may itself hold an unschemed credential.
        out[0] = _redact_unschemed(out[0])
        return "".join(out)
    return _redact_unschemed(word)


def _redact_unschemed(word):
    starts = sorted(set([0] + [m.end() for m in _ASSIGN.finditer(word)]))
    bounds = starts + [len(word)]
    out = []
    pending = None  # an interval with ':' and no '@' yet: a password may hold ';NAME=', so it joins the next one
    for start, end in zip(bounds, bounds[1:]):
        begin = start if pending is None else pending
        at = _last_host_at(word, begin, end)
        if at > begin and ":" in word[begin:at]:
            out.append(MASK + word[at:end])
            pending = None
        elif at < 0 and ":" in word[begin:end] and end < len(word):
            pending = begin
        else:
            out.append(word[begin:end])
            pending = None
    if pending is not None:
        out.append(word[pending:])
    return "".join(out)


def redact_tree(value):
    """Redact every string inside nested dicts/lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return dict((redact_tree(k), redact_tree(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value
