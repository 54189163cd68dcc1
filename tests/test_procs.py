"""run_bounded: every subprocess the doctor starts ends within its bound and never raises."""

import os
import shutil
import sys
import time


from sd_doctor.host.procs import run_bounded
from sd_doctor.core.runner import run_checks
from sd_doctor.core.context import Context, Options

SH = shutil.which("sh") or "/bin/sh"


def test_output_exit_code_env_and_cwd(tmp_path):
    r = run_bounded([sys.executable, "-c", "import os,sys; print(os.getcwd()); print(os.environ['SD_X']);"
                     "sys.stderr.write('err\\n'); sys.exit(3)"], 10, env=dict(os.environ, SD_X="v"),
                    cwd=str(tmp_path))
    assert r.returncode == 3 and not r.ok and not r.timed_out and r.error is None
    assert r.stdout.splitlines() == [str(tmp_path), "v"]
    assert r.stderr == "err\n"


def test_stdin_text_and_bytes():
    for data in ("h\u00e9llo", "h\u00e9llo".encode("utf-8")):
        r = run_bounded([sys.executable, "-c", "import sys; sys.stdout.buffer.write(sys.stdin.buffer.read())"], 10,
                        stdin_data=data)
        assert r.ok and r.stdout == "h\u00e9llo"


def test_missing_program_never_raises(tmp_path):
    r = run_bounded([str(tmp_path / "no-such-program")], 5)
    assert not r.ok and r.error and r.returncode is None
    r = run_bounded([sys.executable, "-c", "pass"], 5, cwd=str(tmp_path / "no-such-folder"))
    assert not r.ok and r.error


def test_non_utf8_output_is_decoded():
    r = run_bounded([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'caf\\xe9')"], 10)
    assert r.ok and r.stdout.startswith("caf") and len(r.stdout) == 4


def test_timeout_kills_the_whole_group_even_when_a_grandchild_holds_the_pipes():
    """``sh`` starts a background sleep that inherits stdout: without killing the group, reading would wait 30 s."""
    start = time.monotonic()
    r = run_bounded([SH, "-c", "sleep 30 & echo started; sleep 30"], 0.5)
    elapsed = time.monotonic() - start
    assert r.timed_out and not r.ok
    assert elapsed < 2.5, elapsed
    assert "started" in r.stdout


def test_runner_deadline_abandons_a_stuck_check(tmp_path):
    """The runner's own guard: a check still running at the deadline is reported as skipped, in its place."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    hang = bin_dir / "python3.10"
    hang.write_text("#!/bin/sh\nexec %s 60\n" % shutil.which("sleep"))
    hang.chmod(0o755)
    env = dict(os.environ, PATH=str(bin_dir), HOME=str(tmp_path), PYENV_ROOT=str(tmp_path / "none"))
    ctx = Context(str(tmp_path / "w"), Options(offline=True, timeout=5.0), environ=env)
    start = time.monotonic()
    findings = run_checks(ctx, check_ids=("install-path", "python", "disk"), deadline=0.6)
    assert time.monotonic() - start < 1.5
    assert [f.id for f in findings] == ["install-path", "python", "disk"]
    assert findings[1].status == "skip"
    assert findings[1].detail_lines()[0].render("en") == "Did not finish within 0.6 s; skipped."
    assert findings[0].status == "ok" and findings[2].status != "skip"


def test_runner_turns_an_unimportable_check_into_a_crash(tmp_path):
    ctx = Context(str(tmp_path), Options(offline=True))
    findings = run_checks(ctx, check_ids=("install-path", "no-such-check"))
    assert [f.id for f in findings] == ["install-path", "no-such-check"]
    assert findings[1].status == "crash"  # a broken check module is a bug, not a fact about the machine
    assert "ModuleNotFoundError" in findings[1].detail_lines()[0].render("en") or \
        "ImportError" in findings[1].detail_lines()[0].render("en")
    assert findings[0].status != "skip"
