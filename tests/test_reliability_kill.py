"""Crash safety of --fix, measured: SIGKILL at a random moment of the whole writer step, for each settings dialect.

After every kill: the file is byte-for-byte the original or the complete new content; every backup is byte-identical
to the original and there is one whenever the content changed; the next run leaves exactly the new file, one backup
(the identical one reused, not a pile) and no temporary or lock file. Trials per dialect: SD_DOCTOR_KILL_TRIALS
(default 67, so >= 200 in CI); benchmarks/faults.py runs more.
"""

import os
import random
import signal
import sys
import time

import pytest

from reliability_support import CHILD, DIALECTS, PROPOSALS, backups, child, leftovers, make_folder, read
from writer_support import make_ctx, run_writer

TRIALS = int(os.environ.get("SD_DOCTOR_KILL_TRIALS", "67"))
QUICK_TRIALS = 8  # the quick tier's share; the slow tier (CI) runs TRIALS


def _reference(tmp_path, dialect, script):
    """The complete new content and the writer step's duration after 'ready' (the kill window)."""
    root = str(tmp_path / "reference")
    path = make_folder(root, dialect)
    proc = child(root, dialect, script)
    assert proc.stdout.readline() == b"ready\n"
    start = time.monotonic()
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    return read(path), time.monotonic() - start


def _next_run(root, dialect):
    _, _, platform, pages, _ = DIALECTS[dialect]
    run_writer(make_ctx(root, platform=platform, pages=pages, fix=True), PROPOSALS)


def _trial(tmp_path, dialect, script, n, delay, new):
    root = str(tmp_path / ("t%d" % n))
    path = make_folder(root, dialect)
    original = read(path)
    proc = child(root, dialect, script)
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    bad = []
    content = read(path)
    if content not in (original, new):
        bad.append("torn")
    found = backups(path)
    if any(read(b) != original for b in found) or (content == new and not found) or len(found) > 1:
        bad.append("bad backup")
    _next_run(root, dialect)
    found = backups(path)
    if read(path) != new or len(found) != 1 or read(found[0]) != original or leftovers(path):
        bad.append("unclean next run: %r" % ([os.path.basename(p) for p in leftovers(path) + found],))
    return bad


@pytest.mark.parametrize("trials", [QUICK_TRIALS, pytest.param(TRIALS, marks=pytest.mark.slow)])
@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_sigkill_at_random_moments_never_loses_a_byte(tmp_path, dialect, trials):
    script = str(tmp_path / "child.py")
    with open(script, "w") as fh:
        fh.write(CHILD)
    new, duration = _reference(tmp_path, dialect, script)
    rng = random.Random(16 + trials)
    failures = []
    for n in range(trials):
        bad = _trial(tmp_path, dialect, script, n, rng.uniform(0.0, duration), new)
        if bad:
            failures.append((n, bad))
    torn = sum(1 for _, b in failures if "torn" in b)
    bad_backups = sum(1 for _, b in failures if "bad backup" in b)
    print("\n%s: kill trials: %d, torn: %d, bad backups: %d, unclean next runs: %d"
          % (dialect, trials, torn, bad_backups, len(failures) - torn - bad_backups), file=sys.stderr)
    assert not failures, failures[:5]
