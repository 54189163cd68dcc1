"""launch_settings: the variables the launcher will see, from real settings files in real encodings."""

import os
import re
import shutil
import subprocess

import pytest

from conftest import make_webui
from sd_doctor.launcher import settings as ls
from sd_doctor.core.context import Context, Options

L17 = {"calls_settings_bat": True, "generation": "1.7+"}


def read_win(root, environ=None, layout=L17):
    return ls.read(root, "windows", environ or {}, layout)


def test_default_webui_user_bat_deletes_and_defaults(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": "@echo off\r\n\r\nset PYTHON=\r\nset GIT=\r\n"
                                                               "set VENV_DIR=\r\nset COMMANDLINE_ARGS=\r\n\r\n"
                                                               "call webui.bat\r\n"})
    launch = read_win(root, {"PYTHON": "C:\\Py39\\python.exe", "GIT": "C:\\git.exe", "Path": "C:\\x"})
    v = launch["variables"]
    # set X= deletes what the environment had; webui.bat's defaults apply
    assert v["PYTHON"] == "python" and launch["source"]["PYTHON"] == "default"
    assert "GIT" not in v and "COMMANDLINE_ARGS" not in v
    assert v["VENV_DIR"] == os.path.join(root, "venv")
    assert v["PATH"] == "C:\\x"  # names are case-insensitive on Windows
    assert launch["files"] == ["webui-user.bat"]


@pytest.mark.parametrize("encoding,bom,newline", [("utf-8", False, "\n"), ("utf-8", True, "\r\n"),
                                                  ("gbk", False, "\r\n")])
def test_encodings(encoding, bom, newline, tmp_path):
    body = newline.join(["@echo off", u'set COMMANDLINE_ARGS=--ckpt-dir "D:/模型/sd" --medvram',
                         u"set PYTHON=D:\\程序\\Python310\\python.exe", "call webui.bat", ""])
    data = (b"\xef\xbb\xbf" if bom else b"") + body.encode(encoding)
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": data})
    launch = read_win(root)
    assert launch["variables"]["PYTHON"] == u"D:\\程序\\Python310\\python.exe"
    assert ls.commandline_args(launch) == ["--ckpt-dir", u"D:/模型/sd", "--medvram"]
    assert launch["source"]["COMMANDLINE_ARGS"] == "webui-user.bat"


def test_quoted_set_expansion_and_comments(tmp_path):
    bat = "\r\n".join([
        "@echo off",
        'set "VENV_DIR=D:\\envs\\sd"',
        "set BASE=D:\\sd",
        "set HF_HOME=%BASE%\\hf",
        "set GIT=%NOT_DEFINED%git.exe",
        "set TORCH_COMMAND=%base%\\x",  # case-insensitive
        "rem set PYTHON=C:\\rem\\python.exe",
        ":: set PYTHON=C:\\colon\\python.exe",
        "@set COMMANDLINE_ARGS=--xformers",
        "set /a N=1+1",
        'set "EMPTY="',
        "call webui.bat", ""])
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": bat})
    v = read_win(root, {"EMPTY": "x"})["variables"]
    assert v["VENV_DIR"] == "D:\\envs\\sd"
    assert v["HF_HOME"] == "D:\\sd\\hf"
    assert v["GIT"] == "git.exe"
    assert v["TORCH_COMMAND"] == "D:\\sd\\x"
    assert v["PYTHON"] == "python"
    assert v["COMMANDLINE_ARGS"] == "--xformers"
    assert "N" not in v and "EMPTY" not in v


def test_settings_bat_overrides_only_when_webui_bat_calls_it(tmp_path):
    files = {"webui-user.bat": "set COMMANDLINE_ARGS=--medvram\r\nset PYTHON=C:\\a\\python.exe\r\ncall webui.bat\r\n",
             "webui.settings.bat": "set COMMANDLINE_ARGS=--lowvram\r\n"}
    root = make_webui(str(tmp_path / "w17"), files, bat_generation="1.7+")
    launch = ls.read(root, "windows", {}, Context(root, Options(offline=True)).layout)
    assert launch["variables"]["COMMANDLINE_ARGS"] == "--lowvram"
    assert launch["source"]["COMMANDLINE_ARGS"] == "webui.settings.bat"
    assert launch["variables"]["PYTHON"] == "C:\\a\\python.exe"
    root = make_webui(str(tmp_path / "w23"), files, bat_generation="2023")
    launch = ls.read(root, "windows", {}, Context(root, Options(offline=True)).layout)
    assert launch["variables"]["COMMANDLINE_ARGS"] == "--medvram"
    assert launch["files"] == ["webui-user.bat"]


def test_2022_generation_hard_codes_the_venv(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": "set VENV_DIR=-\r\ncall webui.bat\r\n"},
                      bat_generation="2022")
    layout = Context(root, Options(offline=True)).layout
    assert layout["generation"] == "2022"
    launch = ls.read(root, "windows", {}, layout)
    assert launch["variables"]["VENV_DIR"] == "venv"
    assert ls.venv_path(root, launch) == os.path.join(root, "venv")


def test_2022_generation_reads_webui_settings_bat_after_its_hard_codes(tmp_path):
    # The old guides: webui.bat hard-codes VENV_DIR=venv and COMMANDLINE_ARGS=%*, then calls webui.settings.bat,
    # where an empty VENV_DIR skipped the venv.
    bat = ("@echo off\r\nset PYTHON=python\r\nset VENV_DIR=venv\r\nset COMMANDLINE_ARGS=%*\r\n"
           "if exist webui.settings.bat call webui.settings.bat\r\n")
    root = make_webui(str(tmp_path / "w"), {
        "webui.bat": bat,
        "webui-user.bat": "set COMMANDLINE_ARGS=--lost\r\ncall webui.bat\r\n",
        "webui.settings.bat": "set VENV_DIR=\r\nset COMMANDLINE_ARGS=--medvram\r\n",
    }, bat_generation="2022")
    layout = Context(root, Options(offline=True)).layout
    assert (layout["generation"], layout["calls_settings_bat"]) == ("2022", True)
    launch = ls.read(root, "windows", {}, layout)
    assert launch["variables"]["COMMANDLINE_ARGS"] == "--medvram"
    assert ls.venv_path(root, launch) is None


def test_webui_user_sh(tmp_path):
    sh = "\n".join([
        "#!/bin/bash",
        "# the defaults are commented out:",
        '#python_cmd="python3"',
        'python_cmd="/opt/py 3.10/bin/python3.10"',
        "export COMMANDLINE_ARGS=\"--medvram --ckpt-dir '/data/my models'\"",
        "venv_dir='-'",
        'export TORCH_COMMAND="pip install torch"  # a comment',
        "export HF_HOME=$HOME/hf",
        ""])
    root = make_webui(str(tmp_path / "w"), {"webui-user.sh": sh})
    launch = ls.read(root, "linux", {"HOME": "/home/u"})
    v = launch["variables"]
    assert v["python_cmd"] == "/opt/py 3.10/bin/python3.10"
    assert ls.commandline_args(launch) == ["--medvram", "--ckpt-dir", "/data/my models"]
    assert v["venv_dir"] == "-" and ls.venv_path(root, launch) is None
    assert v["TORCH_COMMAND"] == "pip install torch"
    assert v["HF_HOME"] == "/home/u/hf"
    assert launch["source"]["python_cmd"] == "webui-user.sh"


def test_commandline_args_split_like_the_web_ui():
    launch = {"variables": {"COMMANDLINE_ARGS": '--port 7861 --ckpt-dir C:\\models\\sd --x="a b"'}}
    tokens = ls.commandline_args(launch)
    assert tokens == ["--port", "7861", "--ckpt-dir", "C:modelssd", "--x=a b"]  # shlex eats backslashes (facts §1)
    assert ls.flag_value(tokens, "--port") == "7861" and ls.flag_value(tokens, "--x") == "a b"
    assert ls.commandline_args({"variables": {"COMMANDLINE_ARGS": '--ckpt-dir "C:\\models\\"'}}) is None


def test_the_parser_agrees_with_real_cmd(tmp_path):
    """Wine's cmd runs the same files; every variable it sees must be what the parser predicts."""
    wine = shutil.which("wine")
    if not wine:
        pytest.skip("wine is not installed")
    names = ["SDT_A", "SDT_B", "SDT_C", "SDT_D", "SDT_E", "SDT_F", "SDT_G", "COMMANDLINE_ARGS"]
    user = "\r\n".join([
        "@echo off", "set SDT_A=one", 'set "SDT_B=two words"', "set SDT_C=%SDT_A%-x", "set SDT_D=gone", "set SDT_D=",
        "set SDT_E=%SDT_UNDEFINED%end", 'set COMMANDLINE_ARGS=--medvram --ckpt-dir "C:/m"',
        "rem set SDT_F=commented", ":: set SDT_G=commented", "call webui.bat", ""])
    settings = "set SDT_B=override\r\nset SDT_G=from settings\r\n"
    bat = "@echo off\r\nif exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n" + "".join(
        "echo %s=[%%%s%%]\r\n" % (n, n) for n in names)
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user, "webui.settings.bat": settings, "webui.bat": bat})
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith("SDT_") and k != "COMMANDLINE_ARGS")
    env["WINEDEBUG"] = "-all"
    try:
        proc = subprocess.run([wine, "cmd", "/c", "webui-user.bat"], cwd=root, env=env, capture_output=True,
                              timeout=120)
    except subprocess.TimeoutExpired:
        pytest.skip("wine did not start within 120 s")
    seen = dict(re.findall(r"^(\w+)=\[(.*)\]\r?$", proc.stdout.decode("utf-8", "replace"), re.M))
    if not seen:
        pytest.skip("wine cmd printed nothing: %r" % proc.stderr[-300:])
    predicted = ls.read(root, "windows", {}, Context(root, Options(offline=True)).layout)["variables"]
    for name in names:
        assert seen[name] == predicted.get(name, ""), name
