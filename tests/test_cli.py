"""The command line as a user meets it: real subprocesses of ``python -m sd_doctor`` and the ``sd-doctor`` script."""

import json
import os
import re
import select
import shutil
import statistics
import subprocess
import sys
import time

import pytest

from net_servers import Tarpit
from conftest import cli_env, machine_env, make_webui, run_cli, run_json
from sd_doctor import __version__

CHECK_IDS = ["install-path", "python", "path", "venv", "disk", "windows", "proxy", "git", "downloads", "port", "gpu"]
CJK = re.compile(u"[\u4e00-\u9fff]")


def one_line_error(proc):
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("sd-doctor: ")
    assert proc.stdout == ""
    return lines[0]


# -- entry points -----------------------------------------------------------------------------------------------------

def test_module_version():
    proc = run_cli(["--version"])
    assert proc.returncode == 0
    assert proc.stdout.strip() == "sd-doctor " + __version__


def test_console_script_version():
    script = shutil.which("sd-doctor")
    if not script:
        pytest.skip("the sd-doctor console script is not installed (pip install -e .)")
    proc = subprocess.run([script, "--version"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "sd-doctor " + __version__


def test_help_lists_every_option():
    proc = run_cli(["--help"])
    assert proc.returncode == 0
    for option in ("--fix", "--json", "--lang", "--offline", "--timeout", "--verbose", "--version", "WEBUI_DIR"):
        assert option in proc.stdout


# -- WEBUI_DIR --------------------------------------------------------------------------------------------------------

def test_default_dir_is_the_current_folder(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    proc, doc, checks = run_json(["--offline"], env=machine_env(str(tmp_path)), cwd=root)
    assert doc["webui_dir"] == os.path.realpath(root)
    assert checks["install-path"]["status"] == "ok"


def test_missing_folder_is_the_intended_install_location(tmp_path):
    target = tmp_path / "not-yet" / "webui"
    proc, doc, checks = run_json([str(target), "--offline", "--fix"], env=machine_env(str(tmp_path)))
    assert proc.returncode in (0, 1), proc.stderr
    assert doc["webui_dir"] == str(target)
    assert checks["install-path"]["status"] == "ok"
    assert "does not exist yet" in checks["install-path"]["detail"]
    # machine checks still run
    assert checks["python"]["status"] == "ok" and "3.10.6" in checks["python"]["detail"]
    assert checks["disk"]["status"] in ("ok", "warn", "error")
    assert checks["windows"]["status"] != "skip"
    # settings are only shown: nothing is created at the intended location, even with --fix
    assert not (tmp_path / "not-yet").exists()


def test_a_file_instead_of_a_folder_is_a_usage_error(tmp_path):
    path = tmp_path / "webui.zip"
    path.write_bytes(b"PK\x03\x04")
    line = one_line_error(run_cli([str(path)], env=machine_env(str(tmp_path))))
    assert str(path) in line and "not a folder" in line


@pytest.mark.parametrize("args", [["--timeout", "abc"], ["--timeout", "0"], ["--timeout", "-3"], ["--timeout", "nan"],
                                  ["--lang", "fr"], ["--no-such-option"], ["a", "b"], ["--timeout"]])
def test_bad_options_are_one_line_exit_2(args, tmp_path):
    one_line_error(run_cli(args, env=machine_env(str(tmp_path))))


def test_usage_error_in_chinese(tmp_path):
    line = one_line_error(run_cli(["--lang", "zh", "--timeout", "abc"], env=machine_env(str(tmp_path))))
    assert CJK.search(line), line


# -- exit status and failures inside probes ---------------------------------------------------------------------------

def test_exit_status_follows_the_findings(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    free = shutil.disk_usage(str(tmp_path)).free
    proc, doc, checks = run_json([root, "--offline"], env=machine_env(str(tmp_path)))
    errors = [c["id"] for c in doc["checks"] if c["status"] == "error"]
    assert proc.returncode == (1 if errors else 0), (errors, proc.stderr)
    if free > 6 * 1024 ** 3:
        assert proc.returncode == 0, doc
    # the same folder with a Python the web UI cannot use: an error finding, exit 1
    proc, doc, checks = run_json([root, "--offline"], env=machine_env(str(tmp_path / "m2"), python_version="3.12.1"))
    assert checks["python"]["status"] == "error"
    assert proc.returncode == 1


def test_an_io_error_in_one_probe_becomes_a_skip_that_says_why(tmp_path):
    """A pyvenv.cfg whose read fails with EIO (a failing disk, a dropped network share): the venv probe raises."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs /proc/self/mem to produce a real read error")
    root = make_webui(str(tmp_path / "webui"))
    os.makedirs(os.path.join(root, "venv", "bin"))
    os.symlink("/proc/self/mem", os.path.join(root, "venv", "pyvenv.cfg"))
    proc, doc, checks = run_json([root, "--offline"], env=machine_env(str(tmp_path)))
    assert "Traceback" not in proc.stderr
    assert proc.returncode in (0, 1)
    assert [c["id"] for c in doc["checks"]] == CHECK_IDS
    venv = checks["venv"]
    assert venv["status"] == "skip"
    assert "OSError" in venv["detail"] and "Input/output error" in venv["detail"]
    # the rest of the run went on
    assert checks["python"]["status"] == "ok"
    assert checks["install-path"]["status"] == "ok"
    assert checks["windows"]["status"] != "skip"


def test_an_unreadable_settings_file_does_not_take_the_run_down(tmp_path):
    """webui-user.sh fails to read (EIO): named in a warning, and every check and the settings step still run."""
    if not os.path.exists("/proc/self/mem"):
        pytest.skip("needs /proc/self/mem to produce a real read error")
    root = make_webui(str(tmp_path / "webui"))
    os.symlink("/proc/self/mem", os.path.join(root, "webui-user.sh"))
    proc, doc, checks = run_json([root, "--offline"], env=machine_env(str(tmp_path)))
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1), proc.stderr
    assert [c["id"] for c in doc["checks"]] == CHECK_IDS
    assert checks["python"]["status"] == "warn"
    assert "webui-user.sh could not be read" in checks["python"]["detail"]
    assert "Input/output error" in checks["python"]["detail"]
    for cid in ("install-path", "path", "venv", "disk"):
        assert checks[cid]["status"] != "skip", checks[cid]
    # --fix cannot rewrite it: a one-line refusal at most, never a traceback
    proc = run_cli([root, "--offline", "--fix"], env=machine_env(str(tmp_path)))
    assert "Traceback" not in proc.stderr and proc.returncode in (0, 1, 2), proc.stderr
    if proc.returncode == 2:
        one_line_error(proc)


# -- language ---------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("locale_env,expected", [
    ({"LC_ALL": "zh_CN.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LANG": "zh_CN.UTF-8"}, "zh"),
    ({"LC_ALL": "", "LANG": "zh_TW.UTF-8"}, "zh"),
    ({"LC_ALL": "C.UTF-8", "LANG": "zh_CN.UTF-8"}, "en"),  # LC_ALL wins, as in every POSIX program
    ({"LC_ALL": "", "LANG": "de_DE.UTF-8"}, "en"),
    ({"LC_ALL": "", "LANG": ""}, "en"),
])
def test_language_follows_the_locale(locale_env, expected, tmp_path):
    env = machine_env(str(tmp_path), extra=locale_env)
    proc, doc, checks = run_json([str(tmp_path / "w"), "--offline"], env=env)
    title = checks["install-path"]["title"]
    assert title == ("安装路径" if expected == "zh" else "Install path")


def test_lang_option_overrides_the_locale(tmp_path):
    env = machine_env(str(tmp_path), extra={"LC_ALL": "zh_CN.UTF-8"})
    proc, doc, checks = run_json([str(tmp_path / "w"), "--offline", "--lang", "en"], env=env)
    assert checks["install-path"]["title"] == "Install path"
    env = machine_env(str(tmp_path), extra={"LC_ALL": "C.UTF-8"})
    proc = run_cli([str(tmp_path / "w"), "--offline", "--lang=zh"], env=env)
    assert "汇总" in proc.stdout


def test_a_chinese_report_has_no_english_sentences(tmp_path):
    """Many findings at once (space in the path, Python 3.12, a missing PATH entry, a broken venv), in both
    languages: every detail and advice line differs between them and the Chinese one has Chinese in it."""
    root = make_webui(str(tmp_path / "web ui"))
    os.makedirs(os.path.join(root, "venv"))
    env = machine_env(str(tmp_path), python_version="3.12.1", extra_path=[str(tmp_path / "gone")])
    runs = {}
    for lang in ("en", "zh"):
        proc, doc, checks = run_json([root, "--offline", "--lang", lang], env=env)
        runs[lang] = checks
    en, zh = runs["en"], runs["zh"]
    problems = 0
    for cid in CHECK_IDS[:6]:
        assert en[cid]["status"] == zh[cid]["status"]
        if en[cid]["status"] in ("warn", "error"):
            problems += 1
        assert en[cid]["detail"] != zh[cid]["detail"], cid
        assert CJK.search(zh[cid]["detail"]), (cid, zh[cid]["detail"])
        assert len(en[cid]["advice"]) == len(zh[cid]["advice"])
        for a_en, a_zh in zip(en[cid]["advice"], zh[cid]["advice"]):
            assert a_en != a_zh and CJK.search(a_zh), (cid, a_zh)
    assert problems >= 4


# -- JSON -------------------------------------------------------------------------------------------------------------

def _check_schema(doc, verbose=False):
    assert set(doc) - {"settings"} == {"schema", "tool_version", "webui_dir", "platform", "checks", "summary",
                                       "launcher"}
    assert doc["launcher"]["path"] == doc["webui_dir"] and "flavour" in doc["launcher"]  # the launcher model
    assert doc["schema"] == 1
    assert doc["tool_version"] == __version__
    assert doc["platform"] in ("windows", "linux", "darwin")
    assert [c["id"] for c in doc["checks"]] == CHECK_IDS
    for c in doc["checks"]:
        base = {"id", "status", "title", "detail", "advice"}
        assert set(c) == (base | {"facts", "elapsed_s"} if verbose else base), c
        assert c["status"] in ("ok", "warn", "error", "skip")
        assert isinstance(c["title"], str) and c["title"]
        assert isinstance(c["detail"], str)
        assert isinstance(c["advice"], list) and all(isinstance(a, str) for a in c["advice"])
        if verbose:
            assert isinstance(c["facts"], dict) and isinstance(c["elapsed_s"], (int, float))
    assert set(doc["summary"]) == {"ok", "warn", "error", "skip"}
    for status in ("ok", "warn", "error", "skip"):
        assert doc["summary"][status] == sum(1 for c in doc["checks"] if c["status"] == status)


def test_json_is_the_only_output_and_follows_the_schema(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    proc = run_cli([root, "--offline", "--json"], env=machine_env(str(tmp_path)))
    doc = json.loads(proc.stdout)  # the whole of stdout is one JSON document
    _check_schema(doc)
    assert doc["platform"] == {"linux": "linux", "darwin": "darwin", "win32": "windows"}.get(sys.platform, "linux")
    assert doc["webui_dir"] == root
    assert "Traceback" not in proc.stderr


def test_json_verbose_adds_facts_and_time(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    proc = run_cli([root, "--offline", "--json", "--verbose"], env=machine_env(str(tmp_path)))
    doc = json.loads(proc.stdout)
    _check_schema(doc, verbose=True)
    by_id = dict((c["id"], c) for c in doc["checks"])
    assert by_id["install-path"]["facts"]["path"] == root
    assert by_id["python"]["facts"]["info"]["version"] == "3.10.6"


def test_json_survives_a_console_that_cannot_print_chinese(tmp_path):
    env = machine_env(str(tmp_path), extra={"PYTHONIOENCODING": "cp437"})
    proc = subprocess.run([sys.executable, "-m", "sd_doctor", str(tmp_path / "w"), "--offline", "--json", "--lang",
                           "zh"], env=env, capture_output=True, timeout=60)
    doc = json.loads(proc.stdout.decode("cp437"))
    assert doc["checks"][0]["title"] == "安装路径"  # lossless: escaped, not replaced by '?'


# -- text report ------------------------------------------------------------------------------------------------------

def _check_lines(text, marks):
    lines = text.splitlines()
    heads = [l for l in lines if l[:1] in marks and l[1:2] == " "]
    assert len(heads) == len(CHECK_IDS), text
    return lines, heads


def test_text_report_layout(tmp_path):
    root = make_webui(str(tmp_path / "web ui"))  # a space: an error with advice
    proc = run_cli([root, "--offline"], env=machine_env(str(tmp_path)))
    assert proc.returncode == 1
    lines, heads = _check_lines(proc.stdout, u"\u2713!\u2717-")
    # ok lines first (one each), then warnings, then errors with their advice, next to the plan and the summary
    assert heads[0].startswith(u"\u2713 Python: ")
    assert heads[-1].startswith(u"\u2717 Install path: ")
    advice = lines[lines.index(heads[-1]) + 1]
    assert advice.startswith("    -> ")
    assert re.match(r"^Summary: \d+ ok(, \d+ warnings?)?, [1-9]\d* errors?(, \d+ skipped)?\. Failed: Install path\.$",
                    lines[-1])
    assert "\x1b[" not in proc.stdout  # piped: no colour


@pytest.mark.parametrize("encoding", ["cp437", "cp936"])
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_ascii_marks_on_consoles_that_lack_them(encoding, lang, tmp_path):
    root = make_webui(str(tmp_path / "web ui"))
    env = machine_env(str(tmp_path), extra={"PYTHONIOENCODING": encoding})
    proc = subprocess.run([sys.executable, "-m", "sd_doctor", root, "--offline", "--lang", lang], env=env,
                          capture_output=True, timeout=60)
    assert proc.returncode == 1, proc.stderr
    assert b"Traceback" not in proc.stderr
    text = proc.stdout.decode(encoding)
    lines, heads = _check_lines(text, "+!x-")
    assert heads[-1].startswith("x ")
    if lang == "zh" and encoding == "cp936":
        assert u"安装路径" in text and proc.stderr == b""  # GBK prints Chinese, only the marks fall back
    elif lang == "zh" and encoding == "cp437":
        # cp437 has no Chinese: one English line says so and the report is in English, never a page of "?"
        assert proc.stderr.decode() == ("sd-doctor: this console cannot show Chinese (encoding cp437); the report is "
                                        "in English.\n")
        assert "?" not in text.replace("?)", "") and heads[-1].startswith("x Install path: ")
    else:
        assert proc.stderr == b""


def _run_on_pty(args, env, timeout=30):
    import pty

    master, slave = pty.openpty()
    proc = subprocess.Popen([sys.executable, "-m", "sd_doctor"] + args, stdin=slave, stdout=slave, stderr=slave,
                            env=env, close_fds=True)
    os.close(slave)
    chunks = []
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        elif proc.poll() is not None:
            break
    proc.wait(timeout=5)
    os.close(master)
    return b"".join(chunks).decode("utf-8", "replace")


def test_colour_only_on_a_terminal_and_never_with_no_color(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path), extra={"TERM": "xterm-256color"})
    env.pop("NO_COLOR", None)
    coloured = _run_on_pty([root, "--offline"], env)
    assert "\x1b[32m" in coloured and "Summary:" in coloured
    plain = _run_on_pty([root, "--offline"], dict(env, NO_COLOR="1"))
    assert "Summary:" in plain and "\x1b[" not in plain
    piped = run_cli([root, "--offline"], env=env)
    assert "Summary:" in piped.stdout and "\x1b[" not in piped.stdout


def test_verbose_text_shows_facts_and_times(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    proc = run_cli([root, "--offline", "--verbose"], env=machine_env(str(tmp_path)))
    lines, heads = _check_lines(proc.stdout, u"\u2713!\u2717-")
    assert all(re.search(r"\(\d+\.\d\d s\)$", h) for h in heads), heads
    assert any(l.startswith("      | ") and '"version": "3.10.6"' in l for l in lines)


# -- time bounds ------------------------------------------------------------------------------------------------------

def _proxy_env(tmp_path, port):
    url = "http://127.0.0.1:%d" % port
    return machine_env(str(tmp_path), extra={"HTTP_PROXY": url, "HTTPS_PROXY": url, "ALL_PROXY": url,
                                            "http_proxy": url, "https_proxy": url, "NO_PROXY": ""})


def test_offline_makes_no_connection(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    listener = Tarpit()
    try:
        proc = run_cli([root, "--offline", "--json"], env=_proxy_env(tmp_path, listener.port))
        json.loads(proc.stdout)
        time.sleep(0.3)
        assert listener.accepted == 0
    finally:
        listener.close()


def test_timeout_bounds_a_black_hole_network(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    listener = Tarpit()
    try:
        start = time.monotonic()
        proc = run_cli([root, "--json", "--timeout", "1"], env=_proxy_env(tmp_path, listener.port))
        elapsed = time.monotonic() - start
    finally:
        listener.close()
    doc = json.loads(proc.stdout)
    _check_schema(doc)
    assert elapsed < 1 + 0.8 + 2.0, elapsed  # the deadline plus start-up, with margin for a busy 2-core machine


def test_a_hanging_python_is_bounded(tmp_path):
    """A python3.10 that never answers: the run still ends within --timeout plus the runner's margin."""
    env = machine_env(str(tmp_path), python_version=None)
    hang = os.path.join(env["SD_TEST_BIN"], "python3.10")
    with open(hang, "w") as fh:
        fh.write("#!/bin/sh\nexec %s 60\n" % shutil.which("sleep"))
    os.chmod(hang, 0o755)
    start = time.monotonic()
    proc, doc, checks = run_json([str(tmp_path / "w"), "--offline", "--timeout", "1.5"], env=env)
    elapsed = time.monotonic() - start
    assert elapsed < 1.5 + 0.8 + 2.0, elapsed
    assert checks["python"]["status"] == "error", checks["python"]
    assert "timed out" in checks["python"]["detail"]


# -- speed ------------------------------------------------------------------------------------------------------------

def _median_time(argv, env, runs=7):
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def test_version_starts_about_as_fast_as_python_itself():
    env = cli_env()
    base = _median_time([sys.executable, "-c", "pass"], env)
    version = _median_time([sys.executable, "-m", "sd_doctor", "--version"], env)
    assert version <= 2.5 * base + 0.01, (version, base)


def test_a_full_offline_run_takes_under_a_second(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path))
    elapsed = _median_time([sys.executable, "-m", "sd_doctor", root, "--offline"], env, runs=3)
    assert elapsed < 1.0, elapsed
