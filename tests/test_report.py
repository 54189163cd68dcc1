"""The report renderers and the bilingual message catalogue."""

import ast
import io
import json
import os
import re
import string

import pytest

from conftest import ROOT
from sd_doctor.core.context import Context, Options
from sd_doctor.core.finding import Finding
from sd_doctor.report.render import ASCII_MARKS, UNICODE_MARKS, marks_for, to_json, to_text, use_colour
from sd_doctor.core.text import T, join, render_tree

CJK = re.compile(u"[\u4e00-\u9fff]")


# -- the catalogue ----------------------------------------------------------------------------------------------------

def _catalogue():
    """Every T(en, zh) with literal texts in the package: (file, line, en, zh)."""
    out = []
    pkg = os.path.join(ROOT, "sd_doctor")
    for folder, _, files in os.walk(pkg):
        for name in sorted(files):
            if not name.endswith(".py"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as fh:
                tree = ast.parse(fh.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "T" and len(node.args) >= 2:
                    texts = []
                    for arg in node.args[:2]:
                        texts.append(_literal(arg))
                    if None not in texts:
                        out.append((os.path.relpath(path, ROOT), node.lineno, texts[0], texts[1]))
    return out


def _literal(node):
    try:
        value = ast.literal_eval(node)
    except ValueError:
        return None
    return value if isinstance(value, str) else None


def _fields(template):
    return set(f for _, f, _, _ in string.Formatter().parse(template) if f)


CATALOGUE = _catalogue()


def test_catalogue_is_found():
    assert len(CATALOGUE) > 80


# What an ASCII word run in a Chinese message may be: proper names and tool/program names, the names of things the
# user sees in English (a git remote, a branch, an installer button, a Windows setting, a driver line), or an error
# text a program prints in English. Everything else is an untranslated phrase.
ZH_NAMES = {
    "web", "Python", "python", "cpython", "pip", "torch", "venv", "git", "Git", "Git for Windows", "GitHub", "NVIDIA",
    "CUDA", "ROCm", "Windows", "macOS", "Linux", "Apple", "Intel", "Intel Arc", "Microsoft Store", "Visual C",
    "Hugging Face", "Stable Diffusion", "xformers", "gradio", "httpx", "bash", "shell", "cmd", "PowerShell",
    "setuptools", "ensurepip", "PySocks", "PyPI", "pynvml", "nvidia-ml-py", "safetensors", "pickle", "sd-doctor",
    "OneDrive", "Internet", "Game Ready", "Studio", "Blackwell", "WinError", "localhost", "pid", "root",
    "origin",  # the git remote
    "dev",  # the A1111 branch
    "cert",  # pip's option
    "home",  # the pyvenv.cfg key
    "Path",  # the Windows variable's own spelling
    "Modify",  # the Python installer's button
    "repositories", "webui-user",  # folder and file names of the web UI
    "No closing quotation",  # shlex's error text
}
# A command line shown in a message is code: from its first word to the end of the line (or the next Chinese text).
_COMMAND = re.compile(r"(?<![\w-])(?:git|pip|python|sudo|brew|pyenv|netsh|reg|xcode-select|cd|export|set|unset|dir|"
                      r"rmdir|rm|Remove-Item|nvidia-smi)\b[^\u3000-\u303f\uff00-\uffef\u4e00-\u9fff\n]*")
_NOT_WORDS = [
    re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|“[^”]*”"),  # a quoted text: what a program prints, in English
    re.compile(r"[A-Za-z][A-Za-z0-9+.-]*://\S*"),  # a URL
    re.compile(r"(?<![\w])--?[A-Za-z][\w-]*(=\S*)?"),  # a flag
    re.compile(r"\S*[/\\]\S*|\S*\.(?:py|bat|sh|exe|dll|ini|conf|cfg|txt|pem|json|safetensors|ckpt|so|whl)\b|~\S*"),  # a path
    re.compile(r"\*?\b[A-Za-z_][A-Za-z0-9]*(?:[._][A-Za-z0-9_]+)+\b|\*_\w+|\b[A-Z][A-Z0-9]*_[A-Z0-9_]*\b"),  # code names
    re.compile(r"\b\d+\.x\b|\b[A-Z]{2,}[0-9]*\b|\b\w*\d\w*\b"),  # acronyms (GPU, VRAM), numbers, versions (1.x, 16xx)
]
_RUN = re.compile(r"[A-Za-z]+(?:[ \t-]+[A-Za-z]+)*")


def _sample_zh(zh):
    """The Chinese text with every placeholder filled with a sample value (a number: no ASCII word of its own)."""
    kw = dict((f.split(".")[0].split("[")[0], 1) for f in _fields(zh))
    try:
        return T(zh, zh, **kw).render("zh")
    except (ValueError, KeyError, IndexError, AttributeError, TypeError):
        return re.sub(r"\{[^}]*\}", "1", zh)


def _english_runs(text):
    text = _NOT_WORDS[0].sub(" ", text)  # quotes first: a quoted error text may hold a command's name
    text = _COMMAND.sub(" ", text)
    for pattern in _NOT_WORDS[1:]:
        text = pattern.sub(" ", text)
    return [r for r in _RUN.findall(text) if r not in ZH_NAMES]


def test_every_message_renders_in_chinese_without_untranslated_english():
    """Every T(en, zh) of the package: the same placeholders in both texts, and the Chinese one, rendered with sample
    values, holds no ASCII word run that is not a flag, path, URL, variable or code name, command or known name."""
    wrong = []
    for where, line, en, zh in CATALOGUE:
        if _fields(en) != _fields(zh):
            wrong.append("%s:%d placeholders differ: %r / %r" % (where, line, en, zh))
            continue
        runs = _english_runs(_sample_zh(zh))
        if runs:
            wrong.append("%s:%d %r in %r" % (where, line, runs, zh))
    assert wrong == []


def test_the_translation_test_sees_an_untranslated_phrase():
    assert _english_runs(_sample_zh("显存 {g}：keeps only part of the model on the GPU")) == [
        "keeps only part of the model on the"]
    assert _english_runs(_sample_zh("此版本不支持 upcast sampling")) == ["upcast sampling"]
    assert _english_runs(_sample_zh("运行 git pull 更新，或设置 --medvram、COMMANDLINE_ARGS、C:\\a\\b.bat")) == []


# -- rendering --------------------------------------------------------------------------------------------------------

def _findings():
    a = Finding("install-path", T("Install path", "安装路径")).ok(T("{p}", "{p}", p="/srv/webui"))
    b = Finding("python", T("Python", "Python")).error(
        T("Python {v} is too new.", "Python {v} 太新。", v="3.12.1"),
        T("Use Python 3.10:\n{line}", "使用 Python 3.10：\n{line}", line="python_cmd=/opt/py/bin/python3.10"))
    c = Finding("path", T("PATH", "PATH 环境变量")).warn(T("{n} PATH entries do not exist", "PATH 中有 {n} 项不存在", n=2))
    d = Finding("proxy", T("Proxy", "代理")).skip(T("Offline.", "离线。"))
    b.facts = {"version": "3.12.1", "proxy": "http://user:secret@10.0.0.1:3128"}
    b.elapsed = 0.25
    return [a, b, c, d]


def _ctx(lang="en", verbose=False):
    return Context("/srv/webui", Options(lang=lang, verbose=verbose))


def _stream(encoding):
    return io.TextIOWrapper(io.BytesIO(), encoding=encoding, errors="replace")


@pytest.mark.parametrize("encoding,marks", [("utf-8", UNICODE_MARKS), ("cp437", ASCII_MARKS), ("cp936", ASCII_MARKS),
                                            ("ascii", ASCII_MARKS), ("utf-16", UNICODE_MARKS)])
def test_marks_follow_what_the_console_can_print(encoding, marks):
    assert marks_for(_stream(encoding)) is marks


def test_text_report_lines():
    text = to_text(_ctx(), _findings(), [], "9.9", _stream("utf-8"))
    lines = text.splitlines()
    assert lines[0] == "sd-doctor 9.9: checking /srv/webui (%s)" % _ctx().platform
    assert u"\u2713 Install path: /srv/webui" in lines
    i = lines.index(u"\u2717 Python: Python 3.12.1 is too new.")
    assert lines[i + 1:i + 3] == ["    -> Use Python 3.10:", "       python_cmd=/opt/py/bin/python3.10"]
    assert "! PATH: 2 PATH entries do not exist" in lines
    assert "- Proxy: Offline." in lines
    assert lines[-1] == "Summary: 1 ok, 1 warning, 1 error, 1 skipped. Failed: Python."
    assert "\x1b" not in text


def test_verbose_text_redacts_credentials():
    text = to_text(_ctx(verbose=True), _findings(), [], "9.9", _stream("utf-8"))
    assert u"\u2717 Python: Python 3.12.1 is too new.  (0.25 s)" in text.splitlines()
    assert "secret" not in text and "http://***@10.0.0.1:3128" in text


def test_chinese_text_report():
    text = to_text(_ctx("zh"), _findings(), [], "9.9", _stream("utf-8"))
    assert u"\u2717 Python\uff1aPython 3.12.1 太新。" in text.splitlines()
    assert text.splitlines()[-1] == "汇总：1 项正常，1 项警告，1 项错误，1 项跳过。未通过：Python。"


def test_json_document():
    doc = json.loads(to_json(_ctx(verbose=True), _findings(), {"commandline_args": [T("a", "甲")]}, "9.9"))
    assert doc["summary"] == {"ok": 1, "warn": 1, "error": 1, "skip": 1}
    assert doc["checks"][1] == {"id": "python", "status": "error", "title": "Python",
                                "detail": "Python 3.12.1 is too new.",
                                "advice": ["Use Python 3.10:\npython_cmd=/opt/py/bin/python3.10"],
                                "facts": {"version": "3.12.1", "proxy": "http://***@10.0.0.1:3128"},
                                "elapsed_s": 0.25}
    assert doc["settings"] == {"commandline_args": ["a"]}
    zh = json.loads(to_json(_ctx("zh"), _findings(), None, "9.9", _stream("cp437")))
    assert zh["checks"][2]["title"] == "PATH 环境变量" and "settings" not in zh
    assert "facts" not in zh["checks"][0]


def test_colour_needs_a_terminal_and_no_no_color():
    import pty

    master, slave = pty.openpty()
    try:
        tty = os.fdopen(slave, "w", closefd=False)
        assert use_colour(tty, {"TERM": "xterm"}) is True
        assert use_colour(tty, {"TERM": "xterm", "NO_COLOR": "1"}) is False
        assert use_colour(tty, {"TERM": "xterm", "NO_COLOR": ""}) is True  # no-color.org: empty means unset
        assert use_colour(tty, {"TERM": "dumb"}) is False
        assert use_colour(_stream("utf-8"), {"TERM": "xterm"}) is False
    finally:
        os.close(master)
        os.close(slave)


def test_join_and_render_tree():
    t = join([T("one", "一"), T("two", "二")])
    assert t.render("en") == "one; two" and t.render("zh") == "一；二"
    assert render_tree({"a": [t, 1, None]}, "zh") == {"a": ["一；二", 1, None]}
    with pytest.raises(ValueError):
        T("only English", "")
