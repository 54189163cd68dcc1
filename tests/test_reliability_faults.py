"""Measured faults, hangs, leaks and write failures: each test prints its figure (cases, failures)."""

import json
import os
import signal
import stat
import struct
import subprocess
import sys
import time

import pytest

from conftest import ROOT, machine_env, make_webui, run_cli
from reliability_support import SH, backups, cli_args, leftovers, read

PASSWORD = "s3cr/t:p@ss%40w"


def _figure(name, cases, failures):
    print("\n%s: cases: %d, failures: %d" % (name, cases, len(failures)), file=sys.stderr)
    assert not failures, failures


def _one_line_error(proc):
    err = proc.stderr.strip()
    return "Traceback" not in err and len(err.splitlines()) == 1


# -- 5. secrets ---------------------------------------------------------------------------------------------------

def test_no_password_in_any_output(tmp_path):
    """Proxy credentials with and without a scheme, URL-encoded, with '@' ':' '/' in the password, in the settings
    file, the environment, pip.conf and git's http.proxy: grep text, --verbose, --json, --fix (diff, errors)."""
    encoded = PASSWORD.replace("@", "%40")
    sh = (b"#!/bin/bash\nexport https_proxy=bob:" + PASSWORD.encode() + b"@127.0.0.1:9\n"
          b"export COMMANDLINE_ARGS=\"--api\"\n")
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": sh})
    home = str(tmp_path / "machine" / "home")
    os.makedirs(os.path.join(home, ".config", "pip"), exist_ok=True)
    with open(os.path.join(home, ".config", "pip", "pip.conf"), "w") as fh:
        fh.write("[global]\nproxy = http://bob:%s@127.0.0.1:9\n" % PASSWORD)
    with open(os.path.join(home, ".gitconfig"), "w") as fh:
        fh.write("[http]\n\tproxy = bob:%s@127.0.0.1:9\n" % PASSWORD)
    env = machine_env(str(tmp_path / "machine"), extra={
        "http_proxy": "http://bob:%s@127.0.0.1:9" % encoded, "HTTPS_PROXY": "bob:%s@127.0.0.1:9" % PASSWORD,
        "PIP_PROXY": "bob:%s@127.0.0.1:9" % PASSWORD})
    secrets = [PASSWORD, encoded, "s3cr/t", "p@ss", "ss%40w", "%40w"]
    modes = [[], ["--verbose"], ["--json"], ["--json", "--verbose"], ["--lang", "zh"], ["--fix", "--json"],
             ["--fix"], ["--fix", "--verbose"], ["--report"]]
    failures = []
    for mode in modes:
        proc = run_cli(cli_args(root, "--timeout", "1", *mode), env=env, timeout=60)
        for stream in (proc.stdout, proc.stderr):
            hits = [s for s in secrets if s in stream]
            if hits:
                failures.append((mode, hits))
        with open(os.path.join(root, "webui-user.sh"), "rb") as fh:
            assert PASSWORD.encode() in fh.read()  # the file itself keeps the user's password
    _figure("secrets: output modes", len(modes), failures)


def test_redaction_forms():
    from sd_doctor.core.redact import redact

    forms = ["export https_proxy=user:%s@127.0.0.1:3128" % PASSWORD, "http://user:%s@h:1/x" % PASSWORD,
             "+export HTTPS_PROXY=\"u:%s@h\"" % PASSWORD, "http=u:%s@h:1;https=u:%s@h:2" % (PASSWORD, PASSWORD),
             "proxy = socks5h://%s@h" % PASSWORD, "-set https_proxy=u:%s@h:8" % PASSWORD,
             "ProxyServer: http=user:pa;ss=1@h:8080"]
    failures = [f for f in forms if any(s in redact(f) for s in ("s3cr", "ss%40", "pa;ss", "t:p"))]
    assert redact("git@github.com:a/b.git") == "git@github.com:a/b.git"
    _figure("secrets: redaction forms", len(forms), failures)


def test_advice_for_an_unschemed_credential_proxy_sets_no_stars(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path / "machine"), extra={"https_proxy": "bob:%s@127.0.0.1:9" % PASSWORD})
    proc = run_cli(cli_args(root, "--offline", "--json"), env=env)
    advice = [a for c in json.loads(proc.stdout)["checks"] for a in c["advice"]]
    assert not [a for a in advice if "=http://***" in a or " http://***" in a], advice
    assert any("your proxy URL" in a for a in advice), advice


# -- 6. faults and hangs --------------------------------------------------------------------------------------------

def test_closed_stdout_is_a_quiet_exit_120(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path / "machine"))
    failures = []
    cmd = [sys.executable, "-m", "sd_doctor"] + cli_args(root, "--offline")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader went away before the report (| head -0)
    err = proc.stderr.read().decode()
    rc = proc.wait(timeout=60)
    if rc != 120 or err.strip():
        failures.append(("closed pipe", rc, err))
    if os.path.exists("/dev/full"):
        with open("/dev/full", "w") as full:
            done = subprocess.run(cmd, env=env, cwd=ROOT, stdout=full, stderr=subprocess.PIPE, timeout=60)
        if done.returncode != 120 or done.stderr.strip():
            failures.append(("/dev/full", done.returncode, done.stderr))
    _figure("closed stdout", 2, failures)


def test_deleted_working_folder_exits_2_with_one_line(tmp_path):
    gone = tmp_path / "gone"
    gone.mkdir()
    script = "import os, sys; os.chdir(sys.argv[1]); os.rmdir(sys.argv[1]); sys.path.insert(0, sys.argv[2]); " \
             "from sd_doctor.cli import entry; sys.argv[1:] = ['--offline']; entry()"
    proc = subprocess.run([sys.executable, "-c", script, str(gone), ROOT], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2 and _one_line_error(proc), (proc.returncode, proc.stderr)


def test_sigint_mid_run_exits_130_fast_and_ends_children(tmp_path):
    """A PYTHON that sleeps forever keeps a child running; Ctrl+C (twice) ends the run and its children quickly."""
    bin_dir = tmp_path / "machine" / "bin"
    bin_dir.mkdir(parents=True)
    marker = tmp_path / "child-pids"
    sleeper = bin_dir / "python3.10"
    sleeper.write_text("#!/bin/sh\necho $$ >> %s\nexec sleep 300\n" % marker)
    sleeper.chmod(0o755)
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path / "machine"), python_version=None)
    proc = subprocess.Popen([sys.executable, "-m", "sd_doctor"] + cli_args(root, "--offline", "--timeout", "30"),
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 20
    while not marker.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert marker.exists(), "the stand-in python never started"
    start = time.monotonic()
    proc.send_signal(signal.SIGINT)
    time.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=10)
    elapsed = time.monotonic() - start
    pids = [int(p) for p in marker.read_text().split()]
    time.sleep(0.2)
    alive = [p for p in pids if os.path.exists("/proc/%d" % p) and "Z" not in _state(p)]
    assert proc.returncode == 130, err
    assert "Traceback" not in err.decode() and elapsed < 0.5 + 0.5, (elapsed, err)
    assert not alive, alive


# Python hands a KeyboardInterrupt raised in a gc callback, a weakref callback or a __del__ (CI saw one in the import
# lock's callback) to sys.unraisablehook, prints "Exception ignored in ..." with a traceback, and goes on.
_SWALLOWED_INTERRUPT = """
import gc, sys
sys.path.insert(0, %(root)r)
from sd_doctor import cli
fired = []
def interrupt_once(phase, info):
    if phase == "start" and not fired and "sd_doctor.checks" in sys.modules:
        fired.append(1)
        raise KeyboardInterrupt
gc.callbacks.append(interrupt_once)
gc.set_threshold(1)  # a collection at almost every allocation: the interrupt lands early in the run
sys.argv[1:] = %(argv)r
cli.entry()
"""


def test_an_interrupt_python_would_swallow_still_ends_the_run(tmp_path):
    """Ctrl+C delivered inside a gc callback mid-run: exit 130 with the one line, no "Exception ignored", no
    traceback, and no report printed as if nothing had happened."""
    root = make_webui(str(tmp_path / "webui"))
    env = machine_env(str(tmp_path / "machine"))
    script = _SWALLOWED_INTERRUPT % {"root": ROOT, "argv": cli_args(root, "--offline")}
    proc = subprocess.run([sys.executable, "-c", script], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 130, (proc.returncode, proc.stdout[-500:], proc.stderr)
    assert proc.stderr.strip() == "sd-doctor: interrupted", proc.stderr
    assert "Exception ignored" not in proc.stderr


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as fh:
            return fh.read().split(")")[-1].split()[0]
    except OSError:
        return "Z"


def test_a_folder_where_the_settings_file_goes_is_named_a_folder(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    settings = os.path.join(root, "webui-user.sh")
    if os.path.exists(settings):
        os.remove(settings)
    os.mkdir(settings)
    proc = run_cli(cli_args(root, "--offline", "--fix"), env=machine_env(str(tmp_path / "m")), timeout=60)
    assert proc.returncode == 2 and _one_line_error(proc), proc.stderr
    assert "a folder, not a file" in proc.stderr and "FIFO" not in proc.stderr, proc.stderr
    assert os.listdir(settings) == []


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this system")
@pytest.mark.parametrize("where", ["webui-user.sh", ".git/config"])
def test_a_fifo_never_hangs(tmp_path, where):
    root = make_webui(str(tmp_path / "webui"))
    os.makedirs(os.path.join(root, ".git"), exist_ok=True)
    if where == ".git/config":
        with open(os.path.join(root, ".git", "HEAD"), "w") as fh:
            fh.write("ref: refs/heads/master\n")
    os.mkfifo(os.path.join(root, where))
    start = time.monotonic()
    proc = run_cli(cli_args(root, "--offline", "--timeout", "1", "--fix"), env=machine_env(str(tmp_path / "m")),
                   timeout=30)
    elapsed = time.monotonic() - start
    assert elapsed < 1 + 1 + 2.5, elapsed  # --timeout + 1 s, plus the interpreter's start on a loaded machine
    assert "Traceback" not in proc.stderr
    if where == "webui-user.sh":
        assert proc.returncode == 2 and "not a regular file" in proc.stderr, proc.stderr


def test_large_settings_file_ends_in_time(tmp_path):
    body = b"#!/bin/bash\n" + b"# padding line of a settings file\n" * 24000 + b"export COMMANDLINE_ARGS=\"--api\"\n"
    assert len(body) > 800 * 1000
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": body})
    start = time.monotonic()
    proc = run_cli(cli_args(root, "--offline", "--timeout", "1"), env=machine_env(str(tmp_path / "m")), timeout=60)
    assert time.monotonic() - start < 1 + 1 + 2.5
    assert "Traceback" not in proc.stderr and "larger than 128 KB" in proc.stdout


def test_hostile_safetensors_headers_cost_one_file(tmp_path):
    from sd_doctor.probes.checkpoints import scan

    models = tmp_path / "models"
    models.mkdir()
    nested = b"[" * 200000 + b"]" * 200000
    (models / "nested.safetensors").write_bytes(struct.pack("<Q", len(nested)) + nested)
    (models / "huge.safetensors").write_bytes(struct.pack("<Q", 2 ** 63) + b"{}")
    good = json.dumps({"cond_stage_model.transformer.x": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}})
    (models / "good.safetensors").write_bytes(struct.pack("<Q", len(good)) + good.encode() + b"\0\0")
    result = scan([str(models)])
    by_name = dict((f["name"], f) for f in result["files"])
    assert by_name["good.safetensors"]["family"] == "sd1"
    assert "nested too deeply" in by_name["nested.safetensors"]["error"]
    assert "exceeds" in by_name["huge.safetensors"]["error"]


def test_failed_fix_json_still_prints_the_document(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": SH})
    os.chmod(os.path.join(root, "webui-user.sh"), 0o444)
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9"})
    proc = run_cli(cli_args(root, "--offline", "--fix", "--json"), env=env)
    assert proc.returncode == 2 and _one_line_error(proc), proc.stderr
    doc = json.loads(proc.stdout)
    assert "read-only" in doc["settings"]["error"]


# -- 2. write failures ----------------------------------------------------------------------------------------------

def _fix_refused(tmp_path, root, name, original):
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9"})
    proc = run_cli(cli_args(root, "--offline", "--fix"), env=env)
    path = os.path.join(root, name)
    ok = proc.returncode == 2 and _one_line_error(proc) and read(path) == original and not backups(path) \
        and not leftovers(path)
    return None if ok else (proc.returncode, proc.stderr[-300:])


def test_write_failures_leave_the_original_intact(tmp_path):
    failures = []
    cases = 0
    # read-only (0444), as Windows refuses it
    root = make_webui(str(tmp_path / "ro"), {"webui-user.sh": SH})
    os.chmod(os.path.join(root, "webui-user.sh"), 0o444)
    cases += 1
    why = _fix_refused(tmp_path, root, "webui-user.sh", SH)
    failures += [("0444", why)] if why else []
    # a symlink to a file outside the folder
    outside = tmp_path / "outside.sh"
    outside.write_bytes(SH)
    root = make_webui(str(tmp_path / "link-out"))
    os.symlink(str(outside), os.path.join(root, "webui-user.sh"))
    cases += 1
    why = _fix_refused(tmp_path, root, "webui-user.sh", SH)
    failures += [("symlink outside", why)] if why else []
    assert os.path.islink(os.path.join(root, "webui-user.sh")) and outside.read_bytes() == SH
    # a hard link
    root = make_webui(str(tmp_path / "hard"), {"webui-user.sh": SH})
    os.link(os.path.join(root, "webui-user.sh"), str(tmp_path / "hard-other"))
    cases += 1
    why = _fix_refused(tmp_path, root, "webui-user.sh", SH)
    failures += [("hard link", why)] if why else []
    # a directory in the settings file's place
    root = make_webui(str(tmp_path / "dir"))
    os.mkdir(os.path.join(root, "webui-user.sh"))
    cases += 1
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9"})
    proc = run_cli(cli_args(root, "--offline", "--fix"), env=env)
    if not _one_line_error(proc) or proc.returncode != 2 or not os.path.isdir(os.path.join(root, "webui-user.sh")):
        failures.append(("directory", proc.returncode, proc.stderr[-300:]))
    _figure("write failures", cases, failures)


def test_symlink_inside_the_folder_is_written_through(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"my-settings.sh": SH})
    link = os.path.join(root, "webui-user.sh")
    os.symlink("my-settings.sh", link)
    os.chmod(os.path.join(root, "my-settings.sh"), 0o640)
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9"})
    proc = run_cli(cli_args(root, "--offline", "--fix"), env=env)
    assert proc.returncode in (0, 1), proc.stderr
    assert os.path.islink(link) and b"NO_PROXY" in read(link)
    assert stat.S_IMODE(os.stat(link).st_mode) == 0o640
    (backup,) = backups(os.path.join(root, "my-settings.sh"))
    assert read(backup) == SH


def test_backup_keeps_mtime_and_a_rerun_reuses_it(tmp_path):
    from sd_doctor.write import atomic

    path = str(tmp_path / "webui-user.sh")
    with open(path, "wb") as fh:
        fh.write(SH)
    os.utime(path, ns=(10 ** 18, 10 ** 18))
    backup = atomic.replace(atomic.snapshot(path, 10 ** 6), SH + b"# new\n")
    assert os.stat(backup).st_mtime_ns == 10 ** 18 and read(backup) == SH
    # a killed run left a backup beside the untouched original: the next run reuses it
    with open(path, "wb") as fh:
        fh.write(SH)
    again = atomic.replace(atomic.snapshot(path, 10 ** 6), SH + b"# new\n")
    assert again == backup and len(atomic.existing_backups(path)) == 1


# -- 7. two --fix at once -------------------------------------------------------------------------------------------

def test_a_live_lock_refuses_and_a_dead_one_is_taken_over(tmp_path):
    from sd_doctor.write import atomic

    path = str(tmp_path / "webui-user.sh")
    with open(path, "wb") as fh:
        fh.write(SH)
    holder = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        lock = str(tmp_path / (".webui-user.sh.sd-doctor-%d.lock" % holder.pid))
        with open(lock, "w") as fh:
            fh.write("%d\n" % holder.pid)
        temp = str(tmp_path / (".webui-user.sh.sd-doctor-%d.tmp" % holder.pid))
        with open(temp, "w") as fh:
            fh.write("the other run's half-written file")
        with pytest.raises(atomic.WriteFailed) as info:
            atomic.replace(atomic.snapshot(path, 10 ** 6), b"new\n")
        assert info.value.reason == "locked" and read(path) == SH and os.path.exists(temp)
    finally:
        holder.kill()
        holder.wait()
    atomic.replace(atomic.snapshot(path, 10 ** 6), b"new\n")  # the holder is dead: its lock and temp are cleaned
    assert read(path) == b"new\n" and not atomic.temp_names(path)


def test_two_fix_runs_at_once_lose_no_update(tmp_path):
    """Two writers, each adding its own line to what it read: after both, every applied update is in the file."""
    from sd_doctor.write import atomic

    path = str(tmp_path / "webui-user.sh")
    with open(path, "wb") as fh:
        fh.write(SH)
    script = ("import sys; sys.path.insert(0, sys.argv[1]); from sd_doctor.write import atomic\n"
              "applied = 0\n"
              "for i in range(40):\n"
              "    s = atomic.snapshot(sys.argv[2], 10 ** 6)\n"
              "    try:\n"
              "        atomic.replace(s, s.data + ('%s %d\\n' % (sys.argv[3], i)).encode(), make_backup=False)\n"
              "        applied += 1\n"
              "    except atomic.WriteFailed as e:\n"
              "        assert e.reason in ('changed', 'locked'), e.reason\n"
              "print(applied)\n")
    procs = [subprocess.Popen([sys.executable, "-c", script, ROOT, path, tag], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) for tag in ("#a", "#b")]
    results = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1][-500:] for r in results]
    applied = sum(int(r[0]) for r in results)
    lines = read(path).count(b"\n#") - SH.count(b"\n#")
    lost = applied - lines
    print("\ntwo writers: applied updates: %d, lost: %d" % (applied, lost), file=sys.stderr)
    assert lost == 0 and not atomic.temp_names(path)


# -- the bash read-back net -----------------------------------------------------------------------------------------

def test_bash_readback_refuses_what_bash_reads_otherwise():
    from sd_doctor.write.readback import sh_reads_back

    assert sh_reads_back(b'export X="a b"\n', {"X": "a b"}) is None
    assert "bash -n" in sh_reads_back(b'export X="a\n', {"X": "a"})
    assert "reads as" in sh_reads_back(b'export X=b\n', {"X": "a"})
    assert sh_reads_back(b'export COMMANDLINE_ARGS="--api \\\n --listen"\n', {"COMMANDLINE_ARGS": "x"},
                         tokens=["--api", "--listen"]) is None
    assert "reads as" in sh_reads_back(b'export COMMANDLINE_ARGS=":---xformers}"\n', {"COMMANDLINE_ARGS": "x"},
                                       tokens=["--xformers"])
