"""Crash safety of --fix, measured: SIGKILL at a random moment, for each settings dialect: (1) uniform over the whole
CLI run (every check, the plan, the writer: ``test_sigkill_across_the_whole_cli_run``), and (2) uniform over the
writer step alone, where the writes happen (``test_sigkill_at_random_moments_never_loses_a_byte``).

After every kill: the file is byte-for-byte the original or the complete new content; every backup is byte-identical
to the original and there is one whenever the content changed; the next run leaves exactly the new file, one backup
(the identical one reused, not a pile) and no temporary or lock file. Trials per dialect: SD_DOCTOR_CLI_KILL_TRIALS
(whole run, default 67: 201 in CI) and SD_DOCTOR_KILL_TRIALS (writer step, default 12: 36 in CI);
tools/bench-kill and benchmarks/faults.py run more.
"""

import os
import random
import signal
import sys
import time

import pytest

from conftest import machine_env
from reliability_support import CHILD, CLI_CHILD, DIALECTS, PROPOSALS, backups, child, leftovers, make_folder, read
from writer_support import make_ctx, run_writer

TRIALS = int(os.environ.get("SD_DOCTOR_KILL_TRIALS", "12"))
CLI_TRIALS = int(os.environ.get("SD_DOCTOR_CLI_KILL_TRIALS", "67"))


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


def _after_kill(path, original, new):
    """What a kill left: the file is the original or the whole new content; a backup only of the original, one at
    most, and there whenever the content changed. Returns (what is wrong, the file's content)."""
    bad = []
    content = read(path)
    if content not in (original, new):
        bad.append("torn")
    found = backups(path)
    if any(read(b) != original for b in found) or (content == new and not found) or len(found) > 1:
        bad.append("bad backup")
    return bad, content


def _trial(tmp_path, dialect, script, n, delay, new):
    root = str(tmp_path / ("t%d" % n))
    path = make_folder(root, dialect)
    original = read(path)
    proc = child(root, dialect, script)
    assert proc.stdout.readline() == b"ready\n"
    time.sleep(delay)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    bad, content = _after_kill(path, original, new)
    _next_run(root, dialect)
    found = backups(path)
    if read(path) != new or len(found) != 1 or read(found[0]) != original or leftovers(path):
        bad.append("unclean next run: %r" % ([os.path.basename(p) for p in leftovers(path) + found],))
    return bad


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_sigkill_at_random_moments_never_loses_a_byte(tmp_path, dialect):
    trials = TRIALS
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
    print("\n%s: writer-step kill trials: %d, torn: %d, bad backups: %d, unclean next runs: %d"
          % (dialect, trials, torn, bad_backups, len(failures) - torn - bad_backups), file=sys.stderr)
    assert not failures, failures[:5]


# -- (1) uniform over the whole CLI run -------------------------------------------------------------------------------
def _cli_run(root, dialect, script, env, kill_after=None):
    """One whole --fix run; killed with SIGKILL ``kill_after`` seconds after its start (None: to its end)."""
    start = time.monotonic()
    proc = child(root, dialect, script, env=env)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except Exception:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, err, time.monotonic() - start


def _cli_trial(top, dialect, script, env, n, fraction, new, measured):
    """``fraction`` of the run time measured so far (the median of the complete runs: the machine's load moves it)."""
    delay = fraction * sorted(measured)[len(measured) // 2]
    root = os.path.join(top, "t%d" % n)
    path = make_folder(root, dialect)
    original = read(path)
    killed_rc, _, _ = _cli_run(root, dialect, script, env, kill_after=delay)
    bad, content = _after_kill(path, original, new)
    rc, err, elapsed = _cli_run(root, dialect, script, env)
    measured.append(elapsed)
    found = backups(path)
    if rc not in (0, 1) or read(path) != new or len(found) != 1 or read(found[0]) != original or leftovers(path):
        bad.append("unclean next run: rc %s %r %s" % (rc, [os.path.basename(p) for p in leftovers(path) + found],
                                                      err[-200:]))
    return bad, (killed_rc == -signal.SIGKILL, content == new)


@pytest.mark.parametrize("dialect", sorted(DIALECTS))
def test_sigkill_across_the_whole_cli_run(tmp_path, dialect):
    """The kill moment is uniform over the measured duration of a whole run (interpreter start to exit: the median of
    every complete run so far, as the machine's load changes it); two trials run at a time."""
    from concurrent.futures import ThreadPoolExecutor

    script = str(tmp_path / "cli_child.py")
    with open(script, "w") as fh:
        fh.write(CLI_CHILD)
    env = machine_env(str(tmp_path / "machine"), extra={"http_proxy": "http://127.0.0.1:9"})
    def reference(n):  # complete runs, two at a time like the trials, so the measured time is the trials' time
        root = str(tmp_path / ("reference%d" % n))
        path = make_folder(root, dialect)
        rc, err, elapsed = _cli_run(root, dialect, script, env)
        assert rc in (0, 1), err
        return read(path), elapsed

    with ThreadPoolExecutor(max_workers=2) as pool:
        runs = list(pool.map(reference, range(4)))
    new = runs[0][0]
    assert all(r[0] == new for r in runs) and new != DIALECTS[dialect][1]  # one new content; the run changes it
    measured = [r[1] for r in runs]  # grows with every trial's complete next run
    rng = random.Random(1616)
    fractions = [rng.uniform(0.0, 1.0) for _ in range(CLI_TRIALS)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(lambda a: _cli_trial(str(tmp_path), dialect, script, env, a[0], a[1], new, measured),
                                enumerate(fractions)))
    duration = sorted(measured)[len(measured) // 2]
    failures = [(n, bad) for n, (bad, _) in enumerate(results) if bad]
    killed = sum(1 for _, (was_killed, _) in results if was_killed)
    changed = sum(1 for _, (_, was_new) in results if was_new)
    torn = sum(1 for _, b in failures if "torn" in b)
    bad_backups = sum(1 for _, b in failures if "bad backup" in b)
    print("\n%s: whole-run kill trials: %d (killed before the end: %d, file already new: %d, median run %.2f s), torn: %d, "
          "bad backups: %d, unclean next runs: %d" % (dialect, CLI_TRIALS, killed, changed, duration, torn, bad_backups,
                                     len(failures) - torn - bad_backups), file=sys.stderr)
    assert not failures, failures[:5]
