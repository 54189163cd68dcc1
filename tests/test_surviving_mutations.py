"""Tests for mutations that once survived the whole suite (issue 15), each through the real command line.

- ``oom=args.oom`` replaced by ``False`` in cli.py: --oom must reach the planner from argv (stand-in NVML card).
- a CRLF webui-user.sh without a final newline, through --fix: the bytes written are exact.
- the settings diff in the text report and in --json: a scheme-less ``user:pass@host`` proxy shows no password.
"""

import json
import os
import shlex

import pytest

from conftest import machine_env, make_webui, run_cli, run_json
from test_gpu import Scenario, card, stub_libs  # noqa: F401  (stub_libs: the session fixture that builds the NVML)

MED = ["--medvram"]
MED_SPLIT = ["--medvram", "--opt-split-attention"]
PASSWORD = "s3cr3tpw"


def memory_flags(settings):
    return [t for t in settings.get("commandline_args") or [] if t in ("--medvram", "--lowvram",
                                                                        "--opt-split-attention")]


def test_oom_on_the_command_line_moves_the_plan_one_rung_up(tmp_path, stub_libs):
    """The same 4 GB card and --medvram: without --oom the plan keeps --medvram; with --oom it adds
    --opt-split-attention and says why (the flag travels argv -> Options -> plan)."""
    devices = [card("NVIDIA GeForce RTX 3050", 4)]
    user_sh = 'export COMMANDLINE_ARGS="--api --medvram"\n'
    _, plain = Scenario(devices, user_sh=user_sh).run(str(tmp_path / "plain"), stub_libs)
    _, oom = Scenario(devices, args=["--oom"], user_sh=user_sh).run(str(tmp_path / "oom"), stub_libs)
    assert memory_flags(plain) == MED
    assert memory_flags(oom) == MED_SPLIT
    assert "--oom" in oom["reasons"]["--opt-split-attention"]
    assert oom["commandline_args"][0] == "--api"  # the user's own flag stays first


def test_crlf_settings_file_without_final_newline_is_written_byte_exact(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    original = b'#!/bin/bash\r\nexport COMMANDLINE_ARGS="--api"\r\nexport MY_OWN=1'  # CRLF, no final newline
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": original})
    proc = run_cli([root, "--offline", "--no-venv", "--timeout", "2", "--fix", "--json"], env=env)
    assert proc.returncode in (0, 1), proc.stderr
    settings = json.loads(proc.stdout)["settings"]
    assert settings["applied"] is True
    planned = " ".join(settings["commandline_args"])
    assert planned.startswith("--api ")
    with open(os.path.join(root, "webui-user.sh"), "rb") as fh:
        written = fh.read()
    # LF everywhere (bash), the user's last line keeps its text and gains its newline, the new line after it.
    assert written == ("#!/bin/bash\nexport COMMANDLINE_ARGS=%s\nexport MY_OWN=1\nvenv_dir=-\n"
                       % shlex.quote(planned)).encode("ascii")
    with open(settings["backup"], "rb") as fh:
        assert fh.read() == original


def _proxy_webui(tmp_path):
    env = machine_env(str(tmp_path / "machine"))
    user_sh = ("#!/bin/bash\nexport HTTP_PROXY=user:%s@127.0.0.1:3128\nexport COMMANDLINE_ARGS=\"--api\"\n"
               % PASSWORD)
    return make_webui(str(tmp_path / "webui"), {"webui-user.sh": user_sh}), env


@pytest.mark.parametrize("extra", [["--verbose"], ["--fix"]])
def test_text_report_settings_diff_hides_a_schemeless_proxy_password(tmp_path, extra):
    root, env = _proxy_webui(tmp_path)
    proc = run_cli([root, "--offline", "--no-venv", "--timeout", "2", "--lang", "en"] + extra, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    # The proxy line is context in the diff of the planned change (so the redaction is really exercised there).
    assert " export HTTP_PROXY=***@127.0.0.1:3128" in proc.stdout
    assert PASSWORD not in proc.stdout + proc.stderr


def test_json_settings_diff_hides_a_schemeless_proxy_password(tmp_path):
    root, env = _proxy_webui(tmp_path)
    proc, doc, _ = run_json([root, "--offline", "--no-venv", "--timeout", "2"], env=env)
    assert "HTTP_PROXY=***@127.0.0.1:3128" in doc["settings"]["diff"]
    assert PASSWORD not in proc.stdout + proc.stderr
