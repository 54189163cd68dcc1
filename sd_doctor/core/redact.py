"""Credentials never leave the process: every string that is printed passes through ``redact``."""

import re

# scheme://user:password@host or scheme://token@host
_URL_USERINFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<userinfo>[^/\s@'\"]+)@")


def redact(text):
    if not isinstance(text, str) or "@" not in text:
        return text
    return _URL_USERINFO.sub(lambda m: m.group("scheme") + "***@", text)


def redact_tree(value):
    """Redact every string inside nested dicts/lists."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return dict((redact_tree(k), redact_tree(v)) for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return [redact_tree(v) for v in value]
    return value
