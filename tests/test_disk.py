"""disk: free space where the web UI and its caches write (a real small file system; Windows drives from facts)."""

import os
import shutil
import subprocess

import pytest

from sd_doctor.checks import disk
from sd_doctor.core.context import Context, Options
from sd_doctor.core.runner import run_one

GB = 1024 ** 3


@pytest.fixture
def small_fs(tmp_path):
    mnt = tmp_path / "small"
    mnt.mkdir()
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=100m", "tmpfs", str(mnt)], capture_output=True)
    if r.returncode != 0:
        pytest.skip("cannot mount a small tmpfs here: %s" % r.stderr.decode(errors="replace").strip())
    yield str(mnt)
    subprocess.run(["umount", str(mnt)])


def probe_and_judge(root, environ):
    return run_one(disk, Context(root, Options(offline=True), environ=environ))


def test_caches_on_a_small_drive_are_an_error(tmp_path, small_fs):
    big = shutil.disk_usage(str(tmp_path)).free
    env = dict(os.environ, PIP_CACHE_DIR=os.path.join(small_fs, "pip"), HF_HOME=os.path.join(small_fs, "hf"),
               TEMP=os.path.join(small_fs, "tmp"))
    f = probe_and_judge(str(tmp_path / "webui"), env)
    volumes = f.facts["volumes"]
    assert len(volumes) == 2
    assert volumes[1]["roles"] == ["pip-cache", "hf-cache", "temp"]
    assert volumes[1]["path"] == small_fs and volumes[1]["free"] <= 100 * 1024 ** 2
    assert f.status == "error"
    en = [m.render("en") for m in f.detail_lines()]
    assert any(small_fs in line and "pip's cache, the Hugging Face cache, TEMP" in line for line in en)
    assert any("PIP_CACHE_DIR, HF_HOME and TEMP" in a.render("en") for a in f.advice)
    if big > 20 * GB:
        assert any((str(tmp_path) + " (the web UI)") in line for line in en)


def test_install_folder_on_a_small_drive(tmp_path, small_fs):
    env = dict(os.environ, PIP_CACHE_DIR=str(tmp_path), HF_HOME=str(tmp_path), TEMP=str(tmp_path))
    f = probe_and_judge(os.path.join(small_fs, "sd", "webui"), env)
    assert f.facts["volumes"][0]["roles"] == ["install"]
    assert f.status == "error"


def test_everything_on_one_drive_is_reported_once(tmp_path):
    env = dict(os.environ, PIP_CACHE_DIR=str(tmp_path / "p"), HF_HOME=str(tmp_path / "h"), TEMP=str(tmp_path / "t"))
    f = probe_and_judge(str(tmp_path / "webui"), env)
    assert len(f.facts["volumes"]) == 1
    free = shutil.disk_usage(str(tmp_path)).free
    expected = "error" if free < 5 * GB else "warn" if free < 20 * GB else "ok"
    assert f.status == expected


def win_vol(drive, free, roles):
    return {"path": drive + "\\", "drive": drive, "roles": roles, "free": free, "total": 500 * GB}


def test_windows_small_c_large_d():
    facts = {"platform": "windows", "volumes": [win_vol("D:", 400 * GB, ["install"]),
                                                 win_vol("C:", 3 * GB, ["pip-cache", "hf-cache", "temp"])]}
    f = disk.judge(facts)
    assert f.status == "error"
    lines = [m.render("en") for m in f.detail_lines()]
    assert lines[0].startswith("C: has 3.0 GB free for pip's cache, the Hugging Face cache, TEMP")
    assert "400.0 GB free on D: (the web UI)" in lines
    assert any("Free at least 17.0 GB on C:" in a.render("en") for a in f.advice)
    assert [m.render("zh") for m in f.detail_lines()] != lines


@pytest.mark.parametrize("free,status", [(4.9, "error"), (5.0, "warn"), (19.9, "warn"), (20.0, "ok")])
def test_thresholds(free, status):
    facts = {"platform": "windows", "volumes": [win_vol("C:", int(free * GB), ["install", "temp"])]}
    assert disk.judge(facts).status == status
