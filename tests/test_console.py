"""The "Press Enter to close" decision (sd_doctor.host.console); under Wine, tests/test_windows_exe.py runs it for
real with GetConsoleProcessList."""

import io

from sd_doctor.exe import choose_folder
from sd_doctor.host import console

from conftest import make_webui


def test_alone_on_console_counts_the_own_launcher_as_ours():
    assert console.alone_on_console([40], 40)
    assert console.alone_on_console([40, 12], 40, launcher_id=12)  # PyInstaller's bootloader and the program
    assert not console.alone_on_console([40, 12, 7], 40, launcher_id=12)  # cmd.exe is there too
    assert not console.alone_on_console([], 40)  # no console: output goes to a pipe


def test_json_never_waits():
    assert console.should_wait_for_enter([], [40], 40)
    assert not console.should_wait_for_enter(["--json"], [40], 40)


def test_off_windows_there_is_no_console():
    assert console.console_process_ids() == []
    assert not console.should_wait_for_enter([])
    assert console.console_encoding(io.StringIO()) is None


def test_wait_for_enter_prints_the_prompt_and_reads_a_line():
    out = io.StringIO()
    console.wait_for_enter("Press Enter to close this window.", stdin=io.StringIO("\n"), stdout=out)
    assert "Press Enter to close this window." in out.getvalue()
    console.wait_for_enter("x", stdin=io.StringIO(""), stdout=io.StringIO())  # end of input: no hang, no error


def test_choose_folder_prefers_the_exe_folder_holding_a_web_ui(tmp_path):
    webui = make_webui(str(tmp_path / "webui"))
    argv, said = choose_folder([], webui, "/elsewhere")
    assert argv == [webui] and webui in said.render("en") and "web UI" in said.render("zh")
    empty = tmp_path / "downloads"
    empty.mkdir()
    argv, said = choose_folder([], str(empty), "/elsewhere")
    assert argv == [] and "current folder /elsewhere" in said.render("en")
    assert choose_folder(["--offline"], webui, "/elsewhere") == (["--offline"], None)
