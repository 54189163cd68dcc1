"""Issue 13 (cmd side), read back through the REAL webui.bat under Wine's cmd: after ``--fix`` (the doctor as a Windows
program, tests/wine/bed.py) the real webui-user.bat -> webui.bat chain hands the probe launch.py exactly the planned
tokens, no stray command runs, and a second ``--fix`` changes nothing (bytes identical).

Each case is a real corpus file of ../shared/webui-launchers with the shape people really have: Forge's own
``set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^`` block uncommented, a UTF-8 BOM, a webui.settings.bat that calls
webui.bat back in every spelling, a PYTHON the file's code page cannot hold, a ``\\"`` at the end of
COMMANDLINE_ARGS (#15025), an absolute VENV_DIR under the 2022 webui.bat (#6608) and ``set`` lines after
``call webui.bat``. Wine's cmd strips the next line's leading blanks on a ``^`` continuation where Windows keeps
them: tokens are compared, never raw strings.

One Wine prefix for the module; each doctor run costs about 1.5 s, each launch about 1 s.
"""

import codecs
import json
import os
import re
import subprocess
import sys

import pytest

import launchers
from conftest import CORPUS_NAMES, corpus_path

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Wine")

STRAY = ("is not recognized", "not recognized as an internal", "unrecognized arguments", "Can't recognize")
MARKER = "SD-DOCTOR-STRAY-MARKER"


@pytest.fixture(scope="module")
def wine(tmp_path_factory):
    if not launchers.wine_available():
        pytest.skip("Wine is not installed: the cmd read-back did not run")
    from wine import bed as winebed

    try:
        prefix = launchers.make_prefix(str(tmp_path_factory.mktemp("wine-readback-bat")))
    except (winebed.BedError, subprocess.TimeoutExpired, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail("could not build the Windows bed: %s" % exc)
        pytest.skip("could not build the Windows bed: %s" % exc)
    try:
        launcher = launchers.WineLauncher(prefix)
        launcher.user_python = launcher.install_user_python()
        yield launcher
    finally:
        prefix.destroy()


def doctor(wine, webui_unix, *args):
    result = wine.prefix.doctor([wine.prefix.win(webui_unix), "--json", "--verbose", "--offline", "--timeout", "15"]
                                + list(args))
    assert "Traceback" not in result.stderr + result.stdout, result
    assert result.returncode in (0, 1), result
    return json.loads(result.stdout)


def read(path):
    with open(path, "rb") as fh:
        return fh.read()


def write(path, data):
    with open(path, "wb") as fh:
        fh.write(data)


def checkout(wine, name, folder):
    return launchers.make_checkout(name, wine.prefix.unix("C:\\sd\\rb\\" + folder), user_bat_eol="\r\n")


def edit_user_bat(co, change):
    path = os.path.join(co, "webui-user.bat")
    write(path, change(read(path)))
    return path


def settings_of(doc):
    return doc.get("settings") or {}


def warnings_text(doc):
    return "\n".join(str(w) for w in settings_of(doc).get("warnings") or [])


def fix_launch_refix(wine, co, venv_win=None, env=None):
    """--fix, the real chain under cmd, --fix again. Returns (first doc, probe, launch result, second doc)."""
    doc = doctor(wine, co, "--fix")
    settings = settings_of(doc)
    venv_win = venv_win or wine.prefix.win(os.path.join(co, "venv"))
    wine.precreate_venv(wine.prefix.unix(venv_win), wine.user_python)
    written = wine.prefix.unix(settings["file"]) if settings.get("file") else None
    before = {}
    for name in sorted(os.listdir(co)):
        if name.endswith(".bat"):
            before[name] = read(os.path.join(co, name))
    result, probe = wine.run_webui_user_bat(co, timeout=60, env=env)
    output = result.stdout + result.stderr
    for stray in STRAY:
        assert stray not in output, (stray, result)
    assert MARKER not in output, result
    assert not os.path.exists(os.path.join(co, MARKER)), result
    doc2 = doctor(wine, co, "--fix")
    assert settings_of(doc2).get("changed") is False, settings_of(doc2)
    for name, data in before.items():
        assert read(os.path.join(co, name)) == data, name
    if written:
        assert os.path.isfile(written)
    return doc, probe, result, doc2


def planned(doc):
    return list(settings_of(doc).get("commandline_args") or [])


# -- case 1: Forge's multi-line set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^ block -------------------------------------
FORGE_BLOCK_LINES = (b"@REM set A1111_HOME=Your A1111 checkout dir", b"@REM set VENV_DIR=%A1111_HOME%/venv",
                     b"@REM set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^", b"@REM  --ckpt-dir", b"@REM  --hypernetwork-dir",
                     b"@REM  --embeddings-dir", b"@REM  --lora-dir")


def uncomment_forge_block(data, home=b"C:\\a1111"):
    out = []
    for line in data.split(b"\r\n"):
        if any(line.startswith(p) for p in FORGE_BLOCK_LINES):
            line = line[len(b"@REM "):].replace(b"Your A1111 checkout dir", home)
        out.append(line)
    return b"\r\n".join(out)


FORGE_FOLDER_FLAGS = ["--ckpt-dir", "C:\\a1111/models/Stable-diffusion", "--hypernetwork-dir",
                      "C:\\a1111/models/hypernetworks", "--embeddings-dir", "C:\\a1111/embeddings", "--lora-dir",
                      "C:\\a1111/models/Lora"]


def test_case1_forge_continuation_block_reads_back_through_cmd(wine):
    co = checkout(wine, "forge-2025-06-26", "case1")
    path = edit_user_bat(co, uncomment_forge_block)
    assert b"set COMMANDLINE_ARGS=%COMMANDLINE_ARGS% ^\r\n --ckpt-dir" in read(path)
    doc, probe, _, _ = fix_launch_refix(wine, co, venv_win="C:\\a1111\\venv")
    tokens = planned(doc)
    assert probe["split"] == tokens, (probe, settings_of(doc))
    assert tokens[:len(FORGE_FOLDER_FLAGS)] == FORGE_FOLDER_FLAGS, tokens  # the user's four folder flags are kept
    assert "^" not in tokens and "--skip-torch-cuda-test" in tokens, tokens
    assert settings_of(doc)["applied"] is True


# -- case 2: a UTF-8 BOM before set COMMANDLINE_ARGS= ---------------------------------------------------------------
def bom_first(data):
    body = data.replace(b"set COMMANDLINE_ARGS=\r\n", b"")
    return codecs.BOM_UTF8 + b"set COMMANDLINE_ARGS=--api\r\n" + body


def test_case2_bom_line_is_dead_and_fix_drops_the_bom(wine):
    co = checkout(wine, "a1111-2024-02-26-v1.8", "case2")
    path = edit_user_bat(co, bom_first)
    # cmd itself, before the fix: the BOM line does not run (the harness' own proof of the model)
    wine.precreate_venv(os.path.join(co, "venv"), wine.user_python)
    first = doctor(wine, co)
    assert "byte-order mark" in warnings_text(first), warnings_text(first)
    doc, probe, _, _ = fix_launch_refix(wine, co)
    assert not read(path).startswith(codecs.BOM_UTF8)
    assert read(path + "") and "(byte-order mark removed)" in settings_of(doc)["diff"]
    backup = settings_of(doc)["backup"]
    assert backup and read(wine.prefix.unix(backup)).startswith(codecs.BOM_UTF8)  # the original is kept
    tokens = planned(doc)
    assert probe["split"] == tokens, (probe, settings_of(doc))
    assert "--api" in tokens and "--skip-torch-cuda-test" in tokens, tokens


# -- case 3: webui.settings.bat that calls webui.bat back, in every spelling ---------------------------------------
CALL_SPELLINGS = ["webui.bat", "call webui", "call .\\webui.bat", "start webui.bat", 'CALL "%~dp0WEBUI.BAT"']


@pytest.mark.parametrize("spelling", CALL_SPELLINGS)
def test_case3_settings_bat_calling_webui_bat_is_defused(wine, spelling):
    co = checkout(wine, "a1111-2024-02-26-v1.8", "case3-%d" % CALL_SPELLINGS.index(spelling))
    settings_bat = os.path.join(co, "webui.settings.bat")
    write(settings_bat, b"@echo off\r\nset COMMANDLINE_ARGS=--api\r\n" + spelling.encode() + b"\r\n")
    doc, probe, result, _ = fix_launch_refix(wine, co)
    settings = settings_of(doc)
    assert settings["file"].lower().endswith("webui.settings.bat"), settings
    assert "#14557" in warnings_text(doc)
    tokens = planned(doc)
    assert probe["split"] == tokens and "--api" in tokens, (probe, settings)
    assert result.stdout.count("SD-PROBE reached") == 1 and result.elapsed < 30, result  # no recursion


@pytest.mark.parametrize("spelling", [s for s in CALL_SPELLINGS if not s.startswith("start")])
def test_case3_webui_user_bat_in_each_call_spelling_gets_its_lines_before_the_call(wine, spelling):
    """webui-user.bat's own call of webui.bat, spelled any way cmd resolves it: the writer's lines go above it (a
    ``start`` would run webui.bat in a new window, after this file has ended: not a launch the probe can wait for)."""
    co = checkout(wine, "forge-2025-06-26", "case3u-%d" % CALL_SPELLINGS.index(spelling))
    path = edit_user_bat(co, lambda d: d.replace(b"call webui.bat", spelling.encode()))
    doc, probe, _, _ = fix_launch_refix(wine, co)
    data = read(path)
    assert data.index(b"set COMMANDLINE_ARGS=--") < data.index(spelling.encode()), data
    assert data.index(b"set PYTHON=C:") < data.index(spelling.encode()), data
    assert probe["split"] == planned(doc) and probe["split"], probe


# -- case 4: #15025, a COMMANDLINE_ARGS ending in \" is repaired and planned in one pass ----------------------------
def test_case4_trailing_backslash_quote_is_repaired_and_planned_in_one_fix(wine):
    co = checkout(wine, "a1111-2024-02-26-v1.8", "case4")
    edit_user_bat(co, lambda d: d.replace(b"set COMMANDLINE_ARGS=\r\n",
                                          b'set COMMANDLINE_ARGS=--api --ckpt-dir "C:\\my models\\"\r\n'))
    doc, probe, _, doc2 = fix_launch_refix(wine, co)
    tokens = planned(doc)
    assert probe["split"] == tokens, (probe, settings_of(doc))
    assert tokens[:3] == ["--api", "--ckpt-dir", "C:\\my models\\"], tokens
    assert "--skip-torch-cuda-test" in tokens, tokens  # the plan arrives with the repair, not one run later
    assert "#15025" in warnings_text(doc) or "without quotes" in warnings_text(doc), warnings_text(doc)
    assert planned(doc2) == tokens


# -- case 5: a PYTHON value the file's code page cannot hold -------------------------------------------------------
def test_case5_python_cp437_cannot_hold_is_refused_and_the_rest_written(wine):
    co = checkout(wine, "a1111-2024-02-26-v1.8", "case5")
    odd = wine.install_user_python("C:\\Py\u4e2d\u6587\\Python310")  # registered: the python check proposes it
    try:
        doc = doctor(wine, co, "--fix")
        user_bat = read(os.path.join(co, "webui-user.bat"))
        doc_again = doctor(wine, co, "--fix")
    finally:
        wine.install_user_python()  # the plain one is the registered Python again for the other tests
    settings = settings_of(doc)
    text = warnings_text(doc)
    assert odd.lower() != wine.user_python.lower()
    assert "PYTHON is not written" in text and "cp437" in text and "8.3 short name" in text, text
    assert settings["applied"] is True and "PYTHON" not in _set_names(user_bat), user_bat
    assert "--skip-torch-cuda-test" in planned(doc) and "COMMANDLINE_ARGS" in settings["variables"], settings
    assert settings_of(doc_again)["changed"] is False, settings_of(doc_again)
    assert read(os.path.join(co, "webui-user.bat")) == user_bat
    # the finding names the ASCII-only 8.3 short name of that very interpreter (Windows' GetShortPathNameW);
    # the user follows it, and the real chain runs with it
    short = re.search(r"set PYTHON=(\S+) \(or move", text).group(1)
    assert all(ord(c) < 128 for c in short) and short.lower() != odd.lower(), short
    ran = wine.prefix.run([short, "-c", "import sys; print(sys.version_info[:2])"])
    assert ran.returncode == 0 and "(3, 10)" in ran.stdout, ran
    edit_user_bat(co, lambda d: d.replace(b"set PYTHON=\r\n", b"set PYTHON=" + short.encode() + b"\r\n"))
    wine.precreate_venv(os.path.join(co, "venv"), wine.user_python)
    result, probe = wine.run_webui_user_bat(co, timeout=60)
    assert probe["split"] == planned(doc), (probe, settings)
    assert not any(stray in result.stdout + result.stderr for stray in STRAY), result


def _set_names(data):
    names = []
    for line in data.split(b"\r\n"):
        if line.lower().startswith(b"set ") and b"=" in line:
            name, value = line[4:].split(b"=", 1)
            if value:
                names.append(name.decode())
    return names


# -- case 6: an absolute VENV_DIR under a webui.bat that builds "%~dp0%VENV_DIR%\Scripts\Python.exe" (#6608) ----------
def test_case6_absolute_venv_dir_before_2023_is_made_relative(wine):
    import ntpath

    co = checkout(wine, "a1111-2022-11-10", "case6")
    venv_win = "C:\\venvs\\sd6"
    wine.precreate_venv(wine.prefix.unix(venv_win), wine.user_python)
    edit_user_bat(co, lambda d: d.replace(b"set VENV_DIR=\r\n", b"set VENV_DIR=" + venv_win.encode() + b"\r\n")
                  .replace(b"set PYTHON=\r\n", b"set PYTHON=" + wine.user_python.encode() + b"\r\n"))
    # the real webui.bat of November 2022 with that file: the launch breaks (the harness' proof of the fact)
    with pytest.raises(launchers.LaunchFailed):
        wine.run_webui_user_bat(co, timeout=60)
    before = doctor(wine, co)
    venv = dict((c["id"], c) for c in before["checks"])["venv"]
    assert venv["status"] == "error" and "#6608" in json.dumps(venv, ensure_ascii=False), venv
    assert venv["facts"]["dp0_absolute"]["relative"], venv["facts"]
    doc, probe, _, _ = fix_launch_refix(wine, co, venv_win=venv_win)
    written = settings_of(doc)["variables"]["VENV_DIR"]
    assert not ntpath.splitdrive(written)[0] and written == ntpath.relpath(venv_win, wine.prefix.win(co)), written
    assert b"set VENV_DIR=" + written.encode() + b"\r\n" in read(os.path.join(co, "webui-user.bat"))
    assert probe["split"] == planned(doc), probe
    assert ntpath.normpath(probe["executable"]).lower() == (venv_win + "\\Scripts\\python.exe").lower(), probe
    after = dict((c["id"], c) for c in doctor(wine, co)["checks"])["venv"]
    assert after["facts"]["dp0_absolute"] is None and "#6608" not in json.dumps(after, ensure_ascii=False), after


def test_the_venv_under_dp0_fact_is_read_from_each_corpus_webui_bat():
    """From the file's text, not from a date: the 2022 files build the path from %~dp0, the later ones do not."""
    from sd_doctor.launcher.model import venv_under_dp0
    from sd_doctor.launcher.flavour import detect_generation

    seen = {}
    for name in CORPUS_NAMES:
        with open(os.path.join(corpus_path(name), "webui.bat"), encoding="utf-8", errors="replace") as fh:
            text = fh.read()
        seen[name] = (venv_under_dp0(text), detect_generation(text))
    assert [n for n, (dp0, _) in seen.items() if dp0] == ["a1111-2022-09-08", "a1111-2022-11-10"], seen
    assert seen["a1111-2022-11-10"][1] == "2023"  # the date-like generation would have missed it


# -- issue 16: set lines after call webui.bat are not in effect -----------------------------------------------------
def test_set_lines_after_call_webui_bat_are_not_in_effect(wine):
    co = checkout(wine, "a1111-2024-02-26-v1.8", "after-call")
    path = edit_user_bat(co, lambda d: d + b"set COMMANDLINE_ARGS=--api\r\nset PYTHON=C:\\nowhere\\python.exe\r\n")
    wine.precreate_venv(os.path.join(co, "venv"), wine.user_python)
    # the real chain first: cmd runs those lines only after the web UI has exited
    _, probe = wine.run_webui_user_bat(co, timeout=60,
                                       env={"WINEPATH": wine.user_python.rsplit("\\", 1)[0]})
    assert probe["split"] == [] and "nowhere" not in probe["env"].get("PYTHON", ""), probe
    report = doctor(wine, co)
    assert "after \"call webui.bat\"" in warnings_text(report), warnings_text(report)
    assert "--api" not in planned(report)
    doc, probe, _, _ = fix_launch_refix(wine, co)
    data = read(path)
    call_at = data.index(b"call webui.bat")
    assert data.index(b"set COMMANDLINE_ARGS=--") < call_at and data.index(b"set PYTHON=C:\\users") < call_at, data
    assert data.endswith(b"set COMMANDLINE_ARGS=--api\r\nset PYTHON=C:\\nowhere\\python.exe\r\n")  # the user's lines
    assert probe["split"] == planned(doc) and "--api" not in probe["split"], probe
    assert probe["executable"].lower().endswith("\\venv\\scripts\\python.exe"), probe


# -- idempotence: a second --fix changes nothing, on every corpus file ----------------------------------------------
def _bat_bytes(folder):
    return dict((n, read(os.path.join(folder, n))) for n in sorted(os.listdir(folder)) if n.lower().endswith(".bat"))


@pytest.mark.parametrize("eol", ["\r\n", None], ids=["crlf", "as-stored"])
@pytest.mark.parametrize("name", CORPUS_NAMES)
def test_second_fix_changes_nothing_on_every_corpus_file(wine, name, eol):
    co = launchers.make_checkout(name, wine.prefix.unix("C:\\sd\\idem\\%s-%s" % (name, "crlf" if eol else "lf")),
                                 user_bat_eol=eol)
    first = settings_of(doctor(wine, co, "--fix"))
    after_first = _bat_bytes(co)
    second = settings_of(doctor(wine, co, "--fix"))
    assert second.get("changed") is False and second.get("applied") is False, second
    assert _bat_bytes(co) == after_first
    assert second.get("commandline_args") == first.get("commandline_args"), (first, second)
