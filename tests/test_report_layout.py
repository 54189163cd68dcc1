"""The report a person reads (issue 14): an 80x30 console in tmux, wrapping, grouped advice, progress, --report,
--check / --list-checks, Chinese option texts, the folder note, the active venv, Windows release names."""

import os
import re
import shlex
import shutil
import subprocess
import sys
import time

import pytest

from conftest import ROOT, copy_corpus, machine_env, make_webui, run_cli, run_json, write_fake_python
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T
from sd_doctor.report.wrap import width, wrap

FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]*")


# -- wrapping ---------------------------------------------------------------------------------------------------------

def test_cjk_characters_take_two_columns():
    assert width(u"安装路径") == 8 and width("abc") == 3 and width(u"Python：") == 8


def test_wrap_never_splits_a_flag_a_path_or_a_url():
    text = ("Start with --skip-torch-cuda-test and --precision full; the file is /root/.pyenv/versions/3.10.13/bin/"
            "python3.10 and the mirror https://github.com/w-e-w/stablediffusion.git is used.")
    for columns in range(20, 90, 7):
        lines = wrap(text, columns, "    -> ", "       ")
        tokens = " ".join(line.strip() for line in lines).replace("-> ", "").split()
        assert tokens == text.split(), columns
        for token in ("--skip-torch-cuda-test", "/root/.pyenv/versions/3.10.13/bin/python3.10",
                      "https://github.com/w-e-w/stablediffusion.git"):
            assert any(token in line for line in lines), (columns, lines)


def test_a_command_after_a_colon_moves_whole_to_its_own_line():
    command = "reg add HKLM\\SYSTEM\\CurrentControlSet\\Control\\FileSystem /v LongPathsEnabled /t REG_DWORD /d 1 /f"
    lines = wrap("Long paths are off; as administrator: " + command, 80, "    -> ", "       ")
    assert lines == ["    -> Long paths are off; as administrator:", "       " + command]


def test_chinese_wraps_between_characters_within_the_width():
    text = u"使用已找到的 Python 3.10.13（/root/.pyenv/versions/3.10.13/bin/python3.10）：在 webui-user.sh 中写入这一行，然后重新运行。"
    lines = wrap(text, 40, "    -> ", "       ")
    assert all(width(line) <= 40 for line in lines if "/root/" not in line), lines
    assert any("/root/.pyenv/versions/3.10.13/bin/python3.10" in line for line in lines)
    assert not any(line.strip().startswith((u"，", u"。", u"：", u"）")) for line in lines)
    assert not any(line.endswith(u"（") for line in lines)


# -- messages with value equality: advice said once ------------------------------------------------------------------

def test_equal_messages_are_one_advice():
    f = Finding("git", T("git", "git"))
    for url in ("a", "b", "c"):
        f.error(T("Cannot reach {u}", "无法访问 {u}", u=url), T("Check the network {x}", "检查网络 {x}", x=T("now", "现在")))
    assert len(f.advice) == 1 and len(f.lines) == 3
    assert T("x {a}", "x {a}", a=1) == T("x {a}", "x {a}", a=1) != T("x {a}", "x {a}", a=2)
    assert len({T("a", "甲"), T("a", "甲")}) == 1


def test_repositories_that_fail_for_one_reason_are_one_line():
    from sd_doctor.checks import git as gitcheck

    def repo(name):
        return {"url_var": name.upper() + "_REPO", "folder": name, "url": "https://example.invalid/%s.git" % name,
                "path": "/w/repositories/" + name, "local": {"state": "missing"},
                "remote": {"state": "dns", "detail": "fatal: unable to access 'https://example.invalid/%s.git/': "
                                                     "Could not resolve host: example.invalid" % name}}

    facts = {"platform": "linux", "webui_dir": "/w", "offline": False, "timeout": 5, "settings_file": "webui-user.sh",
             "git": {"path": "/usr/bin/git", "version": "2.39.5"}, "launch_utils": "/w/modules/launch_utils.py",
             "checkout": {"installed": True, "is_git": True, "origin": "https://example.invalid/webui.git",
                          "local": {"state": "ok"}, "remote": {"state": "dns"}},
             "repos": [repo(n) for n in ("assets", "k-diffusion", "BLIP", "generative-models", "huggingface_guess")]}
    f = gitcheck.judge(facts)
    errors = [m.render("en") for s, m in f.lines if s == "error"]
    assert errors == ["Cannot reach the web UI's origin nor 5 repositories: the host name does not resolve (\"Could "
                      "not resolve host\"); updates will fail and the launcher cannot clone repositories/assets, "
                      "k-diffusion, BLIP, generative-models, huggingface_guess."]
    assert [a.render("en") for a in f.advice] == [
        "Check the network connection and the proxy settings (see the check \"Proxy\"), then try again."]
    assert u"见“代理”检查项" in f.advice[0].render("zh")


# -- an 80x30 console ------------------------------------------------------------------------------------------------

def _tmux_screen(argv, env, columns=80, rows=30, timeout=60):
    """Run ``argv`` in a detached tmux session of that size; return (visible screen lines, exit code)."""
    if not shutil.which("tmux"):
        pytest.skip("tmux is not installed")
    socket_name = "sd-doctor-test-%d" % os.getpid()
    script = os.path.join(env["HOME"], "run.sh")
    with open(script, "w") as fh:
        fh.write("".join("export %s=%s\n" % (k, shlex.quote(v)) for k, v in env.items() if re.match(r"^\w+$", k)))
        fh.write("%s\necho \"__END__ $?\"\n%s 60\n" % (" ".join(shlex.quote(a) for a in argv), shutil.which("sleep")))
    base = ["tmux", "-L", socket_name, "-f", "/dev/null"]
    subprocess.run(base + ["new-session", "-d", "-s", "t", "-x", str(columns), "-y", str(rows), "bash " + script],
                   check=True, env=dict(os.environ, TERM="xterm-256color"))
    try:
        end = time.monotonic() + timeout
        screen = ""
        while time.monotonic() < end:
            screen = subprocess.run(base + ["capture-pane", "-p", "-t", "t"], capture_output=True, text=True).stdout
            if "__END__" in screen:
                break
            time.sleep(0.2)
        lines = screen.split("\n")[:rows]
        match = re.search(r"__END__ (\d+)", screen)
        return lines, int(match.group(1)) if match else None
    finally:
        subprocess.run(base + ["kill-server"], capture_output=True)


def _forge(tmp_path):
    """A real Forge checkout (the corpus), as a git clone, on a machine whose only python3.10 is a 3.13 (Forge's
    torch 2.3.1 has no wheels for it: an error)."""
    root = copy_corpus("forge-2025-06-26", str(tmp_path / "forge"))
    env = machine_env(str(tmp_path), python_version="3.13.0",
                      extra={"TERM": "xterm-256color", "NO_COLOR": "1", "GIT_CONFIG_GLOBAL": "/dev/null"})
    for argv in (["init", "-q"], ["remote", "add", "origin", "https://github.com/lllyasviel/stable-diffusion-webui-forge.git"]):
        subprocess.run(["git", "-C", root] + argv, check=True, capture_output=True)
    return root, env


def test_the_report_fits_an_80x30_console(tmp_path):
    root, env = _forge(tmp_path)
    _, doc, checks = run_json([root, "--offline"], env=env)
    errors = [c["title"] for c in doc["checks"] if c["status"] == "error"]
    assert errors, "the test needs findings with errors"
    piped = run_cli([root, "--offline"], env=env).stdout
    lines, code = _tmux_screen([sys.executable, "-m", "sd_doctor", root, "--offline"], dict(env, PYTHONPATH=ROOT))
    assert code == 1, "\n".join(lines)
    screen = "\n".join(lines)
    summary = [l for l in lines if l.startswith("Summary: ")]
    assert summary and "Failed: " in screen and all(t in screen for t in errors), screen
    for title in errors:
        assert any(l.startswith(u"\u2717 %s: " % title) for l in lines), (title, screen)
    assert all(width(l) <= 80 for l in lines)
    known = set(FLAG.findall(piped))
    for line in lines:  # a flag cut at the line's end would be a fragment that the unwrapped report never says
        for flag in FLAG.findall(line):
            assert flag in known, (flag, line)
        assert not re.search(r"(?<![\w-])--?[a-z0-9-]*-$", line), line
    assert "+export" not in screen and "-v shows the diff" in screen  # the diff only under -v or --fix


# -- the progress line -------------------------------------------------------------------------------------------------

def test_progress_names_the_checks_still_running_and_is_cleared(tmp_path):
    from net_servers import Tarpit
    from test_cli import _run_on_pty

    root = make_webui(str(tmp_path / "webui"))
    with Tarpit() as pit:
        env = machine_env(str(tmp_path), extra={"HTTPS_PROXY": "http://127.0.0.1:%d" % pit.port,
                                                "HTTP_PROXY": "http://127.0.0.1:%d" % pit.port, "TERM": "xterm"})
        out = _run_on_pty([root, "--timeout", "1.5"], env)
    assert out.index("sd-doctor ") < out.index("Still checking: ") < out.index("Summary: ")
    last = out.rindex("Still checking: ")
    status = out[last:].split("\r")[0]  # the network checks are the last to finish (the tarpit never answers)
    assert any(title in status for title in ("Proxy", "git and repositories", "Downloads")), status
    assert re.search(r"\r {%d}\r" % width(status), out[last:out.index("Summary: ")])  # cleared before the report
    piped = run_cli([root, "--timeout", "1.5"], env=env)
    assert "Still checking" not in piped.stdout + piped.stderr


# -- --report, --check, --list-checks, -v ----------------------------------------------------------------------------

def test_report_is_markdown_and_redacted(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path), extra={"HTTPS_PROXY": "http://alice:s3cret-pw@127.0.0.1:9",
                                            "HTTP_PROXY": "http://alice:s3cret-pw@127.0.0.1:9"})
    proc = run_cli([root, "--offline", "--report"], env=env)
    assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, proc.stderr
    text = proc.stdout
    assert text.startswith("<details><summary>sd-doctor report</summary>") and text.rstrip().endswith("</details>")
    for needle in ("| sd-doctor | ", "| OS | ", "| GPU | ", "flavour / webui.bat generation", "### Findings",
                   "### Planned settings", "(`proxy`", "(`gpu`"):
        assert needle in text, needle
    assert "s3cret" not in text and "alice" not in text and "***@127.0.0.1:9" in text
    assert env["HOME"] not in text
    assert run_cli([root, "--report", "--json"], env=env).returncode == 2


def test_check_runs_only_the_named_checks_and_list_checks_lists_them(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path))
    _, doc, checks = run_json([root, "--offline", "--check", "disk", "--check", "python"], env=env)
    assert [c["id"] for c in doc["checks"]] == ["python", "disk"] and "settings" not in doc
    listing = run_cli(["--list-checks"], env=env)
    assert listing.returncode == 0 and listing.stdout.split("\n")[0].split()[0] == "install-path"
    assert len(listing.stdout.strip().splitlines()) == 12
    bad = run_cli([root, "--check", "nope"], env=env)
    assert bad.returncode == 2 and "'nope'" in bad.stderr and "install-path" in bad.stderr
    assert run_cli([root, "--check", "disk", "--fix"], env=env).returncode == 2
    verbose = run_cli([root, "--offline", "-v", "--check", "disk"], env=env).stdout
    assert re.search(r"Disk space: .*\(\d+\.\d\d s\)", verbose)


def test_help_and_argparse_errors_in_chinese(tmp_path):
    env = machine_env(str(tmp_path))
    helptext = run_cli(["--lang", "zh", "--help"], env=env).stdout
    assert helptext.startswith(u"用法：") and u"\n选项：\n" in helptext and u"显示此帮助信息并退出" in helptext
    assert "show this help" not in helptext
    proc = run_cli(["--lang", "zh", "--bogus"], env=env)
    assert proc.returncode == 2 and proc.stderr == u"sd-doctor: 命令行参数无效：无法识别的参数：--bogus（见 --help）\n"
    proc = run_cli(["--lang", "zh", "--timeout", "9999"], env=env)
    assert proc.returncode == 2 and u"不在 0.1 到 600 秒之间" in proc.stderr and "argument" not in proc.stderr
    proc = run_cli(["--lang", "zh", "--lang", "fr"], env=env)
    assert u"无效的取值" in proc.stderr


def test_version_imports_nothing_heavy():
    code = ("import sys; from sd_doctor.cli import main; main(['--version']);"
            "print(sorted(set(m.split('.')[0] for m in sys.modules) & {'packaging', 'requests', 'git', 'psutil',"
            " 'pynvml', 'json'}))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=30)
    assert proc.stdout.strip().splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_versions_are_read_by_packaging():
    from packaging.version import Version

    from sd_doctor.core import versions
    from sd_doctor.plan.flags import version_tuple as webui_version
    from sd_doctor.probes.interpreters import version_tuple as python_version

    assert versions.parse("v1.10.1-RC") == Version("1.10.1") and versions.parse("nonsense") is None
    assert webui_version("1.6.0") == (1, 6, 0) and webui_version(None) is None
    assert python_version("3.10.6") == (3, 10, 6) and python_version("?") == ()
    from sd_doctor.checks._torch_fit import parse_driver

    assert parse_driver("535.104.05") == (535, 104, 5)


# -- contradictions, the folder, the active venv ------------------------------------------------------------------------

def test_windows_release_names():
    from sd_doctor.checks import windows

    def line(os_facts):
        f = windows.judge({"platform": "windows", "os": os_facts, "long_paths_enabled": True,
                           "memory": {"ram_total": 32 * 1024 ** 3, "swap_system_managed": True}})
        return [m.render("en") for _, m in f.lines][0]

    assert line({"major": 10, "minor": 0, "build": 22631, "release": "11"}) == "Windows 11 (build 22631)"
    assert line({"major": 10, "minor": 0, "build": 19045, "release": "10"}) == "Windows 10 (build 19045)"
    assert line({"major": 6, "minor": 3, "build": 9600, "release": "8.1"}) == "Windows 8.1 (build 9600)"
    assert line({"major": 6, "minor": 1, "build": 7601, "release": "7"}).startswith("Windows 7 is older")


def test_path_gives_no_pass_to_the_shim_python_fails(tmp_path):
    webui = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path), python_version=None)
    write_fake_python(env["SD_TEST_BIN"], "python3.10", exit_code=127, stderr="pyenv: python3.10: command not found")
    _, doc, checks = run_json([webui, "--offline"], env=env)
    assert checks["python"]["status"] == "error" and "does not run" in checks["python"]["detail"]
    assert checks["path"]["status"] == "warn" and "does not run" in checks["path"]["detail"]


def test_an_active_venv_is_an_error_with_deactivate(tmp_path):
    webui = make_webui(str(tmp_path / "webui"))
    active = str(tmp_path / "active")
    write_fake_python(os.path.join(active, "bin"), "python3.10", "3.10.6")
    env = machine_env(str(tmp_path), extra={"VIRTUAL_ENV": active})
    env["PATH"] = os.path.join(active, "bin") + os.pathsep + env["PATH"]
    _, doc, checks = run_json([webui, "--offline"], env=env)
    python = checks["python"]
    assert python["status"] == "error" and "A virtual environment is active (%s)" % active in python["detail"]
    assert any(a.endswith("\ndeactivate") for a in python["advice"])
    assert "settings" in doc and doc["settings"]["variables"].get("python_cmd", "").startswith(env["SD_TEST_BIN"])
    del env["VIRTUAL_ENV"]
    _, _, checks = run_json([webui, "--offline"], env=env)
    assert checks["python"]["status"] == "ok"


def test_a_folder_that_is_not_a_web_ui_says_so(tmp_path):
    env = machine_env(str(tmp_path))
    other = tmp_path / "photos"
    other.mkdir()
    (other / "cat.jpg").write_bytes(b"\xff\xd8")
    text = run_cli([str(other), "--offline"], env=env).stdout
    assert text.splitlines()[1].startswith("This folder is not a web UI (no webui.bat, webui.sh or launch.py) and "
                                           "not empty: the doctor treats it as the place")
    package = tmp_path / "sd.webui"
    (package / "system" / "python").mkdir(parents=True)
    (package / "run.bat").write_text("@echo off\r\n")
    make_webui(str(package / "webui"))
    text = run_cli([str(package), "--offline"], env=env).stdout
    assert "the web UI is in %s: run sd-doctor %s" % (package / "webui", package / "webui") in text
    empty = tmp_path / "new"
    empty.mkdir()
    assert "not a web UI" not in run_cli([str(empty), "--offline"], env=env).stdout


# -- a zipapp ---------------------------------------------------------------------------------------------------------

def test_a_zipapp_runs_a_report_and_fix(tmp_path):
    build = tmp_path / "app"
    shutil.copytree(os.path.join(ROOT, "sd_doctor"), str(build / "sd_doctor"),
                    ignore=shutil.ignore_patterns("__pycache__"))
    pyz = str(tmp_path / "sd-doctor.pyz")
    subprocess.run([sys.executable, "-m", "zipapp", str(build), "-m", "sd_doctor.cli:main", "-o", pyz], check=True)
    root = copy_corpus("forge-2025-06-26", str(tmp_path / "forge"))
    os.remove(os.path.join(root, "webui-user.sh"))  # the writer starts from its template
    env = machine_env(str(tmp_path))
    env.pop("PYTHONPATH")
    run = lambda *a: subprocess.run([sys.executable, pyz, root, "--offline"] + list(a), capture_output=True,
                                    text=True, env=env, cwd=str(tmp_path), timeout=60)
    report = run()
    assert report.returncode in (0, 1) and "Summary: " in report.stdout, report.stderr
    fixed = run("--fix")
    assert fixed.returncode in (0, 1) and "Traceback" not in fixed.stderr, fixed.stderr
    with open(os.path.join(root, "webui-user.sh")) as fh:
        written = fh.read()
    assert written.startswith("#!/bin/bash") and "python_cmd=" in written
