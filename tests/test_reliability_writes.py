"""Write failures, measured (issue 16 item 2): a file size limit (``ulimit -f``), a full filesystem (a 64 KB tmpfs), a
read-only bind mount, ``chattr +i``, a settings file of another owner with mode 0444. Each through the real CLI's
``--fix``: exit 2, one line on stderr, no traceback, the original byte for byte, no backup and no temporary file
left behind. Mounting and chattr need root (CI runs as root); elsewhere those cases skip with the reason.

(The 0444, symlink, hard link and directory cases are in test_reliability_faults.py.)
"""

import os
import resource
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, machine_env, make_webui
from reliability_support import SH, backups, cli_args, leftovers, read

ROOTLESS = not hasattr(os, "geteuid") or os.geteuid() != 0
needs_root = pytest.mark.skipif(ROOTLESS, reason="mounting a tmpfs / bind mount and chattr need root (CI runs as root)")


def _fix(tmp_path, root, preexec=None):
    env = machine_env(str(tmp_path / "m"), extra={"http_proxy": "http://127.0.0.1:9", "PYTHONDONTWRITEBYTECODE": "1"})
    return subprocess.run([sys.executable, "-m", "sd_doctor"] + cli_args(root, "--offline", "--fix"), env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=90, preexec_fn=preexec)


def _verdict(name, proc, path, original):
    err = proc.stderr.strip()
    print("\n%s -> exit %s: %s" % (name, proc.returncode, err[-200:]), file=sys.stderr)
    why = []
    if proc.returncode != 2:
        why.append("exit %s" % proc.returncode)
    if "Traceback" in err or len(err.splitlines()) != 1:
        why.append("stderr: %r" % err[-300:])
    if read(path) != original:
        why.append("original changed")
    if backups(path) or leftovers(path):
        why.append("left %r" % [os.path.basename(p) for p in backups(path) + leftovers(path)])
    return (name, why) if why else None


def _figure(name, cases, failures):
    print("\n%s: cases: %d, failures: %d" % (name, cases, len(failures)), file=sys.stderr)
    assert not failures, failures


def _mount(*argv):
    done = subprocess.run(["mount"] + list(argv), capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip("mount is not permitted here: %s" % done.stderr.strip()[-200:])


def _umount(folder):
    subprocess.run(["umount", "-l", folder], capture_output=True, timeout=30)


def test_a_file_size_limit_refuses_and_keeps_the_original(tmp_path):
    """RLIMIT_FSIZE (``ulimit -f``) below the new content's size: the write fails with EFBIG (Python ignores
    SIGXFSZ), never a half-written file."""
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": SH})
    path = os.path.join(root, "webui-user.sh")

    def limit():
        resource.setrlimit(resource.RLIMIT_FSIZE, (len(SH) + 8, len(SH) + 8))

    result = _verdict("ulimit -f", _fix(tmp_path, root, preexec=limit), path, SH)
    _figure("write failures: file size limit", 1, [result] if result else [])


@needs_root
def test_a_full_filesystem_refuses_and_keeps_the_original(tmp_path):
    mnt = str(tmp_path / "full")
    os.mkdir(mnt)
    _mount("-t", "tmpfs", "-o", "size=64k", "tmpfs", mnt)
    try:
        root = make_webui(os.path.join(mnt, "webui"), {"webui-user.sh": SH})
        path = os.path.join(root, "webui-user.sh")
        fd = os.open(os.path.join(mnt, "filler"), os.O_WRONLY | os.O_CREAT)
        try:  # fill every block that is left
            while os.write(fd, b"\0" * 512):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)
        result = _verdict("full tmpfs", _fix(tmp_path, root), path, SH)
    finally:
        _umount(mnt)
    _figure("write failures: full filesystem", 1, [result] if result else [])


@needs_root
def test_a_read_only_bind_mount_refuses_and_keeps_the_original(tmp_path):
    src = make_webui(str(tmp_path / "src"), {"webui-user.sh": SH})
    mnt = str(tmp_path / "ro")
    os.mkdir(mnt)
    _mount("--bind", src, mnt)
    try:
        _mount("-o", "remount,ro,bind", mnt)
        result = _verdict("read-only bind mount", _fix(tmp_path, mnt), os.path.join(mnt, "webui-user.sh"), SH)
    finally:
        _umount(mnt)
    _figure("write failures: read-only mount", 1, [result] if result else [])


@needs_root
def test_an_immutable_file_refuses_and_keeps_the_original(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": SH})
    path = os.path.join(root, "webui-user.sh")
    if not shutil.which("chattr"):
        pytest.skip("chattr is not installed")
    done = subprocess.run(["chattr", "+i", path], capture_output=True, text=True, timeout=30)
    if done.returncode != 0:
        pytest.skip("this filesystem has no immutable attribute: %s" % done.stderr.strip()[-200:])
    try:
        result = _verdict("chattr +i", _fix(tmp_path, root), path, SH)
    finally:
        subprocess.run(["chattr", "-i", path], capture_output=True, timeout=30)
    _figure("write failures: immutable file", 1, [result] if result else [])


@needs_root
def test_a_read_only_file_of_another_owner_is_refused_even_for_root(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": SH})
    path = os.path.join(root, "webui-user.sh")
    os.chown(path, 65534, 65534)
    os.chmod(path, 0o444)
    result = _verdict("another owner, 0444", _fix(tmp_path, root), path, SH)
    stat = os.stat(path)
    if (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) != (65534, 65534, 0o444):
        result = ("another owner, 0444", ["owner or mode changed"])
    _figure("write failures: another owner", 1, [result] if result else [])


@needs_root
def test_a_rewritten_file_keeps_its_owner_group_and_mode(tmp_path):
    """Under sudo the new file must stay the user's (not root's), with its mode; the backup too."""
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": SH})
    path = os.path.join(root, "webui-user.sh")
    os.chown(path, 65534, 65533)
    os.chmod(path, 0o640)
    proc = _fix(tmp_path, root)
    assert proc.returncode in (0, 1), proc.stderr
    assert b"NO_PROXY" in read(path)
    (backup,) = backups(path)
    for p in (path, backup):
        stat = os.stat(p)
        assert (stat.st_uid, stat.st_gid, stat.st_mode & 0o777) == (65534, 65533, 0o640), p
