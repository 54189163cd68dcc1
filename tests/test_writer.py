"""The settings writer: which file, what it writes, merging into the user's file byte for byte, encodings, the report.

.bat output is run by Wine's cmd in test_wine_cmd.py; webui-user.sh output is run here by bash in front of a stub
webui.sh that sources it like the real one and hands its environment to a dump program.
"""

import json
import os
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import cli_env, make_webui, run_cli
from writer_support import make_ctx, read_bytes, run_writer, write_bytes

from sd_doctor.write import settings as writer
from sd_doctor.core.errors import UserError
from sd_doctor.plan.flags import Plan
from sd_doctor.core.text import render

BASH = shutil.which("bash")
DEFAULT_USER_BAT = b"@echo off\r\n\r\nset PYTHON=\r\nset GIT=\r\nset VENV_DIR=\r\nset COMMANDLINE_ARGS=\r\n\r\ncall webui.bat\r\n"


def target_of(root, platform="windows", **kw):
    return writer.choose_target(make_ctx(root, platform, **kw))


# -- which file ---------------------------------------------------------------------------------------------------

def test_current_install_uses_webui_user_bat(tmp_path):
    t = target_of(make_webui(str(tmp_path / "w")))
    assert t.name == "webui-user.bat" and t.dialect == "bat" and t.blocked is None
    assert "v1.7" in render(t.why, "en") and render(t.why, "zh") != render(t.why, "en")


def test_existing_settings_bat_wins_in_17(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui.settings.bat": "@echo off\r\n"})
    assert target_of(root).name == "webui.settings.bat"


def test_one_click_package_uses_settings_bat(tmp_path):
    parent = tmp_path / "pkg"
    root = make_webui(str(parent / "webui"), {"webui-user.bat": DEFAULT_USER_BAT})
    write_bytes(str(parent / "environment.bat"), b"@echo off\r\n")
    os.makedirs(str(parent / "system" / "python"))
    t = target_of(root)
    assert t.name == "webui.settings.bat"
    assert "overwrites webui-user.bat" in render(t.why, "en")


def test_2023_generation_uses_webui_user_bat(tmp_path):
    assert target_of(make_webui(str(tmp_path / "w"), bat_generation="2023")).name == "webui-user.bat"


def test_2022_generation(tmp_path):
    calls = ("@echo off\r\nset PYTHON=python\r\nset VENV_DIR=venv\r\nset COMMANDLINE_ARGS=%*\r\n"
             "if exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n")
    root = make_webui(str(tmp_path / "a"), {"webui.bat": calls})
    assert target_of(root).name == "webui.settings.bat"
    root = make_webui(str(tmp_path / "b"), bat_generation="2022")  # no settings call: no file can change them
    t = target_of(root)
    assert t.dialect is None and "git pull" in render(t.blocked, "en")
    before = sorted(os.listdir(root))
    result, text = run_writer(make_ctx(root, "windows", fix=True, no_venv=True), plan=Plan(["--medvram"]))
    assert not result["applied"] and sorted(os.listdir(root)) == before
    assert "set VENV_DIR=venv to set VENV_DIR=" in text


def test_linux_and_macos_use_webui_user_sh(tmp_path):
    root = make_webui(str(tmp_path / "w"))
    for platform in ("linux", "darwin"):
        assert target_of(root, platform).name == "webui-user.sh"


def test_sdnext_has_no_settings_file(tmp_path):
    root = str(tmp_path / "sdnext")
    os.makedirs(root)
    write_bytes(os.path.join(root, "installer.py"), b"# sdnext\n")
    result, text = run_writer(make_ctx(root, "windows", fix=True), plan=Plan(["--medvram"]))
    assert result["file"] is None and not result["applied"]
    assert "SD.Next" in text
    assert os.listdir(root) == ["installer.py"]


def test_missing_folder_is_shown_never_written(tmp_path):
    root = str(tmp_path / "not-yet")
    result, text = run_writer(make_ctx(root, "windows", fix=True, no_venv=True), {"PYTHON": r"C:\Py 310\python.exe"})
    assert not os.path.exists(root)
    assert result["changed"] and not result["applied"] and result["backup"] is None
    assert '+set PYTHON="C:\\Py 310\\python.exe"' in result["diff"]
    assert "does not exist yet" in text


def test_empty_folder_before_clone_is_not_written(tmp_path):
    root = str(tmp_path / "empty")
    os.makedirs(root)
    result, _ = run_writer(make_ctx(root, "linux", fix=True, no_venv=True))
    assert result["changed"] and not result["applied"] and os.listdir(root) == []


# -- merging a .bat ------------------------------------------------------------------------------------------------

def test_merge_changes_only_owned_lines(tmp_path):
    user = (b"@echo off\r\nrem keep: comments, blank lines, order\r\n\r\nset MY_OWN=1\r\n"
            b"set COMMANDLINE_ARGS=--xformers --api --ckpt-dir \"D:\\models\"\r\nset PYTHON=\r\n"
            b"if exist x (\r\n    set VENV_DIR=inside-a-block\r\n)\r\ncall webui.bat\r\necho trailing text\r\n")
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    ctx = make_ctx(root, "windows", fix=True, no_venv=True)
    result, _ = run_writer(ctx, {"PYTHON": r"C:\Python310\python.exe", "NO_PROXY": "localhost,127.0.0.1,::1"},
                           Plan(ctx.commandline_args + ["--medvram"]))
    out = read_bytes(os.path.join(root, "webui-user.bat"))
    assert out == (b"@echo off\r\nrem keep: comments, blank lines, order\r\n\r\nset MY_OWN=1\r\n"
                   b"set COMMANDLINE_ARGS=--xformers --api --ckpt-dir \"D:\\models\" --medvram\r\n"
                   b"set PYTHON=C:\\Python310\\python.exe\r\n"
                   b"set VENV_DIR=-\r\nset NO_PROXY=localhost,127.0.0.1,::1\r\n"
                   b"if exist x (\r\n    set VENV_DIR=inside-a-block\r\n)\r\ncall webui.bat\r\necho trailing text\r\n")
    assert result["applied"] and result["backup"] and read_bytes(result["backup"]) == user
    assert result["variables"]["VENV_DIR"] == "-"
    assert result["commandline_args"] == ["--xformers", "--api", "--ckpt-dir", "D:\\models", "--medvram"]


def test_owned_lines_go_before_call_webui_bat(tmp_path):
    user = b"@echo off\r\ncall webui.bat\r\nset PYTHON=too-late\r\n"
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    run_writer(make_ctx(root, "windows", fix=True), {"PYTHON": r"C:\Py\python.exe"})
    assert read_bytes(os.path.join(root, "webui-user.bat")) == (
        b"@echo off\r\nset PYTHON=C:\\Py\\python.exe\r\ncall webui.bat\r\nset PYTHON=too-late\r\n")


def test_lf_only_bat_keeps_lf_and_utf8_bom_is_kept(tmp_path):
    user = b"\xef\xbb\xbf@echo off\nrem \xc3\xa9t\xc3\xa9\nset COMMANDLINE_ARGS=--api\ncall webui.bat"
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    run_writer(make_ctx(root, "windows", pages=(65001, 65001), fix=True), plan=Plan(["--api", "--medvram"]))
    assert read_bytes(os.path.join(root, "webui-user.bat")) == user.replace(b"--api\n", b"--api --medvram\n")


def test_new_bat_from_template_is_crlf_in_the_oem_code_page(tmp_path):
    root = make_webui(str(tmp_path / "w"))
    result, _ = run_writer(make_ctx(root, "windows", pages=(1252, 850), fix=True), {"PYTHON": "C:\\Users\\José\\py\\python.exe"})
    data = read_bytes(os.path.join(root, "webui-user.bat"))
    assert result["backup"] is None and result["applied"]
    assert data == DEFAULT_USER_BAT.replace(b"set PYTHON=\r\n", "set PYTHON=C:\\Users\\José\\py\\python.exe\r\n".encode("cp850"))


def test_non_ascii_value_refused_where_cmd_would_garble_it(tmp_path):
    """A UTF-8 file with non-ASCII text (not valid GBK), on a system whose console reads batch files as code page 936."""
    user = "@echo off\r\nrem 中文注释\r\nset PYTHON=\r\ncall webui.bat\r\n".encode("utf-8")
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    result, text = run_writer(make_ctx(root, "windows", pages=(936, 936)), {"PYTHON": "C:\\程序\\python.exe"})
    assert "code page" in text and "PYTHON" not in result["diff"]
    with pytest.raises(UserError) as info:
        run_writer(make_ctx(root, "windows", pages=(936, 936), fix=True), {"PYTHON": "C:\\程序\\python.exe"})
    assert "nothing was changed" in render(info.value.message, "en")
    assert read_bytes(os.path.join(root, "webui-user.bat")) == user


def test_bat_is_read_in_the_code_page_cmd_reads_it_in(tmp_path):
    """GBK bytes that are also valid UTF-8 ("模" is C4 A3, UTF-8 for "ģ"): cmd on code page 936 reads GBK."""
    user = "set PYTHON=模\r\ncall webui.bat\r\n".encode("gbk")
    user.decode("utf-8")
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    result, _ = run_writer(make_ctx(root, "windows", pages=(936, 936), fix=True), {"PYTHON": "C:\\模型\\python.exe"})
    assert read_bytes(os.path.join(root, "webui-user.bat")) == "set PYTHON=C:\\模型\\python.exe\r\ncall webui.bat\r\n".encode("gbk")
    result, _ = run_writer(make_ctx(root, "windows", pages=(936, 936), fix=True), {"PYTHON": "C:\\模型\\python.exe"})
    assert not result["changed"]


def test_value_that_cp437_cannot_hold_is_refused(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": DEFAULT_USER_BAT})
    with pytest.raises(UserError):
        run_writer(make_ctx(root, "windows", pages=(1252, 437), fix=True), {"PYTHON": "C:\\模型\\python.exe"})
    assert read_bytes(os.path.join(root, "webui-user.bat")) == DEFAULT_USER_BAT


def test_gbk_file_keeps_its_bytes(tmp_path):
    user = "@echo off\r\nrem 中文注释：保持原样\r\nset COMMANDLINE_ARGS=--ckpt-dir \"D:\\模型\"\r\ncall webui.bat\r\n".encode("gbk")
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    ctx = make_ctx(root, "windows", pages=(936, 936), fix=True)
    run_writer(ctx, plan=Plan(ctx.commandline_args + ["--lowvram"]))
    out = read_bytes(os.path.join(root, "webui-user.bat"))
    assert out == user.replace(b'"\r\n', b'" --lowvram\r\n')


def test_delayed_expansion_bang_is_refused(tmp_path):
    user = b"@echo off\r\nsetlocal EnableDelayedExpansion\r\nset PYTHON=\r\ncall webui.bat\r\n"
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    with pytest.raises(UserError) as info:
        run_writer(make_ctx(root, "windows", fix=True), {"NO_PROXY": "wow!"})
    assert "delayed expansion" in render(info.value.message, "en")


def test_unquoted_windows_paths_warned_and_repaired(tmp_path):
    user = b"@echo off\r\nset COMMANDLINE_ARGS=--xformers --ckpt-dir C:\\models\\sd --vae-dir \"D:\\vae\\\"\r\ncall webui.bat\r\n"
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": user})
    result, text = run_writer(make_ctx(root, "windows"))
    assert "without quotes" in text and "No closing quotation" in text and not result["applied"]
    assert read_bytes(os.path.join(root, "webui-user.bat")) == user
    result, _ = run_writer(make_ctx(root, "windows", fix=True))
    out = read_bytes(os.path.join(root, "webui-user.bat"))
    user2 = b"@echo off\r\nset COMMANDLINE_ARGS=--ckpt-dir C:\\models\\sd\r\ncall webui.bat\r\n"
    root2 = make_webui(str(tmp_path / "w2"), {"webui-user.bat": user2})
    assert "gets --ckpt-dir C:modelssd instead of --ckpt-dir C:\\models\\sd" in run_writer(make_ctx(root2, "windows"))[1]
    assert out == b"@echo off\r\nset COMMANDLINE_ARGS=--xformers --ckpt-dir \"C:\\models\\sd\" --vae-dir \"D:\\vae\\\\\"\r\ncall webui.bat\r\n"
    value = out.split(b"ARGS=", 1)[1].split(b"\r\n")[0].decode()
    assert shlex.split(value) == ["--xformers", "--ckpt-dir", "C:\\models\\sd", "--vae-dir", "D:\\vae\\"]


def test_settings_bat_never_calls_webui_bat(tmp_path):
    settings = b"@echo off\r\nset COMMANDLINE_ARGS=--api\r\ncall webui.bat\r\n"
    root = make_webui(str(tmp_path / "w"), {"webui.settings.bat": settings})
    result, text = run_writer(make_ctx(root, "windows", fix=True), plan=Plan(["--api"]))
    out = read_bytes(os.path.join(root, "webui.settings.bat")).decode()
    assert "rem call webui.bat" in out and "#14557" in text
    assert "\r\ncall webui.bat" not in out


def test_port_and_repository_and_proxy(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": DEFAULT_USER_BAT.replace(b"ARGS=", b"ARGS=--port 7860 --api")})
    result, _ = run_writer(make_ctx(root, "windows"), {"port": 7861, "NO_PROXY": "localhost,127.0.0.1,::1",
                                                       "STABLE_DIFFUSION_REPO": "https://github.com/w-e-w/stablediffusion.git"})
    assert result["commandline_args"] == ["--port", "7861", "--api"]
    assert "+set COMMANDLINE_ARGS=--port 7861 --api" in result["diff"]
    assert "+set STABLE_DIFFUSION_REPO=https://github.com/w-e-w/stablediffusion.git" in result["diff"]
    assert "+set NO_PROXY=localhost,127.0.0.1,::1" in result["diff"] and "no_proxy" not in result["diff"]
    assert result["variables"]["NO_PROXY"] == "localhost,127.0.0.1,::1"


def test_unsafe_git_value_refused(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": DEFAULT_USER_BAT})
    with pytest.raises(UserError):
        run_writer(make_ctx(root, "windows", fix=True), {"GIT": r"C:\a&b\git.exe"})
    result, _ = run_writer(make_ctx(root, "windows", fix=True), {"GIT": r"C:\Program Files\Git\bin\git.exe"})
    assert b"set GIT=C:\\Program Files\\Git\\bin\\git.exe\r\n" in read_bytes(os.path.join(root, "webui-user.bat"))


@pytest.mark.parametrize("content, message", [
    (b"MZ\x90\x00\x03\x00binary", "not a text file"),
    (b"x" * (1024 * 1024 + 10), "larger than 128 KB"),
    (b"\xff\xfe@\x00e\x00c\x00h\x00o\x00", "UTF-16"),
    (b"set X=\x81\xff\xfe\xa0\r\n", "encoding"),
])
def test_unusable_file(tmp_path, content, message):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": content})
    result, text = run_writer(make_ctx(root, "windows", pages=None), {"PYTHON": r"C:\Py\python.exe"})
    assert message in text
    with pytest.raises(UserError) as info:
        run_writer(make_ctx(root, "windows", pages=None, fix=True), {"PYTHON": r"C:\Py\python.exe"})
    assert message in render(info.value.message, "en")
    assert read_bytes(os.path.join(root, "webui-user.bat")) == content
    assert sorted(os.listdir(root)) == ["launch.py", "webui-user.bat", "webui.bat", "webui.sh"]


def test_no_change_and_report_in_chinese(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.bat": DEFAULT_USER_BAT})
    ctx = make_ctx(root, "windows", fix=True, lang="zh")
    result, text = run_writer(ctx, plan=Plan([]))
    assert not result["changed"] and result["diff"] == "" and result["backup"] is None
    assert "无需改动" in text and "为什么是这个文件" in text


# -- webui-user.sh, run by bash ------------------------------------------------------------------------------------

DUMP = "import json, os, sys\njson.dump(dict(os.environ), open(sys.argv[1], 'w', encoding='utf-8'), ensure_ascii=False)\n"


def run_webui_sh(root, tmp_path):
    """A stub webui.sh that sources webui-user.sh from its folder like the real one and dumps what it would use."""
    dump = str(tmp_path / "dump.py")
    write_bytes(dump, DUMP.encode())
    out = str(tmp_path / "env.json")
    stub = ('#!/usr/bin/env bash\nSCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"\n'
            'if [[ -f "$SCRIPT_DIR"/webui-user.sh ]]; then source "$SCRIPT_DIR"/webui-user.sh; fi\n'
            'export SEEN_PYTHON_CMD="${python_cmd-}" SEEN_VENV_DIR="${venv_dir-}"\n'
            '"%s" "%s" "%s"\n' % (sys.executable, dump, out))
    write_bytes(os.path.join(root, "webui.sh"), stub.encode())
    env = dict((k, v) for k, v in os.environ.items() if k.lower() not in ("commandline_args", "no_proxy", "python_cmd"))
    subprocess.run([BASH, os.path.join(root, "webui.sh")], env=env, check=True, timeout=30, cwd=str(tmp_path))
    with open(out, encoding="utf-8") as fh:
        return json.load(fh)


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_new_webui_user_sh_runs_in_bash(tmp_path):
    root = make_webui(str(tmp_path / "w"))
    tokens = ["--xformers", "--ckpt-dir", "/srv/my models/it's \"here\"", "--gradio-auth", "me:$HOME`id`;x"]
    result, _ = run_writer(make_ctx(root, "linux", fix=True, no_venv=True),
                           {"PYTHON": "/opt/py 3.10/bin/python3.10", "NO_PROXY": "localhost,127.0.0.1,::1",
                            "STABLE_DIFFUSION_REPO": "https://github.com/w-e-w/stablediffusion.git", "port": 7861},
                           Plan(tokens))
    data = read_bytes(os.path.join(root, "webui-user.sh"))
    assert b"\r" not in data and data.startswith(read_bytes(os.path.join(writer.templates_dir(), "webui-user.sh"))[:40])
    env = run_webui_sh(root, tmp_path)
    assert env["SEEN_PYTHON_CMD"] == "/opt/py 3.10/bin/python3.10"
    assert env["SEEN_VENV_DIR"] == "-"
    assert env["NO_PROXY"] == env["no_proxy"] == "localhost,127.0.0.1,::1"
    assert env["STABLE_DIFFUSION_REPO"] == "https://github.com/w-e-w/stablediffusion.git"
    assert shlex.split(env["COMMANDLINE_ARGS"]) == tokens + ["--port", "7861"]


@pytest.mark.skipif(BASH is None, reason="bash is not installed")
def test_merged_webui_user_sh_keeps_the_rest(tmp_path):
    user = (b"#!/bin/bash\n# my notes\n#export COMMANDLINE_ARGS=\"\"\nexport MY_OWN=\"kept\"\n"
            b"export COMMANDLINE_ARGS=\"--api --ckpt-dir '/m m'\"\nexport TORCH_COMMAND=\"pip install torch\"  # mine\n")
    root = make_webui(str(tmp_path / "w"), {"webui-user.sh": user})
    ctx = make_ctx(root, "linux", fix=True)
    result, _ = run_writer(ctx, {"PYTHON": "/usr/bin/python3.10"}, Plan(ctx.commandline_args + ["--medvram"]))
    out = read_bytes(os.path.join(root, "webui-user.sh"))
    assert out == (b"#!/bin/bash\n# my notes\n#export COMMANDLINE_ARGS=\"\"\nexport MY_OWN=\"kept\"\n"
                   b"export COMMANDLINE_ARGS='--api --ckpt-dir \"/m m\" --medvram'\n"
                   b"export TORCH_COMMAND=\"pip install torch\"  # mine\npython_cmd=/usr/bin/python3.10\n")
    env = run_webui_sh(root, tmp_path)
    assert shlex.split(env["COMMANDLINE_ARGS"]) == ["--api", "--ckpt-dir", "/m m", "--medvram"]
    assert env["MY_OWN"] == "kept" and env["SEEN_PYTHON_CMD"] == "/usr/bin/python3.10"


def test_sh_new_value_goes_under_its_commented_example(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.sh": read_bytes(os.path.join(writer.templates_dir(), "webui-user.sh"))})
    run_writer(make_ctx(root, "linux", fix=True, no_venv=True))
    lines = read_bytes(os.path.join(root, "webui-user.sh")).decode().splitlines()
    assert lines[lines.index('#venv_dir="venv"') + 1] == "venv_dir=-"


def test_templates_ship_in_the_package():
    folder = writer.templates_dir()
    for name in ("webui-user.bat", "webui.settings.bat", "webui-user.sh"):
        data = read_bytes(os.path.join(folder, name))
        if name.endswith(".bat"):
            assert data.count(b"\r\n") == data.count(b"\n") > 0
        else:
            assert b"\r" not in data
    settings = read_bytes(os.path.join(folder, "webui.settings.bat")).decode()
    from sd_doctor.formats import bat as batfile
    assert not any(batfile.is_call_webui(line) for line in settings.splitlines())


# -- through the real command line --------------------------------------------------------------------------------

def test_cli_json_settings_shape_without_fix(tmp_path):
    root = make_webui(str(tmp_path / "w"), {"webui-user.sh": b"#!/bin/bash\nexport COMMANDLINE_ARGS=\"--api\"\n"})
    before = read_bytes(os.path.join(root, "webui-user.sh"))
    proc = run_cli([root, "--offline", "--no-venv", "--json"], env=cli_env())
    doc = json.loads(proc.stdout)
    s = doc["settings"]
    for key in ("file", "commandline_args", "variables", "diff", "applied", "backup", "reasons"):
        assert key in s
    assert s["file"] == os.path.join(root, "webui-user.sh") and s["applied"] is False and s["backup"] is None
    assert s["variables"]["venv_dir"] == "-" and "+venv_dir=-" in s["diff"]
    assert s["commandline_args"][:1] == ["--api"]
    assert read_bytes(os.path.join(root, "webui-user.sh")) == before
    text = run_cli([root, "--offline", "--no-venv"], env=cli_env()).stdout
    assert "Launch settings: " in text and "  venv_dir=-" in text and "--fix" in text and "+venv_dir" not in text
    text = run_cli([root, "--offline", "--no-venv", "-v"], env=cli_env()).stdout  # the full diff under -v
    assert "+venv_dir=-" in text
