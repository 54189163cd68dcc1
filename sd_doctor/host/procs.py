"""Bounded subprocesses: every external program the doctor runs goes through ``run_bounded``.

``subprocess.run(timeout=...)`` is not enough: after killing the child it waits for the pipes to close, and a
grandchild (git's remote helper, a shell's child) holding them keeps it waiting. So the whole process group is
killed, and the pipes are abandoned if they still do not close.
"""

import os
import signal
import subprocess
import sys
import threading
import time

# Children still running, so that Ctrl+C can end them: they run in their own session and do not get the SIGINT.
_LIVE = set()
_LIVE_LOCK = threading.Lock()


def kill_all():
    """End every child run_bounded started that is still running (on Ctrl+C)."""
    with _LIVE_LOCK:
        live = list(_LIVE)
    for proc in live:
        if proc.poll() is None:
            _kill_tree(proc)


class Completed(object):
    __slots__ = ("argv", "returncode", "stdout", "stderr", "timed_out", "error", "elapsed")

    def __init__(self, argv, returncode=None, stdout="", stderr="", timed_out=False, error=None, elapsed=0.0):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out
        self.error = error  # why it could not start (OSError text), or None
        self.elapsed = elapsed

    @property
    def ok(self):
        return self.returncode == 0 and not self.timed_out and self.error is None

    def __repr__(self):
        return "Completed(%r, rc=%r, timed_out=%r, error=%r)" % (self.argv, self.returncode, self.timed_out, self.error)


def _decode(data):
    if data is None:
        return ""
    if isinstance(data, str):
        return data
    for enc in ("utf-8", _console_encoding()):
        try:
            return data.decode(enc)
        except (UnicodeDecodeError, LookupError):
            continue
    return data.decode("latin-1")


def _console_encoding():
    if sys.platform == "win32":
        import locale

        return locale.getpreferredencoding(False) or "mbcs"
    return "utf-8"


def _kill_tree(proc):
    try:
        if sys.platform == "win32":
            subprocess.call(["taskkill", "/F", "/T", "/PID", str(proc.pid)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, timeout=3)
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (OSError, subprocess.SubprocessError):
        try:
            proc.kill()
        except OSError:
            pass


def run_bounded(argv, timeout, env=None, cwd=None, stdin_data=None):
    """Run ``argv`` for at most ``timeout`` seconds. Never raises; never waits much past the bound."""
    start = time.monotonic()
    if isinstance(stdin_data, str):
        stdin_data = stdin_data.encode("utf-8")
    kwargs = {}
    if sys.platform == "win32":
        kwargs["creationflags"] = getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0) | getattr(
            subprocess, "CREATE_NO_WINDOW", 0)
    else:
        kwargs["start_new_session"] = True
    try:
        proc = subprocess.Popen(
            argv, stdin=subprocess.PIPE if stdin_data is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, cwd=cwd, **kwargs)
    except (OSError, ValueError) as exc:
        return Completed(argv, error=str(exc) or exc.__class__.__name__, elapsed=time.monotonic() - start)
    with _LIVE_LOCK:
        _LIVE.add(proc)
    try:
        return _wait(proc, argv, timeout, stdin_data, start)
    finally:
        with _LIVE_LOCK:
            _LIVE.discard(proc)


def _wait(proc, argv, timeout, stdin_data, start):
    try:
        out, err = proc.communicate(stdin_data, timeout=max(0.05, timeout))
    except subprocess.TimeoutExpired:
        _kill_tree(proc)
        try:
            out, err = proc.communicate(timeout=0.5)
        except (subprocess.TimeoutExpired, ValueError, OSError):
            out, err = b"", b""
            for pipe in (proc.stdout, proc.stderr):
                try:
                    pipe.close()
                except OSError:
                    pass
        return Completed(argv, proc.returncode, _decode(out), _decode(err), timed_out=True,
                         elapsed=time.monotonic() - start)
    return Completed(argv, proc.returncode, _decode(out), _decode(err), elapsed=time.monotonic() - start)
