"""The Visual C++ 2015-2022 x64 runtime on Windows (issue 11 part 5), judged on Windows facts (the Windows tier reads
them from Wine's registry: tests/test_windows_tier.py)."""

import pytest

from conftest import text_of

from sd_doctor.checks import windows

DLLS = ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll")


def facts(registry=None, dll_version="14.40.33810.0", missing=(), torch_version="2.4.1+cu121"):
    dlls = dict((n, {"exists": n not in missing, "version": dll_version if n not in missing else None}) for n in DLLS)
    return {"platform": "windows", "os": {"major": 10, "minor": 0, "build": 19045}, "long_paths_enabled": True,
            "memory": {"ram_total": 32 * 1024 ** 3, "swap_system_managed": True},
            "vc": {"runtime": {"registry": registry, "dlls": dlls}, "torch_version": torch_version}}


@pytest.mark.parametrize("registry, dll_version, missing, torch_version, status", [
    ({"installed": 1, "version": "v14.40.33810.00"}, "14.40.33810.0", (), "2.4.1+cu121", "ok"),
    (None, "14.38.33135.0", (), "2.5.1+cu124", "ok"),  # no key: the DLLs' own version
    (None, None, DLLS, "2.4.1+cu121", "error"),
    (None, "14.40.33810.0", ("vcruntime140_1.dll",), "2.7.1+cu128", "error"),  # the fbgemm.dll WinError 126 case
    ({"installed": 1, "version": "v14.16.27033.00"}, "14.16.27033.0", (), "2.4.0", "error"),  # a 2017 runtime
    ({"installed": 0, "version": "v14.40.33810.00"}, "14.29.30133.0", (), None, "error"),  # uninstalled key
    (None, None, DLLS, "2.1.2+cu121", "warn")])  # older torch: said, not an error
def test_runtime_status(registry, dll_version, missing, torch_version, status):
    f = windows.judge(facts(registry, dll_version, missing, torch_version))
    assert f.status == status, text_of(f)
    if status != "ok":
        assert "https://aka.ms/vs/17/release/vc_redist.x64.exe" in text_of(f) and "fbgemm.dll" in text_of(f, "zh")
    else:
        assert "Visual C++ 2015-2022 x64 runtime 14." in text_of(f)


def test_linux_has_no_runtime_part():
    f = windows.judge({"platform": "linux", "memory": {"ram_total": 32 * 1024 ** 3, "swap_total": 0}})
    assert "Visual C++" not in text_of(f)
