"""Fuzzed settings files through the writer, in-process for speed: 0 crashes, 0 hangs, a dry run never changes a
byte, a refused --fix leaves the file byte-identical. SD_DOCTOR_FUZZ_FILES per dialect (default 1000)."""

import codecs
import os
import random
import sys
import time

import pytest

from conftest import make_webui
from sd_doctor.core.errors import UserError
from reliability_support import read
from writer_support import make_ctx, run_writer

FILES = int(os.environ.get("SD_DOCTOR_FUZZ_FILES", "1000"))
PIECES = [b"export COMMANDLINE_ARGS=\"--api\"", b"export COMMANDLINE_ARGS='--x", b"set COMMANDLINE_ARGS=--api",
          b"set \"COMMANDLINE_ARGS=--medvram\"", b"set \"X=a&b\"", b"set PYTHON=", b"call webui.bat",
          b"export PYTHON=\"/usr/bin/python3\"", b"# \xe4\xb8\xad\xe6\x96\x87", b"rem \xd6\xd0\xce\xc4", b"\x00\x01",
          b"\xff\xfe\xfa", b"export NO_PROXY=localhost", b"if x (", b")", b"^", b"%PATH%", b"$(echo hi)", b"`x`",
          b"export A=\"unterminated", b"\\", b"set /p X=", b""]
EOLS = [b"\n", b"\r\n", b"\r"]


def _generate(rng):
    kind = rng.random()
    if kind < 0.1:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(0, 300)))
    lines = [rng.choice(PIECES) for _ in range(rng.randint(0, 12))]
    data = b"".join(line + rng.choice(EOLS) for line in lines)
    if kind < 0.15:
        data = codecs.BOM_UTF16_LE + data.decode("latin-1").encode("utf-16-le")
    elif kind < 0.2:
        data = codecs.BOM_UTF8 + data
    elif kind < 0.21:
        data += b"export X=" + b"y" * (10 * 1024 * 1024) + b"\n"  # a 10 MB line
    return data


@pytest.mark.parametrize("dialect, name, platform", [("sh", "webui-user.sh", "linux"),
                                                      ("bat", "webui-user.bat", "windows")])
def test_fuzzed_settings_files(tmp_path, dialect, name, platform):
    rng = random.Random(1600 + len(name))
    root = make_webui(str(tmp_path / "webui"), bat_generation="2023")
    path = os.path.join(root, name)
    crashes, slow, changed_by_dry_run, torn = [], [], 0, 0
    pages = (936, 936) if platform == "windows" else None
    for n in range(FILES):
        data = _generate(rng)
        with open(path, "wb") as fh:
            fh.write(data)
        for fix in (False, True):
            start = time.monotonic()
            try:
                run_writer(make_ctx(root, platform=platform, pages=pages, fix=fix), {"NO_PROXY": "localhost"})
                refused = False
            except UserError:
                refused = True
            except Exception as exc:  # the figure: any other exception is a crash
                crashes.append((n, fix, "%s: %s" % (exc.__class__.__name__, exc)))
                refused = True
            if time.monotonic() - start > 3:
                slow.append((n, fix))
            now = read(path)
            if not fix and now != data:
                changed_by_dry_run += 1
            if fix and refused and now != data:
                torn += 1
        for extra in os.listdir(root):
            if ".sd-doctor-" in extra:
                os.remove(os.path.join(root, extra))
    print("\nfuzz %s: files: %d, crashes: %d, hangs: %d, dry runs that changed a byte: %d, refused but changed: %d"
          % (dialect, FILES, len(crashes), len(slow), changed_by_dry_run, torn), file=sys.stderr)
    assert not crashes and not slow and not changed_by_dry_run and not torn, (crashes[:3], slow[:3])
