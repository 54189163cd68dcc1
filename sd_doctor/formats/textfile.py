"""Reading the user's text files (settings files, pyvenv.cfg) without guessing blindly at their encoding."""

import codecs
import errno
import os

MAX_TEXT_BYTES = 1024 * 1024  # settings files are a few hundred bytes; anything this large is not one


class UnreadableText(Exception):
    """The file is not text we can decode safely (binary, too large, or in no encoding we can prove)."""


def decode_bytes(data, fallbacks=("gbk",), first=None):
    """(text, encoding, bom) for the bytes of a text file.

    UTF-8 (with or without BOM) is tried first because a strict UTF-8 decode of non-UTF-8 text almost always fails;
    then the given code pages (the console's OEM page on Windows, GBK for the Chinese guides' files). ``first``: an
    encoding tried before UTF-8 when there is no BOM, for files whose reader uses it (cmd reads a batch file in
    the console's OEM code page, whatever an editor saved).
    """
    if b"\x00" in data and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableText("binary")
    try:
        if data.startswith(codecs.BOM_UTF8):
            return data[len(codecs.BOM_UTF8):].decode("utf-8"), "utf-8", True
        if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            return data.decode("utf-16"), "utf-16", True
    except UnicodeDecodeError:
        raise UnreadableText("undecodable")  # a byte-order mark over bytes of another encoding
    if first:
        try:
            return data.decode(first), first, False
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8"), "utf-8", False
    except UnicodeDecodeError:
        pass
    for enc in fallbacks:
        try:
            return data.decode(enc), enc, False
        except (UnicodeDecodeError, LookupError):
            continue
    raise UnreadableText("undecodable")


def open_regular(path):
    """``open(path, 'rb')`` for a regular file only: a FIFO or device (which would block forever, or never end) is
    refused with OSError before anything waits on it."""
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags)  # non-blocking: opening a FIFO without a writer returns at once
    try:
        import stat

        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise OSError(errno.EISDIR, "a folder, not a file", path)
        if not stat.S_ISREG(mode):
            raise OSError(errno.EINVAL, "not a regular file (a FIFO, socket or device)", path)
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def read_text(path, fallbacks=("gbk",)):
    """(text, encoding, bom) of a file; raises OSError or UnreadableText."""
    with open_regular(path) as fh:
        data = fh.read(MAX_TEXT_BYTES + 1)
    if len(data) > MAX_TEXT_BYTES:
        raise UnreadableText("too large")
    return decode_bytes(data, fallbacks)


def read_text_lenient(path):
    """The text of a file for reading facts only (never for rewriting): undecodable bytes become U+FFFD."""
    try:
        return read_text(path)[0]
    except UnreadableText:
        with open_regular(path) as fh:
            return fh.read(MAX_TEXT_BYTES).decode("utf-8", "replace")
