"""Bilingual messages.

Every user-facing sentence is a ``T``: it carries English and Simplified Chinese side by side, so a message cannot
exist in one language only, and the language is chosen when the report is rendered, not when the check runs.
"""

import re


class T(object):
    """A message in English and Simplified Chinese, with named ``str.format`` arguments.

    Arguments may themselves be ``T`` objects; they are rendered in the same language.
    """

    __slots__ = ("en", "zh", "kw")

    def __init__(self, en, zh, **kw):
        if not en or not zh:
            raise ValueError("a message needs both an English and a Chinese text")
        self.en = en
        self.zh = zh
        self.kw = kw

    def render(self, lang):
        template = self.zh if lang == "zh" else self.en
        if not self.kw:
            return template
        args = dict((k, v.render(lang) if isinstance(v, T) else shown(render(v, lang))) for k, v in self.kw.items())
        return template.format(**args)

    def _key(self):
        return (self.en, self.zh, tuple(sorted((k, _hashable(v)) for k, v in self.kw.items())))

    def __eq__(self, other):
        """Value equality, so that a finding can drop advice it already holds (the same sentence from five
        unreachable repositories is said once)."""
        return isinstance(other, T) and self._key() == other._key()

    def __ne__(self, other):
        return not self == other

    def __hash__(self):
        return hash(self._key())

    def __repr__(self):
        return "T(%r)" % self.render("en")


def _hashable(value):
    if isinstance(value, (list, tuple)):
        return tuple(_hashable(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _hashable(v)) for k, v in value.items()))
    if isinstance(value, (T, str, int, float, bool, type(None))):
        return value
    return repr(value)


# C0 controls but tab and newline, DEL and C1: a value read from a user's file (a NUL in a corrupt pyvenv.cfg, an
# escape sequence, a lone CR) would otherwise reach the terminal raw, garbling or recolouring the report.
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def shown(value):
    """A plain value as the report may print it: control characters written as ``\\xNN``."""
    if isinstance(value, list):
        return [shown(v) for v in value]
    return _CONTROL_RE.sub(lambda m: "\\x%02x" % ord(m.group()), value) if isinstance(value, str) else value


def render(value, lang):
    """Render a T, a plain value or a list of them."""
    if isinstance(value, T):
        return value.render(lang)
    if isinstance(value, (list, tuple)):
        return [render(v, lang) for v in value]
    return value if isinstance(value, str) else str(value)


def join(parts, sep=T("; ", "；")):
    """A T that renders as its parts joined by a separator (itself bilingual)."""
    parts = list(parts)
    keys = ["p%d" % i for i in range(len(parts))]
    kw = dict(zip(keys, parts))
    kw["_sep"] = sep
    en = "{_sep}".join("{%s}" % k for k in keys) or " "
    return T(en, en, **kw)


def render_tree(value, lang):
    """Render every T inside nested dicts/lists (for the JSON document)."""
    if isinstance(value, T):
        return value.render(lang)
    if isinstance(value, dict):
        return dict((k, render_tree(v, lang)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [render_tree(v, lang) for v in value]
    return value
