"""The settings file as bytes and lines: which encoding cmd or bash reads it in, its BOM and line ends, the template
a missing file starts from, and the diff shown to the user."""

import codecs
import difflib
import os

from sd_doctor.write import atomic
from sd_doctor.core.text import T
from sd_doctor.formats.textfile import UnreadableText, decode_bytes


def templates_dir():
    """The folder of the shipped templates when they are plain files (tests read it); the writer itself reads them
    through ``read_template``."""
    import sd_doctor.templates

    return os.path.dirname(os.path.abspath(sd_doctor.templates.__file__))


def read_template(name):
    """A template's bytes through importlib.resources: works from a wheel, a zipapp and a frozen program alike."""
    import importlib.resources as resources

    if hasattr(resources, "files"):  # 3.9+
        return resources.files("sd_doctor.templates").joinpath(name).read_bytes()
    return resources.read_binary("sd_doctor.templates", name)  # 3.8


# -- the file -------------------------------------------------------------------------------------------------------

def _codec(name):
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def oem_codec(ctx):
    """The code page cmd reads batch files in (the console's OEM page), as a Python codec name, or None."""
    try:
        pages = ctx.host.code_pages()
    except Exception:
        pages = None
    if not pages:
        return None
    oem = pages[1]
    return "utf-8" if oem == 65001 else _codec("cp%d" % oem)


def _encodings(ctx, dialect):
    if dialect != "bat":
        import locale

        preferred = _codec(locale.getpreferredencoding(False) or "utf-8")
        return tuple(e for e in (preferred,) if e and e != "utf-8") or ("gbk",)
    out = []
    try:
        pages = ctx.host.code_pages()
    except Exception:
        pages = None
    for page in (pages or ())[::-1]:  # OEM first: that is how cmd reads the file
        codec = _codec("cp%d" % page) if page != 65001 else "utf-8"
        if codec and codec not in out and codec != "utf-8":
            out.append(codec)
    return tuple(out) or ("gbk",)


class Doc(object):
    """A text file as lines of bytes: ``lines`` = [[content bytes, eol bytes]]; ``texts`` the decoded contents."""

    def __init__(self, data, encoding, bom, ascii_only, default_eol):
        self.bom = codecs.BOM_UTF8 if bom else b""
        body = data[len(self.bom):]
        self.encoding = encoding
        self.ascii_only = ascii_only
        self.lines = []
        for part in body.split(b"\n"):
            self.lines.append([part, b"\n"])
        last = self.lines.pop()  # the text after the last \n
        if last[0]:
            self.lines.append([last[0], b""])
        for line in self.lines:
            if line[1] == b"\n" and line[0].endswith(b"\r"):
                line[0], line[1] = line[0][:-1], b"\r\n"
        eols = [eol for _, eol in self.lines if eol]
        self.eol = max(set(eols), key=eols.count) if eols else default_eol
        self.texts = [c.decode(encoding) for c, _ in self.lines]

    def to_bytes(self):
        return self.bom + b"".join(c + e for c, e in self.lines)

    def text(self):
        return self.to_bytes()[len(self.bom):].decode(self.encoding)


# Settings files are a few hundred bytes; the merge is not linear in the size, and it runs on the main thread after
# the checks' deadline, so anything larger is refused before it is parsed (an 800 KB file took 22 s).
MAX_SETTINGS_BYTES = 128 * 1024


def load_doc(data, encodings, default_eol, first=None):
    """A Doc for the bytes of a settings file; raises UnreadableText for what must not be rewritten.

    ``first``: for a batch file, the code page cmd reads it in (see read_target)."""
    if len(data) > MAX_SETTINGS_BYTES:
        raise UnreadableText("too large")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise UnreadableText("utf-16")
    text, encoding, bom = decode_bytes(data, encodings, first=first)
    if any(ord(ch) < 32 and ch not in "\t\r\n\x0c\x1a" for ch in text):
        raise UnreadableText("binary")
    ascii_only = all(b < 0x80 for b in data[3 if bom else 0:])
    return Doc(data, encoding, bom, ascii_only, default_eol)


_UNREADABLE = {
    "too large": T("it is larger than 128 KB, so it is not a settings file", "它超过 128 KB，不是设置文件"),
    "binary": T("it is not a text file", "它不是文本文件"),
    "undecodable": T("its encoding is neither UTF-8 nor this system's code page", "它的编码既不是 UTF-8 也不是本系统的代码页"),
    "utf-16": T("it is saved as UTF-16, which cmd and bash cannot read; save it as UTF-8 or ANSI",
                "它以 UTF-16 保存，cmd 和 bash 都无法读取；请另存为 UTF-8 或 ANSI"),
}


def unified_diff(name, old_text, new_text):
    old = old_text.splitlines()
    new = new_text.splitlines()
    lines = difflib.unified_diff(old, new, "a/" + name, "b/" + name, lineterm="", n=2)
    return "\n".join(lines)


def read_target(ctx, target):
    """(Snapshot, Doc or None, error T or None). A missing file becomes its template."""
    if ctx.options.fix:
        atomic.clean_leftovers(target.path)  # a killed run's temporary files, even when nothing is written now
    try:
        snap = atomic.snapshot(target.path, MAX_SETTINGS_BYTES)
    except OSError as exc:
        return None, None, T("{e}", "{e}", e=exc.strerror or str(exc))
    encodings = _encodings(ctx, target.dialect)
    oem = oem_codec(ctx) if target.dialect == "bat" else None
    if snap.exists:
        # A batch file means what cmd reads, and cmd reads it in the OEM code page whatever an editor saved: where
        # that decoding works it is the one to parse and to extend (short GBK text is often valid UTF-8 too). Other
        # lines keep their bytes either way.
        try:
            doc = load_doc(snap.data, encodings, b"\r\n" if target.dialect == "bat" else b"\n", first=oem)
        except UnreadableText as exc:
            return snap, None, _UNREADABLE.get(str(exc), T("{e}", "{e}", e=str(exc)))
        if oem and doc.ascii_only and not doc.bom:
            doc.encoding = oem  # plain ASCII reads the same in any code page; cmd reads it in the OEM one
        return snap, doc, None
    eol = b"\r\n" if target.dialect == "bat" else b"\n"
    data = read_template(target.name)
    data = eol.join(data.replace(b"\r\n", b"\n").split(b"\n"))
    doc = load_doc(data, encodings, eol)
    if target.dialect == "bat":
        oem = oem_codec(ctx)
        if oem:
            doc.encoding = oem  # a new batch file is written in the code page cmd will read it in
    return snap, doc, None
