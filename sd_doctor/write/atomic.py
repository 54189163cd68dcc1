"""Replacing a file so that it is always either the old one or the complete new one, with a backup beside it.

Order: the backup (a new name, created exclusively, fsynced), a temporary file in the same folder (written, flushed,
fsynced), a last look at the target (same bytes and mtime as when it was read, else refuse), ``os.replace``, an
fsync of the folder, then the new file is read back and compared. Any failure removes what this call created and
raises ``WriteFailed``; the original is never opened for writing.
"""

import os
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
    with open(path, "rb") as fh:
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


def _write_new(path, data, mode=None):
    """Create ``path`` exclusively with ``data``, flushed to disk."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o666 if mode is None else mode)
    try:
        if mode is not None and os.name == "posix":
            os.fchmod(fd, mode)
        view = memoryview(data)
        while view:
            written = os.write(fd, view)
            view = view[written:]
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove_quietly(path):
    if path:
        try:
            os.remove(path)
        except OSError:
            pass


def _remove_stale_temps(folder, name):
    """Temporary files an earlier, killed run left beside ``name`` (never the file itself)."""
    import glob

    for stale in glob.glob(os.path.join(glob.escape(folder), ".%s.sd-doctor-*.tmp" % glob.escape(name))):
        if os.path.isfile(stale) and not os.path.islink(stale):
            _remove_quietly(stale)


def replace(snap, data, make_backup=True):
    """Write ``data`` to ``snap.path`` atomically. Returns the backup's path (None for a new file).

    Raises WriteFailed with nothing changed when the file changed since ``snap`` was taken, or anything fails.
    """
    import stat as stat_mod

    path = snap.path
    folder = os.path.dirname(os.path.abspath(path))
    mode = None
    if snap.exists:
        try:
            mode = stat_mod.S_IMODE(os.stat(path).st_mode)
        except OSError as exc:
            raise WriteFailed(exc.strerror or str(exc), path)
    backup = None
    temp = None
    try:
        if not unchanged(snap):
            raise WriteFailed("changed", path)
        if snap.exists and make_backup:
            backup = backup_name(path)
            _write_new(backup, snap.data, mode)
        _remove_stale_temps(folder, os.path.basename(path))
        temp = os.path.join(folder, ".%s.sd-doctor-%d.tmp" % (os.path.basename(path), os.getpid()))
        _remove_quietly(temp)
        _write_new(temp, data, mode)
        pause = os.environ.get(TEST_PAUSE_ENV)
        if pause:
            time.sleep(float(pause))
        if not unchanged(snap):
            raise WriteFailed("changed", path)
        os.replace(temp, path)
        temp = None
        _fsync_dir(folder)
    except WriteFailed:
        _remove_quietly(temp)
        _remove_quietly(backup)
        raise
    except OSError as exc:
        _remove_quietly(temp)
        _remove_quietly(backup)
        raise WriteFailed(exc.strerror or str(exc), path)
    with open(path, "rb") as fh:
        back = fh.read(len(data) + 1)
    if back != data:
        # Not what was written (another program wrote at the same moment, or a filter changed it): put back the
        # original from the backup, the same careful way, and say so.
        if backup:
            try:
                restore = path + ".sd-doctor-restore.tmp"
                _remove_quietly(restore)
                _write_new(restore, snap.data, mode)
                os.replace(restore, path)
            except OSError:
                pass
        raise WriteFailed("verify", path)
    return backup
