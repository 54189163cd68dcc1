"""Issue 16 item 2, the Windows half: a settings file another program holds open (an editor, an antivirus scan).

Windows refuses to replace a file while a handle without FILE_SHARE_DELETE is open on it (Python's own open() is
such a handle): ``os.replace`` raises PermissionError. The writer waits up to 1 s for the holder, then refuses with
the reason, the original intact and nothing left beside it. Run by the Windows Python under Wine, whose wineserver
enforces share modes as Windows does.
"""

import json

import pytest

from launchers import module_prefix, wine_available

pytestmark = pytest.mark.skipif(not wine_available(), reason="wine is not installed: no Windows Python")

SCRIPT = r'''
import json, os, sys, threading, time
from sd_doctor.write import atomic

folder = sys.argv[1]
path = os.path.join(folder, "webui-user.bat")
out = {}
with open(path, "wb") as fh:
    fh.write(b"old\r\n")
spare = os.path.join(folder, "spare.tmp")
with open(spare, "wb") as fh:
    fh.write(b"spare\r\n")
holder = open(path, "rb")
try:
    os.replace(spare, path)
    out["premise"] = "replaced"
except PermissionError:
    out["premise"] = "PermissionError"
    os.remove(spare)
holder.close()
for hold in (0.3, 3.0):
    with open(path, "wb") as fh:
        fh.write(b"old\r\n")
    snap = atomic.snapshot(path, 1 << 20)
    holder = open(path, "rb")
    timer = threading.Timer(hold, holder.close)
    timer.start()
    start = time.monotonic()
    try:
        backup = atomic.replace(snap, b"new\r\n")
        outcome = "written"
        if backup:
            os.remove(backup)
    except atomic.WriteFailed as exc:
        outcome = "refused: %s" % exc.reason
    elapsed = time.monotonic() - start
    timer.join()
    with open(path, "rb") as fh:
        content = fh.read().decode()
    out[str(hold)] = {"outcome": outcome, "elapsed": elapsed, "content": content, "left": sorted(os.listdir(folder))}
print(json.dumps(out))
'''


prefix = module_prefix("wine-replace")

def test_a_settings_file_held_open_is_waited_for_then_refused(prefix, tmp_path):
    folder = tmp_path / "webui"
    folder.mkdir()
    script = tmp_path / "hold.py"
    script.write_text(SCRIPT)
    done = prefix.python([prefix.win(str(script)), prefix.win(str(folder))], timeout=120)
    assert done.returncode == 0, (done.stdout, done.stderr)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["premise"] == "PermissionError", out  # Windows semantics: an open file cannot be replaced
    short, long_ = out["0.3"], out["3.0"]
    assert short["outcome"] == "written" and short["content"] == "new\r\n", short  # released within the 1 s wait
    assert short["left"] == ["webui-user.bat"], short
    assert long_["outcome"].startswith("refused: another program holds it open"), long_
    assert long_["content"] == "old\r\n" and long_["left"] == ["webui-user.bat"], long_
    assert 0.9 < long_["elapsed"] < 3.0, long_
