"""python: the interpreter the launcher would run, found and interrogated for real (fake and real interpreters)."""

import os

import pytest

from conftest import machine_env, make_webui, run_json, write_fake_python
from sd_doctor.checks import python as python_check
from sd_doctor.core.context import Context, Options
from sd_doctor.core.runner import run_one

PYENV = os.environ.get("PYENV_ROOT") or os.path.expanduser("~/.pyenv")


def real_python(version_prefix):
    versions = os.path.join(PYENV, "versions")
    if os.path.isdir(versions):
        for name in sorted(os.listdir(versions)):
            if name.startswith(version_prefix):
                exe = os.path.join(versions, name, "bin", "python" + version_prefix)
                if os.path.exists(exe):
                    return exe
    return None


def check(tmp_path, webui=None, **kw):
    env = machine_env(str(tmp_path), **kw)
    return env, lambda extra_args=(): run_json([webui or str(tmp_path / "w"), "--offline"] + list(extra_args),
                                               env=env)[2]["python"]


@pytest.mark.parametrize("version,bits,status,words", [
    ("3.10.6", 64, "ok", "Python 3.10.6 (64-bit)"),
    ("3.10.13", 64, "ok", "tested on 3.10.6"),
    ("3.11.7", 64, "warn", "3.11"),
    ("3.12.1", 64, "error", "too new"),
    ("3.13.0", 64, "error", "too new"),
    ("3.9.18", 64, "error", "too old"),
    ("3.8.18", 64, "error", "too old"),
    ("3.10.6", 32, "error", "32-bit"),
])
def test_versions_and_bitness(version, bits, status, words, tmp_path):
    env, python = check(tmp_path, python_version=version, bits=bits)
    result = python()
    assert result["status"] == status, result
    assert words in result["detail"]
    if status == "ok":
        assert result["advice"] == []
    else:
        assert any("pyenv install 3.10.6" in a for a in result["advice"])  # nothing better on this machine


def test_not_runnable_and_not_found(tmp_path):
    env, python = check(tmp_path, python_version=None)
    result = python()
    assert result["status"] == "error" and "python3 was not found" in result["detail"]
    write_fake_python(env["SD_TEST_BIN"], "python3", exit_code=1, stderr="error while loading shared libraries")
    result = python()
    assert result["status"] == "error"
    assert "does not run: error while loading shared libraries" in result["detail"]


def test_store_alias_like_exit_9009(tmp_path):
    env, python = check(tmp_path, python_version=None)
    write_fake_python(env["SD_TEST_BIN"], "python3.10", exit_code=9009,
                      stderr="Python was not found; run without arguments to install from the Microsoft Store")
    result = python()
    assert result["status"] == "error" and "Microsoft Store" in result["detail"]


def test_launcher_prefers_python310_then_python3(tmp_path):
    env, python = check(tmp_path, python_version=None)
    write_fake_python(env["SD_TEST_BIN"], "python3", "3.11.7")
    assert python()["status"] == "warn"
    write_fake_python(env["SD_TEST_BIN"], "python3.10", "3.10.6")
    assert python()["status"] == "ok"


def test_python_cmd_in_webui_user_sh_overrides(tmp_path):
    other = write_fake_python(str(tmp_path / "opt"), "py312", "3.12.1")
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": '#!/bin/bash\n#python_cmd="python3.10"\n'
                                                                  'python_cmd="%s"\n' % other})
    env, python = check(tmp_path, webui=root)
    result = python()
    assert result["status"] == "error" and other in result["detail"]


def test_alternative_on_path_is_named_and_proposed(tmp_path):
    """python3.10 is a 3.12; a 3.10.6 sits later on PATH as plain 'python': it becomes the advice and proposal."""
    good = write_fake_python(str(tmp_path / "py310"), "python", "3.10.6")
    env = machine_env(str(tmp_path), python_version="3.12.1", extra_path=[str(tmp_path / "py310")])
    ctx = Context(str(tmp_path / "w"), Options(offline=True), environ=env)
    f = run_one(python_check, ctx)
    assert f.status == "error"
    assert f.proposals == {"PYTHON": good}
    assert any(("python_cmd=%s" % good) in a.render("en") for a in f.advice)


def test_a_hanging_alternative_does_not_hold_up_the_others(tmp_path):
    env = machine_env(str(tmp_path), python_version="3.12.1", extra_path=[str(tmp_path / "a"), str(tmp_path / "b")])
    os.makedirs(str(tmp_path / "a"))
    with open(str(tmp_path / "a" / "python"), "w") as fh:
        fh.write("#!/bin/sh\nexec /bin/sleep 60\n")
    os.chmod(str(tmp_path / "a" / "python"), 0o755)
    good = write_fake_python(str(tmp_path / "b"), "python3", "3.10.6")
    ctx = Context(str(tmp_path / "w"), Options(offline=True, timeout=2.0), environ=env)
    f = run_one(python_check, ctx)
    assert f.elapsed < 2.0 + 0.8
    assert f.proposals == {"PYTHON": good}


def test_real_interpreters(tmp_path):
    found = dict((v, real_python(v)) for v in ("3.8", "3.9", "3.10", "3.11", "3.12", "3.13"))
    found = dict((v, p) for v, p in found.items() if p)
    if not found:
        pytest.skip("no pyenv interpreters under %s" % PYENV)
    expected = {"3.8": "error", "3.9": "error", "3.10": "ok", "3.11": "warn", "3.12": "error", "3.13": "error"}
    for version, exe in sorted(found.items()):
        env, python = check(tmp_path / version, python_version=None)
        os.symlink(exe, os.path.join(env["SD_TEST_BIN"], "python3.10"))
        result = python()
        assert result["status"] == expected[version], (version, result)
        assert "Python %s." % version in result["detail"] and "64-bit" in result["detail"]


def test_real_pyenv_310_is_found_as_the_alternative(tmp_path):
    exe = real_python("3.10")
    bad = real_python("3.12") or real_python("3.13")
    if not (exe and bad):
        pytest.skip("needs pyenv's 3.10 and 3.12/3.13 under %s" % PYENV)
    env = machine_env(str(tmp_path), python_version=None, extra={"PYENV_ROOT": PYENV})
    os.symlink(bad, os.path.join(env["SD_TEST_BIN"], "python3.10"))
    result = run_json([str(tmp_path / "w"), "--offline"], env=env)[2]["python"]
    assert result["status"] == "error"
    assert any(("python_cmd=%s" % exe) in a for a in result["advice"]), result["advice"]


def test_existing_venv_is_named_in_the_advice(tmp_path):
    root = make_webui(str(tmp_path / "webui"))
    os.makedirs(os.path.join(root, "venv"))
    env, python = check(tmp_path, webui=root, python_version="3.12.1")
    result = python()
    assert any("rm -rf %s" % os.path.join(root, "venv") in a for a in result["advice"])
    assert any("no effect" in a for a in result["advice"])


# -- Windows, judged from Windows facts -------------------------------------------------------------------------------

def win(resolved, info=None, kind=None, alternatives=(), venv=None, command="python"):
    return {"platform": "windows", "command": command, "source": "default", "resolved": resolved, "kind": kind,
            "info": info, "alternatives": list(alternatives), "venv": venv}


def info(version="3.10.6", bits=64, exe="C:\\Python310\\python.exe"):
    return {"runs": True, "version": version, "bits": bits, "executable": exe}


def test_windows_store_alias_and_store_python():
    alias = "C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps\\python.exe"
    f = python_check.judge(win(alias, {"runs": False, "exit_code": 9009}, kind="store-alias"))
    assert f.status == "error" and "App execution aliases" in " ".join(a.render("en") for a in f.advice)
    store = ("C:\\Program Files\\WindowsApps\\PythonSoftwareFoundation.Python.3.10_3.10.3056.0_x64__qbz5n2kfra8p0"
             "\\python.exe")
    f = python_check.judge(win(store, info(exe=store), kind="store-python"))
    assert f.status == "error" and "#9566" in f.detail_lines()[0].render("en")


def test_windows_alternative_with_spaces_is_quoted_and_proposed():
    alt = {"version": "3.10.6", "path": "C:\\Program Files\\Python310\\python.exe", "bits": 64, "runs": True}
    f = python_check.judge(win("C:\\Python312\\python.exe", info("3.12.1"), alternatives=[alt],
                               venv="C:\\sd\\webui\\venv"))
    advice = [a.render("en") for a in f.advice]
    assert f.status == "error"
    assert any('set PYTHON="C:\\Program Files\\Python310\\python.exe"' in a and "webui-user.bat" in a for a in advice)
    assert any('rmdir /s /q "C:\\sd\\webui\\venv"' in a for a in advice)
    assert f.proposals == {"PYTHON": alt["path"]}
    zh = [a.render("zh") for a in f.advice]
    assert zh != advice


def test_windows_not_found_mentions_9009():
    f = python_check.judge(win(None))
    assert f.status == "error" and "9009" in f.detail_lines()[0].render("en")


def test_advice_names_the_file_the_launcher_reads_last(tmp_path):
    # webui.bat (1.7+) calls an existing webui.settings.bat after webui-user.bat's lines: a PYTHON line added to
    # webui-user.bat would be overridden there, so the advice names the file the writer uses.
    from writer_support import make_ctx

    from sd_doctor.checks._common import settings_file

    plain = make_webui(str(tmp_path / "plain"))
    with_settings = make_webui(str(tmp_path / "with"), {"webui.settings.bat": "@echo off\r\nset PYTHON=python\r\n"})
    assert settings_file(make_ctx(plain)) == "webui-user.bat"
    assert settings_file(make_ctx(with_settings)) == "webui.settings.bat"
    assert settings_file(make_ctx(with_settings, platform="linux")) == "webui-user.sh"
    alt = {"version": "3.10.6", "path": "C:\\Python310\\python.exe", "bits": 64, "runs": True}
    facts = win("C:\\Python312\\python.exe", info("3.12.1"), alternatives=[alt])
    facts["settings_file"] = settings_file(make_ctx(with_settings))
    advice = " ".join(a.render("en") for a in python_check.judge(facts).advice)
    assert "put this line in webui.settings.bat:\nset PYTHON=C:\\Python310\\python.exe" in advice
    assert "webui-user.bat" not in advice
