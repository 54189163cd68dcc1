"""--fix through the real command line: backup, atomic replace, idempotence, refusals, faults, filesystem remedies."""

import glob
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time

import pytest

from conftest import ROOT, machine_env, make_webui, run_cli
from writer_support import make_ctx, read_bytes, run_writer, write_bytes

from sd_doctor.write.atomic import TEST_PAUSE_ENV
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

USER_SH = b"#!/bin/bash\n# my own notes\nexport COMMANDLINE_ARGS=\"--api --ckpt-dir '/srv/my models'\"\nexport MY_OWN=1\n"


@pytest.fixture
def machine(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": USER_SH})
    return root, env


def cli_args(root, *extra):
    return [root, "--offline", "--no-venv", "--timeout", "2"] + list(extra)


def listing(root):
    return sorted(os.listdir(root))


def temps(root):
    return glob.glob(os.path.join(root, ".webui-user.sh.sd-doctor-*.tmp"))


def test_fix_writes_with_backup_then_changes_nothing(machine):
    root, env = machine
    path = os.path.join(root, "webui-user.sh")
    proc = run_cli(cli_args(root, "--fix", "--json"), env=env)
    s = json.loads(proc.stdout)["settings"]
    assert s["applied"] is True and s["changed"] is True
    backup = s["backup"]
    assert os.path.dirname(backup) == root and read_bytes(backup) == USER_SH
    new = read_bytes(path)
    assert new.startswith(b"#!/bin/bash\n# my own notes\n") and b"\nvenv_dir=-\n" in new and b"export MY_OWN=1\n" in new
    first = listing(root)
    proc = run_cli(cli_args(root, "--fix", "--json"), env=env)
    s = json.loads(proc.stdout)["settings"]
    assert s["applied"] is False and s["changed"] is False and s["backup"] is None and s["diff"] == ""
    assert read_bytes(path) == new and listing(root) == first  # no new backup
    text = run_cli(cli_args(root, "--fix"), env=env).stdout
    assert "No change" in text


def test_fix_report_names_file_diff_and_backup(machine):
    root, env = machine
    proc = run_cli(cli_args(root, "--fix", "--lang", "zh"), env=env)
    assert proc.returncode in (0, 1), proc.stderr
    out = proc.stdout
    assert "启动设置" in out and "+venv_dir=-" in out and "已写入" in out and ".bak" in out


def test_fix_creates_missing_file_without_backup(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    root = make_webui(str(tmp_path / "webui"))
    s = json.loads(run_cli(cli_args(root, "--fix", "--json"), env=env).stdout)["settings"]
    assert s["applied"] and s["backup"] is None
    assert b"\n#venv_dir=\"venv\"\nvenv_dir=-\n" in read_bytes(os.path.join(root, "webui-user.sh"))


def test_missing_web_ui_folder_is_never_written(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    root = str(tmp_path / "later")
    proc = run_cli(cli_args(root, "--fix", "--json"), env=env)
    s = json.loads(proc.stdout)["settings"]
    assert not s["applied"] and "+venv_dir=-" in s["diff"] and not os.path.exists(root)


def _wait_for(predicate, timeout=30.0):
    end = time.time() + timeout
    while time.time() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def _popen_fix(root, env, pause):
    env = dict(env)
    env[TEST_PAUSE_ENV] = str(pause)
    return subprocess.Popen([sys.executable, "-m", "sd_doctor"] + cli_args(root, "--fix"), env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def test_refuses_when_file_changed_during_the_run(machine):
    root, env = machine
    path = os.path.join(root, "webui-user.sh")
    proc = _popen_fix(root, env, 3)
    assert _wait_for(lambda: temps(root)), proc.communicate(timeout=30)
    edited = USER_SH + b"export EDITED_MEANWHILE=1\n"
    write_bytes(path, edited)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, (out, err)
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "changed on disk" in lines[0] and "Traceback" not in err.decode()
    assert read_bytes(path) == edited
    assert listing(root) == ["launch.py", "webui-user.sh", "webui.bat", "webui.sh"]  # no backup, no temp


def test_killed_between_temp_and_replace_leaves_the_original(machine):
    root, env = machine
    path = os.path.join(root, "webui-user.sh")
    proc = _popen_fix(root, env, 20)
    assert _wait_for(lambda: temps(root)), proc.communicate(timeout=30)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    assert read_bytes(path) == USER_SH
    assert temps(root)  # the finished temporary file of the killed run
    s = json.loads(run_cli(cli_args(root, "--fix", "--json"), env=env).stdout)["settings"]
    assert s["applied"] and not temps(root)  # the next run removes the stale temporary file
    assert b"venv_dir=-" in read_bytes(path)


LOOP = r"""
import os, sys
sys.path.insert(0, sys.argv[2])
from sd_doctor.write import atomic
path = sys.argv[1]
a = b"A" * 400000 + b"\n"
b = b"B" * 300000 + b"\n"
sys.stdout.write("ready\n"); sys.stdout.flush()
while True:
    snap = atomic.snapshot(path, 10 ** 7)
    atomic.replace(snap, b if snap.data == a else a, make_backup=False)
"""


def test_random_kills_never_leave_a_torn_file(tmp_path):
    path = str(tmp_path / "webui-user.sh")
    a, b = b"A" * 400000 + b"\n", b"B" * 300000 + b"\n"
    write_bytes(path, a)
    script = str(tmp_path / "loop.py")
    write_bytes(script, LOOP.encode())
    rng = random.Random(7)
    for _ in range(8):
        proc = subprocess.Popen([sys.executable, script, path, ROOT], stdout=subprocess.PIPE)
        assert proc.stdout.readline() == b"ready\n"
        time.sleep(rng.uniform(0.0, 0.15))
        proc.kill()
        proc.wait(timeout=30)
        assert read_bytes(path) in (a, b)


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed (needed for ulimit -f)")
@pytest.mark.parametrize("blocks, fails_at", [(0, "backup"), (1, "new file")])
def test_write_that_fails_changes_nothing(tmp_path, blocks, fails_at):
    """ulimit -f: the backup (0 blocks) or the new file (1 block = 1024 bytes, the old one fits) cannot be written."""
    env = machine_env(str(tmp_path / "machine"))
    original = b"#!/bin/bash\n" + b"# padding\n" * 95 + b"export COMMANDLINE_ARGS=\"--api\"\n"
    assert len(original) < 1024
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": original})
    command = "ulimit -f %d; exec \"$0\" -m sd_doctor \"$@\"" % blocks
    proc = subprocess.run([shutil.which("bash"), "-c", command, sys.executable] + cli_args(root, "--fix"), env=env, cwd=ROOT,
                          capture_output=True, timeout=60)
    err = proc.stderr.decode()
    assert proc.returncode == 2, (proc.stdout[-500:], err)
    assert len(err.strip().splitlines()) == 1 and "nothing was changed" in err, err
    assert read_bytes(os.path.join(root, "webui-user.sh")) == original
    assert listing(root) == ["launch.py", "webui-user.sh", "webui.bat", "webui.sh"]


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores a read-only folder")
def test_read_only_folder(tmp_path, machine):
    root, env = machine
    os.chmod(root, 0o555)
    try:
        proc = run_cli(cli_args(root, "--fix"), env=env)
    finally:
        os.chmod(root, 0o755)
    assert proc.returncode == 2 and "nothing was changed" in proc.stderr
    assert read_bytes(os.path.join(root, "webui-user.sh")) == USER_SH


def test_unreadable_settings_file_exit_2_with_fix_only(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    junk = b"\x7fELF\x02\x01\x01\x00\x00\x00binary"
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": junk})
    proc = run_cli(cli_args(root), env=env)
    assert proc.returncode in (0, 1) and "not a text file" in proc.stdout
    proc = run_cli(cli_args(root, "--fix"), env=env)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "not a text file" in proc.stderr
    assert read_bytes(os.path.join(root, "webui-user.sh")) == junk and len(os.listdir(root)) == 4


# -- filesystem remedies ------------------------------------------------------------------------------------------

def test_broken_venv_renamed_aside_only_with_fix(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    root = make_webui(str(tmp_path / "webui"))
    venv = os.path.join(root, "venv")
    write_bytes(os.path.join(venv, "Lib", "keep.txt"), b"user data")  # no pyvenv.cfg: not a complete venv
    proc = run_cli([root, "--offline", "--json"], env=env)
    doc = json.loads(proc.stdout)
    entry = doc["settings"]["remedies"][0]
    assert entry["action"] == "rename-aside" and entry["path"] == venv and entry["applied"] is False
    assert os.path.isdir(venv)
    text = run_cli([root, "--offline"], env=env).stdout
    assert "With --fix" in text and "would be renamed" in text
    doc = json.loads(run_cli([root, "--offline", "--fix", "--json"], env=env).stdout)
    entry = doc["settings"]["remedies"][0]
    assert entry["applied"] is True and not os.path.exists(venv)
    assert os.path.basename(entry["to"]).startswith("venv.broken-")
    assert read_bytes(os.path.join(entry["to"], "Lib", "keep.txt")) == b"user data"  # renamed, never deleted
    doc = json.loads(run_cli([root, "--offline", "--fix", "--json"], env=env).stdout)
    assert doc["settings"]["remedies"] == []  # nothing left to do


def test_remedy_outside_the_web_ui_folder_needs_the_advice_to_name_it(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    outside = str(tmp_path / "elsewhere" / "venv")
    os.makedirs(outside)
    from sd_doctor.write import remedies

    f = Finding("venv", T("venv", "venv"))
    f.remedies.append({"action": "rename-aside", "path": outside})
    ctx = make_ctx(root, "linux", fix=True)
    entries, _ = remedies.apply(ctx, {"venv": f}, True)
    assert entries[0]["applied"] is False and os.path.isdir(outside)
    f.advise(T("rm -rf {p}", "rm -rf {p}", p=outside))
    entries, _ = remedies.apply(ctx, {"venv": f}, True)
    assert entries[0]["applied"] is True and not os.path.exists(outside)
    for bad in (root, str(tmp_path), "/"):
        f = Finding("venv", T("venv", "venv"))
        f.remedies.append({"action": "rename-aside", "path": bad})
        f.advise(T("rm -rf {p}", "rm -rf {p}", p=bad))
        entries, _ = remedies.apply(ctx, {"venv": f}, True)
        assert entries[0]["applied"] is False and os.path.isdir(bad)


def test_settings_error_applies_no_remedy(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.bat": b"\x00\x01binary"})
    venv = os.path.join(root, "venv")
    os.makedirs(venv)
    from sd_doctor.core.errors import UserError

    with pytest.raises(UserError):
        run_writer(make_ctx(root, "windows", fix=True), {"PYTHON": r"C:\Py\python.exe"},
                   remedies=[{"action": "rename-aside", "path": venv}])
    assert os.path.isdir(venv)
