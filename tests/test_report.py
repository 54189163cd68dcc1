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


def _words(template):
    """English words of a template, outside placeholders, commands, URLs, paths and flags."""
    text = re.sub(r"\{[^}]*\}", " ", template)
    text = re.sub(r"\S*[/\\:.=_]\S*|--?\S+|\"[^\"]*\"|'[^']*'", " ", text)
    return re.findall(r"[A-Za-z]{3,}", text)


CATALOGUE = _catalogue()


def test_catalogue_is_found():
    assert len(CATALOGUE) > 80


@pytest.mark.parametrize("where,en,zh", [("%s:%d" % (f, l), en, zh) for f, l, en, zh in CATALOGUE])
def test_every_message_has_the_same_placeholders_in_both_languages(where, en, zh):
    assert _fields(en) == _fields(zh), where


# Technical terms that are the same in both languages.
NEUTRAL_WORDS = {"Python", "PATH", "git", "Git", "venv", "GPU", "RAM", "TEMP", "PYTHON", "GIT", "NO_PROXY", "pip",
                 "torch", "cmd", "port", "gpu", "proxy", "NVIDIA", "CUDA", "Windows", "Linux", "macOS", "Forge",
                 "Hugging", "Face", "Microsoft", "Store", "xformers", "webui", "bat", "exit", "code", "bit", "sudo",
                 "apt", "install", "brew", "pyenv", "web", "python", "pid"}


@pytest.mark.parametrize("where,en,zh", [("%s:%d" % (f, l), en, zh) for f, l, en, zh in CATALOGUE])
def test_every_sentence_is_translated(where, en, zh):
    """A Chinese text with no Chinese in it is an untranslated English sentence (unless it is only names/data)."""
    english = [w for w in _words(en) if w not in NEUTRAL_WORDS]
    if CJK.search(zh):
        return
    assert not english or zh != en, (where, en)
    assert not [w for w in _words(zh) if w not in NEUTRAL_WORDS], (where, zh)


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
