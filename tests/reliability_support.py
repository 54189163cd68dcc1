"""Shared pieces of the measured reliability suite (tests/test_reliability_*.py): the dialects' folders, a child
process that runs the whole writer step of ``--fix``, and the invariants every trial must keep."""

import os
import subprocess
import sys

from conftest import ROOT, make_webui

SH = b"#!/bin/bash\n# my settings\nexport COMMANDLINE_ARGS=\"--api\"\n"
BAT_GBK = (u"@echo off\r\nrem \u6211\u7684\u8bbe\u7f6e\r\nset PYTHON=\r\nset COMMANDLINE_ARGS=--api\r\n"
           u"call webui.bat\r\n").encode("gbk")
SETTINGS_BAT = b"@echo off\r\nset COMMANDLINE_ARGS=--api\r\n"

# dialect -> (file name, original bytes, platform, code pages, webui.bat generation)
DIALECTS = {
    "webui-user.sh": ("webui-user.sh", SH, "linux", None, "1.7+"),
    "webui-user.bat (CRLF, GBK)": ("webui-user.bat", BAT_GBK, "windows", (936, 936), "2023"),
    "webui.settings.bat": ("webui.settings.bat", SETTINGS_BAT, "windows", (1252, 437), "1.7+"),
}
PROPOSALS = {"NO_PROXY": "localhost,127.0.0.1,::1"}

# The child: everything --fix does after the checks (context, planner-free writer, backup, replace, remedies).
CHILD = r"""
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from writer_support import make_ctx, run_writer
root, platform, pages = sys.argv[2], sys.argv[3], sys.argv[4]
pages = tuple(int(p) for p in pages.split(",")) if pages else None
sys.stdout.write("ready\n"); sys.stdout.flush()
ctx = make_ctx(root, platform=platform, pages=pages, fix=True)
run_writer(ctx, {"NO_PROXY": "localhost,127.0.0.1,::1"})
"""

# The whole CLI run of --fix (every check, the plan, the writer), in a fresh interpreter. For the .bat dialects the host
# is the facts of a Windows system (its code pages), as in CHILD; webui-user.sh runs on this machine's own host.
CLI_CHILD = r"""
import sys
sys.path[:0] = [sys.argv[1], sys.argv[1] + "/tests"]
from sd_doctor import cli
root, platform, pages = sys.argv[2], sys.argv[3], sys.argv[4]
if platform == "windows":
    from writer_support import FactsHost
    host = FactsHost(platform, tuple(int(p) for p in pages.split(",")))
else:
    from sd_doctor.host import current
    host = current()
args = cli.build_parser("en").parse_args([root, "--no-venv", "--offline", "--fix", "--timeout", "3"])
sys.exit(cli.run(args, host, "en"))
"""


def make_folder(root, dialect):
    name, original, platform, pages, generation = DIALECTS[dialect]
    files = {name: original}
    make_webui(root, files, bat_generation=generation)
    return os.path.join(root, name)


def child(root, dialect, script, env=None):
    _, _, platform, pages, _ = DIALECTS[dialect]
    return subprocess.Popen([sys.executable, script, ROOT, root, platform, ",".join(map(str, pages or ()))],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)


def leftovers(path):
    """Temporary files and lock files of ``path`` (from the writer's own naming)."""
    from sd_doctor.write import atomic

    return atomic.temp_names(path)


def backups(path):
    from sd_doctor.write import atomic

    return atomic.existing_backups(path)


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def cli_args(root, *extra):
    return [root, "--no-venv"] + list(extra)


def bounded_run_failures(proc, elapsed, bound):
    """A --json run that had to end in ``bound`` seconds: (what is wrong, {check id: check} or None when the run
    failed or printed a traceback)."""
    import json

    failures = []
    if elapsed > bound:
        failures.append("took %.1f s (bound %.1f s)" % (elapsed, bound))
    if "Traceback" in proc.stderr or proc.returncode not in (0, 1):
        failures.append("exit %s: %s" % (proc.returncode, proc.stderr[-300:]))
        return failures, None
    return failures, dict((c["id"], c) for c in json.loads(proc.stdout)["checks"])
