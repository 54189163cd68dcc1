"""The safety net for a rewritten webui-user.sh: bash itself must read the new text as planned.

Before the new bytes replace the user's file they are written to a private temporary folder, checked with
``bash -n`` (syntax), then sourced by a bounded bash that prints the planned variables NUL-separated. The launcher
splits COMMANDLINE_ARGS with shlex, so that one is compared as tokens. Anything else (a syntax error, a value bash
reads differently, a bash that hangs) refuses the write; the original is never touched. Where bash is not installed
the net is skipped (Windows), since nothing would read the file there either.
"""

import os
import shlex
import shutil
import tempfile

from sd_doctor.host.procs import run_bounded

_PRINT = 'source "$1" >/dev/null 2>&1 </dev/null; shift; for v in "$@"; do printf "%s\\0" "${!v-<unset>}"; done'


def sh_reads_back(new_bytes, expected, tokens=None, timeout=5.0):
    """None when bash reads ``expected`` {name: value} (and COMMANDLINE_ARGS as ``tokens``) back; else why not."""
    bash = shutil.which("bash")
    if bash is None or not expected:
        return None
    folder = tempfile.mkdtemp(prefix="sd-doctor-readback-")
    try:
        path = os.path.join(folder, "webui-user.sh")
        with open(path, "wb") as fh:
            fh.write(new_bytes)
        syntax = run_bounded([bash, "-n", path], timeout, cwd=folder)
        if syntax.timed_out or syntax.returncode != 0:
            return "bash -n: " + (syntax.stderr.strip().splitlines() or ["syntax error"])[-1].replace(path, "webui-user.sh")
        names = sorted(expected)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": folder}
        done = run_bounded([bash, "-c", _PRINT, "readback", path] + names, timeout, env=env, cwd=folder)
        if done.timed_out or done.returncode not in (0, None):
            return "bash could not source it"
        got = done.stdout.split("\0")[:len(names)]
        for name, value in zip(names, got):
            if not _same(name, value, expected[name], tokens):
                return "%s reads as %r" % (name, value)
        return None
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _same(name, value, want, tokens):
    if name == "COMMANDLINE_ARGS" and tokens is not None:
        try:
            return shlex.split(value) == list(tokens)
        except ValueError:
            return False
    return value == want
