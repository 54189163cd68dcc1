"""Crash safety of --fix under Windows Python (the bed's CPython in a Wine prefix): SIGKILL of the whole run at a
uniform fraction of its measured time, for webui-user.bat (CRLF, GBK). The same invariants as
test_reliability_kill.py: the file is the original or the complete new content, a backup byte-identical to the
original exists whenever the content changed, and the next run (Windows Python again: it must see the killed run's
lock as dead by the Windows process list) leaves the new file, one backup and no temporary or lock file.
Trials: SD_DOCTOR_WINE_KILL_TRIALS (default 20).
"""

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from launchers import module_prefix, wine_available
from reliability_support import DIALECTS, backups, leftovers, make_folder, read

TRIALS = int(os.environ.get("SD_DOCTOR_WINE_KILL_TRIALS", "20"))
DIALECT = "webui-user.bat (CRLF, GBK)"
ENV = {"http_proxy": "http://127.0.0.1:9"}

pytestmark = pytest.mark.skipif(not wine_available(), reason="wine is not installed: no Windows Python to kill")


prefix = module_prefix("wine-kill")

def _args(prefix, root):
    return [prefix.win(root), "--offline", "--no-venv", "--fix", "--timeout", "3"]


def _killed_run(prefix, root, delay):
    """``wine python.exe -m sd_doctor`` killed with SIGKILL after ``delay`` s. Its three standard handles are pipes
    (Windows CPython needs them under Wine); the output is small, so nobody has to read it."""
    argv = [prefix.wine, prefix.doctor_python, "-m", "sd_doctor"] + _args(prefix, root)
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            env=prefix.environ(ENV), cwd=prefix.folder)
    proc.stdin.close()
    try:
        proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
    proc.stdout.close()
    proc.stderr.close()
    time.sleep(0.1)  # wineserver releases the dead process's handles
    return proc.returncode


def test_sigkill_of_windows_python_across_the_whole_run(prefix, tmp_path):
    ref = make_folder(str(tmp_path / "reference"), DIALECT)
    measured = []
    for _ in range(2):
        done = prefix.doctor(_args(prefix, os.path.dirname(ref)), env=ENV, timeout=120)
        assert done.returncode in (0, 1), done.stderr[-500:]
        measured.append(done.elapsed)
    new = read(ref)
    assert new != DIALECTS[DIALECT][1]
    rng = random.Random(1617)
    failures, killed, changed = [], 0, 0
    for n in range(TRIALS):
        root = str(tmp_path / ("t%d" % n))
        path = make_folder(root, DIALECT)
        original = read(path)
        rc = _killed_run(prefix, root, rng.uniform(0.0, 1.0) * sorted(measured)[len(measured) // 2])
        killed += rc == -signal.SIGKILL
        content = read(path)
        changed += content == new
        bad = []
        if content not in (original, new):
            bad.append("torn")
        found = backups(path)
        if any(read(b) != original for b in found) or (content == new and not found) or len(found) > 1:
            bad.append("bad backup")
        done = prefix.doctor(_args(prefix, root), env=ENV, timeout=120)
        measured.append(done.elapsed)
        found = backups(path)
        if done.returncode not in (0, 1) or read(path) != new or len(found) != 1 or read(found[0]) != original \
                or leftovers(path):
            bad.append("unclean next run: rc %s %r %s" % (done.returncode, [os.path.basename(p) for p in
                                                                            leftovers(path) + found],
                                                          done.stderr[-200:]))
        if bad:
            failures.append((n, bad))
    print("\n%s under Windows Python (Wine): whole-run kill trials: %d (killed before the end: %d, file already new: "
          "%d, median run %.2f s), failures: %d" % (DIALECT, TRIALS, killed, changed,
                                                    sorted(measured)[len(measured) // 2], len(failures)),
          file=sys.stderr)
    assert not failures, failures[:5]
