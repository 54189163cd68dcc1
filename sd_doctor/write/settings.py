"""Merges the plan and the checks' proposals into the web UI's settings file (issue: the settings writer and --fix).

Which file (webui-facts.md §2, §3, §8): ``webui-user.bat`` for current Windows installs; ``webui.settings.bat`` where
webui.bat calls it and either an updater overwrites webui-user.bat (one-click packages), the file already exists (it
is read after webui-user.bat, so it wins), or the 2022 webui.bat calls it after hard-coding its own values;
``webui-user.sh`` on Linux and macOS.

Only the lines sd-doctor owns (``set NAME=`` / ``NAME=`` for the variables below) change; every other byte of the file
stays as it was. A line is rewritten only when the launcher would otherwise see a different value, so an empty plan
changes nothing and a second ``--fix`` changes nothing.
"""

import codecs
import difflib
import os

from sd_doctor.formats import args as argquote
from sd_doctor.write import atomic
from sd_doctor.formats import bat as batfile
from sd_doctor.formats.bat import python_value
from sd_doctor.formats import sh as shfile
from sd_doctor.core.errors import UserError
from sd_doctor.core.text import T
from sd_doctor.formats.textfile import UnreadableText, decode_bytes

from sd_doctor.launcher.target import SETTINGS_BAT, USER_BAT

# Characters webui.bat would interpret where it expands GIT or VENV_DIR without quotes of its own.
_CMD_ACTIVE = set('"&|<>^')


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


# -- which file -----------------------------------------------------------------------------------------------------

def choose_target(ctx):
    """The settings file this run writes: decided once, in the launcher model (launcher/target.py)."""
    return ctx.launcher.target


# -- what it writes -------------------------------------------------------------------------------------------------

def proposals(findings):
    merged = {}
    for finding in findings.values():
        merged.update(getattr(finding, "proposals", None) or {})
    return merged


class Wanted(object):
    """The values sd-doctor wants the launcher to see, before looking at the file."""

    def __init__(self):
        self.values = []  # [(name, value, reason T)]
        self.problems = []  # [T] values that cannot be written safely
        self.left_out = []  # [T] values this launcher generation cannot take: said, not written, not an error


def _absolute_python_runs_outside_venv(ctx, python):
    """True where the installed webui.sh runs launch.py on an absolute python_cmd itself, outside the venv it uses
    (before v1.10, #16113); False when the venv is skipped or webui.sh re-points python_cmd at the venv (#16116)."""
    sh = ctx.launcher.webui_sh
    if not sh or sh.get("absolute_python_in_venv") or not os.path.isabs(python) or ctx.options.no_venv:
        return False
    return ctx.launch["variables"].get("venv_dir", "venv") != "-"


_DOWNLOAD_REASONS = (
    ("INDEX_URL", T("the downloads check: INDEX_URL does not answer, the index in pip's own configuration does",
                    "下载检查：INDEX_URL 无法访问，而 pip 自身配置的索引可以访问")),
    ("HF_ENDPOINT", T("the downloads check: Hugging Face does not answer, the mirror does",
                      "下载检查：Hugging Face 无法访问，而镜像可以访问")),
)


def wanted_values(ctx, findings, target):
    props = proposals(findings)
    windows = target.dialect == "bat"
    want = Wanted()
    python = props.get("PYTHON")
    if python:
        if windows:
            if '"' in python:
                want.problems.append(T("the Python path {p} contains a quote.", "Python 路径 {p} 含有引号。", p=python))
            else:
                want.values.append(("PYTHON", python_value(python),
                                    T("the interpreter the python check found", "“Python”检查项找到的解释器")))
        elif _absolute_python_runs_outside_venv(ctx, python):
            from sd_doctor.launcher.webui_sh import working_form
            want.left_out.append(T("python_cmd={p} is not written: this webui.sh (before v1.10) would run launch.py on "
                                   "it outside the venv (#16113). Add these lines to {f} by hand:\n{l}",
                                   "未写入 python_cmd={p}：这个 webui.sh（v1.10 之前）会在 venv 之外用它运行 launch.py"
                                   "（#16113）。请手动在 {f} 中加入：\n{l}", p=python, f=target.name,
                                   l=working_form(python)))
        else:
            want.values.append(("python_cmd", python, T("the interpreter the python check found", "“Python”检查项找到的解释器")))
    if props.get("GIT"):
        name = "GIT"
        value = props["GIT"]
        if windows and _CMD_ACTIVE & set(value):
            want.problems.append(T("GIT={v}: webui.bat would read part of it as a command.",
                                   "GIT={v}：webui.bat 会把其中一部分当作命令执行。", v=value))
        else:
            want.values.append((name, value, T("the git the check \"git and repositories\" found", "“git 与代码仓库”检查项找到的 git")))
    if ctx.options.no_venv:
        if windows:
            legacy = ctx.layout.get("generation") == "2022"
            want.values.append(("VENV_DIR", "" if legacy else "-",
                                T("--no-venv: an empty VENV_DIR skips the venv in the 2022 webui.bat", "--no-venv：在 2022 "
                                  "年版 webui.bat 中，空的 VENV_DIR 表示不使用 venv") if legacy else
                                T("--no-venv: VENV_DIR=- skips the venv", "--no-venv：VENV_DIR=- 表示不使用 venv")))
        elif (ctx.launcher.webui_sh or {}).get("venv_dash_honoured", True) is False:
            want.left_out.append(T("--no-venv: this webui.sh (before v1.7) reads venv_dir before it sources {f}, so "
                                   "venv_dir=- there cannot skip the venv; update the web UI (git pull) first.",
                                   "--no-venv：这个 webui.sh（v1.7 之前）在读取 {f} 之前就读了 venv_dir，因此在那里写 "
                                   "venv_dir=- 无法跳过 venv；请先更新 web UI（git pull）。", f=target.name))
        else:
            want.values.append(("venv_dir", "-", T("--no-venv: venv_dir=- skips the venv", "--no-venv：venv_dir=- 表示不使用 venv")))
    if props.get("NO_PROXY"):
        reason = T("the proxy check: the web UI must reach itself on localhost without the proxy",
                   "“代理”检查项：web UI 访问本机 localhost 时不能经过代理")
        want.values.append(("NO_PROXY", props["NO_PROXY"], reason))
        if not windows:  # cmd's variables ignore case; bash's do not, and tools read either spelling
            want.values.append(("no_proxy", props["NO_PROXY"], reason))
    for var in ("HTTP_PROXY", "HTTPS_PROXY"):
        # Proposed only for a Windows registry proxy: once NO_PROXY is set, Python stops reading the registry.
        if props.get(var) and props.get("NO_PROXY"):
            want.values.append((var, props[var], T("the proxy check: keeps the Windows proxy in use once NO_PROXY is set",
                                                   "“代理”检查项：设置 NO_PROXY 后仍使用 Windows 代理")))
    for var, reason in _DOWNLOAD_REASONS:
        if props.get(var):
            want.values.append((var, props[var], reason))
    if props.get("STABLE_DIFFUSION_REPO"):
        want.values.append(("STABLE_DIFFUSION_REPO", props["STABLE_DIFFUSION_REPO"],
                            T("the git check: the default Stable Diffusion repository is gone",
                              "“git 与代码仓库”检查项：默认的 Stable Diffusion 仓库已不存在")))
    return want, props


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

    ``first``: for a batch file, the code page cmd reads it in (see _read_target)."""
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


def _new_line_encodable(merge, text, name):
    """Check that ``text`` can be stored in the file's encoding and read back as written. Returns True when so."""
    doc = merge.doc
    try:
        text.encode(doc.encoding)
    except UnicodeEncodeError:
        # Refuse this one value (the rest is still written): a finding with the reason and the ASCII-safe way out.
        merge.warnings.append(T("{n} is not written: its value has characters that {f} ({e}) cannot hold. Use an "
                                "ASCII-only path instead: the 8.3 short name (dir /x shows it, e.g. C:\\PROGRA~1\\...) "
                                "where the drive has short names, or move Python to a folder such as C:\\Python310.",
                                "{n} 未写入：它的值含有 {f}（{e} 编码）无法保存的字符。请改用只含 ASCII 的路径：驱动器支持短文件名时"
                                "用 8.3 短路径（dir /x 可以看到，例如 C:\\PROGRA~1\\...），或把 Python 移到 C:\\Python310 这样的文件夹。",
                                n=name, f=merge.name, e=doc.encoding))
        merge.refused.append(name)
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
    depth_at = batfile.block_depths(texts + ["rem"])
    while anchor > 0 and depth_at[anchor] > 0:
        anchor -= 1  # never inside a ( ... ) block: go before the line that opens it
    return owned, anchor, delayed


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
                                n=name, v=value, e=str(exc)))
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
        if line is None or not _new_line_encodable(merge, line, name):
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


def unified_diff(name, old_text, new_text):
    old = old_text.splitlines()
    new = new_text.splitlines()
    lines = difflib.unified_diff(old, new, "a/" + name, "b/" + name, lineterm="", n=2)
    return "\n".join(lines)


# -- COMMANDLINE_ARGS -----------------------------------------------------------------------------------------------

class ArgsPlan(object):
    """What COMMANDLINE_ARGS should become, decided once the current raw value in the file is known."""

    def __init__(self, ctx, plan, props, windows):
        self.ctx = ctx
        self.plan = plan
        self.port = props.get("port")
        self.windows = windows
        self.tokens = None  # the tokens the launcher will see after the merge
        self.warnings = []
        self.reasons = {}

    def wanted(self):
        return self.plan is not None or bool(self.port) or self.windows

    def __call__(self, raw):
        actual = argquote.split(raw)
        meant = actual
        if self.windows:
            repair = argquote.windows_repair(raw)
            if repair is not None:
                meant = repair[1]
                self.warnings.append(T("COMMANDLINE_ARGS has Windows paths without quotes; the web UI splits it like a "
                                       "POSIX shell and gets {a} instead of {m}. --fix quotes them.",
                                       "COMMANDLINE_ARGS 中有未加引号的 Windows 路径；web UI 按 POSIX shell 规则拆分，"
                                       "得到的是 {a} 而不是 {m}。--fix 会给它们加上引号。",
                                       a=" ".join(actual) if actual is not None else "(No closing quotation)",
                                       m=" ".join(meant)))
        if meant is None:
            self.warnings.append(T("COMMANDLINE_ARGS cannot be split (No closing quotation); fix its quotes by hand: {v}",
                                   "COMMANDLINE_ARGS 无法拆分（No closing quotation）；请手动修正其中的引号：{v}", v=raw))
            self.tokens = None
            return None
        base = list(meant)
        if self.plan is not None:
            seen = self.ctx.commandline_args  # what the planner started from
            planned = list(self.plan.commandline_args)
            if seen is not None and len(seen) == len(meant):
                translate = dict((s, m) for s, m in zip(seen, meant) if s != m)
                base = [translate.get(t, t) for t in planned]
            elif seen is None:
                removed = set(self.plan.removed)
                base = [t for t in meant if t not in removed] + [t for t in planned if t not in meant]
            else:
                base = planned
        if self.port:
            base = argquote.set_flag(base, "--port", str(self.port))
            self.reasons["--port"] = T("the port check: use port {p}", "“端口”检查项：使用端口 {p}", p=self.port)
        self.tokens = base
        if base == actual:
            return None
        try:
            return argquote.join(base)
        except argquote.BadArgs:
            self.warnings.append(T("COMMANDLINE_ARGS cannot be quoted for the web UI: {t}", "无法为 web UI 给 COMMANDLINE_ARGS "
                                   "加引号：{t}", t=" ".join(base)))
            return None


# -- the whole step -------------------------------------------------------------------------------------------------

_WRITE_REASONS = {
    "changed": T("{f} changed on disk while sd-doctor was running; run it again",
                 "sd-doctor 运行期间 {f} 被修改了；请重新运行"),
    "verify": T("it did not read back as written", "写入后读回的内容不一致"),
    "locked": T("another sd-doctor --fix is writing {f} right now; run again when it has finished",
                "另一个 sd-doctor --fix 正在写入 {f}；请等它结束后重新运行"),
    "read-only": T("{f} is read-only; make it writable first if you want sd-doctor to change it",
                   "{f} 是只读文件；如需让 sd-doctor 修改，请先取消只读"),
    "symlink-outside": T("{f} is a symbolic link to a file outside the web UI folder; edit that file yourself",
                         "{f} 是指向 web UI 文件夹之外的符号链接；请自行编辑该文件"),
    "hard-link": T("{f} has other hard links; replacing it would split them, so edit it yourself",
                   "{f} 还有其他硬链接；替换它会断开这些链接，请自行编辑"),
    "not-a-file": T("{f} is not a regular file", "{f} 不是普通文件"),
}


def write_reason(reason, name):
    """The user's words for a WriteFailed reason (an OS error's text passes through)."""
    message = _WRITE_REASONS.get(reason)
    return T(message.en, message.zh, f=name) if message is not None else reason


def _fail(target, reason):
    return UserError(T("cannot write {f}: {r}; nothing was changed.", "无法写入 {f}：{r}；没有做任何改动。", f=target.path,
                       r=reason))


def settings(ctx, findings, plan):
    """(JSON 'settings' dict (values may be T) or None, report lines [T])."""
    from sd_doctor.write import remedies

    fix = bool(ctx.options.fix)
    target = choose_target(ctx)
    want, props = wanted_values(ctx, findings, target)
    for name, (value, reason) in sorted((plan.variables if plan else {}).items()):
        want.values.append((name, value, reason))  # TORCH_COMMAND: a value without cmd's active characters
    args = ArgsPlan(ctx, plan, props, target.dialect == "bat")
    lines = [T("Launch settings: {f}", "启动设置：{f}", f=target.path or "-"),
             T("  Why this file: {w}", "  为什么是这个文件：{w}", w=target.why)]
    result = {"file": target.path, "why": target.why, "commandline_args": list(plan.commandline_args) if plan else [],
              "reasons": dict(plan.reasons) if plan else {}, "variables": {}, "diff": "", "changed": False,
              "applied": False, "backup": None, "warnings": [], "notes": list(plan.notes) if plan else [],
              "remedies": [], "blocked": target.blocked}
    values = [(n, v) for n, v, _ in want.values]
    if args.wanted():
        values.append(("COMMANDLINE_ARGS", args))
    problems = list(want.problems)
    result["warnings"].extend(want.left_out)
    doc = snap = None
    if target.dialect is not None:
        snap, doc, error = _read_target(ctx, target)
        if error is not None:
            if fix and not target.blocked:
                raise _fail(target, error)
            result["warnings"].append(T("{f} cannot be read: {e}.", "无法读取 {f}：{e}。", f=target.name, e=error))
            doc = None
    merge = None
    if doc is not None:
        merge = merge_values(ctx, doc, target, values, oem_codec(ctx) if target.dialect == "bat" else None)
        problems.extend(merge.problems)
        result["warnings"].extend(merge.warnings)
    result["warnings"].extend(args.warnings)
    if problems:
        if fix and not target.blocked:
            raise _fail(target, " ".join(p.render(ctx.options.lang) for p in problems))
        result["warnings"].extend(problems)
    if args.tokens is not None:
        result["commandline_args"] = list(args.tokens)
        result["reasons"].update(args.reasons)
    for name, value, _ in want.values:
        result["variables"][name] = value
    if args.tokens is not None and (plan is not None or args.port or (merge and "COMMANDLINE_ARGS" in merge.changed_names)):
        try:
            result["variables"]["COMMANDLINE_ARGS"] = argquote.join(args.tokens)
        except argquote.BadArgs:
            pass  # already reported by ArgsPlan
    new_bytes = None
    if merge is not None and (merge.edits or merge.inserts or merge.drop_bom or merge.to_lf):
        new_bytes = apply_merge(merge)
        result["changed"] = new_bytes != doc.to_bytes() or not snap.exists
        if result["changed"]:
            old_text = doc.text() if snap.exists else ""
            new_text = new_bytes[0 if merge.drop_bom else len(doc.bom):].decode(doc.encoding)  # the BOM may be gone
            result["diff"] = unified_diff(target.name, old_text, new_text)
            if merge.drop_bom or merge.to_lf:
                result["diff"] = "\n".join(filter(None, [result["diff"]] + (["(byte-order mark removed)"] if merge.drop_bom
                                                                           else []) + (["(CRLF -> LF)"] if merge.to_lf else [])))
    for w in result["warnings"]:
        lines.append(T("  ! {w}", "  ! {w}", w=w))
    if result["commandline_args"] or plan is not None:
        lines.append(T("  COMMANDLINE_ARGS: {a}", "  COMMANDLINE_ARGS：{a}",
                       a=" ".join(argquote.quote(t) for t in result["commandline_args"])
                       if result["commandline_args"] else T("(empty)", "（空）")))
        for flag, reason in args.reasons.items():  # the planner's own lines (its notes) follow below
            lines.append(T("    {f}: {r}", "    {f}：{r}", f=flag, r=reason))
        lines.extend(T("    {n}", "    {n}", n=note) for note in result["notes"])
    for name, value, reason in want.values:
        lines.append(T("  {n}={v}: {r}", "  {n}={v}：{r}", n=name, v=value, r=reason))
    if result["changed"]:
        lines.append(T("  Changes to {f}:", "  {f} 的改动：", f=target.name))
        lines.extend(T("    {l}", "    {l}", l=d) for d in result["diff"].splitlines())
    elif target.dialect is not None and doc is not None:
        if snap.exists:
            lines.append(T("  No change: {f} already gives the launcher these values.", "  无需改动：{f} 已经给出这些值。",
                           f=target.name))
        else:
            lines.append(T("  No change needed; {f} is not created.", "  无需改动；不会创建 {f}。", f=target.name))
    if result["changed"]:
        if target.blocked:
            lines.append(T("  Not written: {r}", "  未写入：{r}", r=target.blocked))
        elif not fix:
            lines.append(T("  Not written: run sd-doctor --fix to apply this (the old file is kept as a backup).",
                           "  未写入：运行 sd-doctor --fix 以应用（旧文件会保留备份）。"))
        else:
            _check_readback(ctx, target, merge, result, args, new_bytes)
            try:
                backup = atomic.replace(snap, new_bytes)
            except atomic.WriteFailed as exc:
                reason = write_reason(exc.reason, target.name)
                raise _fail(target, reason)
            result["applied"] = True
            result["backup"] = backup
            if backup:
                lines.append(T("  Written: {f}; the old file is kept as {b}.", "  已写入：{f}；旧文件保留为 {b}。",
                               f=target.path, b=os.path.basename(backup)))
            else:
                lines.append(T("  Created: {f}.", "  已创建：{f}。", f=target.path))
    elif target.blocked and target.dialect is None:
        lines.append(T("  Not written: {r}", "  未写入：{r}", r=target.blocked))
        if ctx.options.no_venv and ctx.layout.get("generation") == "2022":
            lines.append(T("  Or, as the old guides did, edit webui.bat itself: change the line set VENV_DIR=venv to "
                           "set VENV_DIR= (empty skips the venv in this generation).",
                           "  或者按旧教程的做法直接编辑 webui.bat：把 set VENV_DIR=venv 这一行改成 set VENV_DIR=（在这一代中，"
                           "空值表示不使用 venv）。"))
    remedy_entries, remedy_lines = remedies.apply(ctx, findings, fix)
    result["remedies"] = remedy_entries
    if remedy_lines:
        lines.append(T("  Remedies:", "  修复操作："))
        lines.extend(remedy_lines)
    if not (result["commandline_args"] or plan is not None):
        lines.extend(result["notes"])
    return result, lines


def _check_readback(ctx, target, merge, result, args, new_bytes):
    """Refuse a webui-user.sh that bash would not read as planned (see write/readback.py)."""
    if target.dialect != "sh":
        return
    from sd_doctor.write.readback import sh_reads_back

    expected = dict((n, result["variables"].get(n)) for n in merge.changed_names
                    if isinstance(result["variables"].get(n), str))
    why = sh_reads_back(new_bytes, expected, args.tokens, timeout=max(2.0, ctx.options.timeout))
    if why:
        raise _fail(target, T("bash does not read the new {f} as planned ({w})",
                              "bash 读取新的 {f} 的结果与计划不一致（{w}）", f=target.name, w=why))


def _read_target(ctx, target):
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
