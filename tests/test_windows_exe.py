"""sd-doctor.exe, the Windows download: built by tools/build-windows (PyInstaller under Wine, cached), then run under
Wine in a prefix that holds no Python at all.

"Double-clicked" is a console whose only process is the exe: Wine gives a program started on a Linux terminal a
console of its own (GetConsoleProcessList lists just it), as Explorer does; ``cmd /c`` on that terminal is the
program started from a shell. The exe's output to a pipe has no console at all.
"""

import fcntl
import json
import os
import pty
import select
import shutil
import struct
import subprocess
import sys
import termios
import time

import pytest

from conftest import ROOT, copy_corpus, make_webui

from wine import bed as winebed

sys.path.insert(0, os.path.join(ROOT, "tools"))
import winexe  # noqa: E402

if winebed.wine_command() is None:
    pytest.skip("Wine is not installed: the exe was not built or run", allow_module_level=True)

EXE = r"C:\tools\sd-doctor.exe"
from sd_doctor.core.runner import CHECK_IDS  # noqa: E402 (the report order, the one list)
PROMPT = "Press Enter to close this window."


@pytest.fixture(scope="module")
def exe_file():
    try:
        path, _seconds = winexe.build_exe()
    except (winexe.BuildError, subprocess.TimeoutExpired, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail("sd-doctor.exe could not be built: %s" % exc)
        pytest.skip("sd-doctor.exe could not be built: %s" % exc)
    return path


@pytest.fixture(scope="module")
def bare(exe_file, tmp_path_factory):
    """A fresh prefix with no Python in it, the exe in C:\\tools (not on PATH)."""
    p = winebed.Prefix(str(tmp_path_factory.mktemp("winexe")), None)
    try:
        os.makedirs(p.folder, exist_ok=True)
        p.run(["wineboot", "-i"], timeout=300)
        os.makedirs(p.unix(r"C:\tools"))
        shutil.copyfile(exe_file, p.unix(EXE))
        yield p
    finally:
        p.destroy()


def on_terminal(prefix, argv, cwd, answer=None, timeout=90, env=None, prompt=PROMPT):
    """``wine ARGV`` on a pseudo-terminal: (exit code, output, seconds it kept running after printing the prompt).
    ``answer`` is typed once the prompt appears (after a pause that proves it waits)."""
    master, slave = pty.openpty()
    # A wide terminal: Wine's console wraps lines at the terminal's width.
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 400, 0, 0))
    proc = subprocess.Popen([prefix.wine] + argv, stdin=slave, stdout=slave, stderr=slave, cwd=cwd,
                            env=prefix.environ(env), start_new_session=True)
    os.close(slave)
    out, waited, deadline = b"", None, time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([master], [], [], 0.2)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:
                    data = b""
                if not data:
                    break
                out += data
            if answer is not None and waited is None and prompt.encode("utf-8") in out:
                time.sleep(2)
                waited = 2 if proc.poll() is None else 0
                os.write(master, answer)
            if proc.poll() is not None and not ready:
                break
        proc.wait(timeout=max(1, deadline - time.monotonic()))
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        os.close(master)
    return proc.returncode, out.decode("utf-8", "replace").replace("\x1b[K", ""), waited


def exe_json(prefix, args, **kw):
    result = prefix.run([EXE] + list(args) + ["--json", "--verbose", "--timeout", "15"], **kw)
    assert "Traceback" not in result.stdout + result.stderr, result
    doc = json.loads(result.stdout)
    checks = dict((c["id"], c) for c in doc["checks"])
    return result, doc, checks


def zh_locale():
    """The environment that gives Wine a Chinese Windows (zh_CN: code pages 936/936). CI has the locales package:
    there a missing locale fails; elsewhere it skips with the reason."""
    env, why = winebed.locale_environ("zh_CN.UTF-8")
    if env is None:
        if os.environ.get("CI"):
            pytest.fail("no Chinese Windows locale for Wine: " + why)
        pytest.skip("no Chinese Windows locale for Wine: " + why)
    return env


def test_exe_version(bare):
    from sd_doctor import __version__

    result = bare.run([EXE, "--version"])
    assert result.returncode == 0, result
    assert result.stdout.strip() == "sd-doctor " + __version__, result


@pytest.fixture(scope="module")
def real_webui(bare):
    return copy_corpus("a1111-2024-02-26-v1.8", bare.unix(r"C:\sd\webui-18"))


def test_exe_full_offline_run_on_a_real_web_ui_folder(bare, real_webui):
    result, doc, checks = exe_json(bare, [bare.win(real_webui), "--offline"])
    assert doc["platform"] == "windows" and doc["webui_dir"] == r"C:\sd\webui-18", doc
    assert sorted(checks) == sorted(CHECK_IDS), doc
    failed = dict((i, c["detail"]) for i, c in checks.items() if "probe failed" in c["detail"].lower())
    assert not failed, failed  # every check module and its dependencies made it into the exe
    # Documented exit codes: 1 when a finding is an error (here: no Python in this prefix at all), else 0.
    errors = [c for c in checks.values() if c["status"] == "error"]
    assert result.returncode == (1 if errors else 0), result
    assert checks["python"]["status"] == "error", checks["python"]
    text = bare.run([EXE, bare.win(real_webui), "--offline", "--timeout", "15"])
    assert text.returncode == result.returncode and "Summary: " in text.stdout, text
    assert PROMPT not in text.stdout, text  # output to a pipe: no console, no prompt


def test_exe_fix_writes_webui_user_bat_that_cmd_reads(bare, real_webui):
    result, doc, checks = exe_json(bare, [bare.win(real_webui), "--offline", "--fix"])
    settings = doc["settings"]
    assert settings["applied"] is True, settings
    assert os.path.isfile(os.path.join(real_webui, "webui-user.bat")), settings
    # The real webui.bat would start the web UI: a stand-in prints what cmd set from webui-user.bat.
    with open(os.path.join(real_webui, "webui.bat"), "w", newline="\r\n") as fh:
        fh.write("@echo off\necho SD-ENV-BEGIN\nset\n")
    run = bare.cmd("webui-user.bat", cwd=real_webui)
    seen = run.stdout.split("SD-ENV-BEGIN", 1)[1].splitlines()
    env = dict(line.split("=", 1) for line in seen if "=" in line)
    upper = dict((k.upper(), v) for k, v in env.items())
    for name, value in settings["variables"].items():
        if value not in (None, ""):
            assert upper.get(name.upper()) == value, (name, value, run.stdout)
    assert "COMMANDLINE_ARGS" in (k.upper() for k in settings["variables"]), settings


def test_exe_bad_input_exits_2(bare, tmp_path):
    result = bare.run([EXE, "--timeout", "abc"])
    assert result.returncode == 2 and "Traceback" not in result.stderr, result
    assert result.stderr.startswith("sd-doctor: invalid command line"), result
    not_a_folder = tmp_path / "file.txt"
    not_a_folder.write_text("x")
    result = bare.run([EXE, bare.win(str(not_a_folder))])
    assert result.returncode == 2 and "not a folder" in result.stderr, result
    assert bare.run([EXE, "--help"]).returncode == 0


def test_exe_needs_nothing_outside_itself(bare, real_webui):
    """PATH reduced to C:\\windows\\system32, in a prefix without any Python: the whole run still works."""
    bat = bare.unix(r"C:\tools\narrow.bat")
    with open(bat, "w", newline="\r\n") as fh:
        fh.write("@echo off\nset PATH=C:\\windows\\system32\n\"%s\" %%*\n" % EXE)
    result = bare.run(["cmd", "/c", r"C:\tools\narrow.bat", bare.win(real_webui), "--offline", "--json", "--verbose"])
    assert "Traceback" not in result.stdout + result.stderr, result
    doc = json.loads(result.stdout)
    checks = dict((c["id"], c) for c in doc["checks"])
    assert [e.lower() for e in checks["path"]["facts"]["entries"]] == [r"c:\windows\system32"], checks["path"]
    assert not [c for c in checks.values() if "probe failed" in c["detail"].lower()], checks


def test_double_clicked_exe_checks_its_own_web_ui_folder_and_waits_for_enter(bare, tmp_path):
    webui = make_webui(bare.unix(r"C:\sd\dropped"))
    shutil.copyfile(bare.unix(EXE), os.path.join(webui, "sd-doctor.exe"))
    code, out, waited = on_terminal(bare, [r"C:\sd\dropped\sd-doctor.exe"], cwd=str(tmp_path), answer=b"\r")
    assert "Checking the folder sd-doctor.exe is in, which holds a web UI: C:\\sd\\dropped" in out, out
    assert "checking C:\\sd\\dropped (windows)" in out, out
    assert PROMPT in out and waited == 2, (waited, out)  # still running two seconds after the prompt
    assert code in (0, 1), out
    # Wine's console is cp437 here: the report falls back to ASCII marks.
    assert u"\u2713" not in out and u"\u2717" not in out, out


def test_exe_elsewhere_checks_the_current_folder(bare):
    webui = make_webui(bare.unix(r"C:\sd\current"))
    code, out, _ = on_terminal(bare, [EXE], cwd=webui, answer=b"\r")
    assert "Checking the current folder C:\\sd\\current (the folder sd-doctor.exe is in holds no web UI)" in out, out
    assert PROMPT in out, out


def test_exe_from_cmd_or_with_json_does_not_wait(bare, real_webui):
    code, out, _ = on_terminal(bare, ["cmd", "/c", EXE, bare.win(real_webui), "--offline"], cwd=real_webui)
    assert "Summary: " in out and PROMPT not in out, out
    assert code in (0, 1), out
    code, out, _ = on_terminal(bare, [EXE, bare.win(real_webui), "--offline", "--json"], cwd=real_webui)
    assert PROMPT not in out, out
    # Wine's console breaks lines at its width (400 columns here): JSON's own line breaks are only between tokens,
    # so removing every break restores the document.
    text = out[out.index("{"):out.rindex("}") + 1].replace("\r", "").replace("\n", "")
    assert json.loads(text)["platform"] == "windows"


def test_exe_speaks_the_windows_ui_language_on_a_chinese_console(bare, real_webui):
    env = zh_locale()
    code, out, waited = on_terminal(bare, [EXE, bare.win(real_webui), "--offline"], cwd=real_webui, env=env,
                                    answer=b"\r", prompt=u"按回车键关闭此窗口。")
    assert u"汇总" in out and u"按回车键关闭此窗口。" in out, out
    assert waited == 2, out
    # Without any LANG / LC_* variable (removed in cmd), the language still comes from Windows' UI language.
    bat = bare.unix(r"C:\tools\nolang.bat")
    with open(bat, "w", newline="\r\n") as fh:
        fh.write("@echo off\n" + "".join("set %s=\n" % n for n in ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES",
                                                                "LANGUAGE", "LOCPATH")) + "\"%s\" %%*\n" % EXE)
    result = bare.run(["cmd", "/c", r"C:\tools\nolang.bat", bare.win(real_webui), "--offline"], env=env,
                      encoding="gbk")
    assert u"汇总" in result.stdout and u"检查" in result.stdout, result


def test_exe_json_on_a_chinese_windows_is_utf8_with_the_chinese_strings(bare):
    """Issue 13 case 7 for the download: zh_CN (ANSI code page 936), output to a pipe, a Chinese folder name and
    Chinese findings; the document's bytes are UTF-8 (or ASCII) and json.loads gives the same Chinese back."""
    env = zh_locale()
    folder = u"C:\\AI\u7ed8\u753b\\webui"  # C:\AI绘画\webui
    copy_corpus("a1111-2024-02-26-v1.8", bare.unix(folder))
    result = bare.run([EXE, folder, "--json", "--lang", "zh", "--offline", "--timeout", "15"], env=env)
    assert "Traceback" not in result.stdout + result.stderr, result
    try:
        text = result.stdout_bytes.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssertionError("the exe's --json bytes are not UTF-8 (%s): %r" % (exc, result.stdout_bytes[:300]))
    doc = json.loads(text)
    assert doc["webui_dir"] == folder, doc["webui_dir"]
    checks = dict((c["id"], c) for c in doc["checks"])
    assert checks["install-path"]["title"] == u"安装路径", checks["install-path"]
    assert u"非 ASCII" in checks["install-path"]["detail"], checks["install-path"]
    # No Python in this prefix: the Chinese finding names the command webui.bat runs.
    assert checks["python"]["status"] == "error" and u"找不到 python" in checks["python"]["detail"], checks["python"]
