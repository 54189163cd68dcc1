"""windows: the OS and memory. Windows judged from Windows facts; on this machine RAM plus swap for real."""

import pytest

from sd_doctor.checks import windows
from sd_doctor.core.context import Context, Options
from sd_doctor.core.runner import run_one

GB = 1024 ** 3


def win(major=10, minor=0, build=19045, long_paths=True, ram=32 * GB, managed=True):
    return {"platform": "windows", "os": {"major": major, "minor": minor, "build": build},
            "long_paths_enabled": long_paths,
            "memory": {"ram_total": ram, "swap_total": 8 * GB, "swap_system_managed": managed}}


def en(f):
    return [m.render("en") for m in f.detail_lines()] + [a.render("en") for a in f.advice]


def test_windows_10_with_everything_fine():
    f = windows.judge(win())
    assert f.status == "ok"
    assert "Windows 10 (build 19045)" in en(f)


@pytest.mark.parametrize("major,minor", [(6, 0), (6, 1)])
def test_windows_7_and_older_need_the_dll_workaround(major, minor):
    f = windows.judge(win(major, minor, 7601))
    assert f.status == "error"
    text = " ".join(en(f))
    assert "api-ms-win-core-path-l1-1-0.dll" in text
    assert "C:\\Windows\\System32" in text and "C:\\Windows\\SysWOW64" in text
    assert "api-ms-win-core-path" in " ".join(a.render("zh") for a in f.advice)


@pytest.mark.parametrize("major,minor", [(6, 2), (6, 3)])
def test_windows_8_has_the_dll(major, minor):
    # api-ms-win-core-path-l1-1-0.dll ships with Windows 8 and later: the workaround is for Windows 7 only.
    f = windows.judge(win(major, minor, 9600))
    assert f.status == "ok"
    assert "api-ms-win-core-path" not in " ".join(en(f))


@pytest.mark.parametrize("long_paths", [False, None])
def test_long_paths_off_or_unknown_warns(long_paths):
    f = windows.judge(win(long_paths=long_paths))
    assert f.status == "warn"
    assert any("LongPathsEnabled /t REG_DWORD /d 1" in a for a in en(f))


@pytest.mark.parametrize("ram,managed,status", [
    (8 * GB, False, "warn"), (8 * GB, None, "warn"), (8 * GB, True, "ok"), (16 * GB, False, "ok"),
    (15.5 * GB, False, "warn")])
def test_ram_and_page_file(ram, managed, status):
    f = windows.judge(win(ram=int(ram), managed=managed))
    assert f.status == status
    if status == "warn":
        assert any("WinError 1455" in line for line in en(f))
        assert any("System managed size" in a for a in en(f))


def test_windows_memory_unreadable_is_not_fatal():
    facts = win()
    facts["memory"] = {"error": "RuntimeError: PDH failed"}
    f = windows.judge(facts)
    assert f.status == "ok" and any("PDH failed" in line for line in en(f))


def test_posix_ram_plus_swap_judged():
    facts = {"platform": "linux", "os": {}, "long_paths_enabled": None,
             "memory": {"ram_total": 8 * GB, "swap_total": 4 * GB}}
    f = windows.judge(facts)
    assert f.status == "warn" and any("swapon" in a for a in en(f))
    facts["memory"]["swap_total"] = 8 * GB
    assert windows.judge(facts).status == "ok"


def _meminfo():
    values = {}
    with open("/proc/meminfo") as fh:
        for line in fh:
            key, rest = line.split(":", 1)
            values[key] = int(rest.split()[0]) * 1024
    return values


def test_real_probe_on_this_machine(tmp_path):
    try:
        info = _meminfo()
    except OSError:
        pytest.skip("no /proc/meminfo")
    f = run_one(windows, Context(str(tmp_path), Options(offline=True)))
    mem = f.facts["memory"]
    assert abs(mem["ram_total"] - info["MemTotal"]) < 64 * 1024 ** 2
    assert abs(mem["swap_total"] - info["SwapTotal"]) < 64 * 1024 ** 2
    expected = "warn" if info["MemTotal"] + info["SwapTotal"] < 16 * GB else "ok"
    assert f.status == expected
