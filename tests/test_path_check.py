"""path: python and git reachable, dead entries, impostor Pythons first (real PATH folders; Windows from facts)."""

import os

from conftest import machine_env, make_webui, run_json, write_fake_python
from sd_doctor.checks import path as path_check


def path_result(tmp_path, **kw):
    return run_json([str(tmp_path / "w"), "--offline"], env=machine_env(str(tmp_path), **kw))[2]["path"]


def test_all_reachable_is_ok(tmp_path):
    result = path_result(tmp_path)
    assert result["status"] == "ok", result
    assert "python3.10" in result["detail"] and "git" in result["detail"]


def test_missing_entries_warn(tmp_path):
    result = path_result(tmp_path, extra_path=[str(tmp_path / "gone"), str(tmp_path / "also-gone")])
    assert result["status"] == "warn"
    assert "2 PATH entries do not exist" in result["detail"] and str(tmp_path / "gone") in result["detail"]


def test_no_git_is_an_error(tmp_path):
    result = path_result(tmp_path, git=False)
    assert result["status"] == "error" and "git is not on PATH" in result["detail"]


def test_git_setting_excuses_a_missing_git(tmp_path):
    root = make_webui(str(tmp_path / "webui"), {"webui-user.sh": "export GIT=/usr/bin/git\n"})
    env = machine_env(str(tmp_path), git=False)
    result = run_json([root, "--offline"], env=env)[2]["path"]
    assert result["status"] == "ok" and "GIT is set" in result["detail"]


def test_no_python_is_an_error(tmp_path):
    result = path_result(tmp_path, python_version=None)
    assert result["status"] == "error" and "No Python on PATH" in result["detail"]


def test_anaconda_python_first_warns(tmp_path):
    conda = str(tmp_path / "anaconda3" / "bin")
    write_fake_python(conda, "python3", "3.11.7")
    env = machine_env(str(tmp_path), python_version=None, extra_path=[])
    env["PATH"] = conda + os.pathsep + env["PATH"]
    write_fake_python(env["SD_TEST_BIN"], "python3.10", "3.10.6")
    result = run_json([str(tmp_path / "w"), "--offline"], env=env)[2]["path"]
    # python3.10 comes first for webui.sh; anaconda's python3 is only second
    assert result["status"] == "ok", result
    os.remove(os.path.join(env["SD_TEST_BIN"], "python3.10"))
    result = run_json([str(tmp_path / "w"), "--offline"], env=env)[2]["path"]
    assert result["status"] == "warn" and "anaconda" in result["detail"]
    # webui.sh reads python_cmd, not PYTHON (webui-facts.md §3)
    assert any("Set python_cmd in the settings file" in a for a in result["advice"]), result["advice"]
    assert not any("PYTHON" in a for a in result["advice"])


def win(pythons, git="C:\\Program Files\\Git\\cmd\\git.exe", missing=(), python_setting=None):
    from sd_doctor.probes.interpreters import classify

    return {"platform": "windows", "entries": [], "missing": list(missing), "git": git, "git_setting": None,
            "python_setting": python_setting, "pythons": [{"path": p, "kind": classify(p)} for p in pythons]}


ALIAS = "C:\\Users\\me\\AppData\\Local\\Microsoft\\WindowsApps\\python.exe"
REAL = "C:\\Users\\me\\AppData\\Local\\Programs\\Python\\Python310\\python.exe"


def test_windows_store_alias_ahead_of_real_python():
    f = path_check.judge(win([ALIAS, REAL]))
    assert f.status == "warn" and "Microsoft Store alias" in f.detail_lines()[0].render("en")
    assert path_check.judge(win([REAL, ALIAS])).status == "ok"


def test_windows_only_the_store_alias_is_an_error():
    f = path_check.judge(win([ALIAS]))
    assert f.status == "error"
    assert path_check.judge(win([ALIAS], python_setting="C:\\Python310\\python.exe")).status == "ok"


def test_windows_foreign_pythons_first():
    for foreign, name in (("C:\\Program Files\\Inkscape\\bin\\python.exe", "inkscape"),
                          ("C:\\ProgramData\\Anaconda3\\python.exe", "anaconda"),
                          ("C:\\msys64\\mingw64\\bin\\python.exe", "msys"),
                          ("C:\\Users\\me\\.pyenv\\pyenv-win\\shims\\python.bat", "pyenv-win shim")):
        f = path_check.judge(win([foreign, REAL]))
        assert f.status == "warn", foreign
        assert name in f.detail_lines()[0].render("en")
        assert name in f.detail_lines()[0].render("zh")
        assert any("Set PYTHON in the settings file" in a.render("en") for a in f.advice)


def test_windows_no_git_and_missing_entries():
    f = path_check.judge(win([REAL], git=None, missing=["C:\\Old\\bin"]))
    assert f.status == "error"
    advice = " ".join(a.render("en") for a in f.advice)
    assert "git-scm.com" in advice and "Environment Variables" in advice
