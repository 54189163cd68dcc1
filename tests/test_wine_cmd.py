"""The .bat files the writer generates or merges, run by a real cmd (Wine's) in front of a stub webui.bat.

The stub does what webui.bat does with the settings (calls webui.settings.bat first, applies its defaults, uses
%PYTHON% unquoted at the top level and inside a block) and hands its whole environment to a small Python program
(``start /wait /unix``), so every variable is compared exactly as the web UI would receive it. COMMANDLINE_ARGS is
then split with shlex, as the web UI does. One Wine prefix serves every test in this file.
"""

import json
import os
import random
import shlex
import shutil
import subprocess
import sys

import pytest

from conftest import make_webui
from writer_support import make_ctx, read_bytes, run_writer, write_bytes

from sd_doctor.formats import bat as batfile
from sd_doctor.plan.flags import Plan

WINE = shutil.which("wine") or shutil.which("wine64")
pytestmark = pytest.mark.skipif(WINE is None, reason="wine is not installed (apt-get install wine64): cannot run cmd")

DUMP = """import json, os, sys
with open(sys.argv[1], "w", encoding="utf-8") as fh:
    json.dump(dict(os.environ), fh, ensure_ascii=False)
"""

_STRIP = ("python", "venv_dir", "commandline_args", "git", "no_proxy", "stable_diffusion_repo", "skip_venv",
          "http_proxy", "https_proxy", "all_proxy", "myvar", "display", "wayland_display")


class Wine(object):
    def __init__(self, base):
        self.base = base
        self.prefix = os.path.join(base, "prefix")
        self.dump = os.path.join(base, "dump.py")
        with open(self.dump, "w") as fh:
            fh.write(DUMP)
        if " " in sys.executable or " " in base:
            pytest.skip("the test paths contain spaces, which start /unix cannot take")

    def env(self, lang="C.UTF-8"):
        env = dict((k, v) for k, v in os.environ.items() if k.lower() not in _STRIP)
        env.update(WINEPREFIX=self.prefix, WINEDEBUG="-all", LANG=lang, LC_ALL=lang, WINEDLLOVERRIDES="mscoree,mshtml=")
        return env

    def run(self, bat_path, lang="C.UTF-8", timeout=120):
        """Run a batch file with ``wine cmd /c`` from its folder."""
        return subprocess.run([WINE, "cmd", "/c", os.path.basename(bat_path)], cwd=os.path.dirname(bat_path),
                              env=self.env(lang), capture_output=True, timeout=timeout)

    def close(self):
        server = shutil.which("wineserver")
        if server:
            subprocess.run([server, "-k"], env=self.env(), capture_output=True, timeout=30)


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    w = Wine(str(tmp_path_factory.mktemp("wine")))
    first = subprocess.run([WINE, "cmd", "/c", "exit"], env=w.env(), capture_output=True, timeout=180)
    if first.returncode != 0:
        pytest.skip("wine cannot start a prefix here: %r" % first.stderr[-300:])
    yield w
    w.close()


def win_path(path):
    return "Z:" + path.replace("/", "\\")


def stub_webui_bat(folder, generation, out_json, dump, set_dump=False):
    """A webui.bat of that generation that dumps the environment it sees to ``out_json``.

    ``set_dump``: cmd's own ``set`` writes the variables in the console code page instead (Wine hands a Unix program
    its environment in the Unix locale's charset, which is ASCII when the zh_CN locale is not installed)."""
    run = "start /wait /unix %s %s %s" % (sys.executable, dump, out_json)
    if set_dump:
        run = 'set > "%~dp0env.txt"'
    use = '%PYTHON% -c "" >nul 2>&1\r\nif defined PYTHON (\r\n    %PYTHON% -c "" >nul 2>&1\r\n)\r\n'
    if generation == "2022":
        body = ("@echo off\r\nset PYTHON=python\r\nset GIT=git\r\nset COMMANDLINE_ARGS=%*\r\nset VENV_DIR=venv\r\n"
                "if exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n" + run + "\r\n" + use)
    elif generation == "2023":
        body = ("@echo off\r\nif not defined PYTHON (set PYTHON=python)\r\n"
                "if not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n" + run + "\r\n" + use)
    else:
        body = ("@echo off\r\nif exist webui.settings.bat (\r\n    call webui.settings.bat\r\n)\r\n"
                "if not defined PYTHON (set PYTHON=python)\r\nif not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n"
                + run + "\r\n" + use)
    write_bytes(os.path.join(folder, "webui.bat"), body.encode("ascii"))


class Case(object):
    """One web UI folder whose settings the writer wrote with --fix, to be run through cmd."""

    def __init__(self, wine, tmp_path, name, generation="1.7+", files=None, one_click=False, set_dump=None):
        self.name = name
        parent = os.path.join(str(tmp_path), name)
        self.root = os.path.join(parent, "webui") if one_click else parent
        make_webui(self.root, files or {}, bat_generation=generation)
        if one_click:
            write_bytes(os.path.join(parent, "environment.bat"), b"@echo off\r\nset SKIP_VENV=1\r\n")
            os.makedirs(os.path.join(parent, "system", "python"))
        self.set_dump = set_dump  # the code page of cmd's own dump, or None for the exact (Unicode) dump
        self.out = os.path.join(self.root, "env.txt" if set_dump else "env.json")
        stub_webui_bat(self.root, generation, self.out, wine.dump, bool(set_dump))
        self.start = "webui-user.bat"

    def fix(self, pages=(1252, 437), no_venv=False, proposals=None, plan_tokens=None, environ=None):
        ctx = make_ctx(self.root, "windows", pages, fix=True, no_venv=no_venv, environ=environ)
        plan = None
        if plan_tokens is not None:
            plan = Plan(plan_tokens(ctx.commandline_args) if callable(plan_tokens) else plan_tokens)
        result, text = run_writer(ctx, proposals, plan)
        assert result["applied"] or not result["changed"], text
        return result, text

    def env(self):
        if self.set_dump:
            with open(self.out, "rb") as fh:
                text = fh.read().decode(self.set_dump)
            return dict(line.split("=", 1) for line in text.splitlines() if "=" in line[1:])
        with open(self.out, encoding="utf-8") as fh:
            return json.load(fh)


def run_cases(wine, tmp_path, cases, lang="C.UTF-8"):
    """Run every case's start file in one cmd session, each in its own child cmd (a clean environment)."""
    lines = ["@echo off"]
    for case in cases:
        lines += ['pushd "%s"' % win_path(case.root), "cmd /c %s" % case.start, "popd"]
    driver = os.path.join(str(tmp_path), "driver-%s.bat" % lang.split(".")[0])
    write_bytes(driver, ("\r\n".join(lines) + "\r\n").encode("ascii"))
    proc = wine.run(driver, lang=lang)
    missing = [c.name for c in cases if not os.path.isfile(c.out)]
    assert not missing, (missing, proc.stdout[-2000:], proc.stderr[-2000:])
    return proc


NASTY_ARGS = ["--xformers", "--ckpt-dir", r"C:\Program Files (x86)\models & more\sd", "--lora-dir", "D:\\loras\\",
              "--embeddings-dir", r"E:\100% real\emb", "--hypernetwork-dir", r"F:\wow!\hn", "--vae-dir",
              r"G:\a^b\vae", "--styles-file", r"C:\Users\José\styles.csv", "--gradio-auth", 'me:pa"ss|x<y>z',
              "--api-auth", "it's:mine", "--ui-settings-file", r"\\server\share\config.json", "--medvram"]


def test_cmd_receives_exact_values_from_new_and_merged_files(wine, tmp_path):
    cases = []
    # 1. no webui-user.bat yet: created from the template (CRLF, code page 437 like this Wine's console)
    new = Case(wine, tmp_path, "new")
    assert not os.path.exists(os.path.join(new.root, "webui-user.bat"))
    python = r"C:\Program Files (x86)\Python 3.10 & co\python.exe"
    new.fix(no_venv=True, plan_tokens=NASTY_ARGS,
            proposals={"PYTHON": python, "NO_PROXY": "localhost,127.0.0.1,::1", "port": 7861,
                       "STABLE_DIFFUSION_REPO": "https://github.com/w-e-w/stablediffusion.git"})
    data = read_bytes(os.path.join(new.root, "webui-user.bat"))
    assert b"\r\n" in data and b"\n" not in data.replace(b"\r\n", b"")
    assert "José".encode("cp437") in data  # the console's OEM code page, not UTF-8
    cases.append(new)

    # 2. the user's own file: comments, their own set lines and flags, unquoted Windows paths, text after the call
    user = (b"@echo off\r\n:: my settings, keep them\r\nset MYVAR=keep me ^& me\r\n"
            b"set PYTHON=\r\nset GIT=\r\nset VENV_DIR=\r\n"
            b"set COMMANDLINE_ARGS=--xformers --api --ckpt-dir \"D:\\models\" --lora-dir D:\\loras\\sd15\r\n"
            b"\r\ncall webui.bat\r\nrem after the call\r\n")
    merged = Case(wine, tmp_path, "merged", files={"webui-user.bat": user})
    result, text = merged.fix(plan_tokens=lambda seen: list(seen) + ["--medvram"], proposals={"PYTHON": r"C:\Py310\python.exe"})
    out = read_bytes(os.path.join(merged.root, "webui-user.bat"))
    assert out.startswith(b"@echo off\r\n:: my settings, keep them\r\nset MYVAR=keep me ^& me\r\n")
    assert out.endswith(b"\r\ncall webui.bat\r\nrem after the call\r\n")
    assert b"set GIT=\r\n" in out
    assert "without quotes" in text  # the repair was announced
    cases.append(merged)

    # 3. injections: nothing in a value may run a command
    inj = Case(wine, tmp_path, "inject")
    evil = "x & echo PWNED > pwned.txt"
    inj.fix(proposals={"PYTHON": r"C:\a&echo PWNED>pwned.txt&(x)\python.exe", "NO_PROXY": evil,
                       "STABLE_DIFFUSION_REPO": 'a" & echo PWNED > pwned.txt & "b'},
            plan_tokens=[evil, 'a"b & echo PWNED>pwned.txt', "%PATH%", "!PATH!", "^&"])
    cases.append(inj)

    # 4. one-click package: webui.settings.bat, started through the package's webui-user.bat
    package_user_bat = b"@echo off\r\nset COMMANDLINE_ARGS=--xformers\r\ncall webui.bat\r\n"
    oc = Case(wine, tmp_path, "oneclick", one_click=True, files={"webui-user.bat": package_user_bat})
    result, _ = oc.fix(proposals={"PYTHON": r"C:\Program Files\Python310\python.exe"},
                       plan_tokens=lambda seen: list(seen) + ["--medvram"])
    assert read_bytes(os.path.join(oc.root, "webui-user.bat")) == package_user_bat
    assert result["file"].endswith("webui.settings.bat")
    settings = read_bytes(os.path.join(oc.root, "webui.settings.bat")).decode("cp437")
    assert not any(batfile.is_call_webui(line) for line in settings.splitlines())
    cases.append(oc)

    # 5. the 2022 webui.bat: it hard-codes its values, then calls webui.settings.bat; an empty VENV_DIR skips the venv
    old = Case(wine, tmp_path, "gen2022", generation="2022")
    result, _ = old.fix(no_venv=True, proposals={"PYTHON": r"C:\Python 310\python.exe"}, plan_tokens=["--medvram"])
    assert result["file"].endswith("webui.settings.bat")
    old.start = "webui.bat"
    cases.append(old)

    # 6. late 2022 - 2023: webui-user.bat
    mid = Case(wine, tmp_path, "gen2023", generation="2023")
    result, _ = mid.fix(no_venv=True, plan_tokens=["--lowvram"])
    assert result["file"].endswith("webui-user.bat")
    cases.append(mid)

    run_cases(wine, tmp_path, cases)
    for case in cases:
        assert not os.path.exists(os.path.join(case.root, "pwned.txt")), case.name
    assert not os.path.exists(os.path.join(str(tmp_path), "pwned.txt"))

    env = new.env()
    assert env["PYTHON"] == '"%s"' % python
    assert env["VENV_DIR"] == "-"
    assert env["NO_PROXY"] == "localhost,127.0.0.1,::1"
    assert env["STABLE_DIFFUSION_REPO"] == "https://github.com/w-e-w/stablediffusion.git"
    assert shlex.split(env["COMMANDLINE_ARGS"]) == NASTY_ARGS + ["--port", "7861"]

    env = merged.env()
    assert env["MYVAR"] == "keep me & me"
    assert env["PYTHON"] == r"C:\Py310\python.exe"
    assert shlex.split(env["COMMANDLINE_ARGS"]) == ["--xformers", "--api", "--ckpt-dir", "D:\\models", "--lora-dir",
                                                    "D:\\loras\\sd15", "--medvram"]

    env = inj.env()
    assert env["PYTHON"] == '"C:\\a&echo PWNED>pwned.txt&(x)\\python.exe"'
    assert env["NO_PROXY"] == evil
    assert env["STABLE_DIFFUSION_REPO"] == 'a" & echo PWNED > pwned.txt & "b'
    assert shlex.split(env["COMMANDLINE_ARGS"]) == [evil, 'a"b & echo PWNED>pwned.txt', "%PATH%", "!PATH!", "^&"]

    env = oc.env()
    assert env["PYTHON"] == r'"C:\Program Files\Python310\python.exe"'
    assert shlex.split(env["COMMANDLINE_ARGS"]) == ["--xformers", "--medvram"]

    env = old.env()
    assert "VENV_DIR" not in env  # the guide's edit: empty, so the 2022 webui.bat skips the venv
    assert env["PYTHON"] == r'"C:\Python 310\python.exe"'
    assert env["COMMANDLINE_ARGS"] == "--medvram"

    env = mid.env()
    assert env["VENV_DIR"] == "-" and env["COMMANDLINE_ARGS"] == "--lowvram"


def test_gbk_file_and_chinese_values_under_code_page_936(wine, tmp_path):
    """A Chinese system's console reads batch files as GBK (936): the file stays GBK, a Chinese path arrives intact.
    (cmd's own ``set`` reports the values in code page 936: had cmd read the file in another code page, the values
    it reports would differ.)"""
    user = ("@echo off\r\nrem 我的设置：不要改动这一行\r\nset PYTHON=\r\nset VENV_DIR=\r\n"
            "set COMMANDLINE_ARGS=--xformers --ckpt-dir \"D:\\模型\\sd\"\r\n\r\ncall webui.bat\r\n").encode("gbk")
    case = Case(wine, tmp_path, "gbk", files={"webui-user.bat": user}, set_dump="gbk")
    python = "C:\\程序\\Python 3.10\\python.exe"
    result, _ = case.fix(pages=(936, 936), proposals={"PYTHON": python},
                         plan_tokens=lambda seen: list(seen) + ["--lora-dir", "E:\\图片 模型\\lora"])
    out = read_bytes(os.path.join(case.root, "webui-user.bat"))
    assert out.startswith("@echo off\r\nrem 我的设置：不要改动这一行\r\n".encode("gbk"))
    out.decode("gbk")
    # the same value in a UTF-8 file would arrive garbled: the writer refuses it instead (see test_writer)
    run_cases(wine, tmp_path, [case], lang="zh_CN.UTF-8")
    env = case.env()
    assert env["PYTHON"] == '"%s"' % python
    assert shlex.split(env["COMMANDLINE_ARGS"]) == ["--xformers", "--ckpt-dir", "D:\\模型\\sd", "--lora-dir",
                                                    "E:\\图片 模型\\lora"]


def test_set_line_round_trips_random_values_through_cmd(wine, tmp_path):
    """batfile.set_line for hundreds of random values over cmd's special characters: cmd stores each exactly."""
    rng = random.Random(20240601)
    alphabet = list('abcXYZ019 \t"%!^&|<>()=;,\\/:.~*?\'`$#@[]{}+-é')
    values = ["", " ", "%", "%%", "%PATH%", "%~dp0", '"', '""', '"a"', 'a"', "^", "x^", "(x)", ")", " lead", "trail ",
              "a=b", "!x!", "&", "a & b", '"a & b', 'a"&"b']
    while len(values) < 300:
        values.append("".join(rng.choice(alphabet) for _ in range(rng.randint(1, 24))))
    lines = ["@echo off"]
    for i, value in enumerate(values):
        lines.append(batfile.set_line("V%03d" % i, value))
    out_json = os.path.join(str(tmp_path), "env.json")
    lines.append("start /wait /unix %s %s %s" % (sys.executable, wine.dump, out_json))
    bat = os.path.join(str(tmp_path), "values.bat")
    write_bytes(bat, ("\r\n".join(lines) + "\r\n").encode("cp437"))
    proc = wine.run(bat)
    with open(out_json, encoding="utf-8") as fh:
        env = json.load(fh)
    for i, value in enumerate(values):
        name = "V%03d" % i
        if value == "":
            assert name not in env
        else:
            assert env.get(name) == value, (name, value, batfile.set_line(name, value), proc.stderr[-500:])
    leftovers = set(os.listdir(str(tmp_path))) - {"env.json", "values.bat"}
    assert not leftovers  # no value redirected output into a file
