"""Hostile folders, measured (issue 16 item 3, the non-settings inputs): pyvenv.cfg garbage, a safetensors header
claiming 2^63 bytes, 10,000 files and a symlink loop in models/, a corrupt .git/HEAD, 500 extensions, a 50 MB
launch_utils.py. Each through the real CLI at ``--timeout 2``: it ends within the timeout + 1 s (plus 1.5 s for the
interpreter's start on a loaded machine: the stated bound is 4.5 s), prints no traceback, and the check that meets
the input says what is wrong with it.
"""

import os
import random
import struct
import sys
import time

import pytest

from conftest import machine_env, make_webui, run_cli
from reliability_support import bounded_run_failures

TIMEOUT = 2
BOUND = TIMEOUT + 1 + 1.5


def _pyvenv_garbage(root):
    os.makedirs(os.path.join(root, "venv", "bin"))
    junk = bytes(random.Random(16).getrandbits(8) for _ in range(4000))
    with open(os.path.join(root, "venv", "pyvenv.cfg"), "wb") as fh:
        fh.write(junk + b"\nhome = \x00\xff\nversion=\n=\n")
    return [], ("venv", "pyvenv.cfg")


def _huge_header(root):
    folder = os.path.join(root, "models", "Stable-diffusion")
    os.makedirs(folder)
    with open(os.path.join(folder, "huge.safetensors"), "wb") as fh:
        fh.write(struct.pack("<Q", 2 ** 63) + b"{}")
    return ["--no-venv"], ("models", "header length 9223372036854775808 exceeds")


def _many_files_and_a_loop(root):
    folder = os.path.join(root, "models", "Stable-diffusion")
    os.makedirs(folder)
    for i in range(10000):
        open(os.path.join(folder, "f%05d.safetensors" % i), "wb").close()
    os.symlink("..", os.path.join(folder, "loop"))  # models/Stable-diffusion/loop -> models/
    return ["--no-venv"], ("models", "Stopped after")


def _corrupt_head(root):
    os.makedirs(os.path.join(root, ".git", "refs", "heads"))
    with open(os.path.join(root, ".git", "HEAD"), "wb") as fh:
        fh.write(b"\xff\xfe\x00garbage ref: \n" * 100)
    with open(os.path.join(root, ".git", "config"), "w") as fh:
        fh.write("[core]\n")
    return ["--no-venv"], ("git", "git cannot read it")


def _five_hundred_extensions(root):
    for i in range(500):
        ext = os.path.join(root, "extensions", "ext-%03d" % i)
        os.makedirs(os.path.join(ext, ".git"))
        with open(os.path.join(ext, "install.py"), "w") as fh:
            fh.write("x = 1\n")
        with open(os.path.join(ext, ".git", "HEAD"), "w") as fh:
            fh.write("ref: refs/heads/main\n")
    return ["--no-venv"], ("git", "Only the first 200 extensions were checked")


def _huge_launch_utils(root):
    os.makedirs(os.path.join(root, "modules"), exist_ok=True)
    line = "x = '" + "a" * 1000 + "'\n"
    with open(os.path.join(root, "modules", "launch_utils.py"), "w") as fh:
        fh.write("import os\n" + line * (50 * 1024))
    return ["--no-venv"], ("git", "too large to be a launcher file")


CASES = {"pyvenv.cfg garbage": _pyvenv_garbage, "safetensors header of 2^63 bytes": _huge_header,
         "10,000 files and a symlink loop in models/": _many_files_and_a_loop, "corrupt .git/HEAD": _corrupt_head,
         "500 extensions": _five_hundred_extensions, "50 MB launch_utils.py": _huge_launch_utils}


@pytest.mark.parametrize("name", sorted(CASES))
def test_hostile_input_is_bounded_and_named(tmp_path, name):
    root = make_webui(str(tmp_path / "webui"))
    extra, (check_id, words) = CASES[name](root)
    env = machine_env(str(tmp_path / "machine"))
    start = time.monotonic()
    proc = run_cli([root, "--offline", "--timeout", str(TIMEOUT), "--json", "--verbose"] + extra, env=env, timeout=60)
    elapsed = time.monotonic() - start
    failures, checks = bounded_run_failures(proc, elapsed, BOUND)
    if checks is not None:
        check = checks[check_id]
        if check["status"] not in ("warn", "error") or words not in check["detail"]:
            failures.append("%s: %s %s" % (check_id, check["status"], check["detail"][:300]))
        crashed = [c for c in checks.values() if c["status"] in ("crash",)]
        if crashed:
            failures.append("crashed: %r" % [c["id"] for c in crashed])
    print("\nhostile input %s: %.2f s (bound %.1f s), failures: %d" % (name, elapsed, BOUND, len(failures)),
          file=sys.stderr)
    assert not failures, failures


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_control_bytes_from_a_corrupt_pyvenv_cfg_never_reach_the_terminal(tmp_path, lang):
    """The venv check names pyvenv.cfg's ``home``; a NUL, an escape sequence or a lone CR in it is printed as
    ``\\xNN``: the report stays readable and cannot recolour or overwrite the user's terminal."""
    root = make_webui(str(tmp_path / "webui"))
    os.makedirs(os.path.join(root, "venv", "bin"))
    with open(os.path.join(root, "venv", "pyvenv.cfg"), "wb") as fh:
        fh.write(b"home = /gone\x00\x1b[2J\rpy\nversion = 3.10.6\n")
    proc = run_cli([root, "--offline", "--lang", lang], env=machine_env(str(tmp_path / "m")), timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    assert not any(c in proc.stdout for c in "\x00\x1b\r"), repr(proc.stdout[-800:])
    assert "/gone\\x00\\x1b[2J" in proc.stdout, proc.stdout  # the CR ends the line, as for Python's own venv


def test_two_hundred_broken_extensions_are_ten_findings_and_one_line_of_names(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    _five_hundred_extensions(root)
    proc = run_cli([root, "--offline", "--no-venv"], env=machine_env(str(tmp_path / "machine")), timeout=60)
    told = [line for line in proc.stdout.splitlines() if "Extension ext-" in line]
    assert len(told) == 10, told
    rest = [line for line in proc.stdout.splitlines() if "190 more extensions have problems" in line]
    assert len(rest) == 1 and "ext-010, ext-011" in rest[0], rest
    assert rest[0].endswith("ext-039 and 160 others.") and "ext-040" not in rest[0], rest
