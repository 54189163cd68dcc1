"""install-path: real folders probed on this machine, Windows situations judged from Windows facts."""

import os
import subprocess

import pytest

from sd_doctor.checks import install_path
from sd_doctor.core.context import Context, Options
from sd_doctor.core.runner import run_one


def probe_and_judge(path, environ=None):
    ctx = Context(str(path), Options(offline=True), environ=environ)
    return run_one(install_path, ctx)


def win_facts(path, pages=(1252, 437), long_paths=False, special=None, writable=True):
    return {"platform": "windows", "path": path, "exists": True, "checked_folder": path, "writable": writable,
            "code_pages": list(pages), "long_paths_enabled": long_paths, "special_folders": special or {}}


def texts(f, lang="en"):
    return [m.render(lang) for m in f.detail_lines()] + [a.render(lang) for a in f.advice]


def test_plain_existing_folder_is_ok(tmp_path):
    (tmp_path / "webui").mkdir()
    f = probe_and_judge(tmp_path / "webui")
    assert f.status == "ok" and f.facts["writable"] is True and f.facts["exists"] is True


def test_folder_to_be_created_is_judged_by_its_parent(tmp_path):
    f = probe_and_judge(tmp_path / "a" / "b" / "webui")
    assert f.status == "ok"
    assert f.facts["checked_folder"] == str(tmp_path)
    assert "does not exist yet" in texts(f)[0]
    assert not (tmp_path / "a").exists()


def test_space_is_an_error(tmp_path):
    (tmp_path / "my webui").mkdir()
    f = probe_and_judge(tmp_path / "my webui")
    assert f.status == "error"
    assert any("space" in t for t in texts(f))


@pytest.mark.parametrize("char", list("&()^%!"))
def test_cmd_metacharacters_are_errors(char, tmp_path):
    folder = tmp_path / ("sd%swebui" % char)
    folder.mkdir()
    f = probe_and_judge(folder)
    assert f.status == "error", char
    assert char in texts(f)[0]


def test_non_ascii_is_a_warning_off_windows(tmp_path):
    folder = tmp_path / u"绘图"
    folder.mkdir()
    f = probe_and_judge(folder)
    assert f.status == "warn"


def test_non_ascii_on_windows_depends_on_the_code_pages():
    path = u"C:\\Users\\José\\webui"
    f = install_path.judge(win_facts(path, pages=(1252, 437), long_paths=True))
    assert f.status == "error" and "1252/437" in texts(f)[0]
    f = install_path.judge(win_facts(u"D:\\绘图\\webui", pages=(936, 936), long_paths=True))
    assert f.status == "warn"
    f = install_path.judge(win_facts("C:\\sd\\webui", pages=(1252, 437), long_paths=False))
    assert f.status == "ok"


def test_deep_path_without_long_paths_warns():
    deep = "C:\\" + "\\".join(["folder%02d" % i for i in range(14)])
    assert len(deep) + 1 + len(install_path.DEEPEST_VENV_FILE) >= 260
    f = install_path.judge(win_facts(deep, long_paths=False))
    assert f.status == "warn" and any("LongPathsEnabled" in a for a in texts(f))
    assert install_path.judge(win_facts(deep, long_paths=True)).status == "ok"
    assert install_path.judge(win_facts(deep, long_paths=None)).status == "warn"  # unreadable: assume the default
    assert install_path.judge(win_facts("C:\\sd\\webui", long_paths=False)).status == "ok"


def test_max_path_boundary():
    """MAX_PATH counts the terminating NUL: a 259-character file path works, 260 fails."""
    room = 259 - 1 - len(install_path.DEEPEST_VENV_FILE)
    fits = "C:\\" + "a" * (room - 3)
    assert install_path.judge(win_facts(fits, long_paths=False)).status == "ok"
    assert install_path.judge(win_facts(fits + "b", long_paths=False)).status == "warn"


@pytest.mark.parametrize("path,name", [
    ("C:\\Program Files\\webui", "Program Files"),
    ("c:\\windows\\system32\\webui", "System32"),
    ("C:\\Users\\me\\OneDrive\\sd\\webui", "OneDrive"),
])
def test_special_folders_warn(path, name):
    special = {"Program Files": ["C:\\Program Files"], "System32": ["C:\\Windows\\System32"],
               "OneDrive": ["C:\\Users\\me\\OneDrive"]}
    f = install_path.judge(win_facts(path, long_paths=True, special=special))
    assert any(name in t for t in texts(f)), texts(f)
    assert f.status in ("warn", "error")
    assert "warn" in [s for s, _ in f.lines]
    # a sibling whose name only starts like the special folder is not under it
    assert install_path.judge(win_facts("C:\\Users\\me\\OneDriveBackup\\webui", long_paths=True,
                                        special=special)).status == "ok"


def test_special_folders_are_read_from_the_environment(tmp_path):
    onedrive = tmp_path / "OneDrive"
    (onedrive / "webui").mkdir(parents=True)
    f = probe_and_judge(onedrive / "webui", environ=dict(os.environ, OneDrive=str(onedrive)))
    assert f.status == "warn" and any("OneDrive" in t for t in texts(f))


def test_read_only_folder_is_an_error(tmp_path):
    """A read-only file system (tests run as root, so permissions alone would not stop a write)."""
    mnt = tmp_path / "ro"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m,ro", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        if os.geteuid() != 0:
            os.chmod(str(mnt), 0o555)  # not root: permissions are enough
        else:
            pytest.skip("cannot mount a read-only tmpfs here: %s" % r.stderr.decode(errors="replace").strip())
    try:
        f = probe_and_judge(mnt / "webui")
        assert f.facts["writable"] is False
        assert f.status == "error" and any("Cannot write" in t for t in texts(f))
    finally:
        if r.returncode == 0:
            subprocess.run(["umount", str(mnt)])


def test_not_writable_judged_from_facts():
    f = install_path.judge(win_facts("C:\\sd\\webui", long_paths=True, writable=False))
    assert f.status == "error"
