"""cmd's reading of ``set`` lines (batfile), COMMANDLINE_ARGS quoting (argquote) and webui-user.sh lines (shfile).

Whether cmd itself reads what set_line writes is proven with Wine's cmd in test_wine_cmd.py; here the model's own
reading (parse_set) and the web UI's reading (shlex) are checked against the writing, for any value.
"""

import shlex
import shutil
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sd_doctor.formats import args as argquote
from sd_doctor.formats import bat as batfile
from sd_doctor.formats import sh as shfile

CMD_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n\x00\x1a"),
                   max_size=40)


@settings(max_examples=300, deadline=None)
@given(CMD_TEXT)
def test_set_line_reads_back_exactly(value):
    line = batfile.set_line("NAME", value)
    parsed = batfile.parse_set(line)
    assert parsed is not None and parsed.name == "NAME"
    assert parsed.exact
    assert parsed.value == value


@pytest.mark.parametrize("value, line", [
    ("", "set NAME="),
    ("plain-value_1.2", "set NAME=plain-value_1.2"),
    (r"C:\Program Files\Python310\python.exe", r"set NAME=C:\Program Files\Python310\python.exe"),
    ('"C:\\Program Files\\Python310\\python.exe"', 'set NAME="C:\\Program Files\\Python310\\python.exe"'),
    ("a & b", 'set "NAME=a & b"'),
    ("50%", 'set "NAME=50%%"'),
    ('--dir "D:\\a&b" x&y', 'set NAME=--dir "D:\\a&b" x^&y'),
    (" lead", 'set "NAME= lead"'),
])
def test_set_line_forms(value, line):
    assert batfile.set_line("NAME", value) == line


@pytest.mark.parametrize("value", ["a\r\nb", "a\nb", "x\x00"])
def test_set_line_refuses_control_characters(value):
    with pytest.raises(batfile.UnsafeValue):
        batfile.set_line("NAME", value)


def test_set_line_refuses_bang_under_delayed_expansion():
    with pytest.raises(batfile.UnsafeValue):
        batfile.set_line("NAME", "wow!", delayed=True)
    assert batfile.set_line("NAME", "wow!") == 'set "NAME=wow!"'


@pytest.mark.parametrize("line, name, value, exact", [
    ("set PYTHON=", "PYTHON", "", True),
    ("  @SET python=C:\\py\\python.exe", "python", "C:\\py\\python.exe", True),
    ('set "COMMANDLINE_ARGS=--a & --b" trailing', "COMMANDLINE_ARGS", "--a & --b", True),
    ("set X=100%%", "X", "100%", True),
    ("set X=a ^& b", "X", "a & b", True),
    ("set X=%~dp0venv", "X", "%~dp0venv", False),
    ("set X=%COMMANDLINE_ARGS% --api", "X", "%COMMANDLINE_ARGS% --api", False),
    ("set X=a & echo b", "X", "a ", False),
    ("set X=a ^", "X", "a ", False),
])
def test_parse_set(line, name, value, exact):
    parsed = batfile.parse_set(line)
    assert (parsed.name, parsed.value, parsed.exact) == (name, value, exact)


@pytest.mark.parametrize("line", ["set /a X=1+1", "set /p X=Name?", "rem set X=1", "echo set X=1", "set", "setlocal",
                                  "set NOEQUALS"])
def test_parse_set_ignores_other_lines(line):
    assert batfile.parse_set(line) is None or batfile.is_comment(line)


def test_call_webui_and_blocks():
    assert batfile.is_call_webui("call webui.bat")
    assert batfile.is_call_webui('  @CALL "%~dp0webui.bat" %*')
    assert not batfile.is_call_webui("rem call webui.bat")
    assert not batfile.is_call_webui("call webui.settings.bat")
    lines = ["@echo off", "if exist x (", "    set PYTHON=a", ") else (", "    set PYTHON=b", ")", "set PYTHON=c",
             'if "%X%"=="(" (set Y=1)']
    assert batfile.block_depths(lines) == [0, 0, 1, 0, 1, 0, 0, 0]
    assert batfile.enables_delayed("setlocal EnableExtensions EnableDelayedExpansion")
    assert not batfile.enables_delayed("rem setlocal enabledelayedexpansion")


TOKENS = st.lists(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
                          max_size=12), max_size=6)


@settings(max_examples=300, deadline=None)
@given(TOKENS)
def test_join_splits_back_exactly_like_the_web_ui(tokens):
    value = argquote.join(tokens)
    assert shlex.split(value) == tokens
    assert argquote.windows_repair(value) is None  # what sd-doctor writes is never "repaired" again


def test_join_keeps_windows_paths_readable():
    assert argquote.join(["--ckpt-dir", "D:\\my models\\sd", "--xformers"]) == '--ckpt-dir "D:\\my models\\sd" --xformers'
    assert argquote.join(["--lora-dir", "D:\\loras\\"]) == '--lora-dir "D:\\loras\\\\"'
    assert argquote.join(["--x", 'say "hi"']) == "--x 'say \"hi\"'"


@pytest.mark.parametrize("value, posix, literal", [
    (r"--ckpt-dir C:\models\sd --api", ["--ckpt-dir", "C:modelssd", "--api"], ["--ckpt-dir", r"C:\models\sd", "--api"]),
    ('--ckpt-dir "D:\\models\\"', None, ["--ckpt-dir", "D:\\models\\"]),  # #15025: "No closing quotation"
])
def test_windows_repair(value, posix, literal):
    assert argquote.windows_repair(value) == (posix, literal)


def test_windows_repair_leaves_good_values_alone():
    assert argquote.windows_repair('--xformers --ckpt-dir "D:/models" --api') is None
    assert argquote.windows_repair('--ckpt-dir "D:\\models\\sd"') is None  # quoted: shlex keeps these backslashes


def test_set_flag():
    assert argquote.set_flag(["--a", "--port", "7860", "--b"], "--port", "7861") == ["--a", "--port", "7861", "--b"]
    assert argquote.set_flag(["--port=7860"], "--port", "7861") == ["--port", "7861"]
    assert argquote.set_flag(["--a"], "--port", "7861") == ["--a", "--port", "7861"]


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r\n"), max_size=30))
def test_sh_assignment_reads_back(value):
    for name in ("python_cmd", "COMMANDLINE_ARGS"):
        parsed = shfile.parse_assignment(shfile.assignment_line(name, value))
        assert parsed.name == name and parsed.exact and parsed.value == value


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_sh_assignment_is_what_bash_reads():
    values = ["", "plain", "with space", "it's", '"dq"', "$HOME", "`id`", "$(id)", "a;b", "back\\slash", "tab\there",
              "é 模型", "!bang", "*glob?", "~tilde"]
    script = "\n".join(shfile.assignment_line("V", v) + '\nprintf "%s\\0" "$V"' for v in values)
    out = subprocess.run(["bash", "-c", script], capture_output=True, timeout=20).stdout.decode("utf-8")
    assert out.split("\0")[:-1] == values
    assert shfile.commented_name('#export COMMANDLINE_ARGS=""') == "COMMANDLINE_ARGS"
    assert shfile.commented_name("# plain comment") is None
