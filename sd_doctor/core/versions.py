"""Version numbers, read with ``packaging.version`` (the parser pip itself uses), imported lazily so that
``sd-doctor --version`` stays light.

Tools print versions with noise around them ("v1.10.1-RC", "535.104.05", "git version 2.39.5.windows.1"): the
leading dotted number is taken and handed to ``packaging``; anything it cannot read is ``None``.
"""

import re

_LEADING = re.compile(r"v?(\d+(?:\.\d+)*)")


def parse(text):
    """A ``packaging.version.Version`` for the leading dotted number of ``text``, or None."""
    if text is None:
        return None
    match = _LEADING.match(str(text).strip())
    if not match:
        return None
    from packaging.version import InvalidVersion, Version

    try:
        return Version(match.group(1))
    except InvalidVersion:
        return None


def release(text, parts=None):
    """The numeric release of ``text`` as a tuple ((3, 10, 6)), cut to ``parts`` numbers; () when unreadable."""
    version = parse(text)
    if version is None:
        return ()
    numbers = tuple(version.release)
    return numbers[:parts] if parts else numbers
