"""Merging wanted values into a settings file: only the ``set NAME=`` / ``NAME=`` lines sd-doctor owns change, read as
cmd (formats/bat.py ``statements``) or bash (formats/sh.py ``statements``) read them; every other byte stays."""

import codecs
import os

from sd_doctor.formats import bat as batfile
from sd_doctor.formats import sh as shfile
from sd_doctor.core.text import T
from sd_doctor.formats.textfile import UnreadableText, decode_bytes
from sd_doctor.launcher.target import SETTINGS_BAT, USER_BAT
from sd_doctor.write.doc import MAX_SETTINGS_BYTES, _codec

# -- merging --------------------------------------------------------------------------------------------------------

class Merge(object):
    def __init__(self, doc, dialect, name):
        self.doc = doc
        self.dialect = dialect
        self.name = name
        self.edits = {}  # index -> new text
        self.inserts = []  # (index, order, text)
        self.changed_names = []
        self.problems = []
        self.warnings = []
        self.refused = []  # names whose value the file cannot hold (a finding; the rest is written)
        self.deletes = set()  # physical lines removed (the continuation lines of a rewritten logical line)
        self.drop_bom = False
        self.to_lf = False


def _effective(ctx, name, dialect):
    variables = ctx.launch.get("variables", {})
    if dialect == "bat":
        return variables.get(name.upper())
    return variables.get(name)


def short_path(value):
    """The 8.3 short form of an existing Windows path (GetShortPathNameW) when it is ASCII-only and differs, else
    None (not Windows, no short names on that drive, or the path does not exist)."""
    path = value.strip('"')
    if os.name != "nt" or not os.path.exists(path):
        return None
    try:
        import ctypes

        buf = ctypes.create_unicode_buffer(1024)
        size = ctypes.windll.kernel32.GetShortPathNameW(path, buf, 1024)
    except (AttributeError, OSError, ValueError):
        return None
    short = buf.value if 0 < size < 1024 else ""
    return short if short and short != path and all(ord(c) < 128 for c in short) else None


def _refuse_unencodable(merge, name, value):
    """Refuse this one value (the rest is still written): a finding with the reason and the ASCII-safe way out."""
    doc = merge.doc
    short = short_path(value) if merge.dialect == "bat" and value else None
    if short:
        merge.warnings.append(T("{n} is not written: its value has characters that {f} ({e}) cannot hold. Its 8.3 short "
                                "name is ASCII-only and names the same file: set {n}={s} (or move Python to a folder "
                                "such as C:\\Python310).",
                                "{n} 未写入：它的值含有 {f}（{e} 编码）无法保存的字符。它的 8.3 短路径只含 ASCII，指向同一个文件："
                                "set {n}={s}（或把 Python 移到 C:\\Python310 这样的文件夹）。",
                                n=name, f=merge.name, e=doc.encoding, s=short))
    else:
        merge.warnings.append(T("{n} is not written: its value has characters that {f} ({e}) cannot hold. Use an "
                                "ASCII-only path instead: the 8.3 short name (dir /x shows it, e.g. C:\\PROGRA~1\\...) "
                                "where the drive has short names, or move Python to a folder such as C:\\Python310.",
                                "{n} 未写入：它的值含有 {f}（{e} 编码）无法保存的字符。请改用只含 ASCII 的路径：驱动器支持短文件名时"
                                "用 8.3 短路径（dir /x 可以看到，例如 C:\\PROGRA~1\\...），或把 Python 移到 C:\\Python310 这样的文件夹。",
                                n=name, f=merge.name, e=doc.encoding))
    merge.refused.append(name)


def _new_line_encodable(merge, text, name, value=None):
    """Check that ``text`` can be stored in the file's encoding and read back as written. Returns True when so."""
    doc = merge.doc
    try:
        text.encode(doc.encoding)
    except UnicodeEncodeError:
        _refuse_unencodable(merge, name, value)
        return False
    if merge.dialect == "bat" and any(ord(c) > 127 for c in text) and merge.oem and _codec(doc.encoding) != merge.oem:
        merge.problems.append(T("{n}: cmd reads {f} in code page {o}, but the file is saved as {e}; a value with "
                                "non-ASCII characters would arrive garbled.",
                                "{n}：cmd 以代码页 {o} 读取 {f}，但该文件以 {e} 保存；含非 ASCII 字符的值会变成乱码。",
                                n=name, f=merge.name, o=merge.oem, e=doc.encoding))
        return False
    return True


def _bat_variables(ctx, target_name):
    """The variables as they stand when cmd starts reading the target file (for %VAR% in its lines)."""
    from sd_doctor.launcher import settings as launch_settings

    variables = dict((k.upper(), v) for k, v in ctx.environ.items())
    user = os.path.join(ctx.webui_dir, USER_BAT)
    if target_name == SETTINGS_BAT and os.path.isfile(user):
        try:
            with open(user, "rb") as fh:
                data = fh.read(MAX_SETTINGS_BYTES)
            launch_settings.parse_bat(decode_bytes(data)[0], ctx.webui_dir, variables, bom=data.startswith(codecs.BOM_UTF8))
        except (OSError, UnreadableText):
            pass
    return variables


def _comment_out_calls(merge, sts):
    for st in sts:
        merge.edits[st.first] = "rem " + merge.doc.texts[st.first] + "  (sd-doctor: webui.bat calls this file; calling it back loops, #14557)"
        merge.warnings.append(T("{f} runs webui.bat ({l}), which calls {f} again and again (#14557); sd-doctor turns "
                                "that line into a comment.",
                                "{f} 运行了 webui.bat（{l}），而 webui.bat 又会调用 {f}，无限循环（#14557）；sd-doctor 把这一行改为注释。",
                                f=merge.name, l=st.raw.strip()))


def _after_call(merge, late, top):
    """``set`` lines after ``call webui.bat``: cmd runs them only once the web UI has exited (issue 16)."""
    for st in late:
        merge.warnings.append(T("{f} sets {n} after \"{c}\" (line {l}): cmd runs that line only after the web UI has "
                                "exited, so the web UI never sees it. Move it above the call; sd-doctor writes its own "
                                "lines there.",
                                "{f} 在 \"{c}\" 之后设置 {n}（第 {l} 行）：cmd 要等 web UI 退出后才执行这一行，web UI "
                                "永远看不到它。请把它移到这次调用之前；sd-doctor 也把自己的设置写在那里。",
                                f=merge.name, n=st.set.name, c=top[0].raw.strip(), l=st.first + 1))


def _bat_scan(merge, variables=None, file_dir=""):
    """(owned {NAME: (Statement, SetLine)}, anchor line, delayed) over cmd's logical lines (the file as it will be
    written: without its BOM)."""
    texts = merge.doc.texts
    sts = batfile.statements(texts, variables, file_dir)
    calls = [st for st in sts if st.kind == "call"]
    limit = len(texts)
    if merge.name == SETTINGS_BAT:
        _comment_out_calls(merge, calls)  # webui.bat calls this file: calling webui.bat back loops forever
    else:
        top = [st for st in calls if st.depth == 0]
        limit = top[0].first if top else limit
        _after_call(merge, [st for st in sts if st.first > limit and st.kind == "set"], top)
    delayed = any(batfile.enables_delayed(t) for t in texts[:limit])
    owned = {}
    last_set = None
    for st in sts:
        if st.first >= limit or st.kind != "set" or st.depth != 0 or st.first in merge.edits:
            continue
        last_set = st.last
        owned[st.set.name.upper()] = (st, st.set)
    if last_set is not None:
        anchor = last_set + 1
    else:
        anchor = limit
        while anchor > 0 and limit < len(texts) and not texts[anchor - 1].strip():
            anchor -= 1  # keep the blank line that stands before "call webui.bat"
    return owned, _safe_anchor(sts, texts, anchor), delayed


def _safe_anchor(sts, texts, anchor):
    """The insert position moved up until a new line there is a statement of its own: never inside a ( ... ) block,
    never inside a ``^``-continued logical line, never right after a line whose ``^`` would join it."""
    depth_at = batfile.block_depths(texts + ["rem"])
    moved = True
    while moved:
        moved = False
        while anchor > 0 and depth_at[anchor] > 0:
            anchor -= 1  # never inside a ( ... ) block: go before the line that opens it
            moved = True
        for st in sts:
            joins = st.last == anchor - 1 and st.kind != "comment" and batfile.ends_with_caret(texts[st.last])
            if st.first < anchor <= st.last or (joins and st.first < anchor):
                anchor = st.first
                moved = True
    return anchor


def _sh_scan(merge):
    """(owned {name: (Statement, Assignment, in effect)}, anchors) over bash's logical lines, in order: the last
    assignment of a name is the one to rewrite; ``in effect`` is the value launch.py gets (exported or shell-only)."""
    owned = {}
    anchors = {}
    variables, exported = dict(merge.environ), set(merge.environ)  # as webui.sh starts: += and $VAR see these
    for st in shfile.statements(merge.doc.texts, variables, exported):
        if st.kind == "assign":
            owned[st.assign.name] = st
            continue
        name = shfile.commented_name(st.raw)
        if name:
            anchors[name] = st.last + 1
    merge.warnings.extend(shfile.unexported_findings(owned, exported, merge.name))
    live = lambda name: name in exported or name in shfile.SHELL_ONLY
    return dict((n, (st, st.assign, variables.get(n) if live(n) else None)) for n, st in owned.items()), anchors


def _sh_comment(raw):
    """The user's trailing ``# comment`` of a line (with the blanks before it), or ''."""
    quoted = None
    for i, ch in enumerate(raw):
        if quoted:
            if ch == quoted:
                quoted = None
        elif ch in "'\"":
            quoted = ch
        elif ch == "#" and i > 0 and raw[i - 1] in " \t":
            j = i
            while j > 0 and raw[j - 1] in " \t":
                j -= 1
            return raw[j:]
    return ""


def _current(ctx, merge, name, hit):
    """(value the launcher sees now, the file's own value for the COMMANDLINE_ARGS plan)."""
    if merge.dialect == "sh":
        if hit is None:
            current = _effective(ctx, name, "sh")
            return current, current
        return hit[2], hit[1].value  # hit[2] None: set without export, launch.py never sees it
    if hit is not None and hit[1].exact:
        return hit[1].value, hit[1].value
    current = _effective(ctx, name, "bat")
    return current, current


def _unchanged(dialect, name, current, value):
    if dialect == "bat":
        return (current or "") == value
    return current == value or (current is None and value == "" and name not in ("venv_dir",))


def _line_for(merge, name, value, delayed):
    try:
        if merge.dialect == "bat":
            return batfile.set_line(name, value, delayed)
        return shfile.assignment_line(name, value)
    except (batfile.UnsafeValue, shfile.UnsafeValue) as exc:
        merge.problems.append(T("{n}={v} cannot be written safely: {e}.", "{n}={v} 无法安全写入：{e}。",
                                n=name, v=value.encode("unicode_escape").decode("ascii"), e=str(exc)))
        return None


def _rewrite(merge, hit, line):
    """Replace a logical line (all its physical lines) with ``line``; a bash line keeps the user's # comment."""
    st = hit[0]
    parsed = hit[1]
    if merge.dialect == "bat":
        merge.edits[st.first] = parsed.indent + parsed.at + line
    else:
        export = "export " if parsed.export and not line.startswith("export ") else ""
        merge.edits[st.first] = parsed.indent + export + line + _sh_comment(st.raw)
    merge.deletes.update(range(st.first + 1, st.last + 1))


def merge_values(ctx, doc, target, values, oem=None):
    """Plan the edits that make the launcher see ``values`` ([(name, value)]); a value already seen is left alone.

    ``values`` may hold ``COMMANDLINE_ARGS`` as a callable(current raw value) -> value or None (no change).
    """
    merge = Merge(doc, target.dialect, target.name)
    merge.oem = oem
    merge.environ = ctx.environ
    _encoding_repairs(merge)
    if target.dialect == "bat":
        owned, anchor, delayed = _bat_scan(merge, _bat_variables(ctx, target.name), ctx.webui_dir)
        anchors = {}
    else:
        owned, anchors = _sh_scan(merge)
        anchor, delayed = len(doc.texts), False
    order = 0
    for name, value in values:
        hit = owned.get(name.upper() if target.dialect == "bat" else name)
        current, raw = _current(ctx, merge, name, hit)
        if callable(value):
            value = value(raw if raw is not None else "")
            if value is None and not (hit is not None and current != raw):
                continue
            value = raw if value is None else value  # the file's value is right, but it does not reach the launcher
        if _unchanged(target.dialect, name, current, value):
            continue
        line = _line_for(merge, name, value, delayed)
        if line is None or not _new_line_encodable(merge, line, name, value):
            continue
        if hit is not None and target.dialect == "sh" and shfile.refuse_rewrite(merge, name, hit[0], line):
            continue  # the line does more than the assignment: a finding, not a rewrite
        merge.changed_names.append(name)
        if hit is not None:
            _rewrite(merge, hit, line)
        else:
            merge.inserts.append((anchors.get(name, anchor), order, line))
            order += 1
    return merge


def _encoding_repairs(merge):
    """A BOM (cmd and bash run the first line with it as part of the command, so that line is dead) and, for bash,
    CRLF line ends (bash reads the CR as the last character of each value): both are dropped by the rewrite."""
    doc = merge.doc
    if doc.bom:
        merge.drop_bom = True
        merge.warnings.append(T("{f} starts with a UTF-8 byte-order mark: {s} takes it as part of the first command, so "
                                "the first line never runs. --fix removes the mark.",
                                "{f} 以 UTF-8 字节顺序标记（BOM）开头：{s} 把它当作第一条命令的一部分，所以第一行永远不会执行。"
                                "--fix 会删除这个标记。", f=merge.name, s="cmd" if merge.dialect == "bat" else "bash"))
    if merge.dialect == "sh" and shfile.cr_line_ends(doc.lines):
        merge.to_lf = True
        merge.warnings.append(T("{f} has Windows (CRLF) line ends: bash reads the CR as part of each value "
                                "(python_cmd=python3 becomes python3\\r). --fix writes LF line ends.",
                                "{f} 使用 Windows（CRLF）换行：bash 会把 CR 当作每个值的一部分（python_cmd=python3 变成 "
                                "python3\\r）。--fix 会改为 LF 换行。", f=merge.name))


def apply_merge(merge):
    """The new bytes of the file (the Doc is not modified)."""
    doc = merge.doc
    lines = [list(line) for line in doc.lines]
    for i in sorted(merge.deletes, reverse=True):
        del lines[i]
        merge.edits = dict((k - 1 if k > i else k, v) for k, v in merge.edits.items())
    for i, text in merge.edits.items():
        lines[i][0] = text.encode(doc.encoding)
    if merge.to_lf:  # after the edits: a rewritten last line keeps the user's comment, but not the CR after it
        lines = [shfile.lf_line(content, eol) for content, eol in lines]
    eol = b"\n" if merge.to_lf else doc.eol
    inserts = sorted(merge.inserts, key=lambda item: (item[0], item[1]))
    shift = lambda at: at - len([i for i in merge.deletes if i < at])
    for at, _, text in reversed(inserts):
        at = shift(at)
        if at > 0 and at == len(lines) and not lines[-1][1]:
            lines[-1][1] = eol  # the last line had no line ending: it needs one before a new line
        lines.insert(at, [text.encode(doc.encoding), eol])
    return (b"" if merge.drop_bom else doc.bom) + b"".join(c + e for c, e in lines)
