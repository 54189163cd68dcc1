"""Replacing a file so that it is always either the old one or the complete new one, with a backup beside it.

Order, under a lock file (``.NAME.sd-doctor.lock``, holding our pid; a dead pid's lock is taken over): the backup
(written to a temporary name, fsynced, given the original's mode, owner and mtime, then linked to its final name,
so a backup under its final name is always complete; an existing backup byte-identical to the original is reused,
so re-runs do not pile them up), a temporary file in the same folder (written, fsynced, the original's mode and
owner), a last look at the target (same bytes and mtime as when it was read, else refuse), ``os.replace`` (retried
briefly on Windows, where another program holding the file open makes it fail), an fsync of the folder, then the new
file is read back and compared. Any failure removes what this call created and raises ``WriteFailed``; the original
is never opened for writing.

Refused, as Windows refuses them: a read-only file (no write bit), a symbolic link to a file outside the folder,
a file with several hard links (replacing it would split them). A symbolic link to a file inside the folder is
written through: its target is replaced and the link stays. Temporary files a killed run left are removed by the
next run, but only when the pid in their name is no longer alive (never another live run's file).
"""

import os
import re
import sys
import time

# Tests only: seconds to sleep between the finished temporary file and the replace, to kill the process there.
TEST_PAUSE_ENV = "SD_DOCTOR_TEST_PAUSE_BEFORE_REPLACE"


class WriteFailed(Exception):
    """Nothing was changed; ``reason`` says why ('changed', 'verify', or the OS error text)."""

    def __init__(self, reason, path):
        Exception.__init__(self, "%s: %s" % (path, reason))
        self.reason = reason
        self.path = path


class Snapshot(object):
    """What a file was when it was read: its bytes and stat (None when it did not exist)."""

    def __init__(self, path, data, mtime_ns, size):
        self.path = path
        self.data = data
        self.mtime_ns = mtime_ns
        self.size = size

    @property
    def exists(self):
        return self.data is not None


def snapshot(path, limit):
    """Read ``path`` (at most ``limit`` + 1 bytes, so a huge file is noticed without reading it all)."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return Snapshot(path, None, None, None)
    from sd_doctor.formats.textfile import open_regular

    with open_regular(path) as fh:  # a FIFO is refused, never waited on
        data = fh.read(limit + 1)
    return Snapshot(path, data, st.st_mtime_ns, st.st_size)


def unchanged(snap):
    """True when the file on disk is still what ``snap`` read."""
    try:
        st = os.stat(snap.path)
    except FileNotFoundError:
        return not snap.exists
    if not snap.exists:
        return False
    if st.st_size != snap.size or st.st_mtime_ns != snap.mtime_ns:
        return False
    with open(snap.path, "rb") as fh:
        return fh.read(snap.size + 1) == snap.data


def backup_name(path, stamp=None):
    """``NAME.sd-doctor-YYYYmmdd-HHMMSS.bak`` beside ``path``, with -2, -3 ... when that exists."""
    stamp = stamp or time.strftime("%Y%m%d-%H%M%S")
    base = "%s.sd-doctor-%s" % (path, stamp)
    candidate = base + ".bak"
    n = 1
    while os.path.lexists(candidate):
        n += 1
        candidate = "%s-%d.bak" % (base, n)
    return candidate


def existing_backups(path):
    import glob

    return sorted(glob.glob(glob.escape(path) + ".sd-doctor-*.bak"))


def _identical_backup(path, data):
    """A backup of ``path`` already holding exactly ``data`` (a killed or earlier run's), or None."""
    for candidate in existing_backups(path):
        try:
            if os.path.isfile(candidate) and not os.path.islink(candidate) and os.path.getsize(candidate) == len(data):
                with open(candidate, "rb") as fh:
                    if fh.read(len(data) + 1) == data:
                        return candidate
        except OSError:
            continue
    return None


def _fsync_dir(folder):
    if os.name != "posix":
        return
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_new(path, data, st=None):
    """Create ``path`` exclusively with ``data`` (and ``st``'s mode and owner), flushed to disk."""
    import stat as stat_mod

    mode = None if st is None else stat_mod.S_IMODE(st.st_mode)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666 if mode is None else mode)
    done = False
    try:
        if st is not None and os.name == "posix":
            if (st.st_uid, st.st_gid) != (os.geteuid(), os.getegid()):
                try:
                    os.fchown(fd, st.st_uid, st.st_gid)  # under sudo the file stays the user's
                except PermissionError:
                    if st.st_uid != os.geteuid():
                        raise
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
        done = True
    finally:
        os.close(fd)
        if not done:
            _remove_quietly(path)  # what we created and could not finish


def _remove_quietly(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass


def pid_alive(pid):
    if pid == os.getpid():
        return True
    if os.name != "posix":
        return _pid_alive_windows(pid)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True  # it exists, owned by someone else
    return True


def _pid_alive_windows(pid):
    try:
        import ctypes

        handle = ctypes.windll.kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return False
        code = ctypes.c_ulong()
        ctypes.windll.kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
        ctypes.windll.kernel32.CloseHandle(handle)
        return code.value == 259  # STILL_ACTIVE
    except Exception:
        return True  # cannot tell: keep the file


_TEMP_PID = re.compile(r"\.sd-doctor-(\d+)\.(?:tmp|bak\.tmp|lock)$")


def _remove_stale_temps(folder, name):
    """Temporary files a killed run left beside ``name`` (never the file itself, never a live run's file)."""
    import glob

    pattern = os.path.join(glob.escape(folder), ".%s.sd-doctor-*" % glob.escape(name))
    for stale in glob.glob(pattern):
        match = _TEMP_PID.search(stale)
        if not match or int(match.group(1)) == os.getpid() or pid_alive(int(match.group(1))):
            continue
        if os.path.isfile(stale) and not os.path.islink(stale):
            _remove_quietly(stale)


def clean_leftovers(path):
    """What a killed run left beside ``path`` (temporary and lock files of dead pids); for a run that writes nothing."""
    folder, name = os.path.split(os.path.abspath(path))
    _remove_stale_temps(folder, name)


def temp_names(path):
    """The temporary files of ``path`` (for tests and for the next run's cleanup)."""
    import glob

    folder, name = os.path.split(os.path.abspath(path))
    return sorted(glob.glob(os.path.join(glob.escape(folder), ".%s.sd-doctor-*" % glob.escape(name))))


def _lock(folder, name):
    """Take ``.NAME.sd-doctor-PID.lock``; refuse while another live run holds one. Returns the lock's path."""
    import glob

    for other in glob.glob(os.path.join(glob.escape(folder), ".%s.sd-doctor-*.lock" % glob.escape(name))):
        match = _TEMP_PID.search(other)
        if match and int(match.group(1)) != os.getpid() and pid_alive(int(match.group(1))):
            raise WriteFailed("locked", os.path.join(folder, name))
    lock = os.path.join(folder, ".%s.sd-doctor-%d.lock" % (name, os.getpid()))
    _remove_quietly(lock)
    _write_new(lock, b"%d\n" % os.getpid())
    # Two runs may have looked at the same moment: the lower pid wins, the other backs off.
    for other in glob.glob(os.path.join(glob.escape(folder), ".%s.sd-doctor-*.lock" % glob.escape(name))):
        match = _TEMP_PID.search(other)
        if match and int(match.group(1)) < os.getpid() and pid_alive(int(match.group(1))):
            _remove_quietly(lock)
            raise WriteFailed("locked", os.path.join(folder, name))
    return lock


def _target(snap):
    """(the path to replace, its stat or None). Refuses what Windows refuses and what would break links."""
    import stat as stat_mod

    path = os.path.abspath(snap.path)
    folder = os.path.dirname(path)
    if os.path.islink(path):
        real = os.path.realpath(path)
        if os.path.dirname(real) != os.path.realpath(folder):
            raise WriteFailed("symlink-outside", path)
        path = real
    if not snap.exists:
        return path, None
    st = os.stat(path)
    if not stat_mod.S_ISREG(st.st_mode):
        raise WriteFailed("not-a-file", path)
    if not st.st_mode & 0o222:
        raise WriteFailed("read-only", path)
    if st.st_nlink > 1:
        raise WriteFailed("hard-link", path)
    return path, st


def _make_backup(path, data, st):
    """A complete backup under its final name (reusing an identical one). Returns (path, created by us)."""
    same = _identical_backup(path, data)
    if same:
        return same, False
    folder, name = os.path.split(path)
    temp = os.path.join(folder, ".%s.sd-doctor-%d.bak.tmp" % (name, os.getpid()))
    _remove_quietly(temp)
    try:
        _write_new(temp, data, st)
        os.utime(temp, ns=(st.st_atime_ns, st.st_mtime_ns))
        final = backup_name(path)
        try:
            os.link(temp, final)  # never overwrites: fails if the name appeared meanwhile
            os.remove(temp)
        except OSError:
            os.rename(temp, final)  # a filesystem without hard links
        return final, True
    finally:
        _remove_quietly(temp)


def _replace_retrying(temp, path):
    """os.replace; on Windows another program holding the file (sharing violation) is waited for up to 1 s."""
    end = time.monotonic() + 1.0
    while True:
        try:
            os.replace(temp, path)
            return
        except PermissionError as exc:
            if sys.platform != "win32":
                raise
            if time.monotonic() > end:
                raise PermissionError(exc.errno, "another program holds it open (%s); close it and run again"
                                      % (exc.strerror or exc), path)
            time.sleep(0.1)


def replace(snap, data, make_backup=True):
    """Write ``data`` to ``snap.path`` atomically. Returns the backup's path (None for a new file).

    Raises WriteFailed with nothing changed when the file changed since ``snap`` was taken, or anything fails.
    """
    try:
        path, st = _target(snap)
    except OSError as exc:
        raise WriteFailed(exc.strerror or str(exc), snap.path)
    folder, name = os.path.split(path)
    backup = temp = lock = None
    created = False
    try:
        lock = _lock(folder, name)
        _remove_stale_temps(folder, name)
        if not unchanged(snap):
            raise WriteFailed("changed", path)
        if snap.exists and make_backup:
            backup, created = _make_backup(path, snap.data, st)
        temp = os.path.join(folder, ".%s.sd-doctor-%d.tmp" % (name, os.getpid()))
        _remove_quietly(temp)
        _write_new(temp, data, st)
        pause = os.environ.get(TEST_PAUSE_ENV)
        if pause:
            time.sleep(float(pause))
        if not unchanged(snap):
            raise WriteFailed("changed", path)
        _replace_retrying(temp, path)
        temp = None
        _fsync_dir(folder)
        _verify(path, data, snap, st, backup)
    except WriteFailed:
        _remove_quietly(temp)
        if created:
            _remove_quietly(backup)
        raise
    except OSError as exc:
        _remove_quietly(temp)
        if created:
            _remove_quietly(backup)
        raise WriteFailed(exc.strerror or str(exc), path)
    finally:
        _remove_quietly(lock)
    return backup


def _verify(path, data, snap, st, backup):
    with open(path, "rb") as fh:
        back = fh.read(len(data) + 1)
    if back == data:
        return
    # Not what was written (another program wrote at the same moment, or a filter changed it): put back the
    # original, the same careful way, and say so.
    if backup:
        restore = os.path.join(os.path.dirname(path), ".%s.sd-doctor-%d.tmp" % (os.path.basename(path), os.getpid()))
        try:
            _remove_quietly(restore)
            _write_new(restore, snap.data, st)
            os.replace(restore, path)
        except OSError:
            _remove_quietly(restore)
    raise WriteFailed("verify", path)
