"""Two ``--fix`` at once on the same folder (issue 16 item 7), through the real CLI: run A adds NO_PROXY (its
environment has a proxy), run B changes the Python (its PATH has a 3.12 first and a 3.10 elsewhere). After both, every
run that said "Written" has its change in the file (no lost update); a run that did not write refused with exit 2 and
one line (the file changed under it, or the other run holds the lock); every backup is byte-identical to a state the
file really had. Rounds: even ones start both at once, odd ones pause A between its temporary file and the replace
(the writer's test pause) while B runs, so B meets A's live lock or A meets B's finished write.

(tests/test_reliability_faults.py has the writer-level version: two processes, 40 snapshot/replace rounds each.)
"""

import os
import subprocess
import sys

from conftest import ROOT, machine_env, make_webui, write_fake_python
from reliability_support import SH, backups, leftovers, read

ROUNDS = int(os.environ.get("SD_DOCTOR_CONCURRENT_ROUNDS", "8"))


def _start(root, env):
    return subprocess.Popen([sys.executable, "-m", "sd_doctor", root, "--offline", "--no-venv", "--fix", "--timeout",
                             "3"], env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _outcome(proc):
    out, err = proc.communicate(timeout=60)
    out, err = out.decode("utf-8", "replace"), err.decode("utf-8", "replace").strip()
    if proc.returncode in (0, 1) and "Written" in out:
        return "written", err
    if proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err:
        return "refused", err
    return "bad", "exit %s: %s" % (proc.returncode, err[-300:])


def test_two_fix_runs_at_once_through_the_cli(tmp_path):
    env_a = machine_env(str(tmp_path / "ma"), extra={"http_proxy": "http://127.0.0.1:9"})
    good = str(tmp_path / "mb" / "py310")
    write_fake_python(good, "python3.10", "3.10.6")
    env_b = machine_env(str(tmp_path / "mb"), python_version="3.12.1", extra_path=[good])
    failures, counts = [], {"both written": 0, "one refused": 0}
    for n in range(ROUNDS):
        root = make_webui(str(tmp_path / ("r%d" % n)), {"webui-user.sh": SH})
        path = os.path.join(root, "webui-user.sh")
        paused = dict(env_a, SD_DOCTOR_TEST_PAUSE_BEFORE_REPLACE="1.5") if n % 2 else env_a
        a = _start(root, paused)
        b = _start(root, env_b)
        (how_a, err_a), (how_b, err_b) = _outcome(a), _outcome(b)
        final = read(path)
        if "bad" in (how_a, how_b):
            failures.append((n, err_a, err_b))
            continue
        lost = [name for name, how, mark in (("A", how_a, b"NO_PROXY"), ("B", how_b, good.encode()))
                if how == "written" and mark not in final]
        if lost:
            failures.append((n, "lost update of %s" % lost))
        states = [SH]
        if how_a == "written" and how_b == "written":
            counts["both written"] += 1
        elif "written" in (how_a, how_b):
            counts["one refused"] += 1
        states.append(final)
        stray = [b for b in backups(path) if read(b) not in states and b"NO_PROXY" not in read(b) and
                 good.encode() not in read(b)]
        if stray or leftovers(path):
            failures.append((n, "stray", stray, leftovers(path)))
    print("\ntwo --fix at once: rounds: %d (both written, merged: %d; one refused: %d), lost updates or stray files: "
          "%d" % (ROUNDS, counts["both written"], counts["one refused"], len(failures)), file=sys.stderr)
    assert not failures, failures
