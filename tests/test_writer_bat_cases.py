"""Issue 13's cmd-side cases on the real corpus files, in-process (no Wine needed): the real launcher model, the real
planner and the real writer on a copy of each file, judged with a Windows system's facts (writer_support.FactsHost).
The same cases are read back through the real webui.bat under Wine's cmd in test_writer_readback_bat.py."""

import os

from conftest import copy_corpus
from writer_support import findings, make_ctx, read_bytes, run_writer, write_bytes

from sd_doctor.checks import venv as venv_check
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T, render
from sd_doctor.formats import bat as batfile
from sd_doctor.plan.flags import plan as make_plan


def _corpus(tmp_path, name, change=None):
    root = str(tmp_path / name)
    copy_corpus(name, root)
    path = os.path.join(root, "webui-user.bat")
    data = read_bytes(path).replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    write_bytes(path, change(data) if change else data)
    return root, path


def _gpu_4gb():
    """The gpu check's finding for a 4 GB NVIDIA card, as it reports one (the planner's input)."""
    f = Finding("gpu", T("GPU", "显卡"))
    f.facts.update(vram_total=4 * 1024 ** 3, vendor="nvidia", name="NVIDIA GeForce GTX 1650")
    f.ok(T("4 GB", "4 GB"))
    return f


def _fix(root, proposals=None):
    ctx = make_ctx(root, fix=True)
    found = findings(proposals)
    found["gpu"] = _gpu_4gb()
    plan = make_plan(ctx, found)
    result, text = run_writer(ctx, proposals, plan)
    return result, text


def test_15025_value_is_repaired_and_planned_in_one_fix(tmp_path):
    root, path = _corpus(tmp_path, "a1111-2024-02-26-v1.8", lambda d: d.replace(
        b"set COMMANDLINE_ARGS=\r\n", b'set COMMANDLINE_ARGS=--api --ckpt-dir "D:\\my models\\"\r\n'))
    first, text = _fix(root)
    assert first["applied"] and first["commandline_args"][:3] == ["--api", "--ckpt-dir", "D:\\my models\\"], text
    assert "--medvram" in first["commandline_args"], first  # the memory flags arrive in the same run
    once = read_bytes(path)
    second, text2 = _fix(root)
    assert second["changed"] is False and read_bytes(path) == once, text2
    assert second["commandline_args"] == first["commandline_args"]


def test_bom_line_becomes_live_and_its_value_is_planned_from(tmp_path):
    root, path = _corpus(tmp_path, "a1111-2024-02-26-v1.8", lambda d: b"\xef\xbb\xbfset COMMANDLINE_ARGS=--api\r\n"
                         + d.replace(b"set COMMANDLINE_ARGS=\r\n", b""))
    ctx = make_ctx(root)
    assert ctx.launch["variables"].get("COMMANDLINE_ARGS") is None  # cmd never runs the BOM line
    assert ctx.launch["after_fix"]["COMMANDLINE_ARGS"] == "--api"
    first, text = _fix(root)
    assert not read_bytes(path).startswith(b"\xef\xbb\xbf") and first["commandline_args"][0] == "--api", text
    second, _ = _fix(root)
    assert second["changed"] is False


def test_set_lines_after_call_webui_bat_are_not_in_effect_and_said(tmp_path):
    root, path = _corpus(tmp_path, "forge-2025-06-26", lambda d: d + b"set COMMANDLINE_ARGS=--api\r\n")
    ctx = make_ctx(root)
    assert ctx.launch["variables"].get("COMMANDLINE_ARGS") is None
    result, text = _fix(root, {"PYTHON": "C:\\Python310\\python.exe"})
    assert "after \"call webui.bat\"" in text and "--api" not in result["commandline_args"], text
    data = read_bytes(path)
    assert data.index(b"set PYTHON=C:\\Python310") < data.index(b"call webui.bat")
    zh = render([w for w in result["warnings"] if "call webui.bat" in render(w, "en")][0], "zh")
    assert "web UI 退出" in zh


def test_statements_do_not_apply_what_follows_a_top_level_call():
    variables = {}
    sts = batfile.statements(["set A=1", "if exist x (", "  call webui.bat", ")", "set B=2", "call webui", "set C=3"],
                             variables)
    assert variables == {"A": "1", "B": "2"}  # the call inside the block does not end the file's effect
    assert [st.kind for st in sts][-2:] == ["call", "set"]


def test_venv_under_dp0_absolute_venv_dir_is_an_error_and_never_written(tmp_path):
    root, path = _corpus(tmp_path, "a1111-2022-11-10")
    ctx = make_ctx(root, fix=True)
    assert ctx.layout["venv_under_dp0"] is True and ctx.layout["generation"] == "2023"
    result, text = run_writer(ctx, {"VENV_DIR": "C:\\venvs\\sd"}, None)
    assert "VENV_DIR=C:\\venvs\\sd is not written" in text and b"C:\\venvs" not in read_bytes(path), text
    finding = venv_check.judge({"venv": "C:\\venvs\\sd", "platform": "windows", "webui_dir": "C:\\sd\\webui",
                                "dp0_absolute": {"value": "C:\\venvs\\sd", "relative": "..\\..\\venvs\\sd",
                                                 "launcher_path": "C:\\sd\\webui\\C:\\venvs\\sd\\Scripts\\Python.exe"}})
    assert finding.status == "error" and finding.proposals["VENV_DIR"] == "..\\..\\venvs\\sd"
    assert "#6608" in render(finding.lines[0][1], "en") and "#6608" in render(finding.lines[0][1], "zh")


def test_after_2023_an_absolute_venv_dir_is_written(tmp_path):
    root, path = _corpus(tmp_path, "a1111-2024-02-26-v1.8")
    ctx = make_ctx(root, fix=True)
    assert ctx.layout["venv_under_dp0"] is False
    run_writer(ctx, {"VENV_DIR": "C:\\venvs\\sd"}, None)
    assert b"set VENV_DIR=C:\\venvs\\sd\r\n" in read_bytes(path)
