"""The --json document's bytes (issue 13 case 7): UTF-8 or pure ASCII whatever the output's encoding, Chinese
intact. The Windows tier proves it on a real zh_CN Windows (test_windows_tier.py, test_windows_exe.py); here the
same rule on this machine, with the pipe's encoding set the way a Chinese Windows sets it (GBK) and a UTF-8 one."""

import json
import subprocess
import sys

import pytest

from conftest import machine_env, make_webui

CHINESE = u"\u6a21\u578b\u76ee\u5f55"  # 模型目录


@pytest.mark.parametrize("encoding", ["gbk", "cp936", "cp1252", "utf-8"])
def test_json_bytes_are_utf8_or_ascii_and_keep_the_chinese(encoding, tmp_path):
    root = make_webui(str(tmp_path / CHINESE))
    env = machine_env(str(tmp_path), extra={"PYTHONIOENCODING": encoding})
    proc = subprocess.run([sys.executable, "-m", "sd_doctor", root, "--offline", "--json", "--lang", "zh"], env=env,
                          capture_output=True, timeout=60)
    assert proc.returncode in (0, 1) and b"Traceback" not in proc.stderr, proc.stderr
    text = proc.stdout.decode("utf-8")  # strict: GBK bytes fail here
    if encoding != "utf-8":
        assert max(proc.stdout) < 0x80, proc.stdout[:200]  # not UTF-8 output: every non-ASCII character escaped
    else:
        assert CHINESE.encode("utf-8") in proc.stdout  # readable where the output is UTF-8
    doc = json.loads(text)
    assert doc["webui_dir"] == root
    assert doc["checks"][0]["title"] == u"安装路径"
