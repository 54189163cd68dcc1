"""The Windows tier: sd-doctor runs as a real Windows program (the official Windows CPython 3.10) under Wine.

Nothing here hands the checks recorded facts: the doctor reads Wine's registry, drives, code pages and PATH itself,
and Wine's ``cmd`` runs the settings file the doctor wrote. The bed (embeddable CPython + win_amd64 wheels) is built
once and cached (tests/wine/bed.py); one Wine prefix serves the whole session. Web UI folders live on the prefix's
C: drive.

Every scenario runs wherever Wine is installed: nothing here skips itself on what the sources or outputs say
(tests/test_windows_tier_rules.py holds the tier to that). Off CI, a bed that cannot be downloaded or a locale that
cannot be built skips with the reason; in CI both fail.
"""

import json
import os
import re
import shlex
import socket
import subprocess

import pytest

from conftest import make_webui

from wine import bed as winebed

if winebed.wine_command() is None:
    pytest.skip("Wine is not installed: the Windows tier did not run", allow_module_level=True)


TIMEOUT = "15"  # --timeout: Windows processes start slower under Wine, and two cores are shared
CHECK_IDS = ["install-path", "python", "path", "venv", "disk", "windows", "proxy", "git", "downloads", "port", "gpu", "models"]

# A stand-in for webui.bat v1.7+: the same settings call and defaults, then it does what the real one does first
# with PYTHON (runs it unquoted) and reports what the web UI's Python would see: its executable and environment.
STUB_WEBUI_BAT = (
    "@echo off\r\n"
    "if exist webui.settings.bat (\r\n"
    "    call webui.settings.bat\r\n"
    ")\r\n"
    "if not defined PYTHON (set PYTHON=python)\r\n"
    "if not defined VENV_DIR (set \"VENV_DIR=%~dp0%venv\")\r\n"
    "%PYTHON% -c \"import json, os, sys; print('SD-DOCTOR-ENV ' + json.dumps({'exe': sys.executable, "
    "'cwd': os.getcwd(), 'env': dict(os.environ)}))\"\r\n"
    "if errorlevel 1 echo Couldn't launch python\r\n"
)


# -- fixtures ----------------------------------------------------------------------------------------------------
@pytest.fixture(scope="session")
def wine_bed():
    try:
        folder, _seconds = winebed.build_bed()
    except (winebed.BedError, subprocess.TimeoutExpired, OSError) as exc:
        message = "could not build the Windows bed (embeddable CPython and wheels, fetched with pip): %s" % exc
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return folder


@pytest.fixture(scope="session")
def prefix(wine_bed, tmp_path_factory):
    p = winebed.Prefix(str(tmp_path_factory.mktemp("wine")), wine_bed)
    try:
        p.create()
        p.set_windows_version("win10")
        yield p
    finally:
        p.destroy()


def doctor_json(prefix, webui_win, *args, **kw):
    """Run ``python.exe -m sd_doctor WEBUI --json --verbose ARGS`` under Wine: (result, document, {id: check})."""
    result = prefix.doctor([webui_win, "--json", "--verbose", "--timeout", TIMEOUT] + list(args), **kw)
    assert "Traceback" not in result.stderr + result.stdout, result
    assert result.returncode in (0, 1), result
    doc = json.loads(result.stdout)
    assert doc["platform"] == "windows", doc
    checks = dict((c["id"], c) for c in doc["checks"])
    assert sorted(checks) == sorted(CHECK_IDS), result
    return result, doc, checks


def text_of(check):
    return check["detail"] + "\n" + "\n".join(check["advice"])


def no_probe_failed(checks):
    """Every check ran to a judgement: none became the runner's 'The probe failed: <exception>' skip."""
    failed = dict((i, c["detail"]) for i, c in checks.items() if "check crashed" in c["detail"].lower())
    assert not failed, failed


def webui_env(prefix, cmd_result):
    """The JSON line the stub webui.bat's Python printed."""
    for line in cmd_result.stdout.splitlines():
        if line.startswith("SD-DOCTOR-ENV "):
            return json.loads(line[len("SD-DOCTOR-ENV "):])
    raise AssertionError("the stub webui.bat printed no environment: %r" % cmd_result)


def env_get(env, name):
    """Windows environment names are case-insensitive."""
    for key, value in env.items():
        if key.upper() == name.upper():
            return value
    return None


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def registered_python(prefix):
    """Windows CPython 3.10 where the python.org installer puts it for one user, registered in HKCU, not on PATH."""
    return prefix.install_python("C:\\users\\%s\\AppData\\Local\\Programs\\Python\\Python310" % prefix.user)


# -- scenario: no Python on PATH, one installed and registered -------------------------------------------------------
@pytest.fixture(scope="module")
def python_webui(prefix, registered_python):
    return make_webui(prefix.unix(r"C:\sd\webui-python"), files={"webui.bat": STUB_WEBUI_BAT})


def test_python_missing_from_path_and_the_registered_one_is_proposed(prefix, registered_python, python_webui):
    result, doc, checks = doctor_json(prefix, prefix.win(python_webui), "--offline")
    path_facts = checks["path"]["facts"]
    # The precondition, read by the doctor itself: Wine's PATH holds no python.
    assert path_facts["pythons"] == [], path_facts
    assert any(e.lower() == r"c:\windows\system32" for e in path_facts["entries"]), path_facts
    assert checks["path"]["status"] == "error"
    assert "No Python on PATH" in checks["path"]["detail"]

    python = checks["python"]
    assert python["status"] == "error", python
    assert "python was not found" in python["detail"] and "9009" in python["detail"], python
    advice = "\n".join(python["advice"])
    assert "set PYTHON=" + registered_python in advice, advice
    # The proposal came from the PythonCore key and the interpreter was really run to vouch for it.
    best = python["facts"]["alternatives"][0]
    assert best["path"].lower() == registered_python.lower(), best
    assert best["version"].startswith("3.10.") and best["bits"] == 64, best
    assert best["executable"].lower() == registered_python.lower(), best


def test_fix_writes_webui_user_bat_and_cmd_delivers_the_variables(prefix, registered_python, python_webui):
    result, doc, checks = doctor_json(prefix, prefix.win(python_webui), "--offline", "--fix")
    settings = doc.get("settings")
    assert settings, result
    assert settings["applied"] is True, settings
    written = os.path.join(python_webui, "webui-user.bat")
    assert os.path.isfile(written), settings
    variables = settings["variables"]
    assert variables["PYTHON"].strip('"').lower() == registered_python.lower(), variables

    # Wine's cmd runs the file the user double-clicks; it calls the stub webui.bat, whose Python reports back.
    run = prefix.cmd("webui-user.bat", cwd=python_webui)
    assert "Couldn't launch python" not in run.stdout, run
    seen = webui_env(prefix, run)
    assert seen["exe"].lower() == registered_python.lower(), seen["exe"]
    for name, value in variables.items():
        if value in (None, ""):
            assert env_get(seen["env"], name) is None, (name, seen["env"])
        elif name == "PYTHON":  # written with its own quotes when the path has spaces (webui.bat uses it unquoted)
            assert env_get(seen["env"], name) in (value, '"%s"' % value.strip('"')), (name, seen["env"])
        else:
            assert env_get(seen["env"], name) == value, (name, seen["env"])
    if "commandline_args" in settings:  # the web UI splits COMMANDLINE_ARGS with shlex (POSIX rules)
        assert shlex.split(env_get(seen["env"], "COMMANDLINE_ARGS") or "") == settings["commandline_args"], seen

    # The doctor now reads its own setting back: the launcher's Python is found, no longer an error.
    result, doc, checks = doctor_json(prefix, prefix.win(python_webui), "--offline")
    assert checks["python"]["status"] == "ok", checks["python"]
    assert checks["python"]["facts"]["resolved"].lower() == registered_python.lower()
    assert "No Python on PATH, but the settings name one" in checks["path"]["detail"], checks["path"]


# -- scenario: a proxy only in the registry -----------------------------------------------------------------------
INTERNET_SETTINGS = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"


def test_proxy_set_only_in_the_registry_is_found(prefix):
    webui = make_webui(prefix.unix(r"C:\sd\webui-proxy"))
    port = free_port()  # nothing listens there: a dead proxy on loopback
    server = "127.0.0.1:%d" % port
    prefix.reg_add(INTERNET_SETTINGS, "ProxyEnable", "REG_DWORD", 1)
    prefix.reg_add(INTERNET_SETTINGS, "ProxyServer", "REG_SZ", server)
    try:
        result, doc, checks = doctor_json(prefix, prefix.win(webui))
    finally:
        prefix.reg_add(INTERNET_SETTINGS, "ProxyEnable", "REG_DWORD", 0)
        prefix.reg_delete(INTERNET_SETTINGS, "ProxyServer")
    proxy = checks["proxy"]
    assert proxy["status"] in ("warn", "error"), proxy
    text = text_of(proxy)
    assert server in text, proxy
    assert "NO_PROXY" in text, proxy
    # Setting NO_PROXY would switch the registry proxy off for Python: the writer keeps it as variables.
    variables = doc["settings"]["variables"]
    assert variables["NO_PROXY"] == "localhost,127.0.0.1,::1", doc["settings"]
    assert variables["HTTP_PROXY"] == "http://" + server, doc["settings"]
    # The same run without the registry entries: the proxy is gone from the report.
    result, doc, checks = doctor_json(prefix, prefix.win(webui))
    assert server not in text_of(checks["proxy"]), checks["proxy"]


# -- scenario: Windows 7, then Windows 10 ---------------------------------------------------------------------------
def test_windows_check_tells_windows_7_from_windows_10(prefix):
    webui = make_webui(prefix.unix(r"C:\sd\webui-version"))
    try:
        prefix.set_windows_version("win7")
        result, doc, checks = doctor_json(prefix, prefix.win(webui), "--offline")
        win = checks["windows"]
        assert win["status"] == "error", win
        assert "Windows 7 is older than Windows 10" in win["detail"], win  # the release name, not 6.1
        assert "api-ms-win-core-path" in text_of(win)
        facts = win["facts"]["os"]
        assert (facts["major"], facts["minor"], facts["build"]) == (6, 1, 7601), facts
        assert facts["release"] == "7" and "Windows 7" in (facts.get("product_name") or ""), facts
    finally:
        prefix.set_windows_version("win10")
    result, doc, checks = doctor_json(prefix, prefix.win(webui), "--offline")
    win = checks["windows"]
    assert "older than Windows 10" not in win["detail"], win
    assert re.search(r"Windows 10 \(build \d+\)", win["detail"]), win
    facts = win["facts"]["os"]
    assert facts["major"] == 10 and facts["release"] == "10", facts


# -- scenario: no git, no NVML, psutil partly failing -------------------------------------------------------------
@pytest.fixture(scope="module")
def bare_run(prefix):
    """One full run (network probes on, bounded) on a machine with no git, no NVIDIA library, and a psutil whose
    swap and process queries fail under Wine; the web UI pins a port that a Linux process holds."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen(1)
        port = holder.getsockname()[1]
        webui = make_webui(prefix.unix(r"C:\sd\webui-bare"), files={
            "webui-user.bat": "@echo off\r\nset PYTHON=\r\nset GIT=\r\nset VENV_DIR=\r\n"
                              "set COMMANDLINE_ARGS=--port %d\r\ncall webui.bat\r\n" % port})
        result, doc, checks = doctor_json(prefix, prefix.win(webui))
    return {"result": result, "doc": doc, "checks": checks, "port": port}


def test_every_check_reaches_a_judgement_under_wine(bare_run):
    no_probe_failed(bare_run["checks"])
    assert "Traceback" not in bare_run["result"].stderr


def test_psutil_failures_do_not_hide_the_memory_facts(bare_run):
    win = bare_run["checks"]["windows"]
    memory = win["facts"]["memory"]
    # psutil's swap query (PDH) fails under Wine; the RAM query works and the page file comes from the registry.
    assert memory["ram_total"] and memory["ram_total"] > 0, memory
    assert memory["swap_total"] is None, memory
    assert "RAM" in win["detail"], win


def test_missing_git_is_reported(bare_run):
    git = bare_run["checks"]["git"]
    assert git["status"] in ("skip", "error"), git
    assert re.search(r"git\b.*\bnot found", git["detail"]), git
    assert git["facts"]["git"]["path"] is None, git["facts"]
    path = bare_run["checks"]["path"]
    assert path["facts"]["git"] is None, path["facts"]


def test_missing_nvml_is_reported(bare_run):
    gpu = bare_run["checks"]["gpu"]
    assert gpu["status"] in ("warn", "skip", "error"), gpu
    assert "NVIDIA" in gpu["detail"], gpu
    # Why there is no answer is in the facts: NVML's library is absent (and so is nvidia-smi).
    assert gpu["facts"]["nvml"]["status"] != "ok" and gpu["facts"]["nvml"]["error"], gpu["facts"]["nvml"]


def test_busy_pinned_port_is_reported_though_psutil_cannot_list_processes(bare_run):
    port = bare_run["checks"]["port"]
    assert port["status"] == "error", port
    assert str(bare_run["port"]) in port["detail"], port
    # Under Wine psutil cannot name the Linux process holding the port: the finding says so instead of failing.
    holder = port["facts"]["holder"]
    assert holder["name"] is None and holder["error"], holder


# -- scenario: a path with a space, a path with Chinese characters ----------------------------------------------------
def test_path_with_a_space_and_a_quoted_python_setting(prefix):
    python = prefix.install_python(r"C:\Program Files\Python310", register=False)
    webui = make_webui(prefix.unix(r"C:\sd\stable diffusion webui"), files={
        "webui.bat": STUB_WEBUI_BAT,
        # webui.bat uses PYTHON unquoted, so a path with spaces carries its own quotes (webui-facts.md §1).
        "webui-user.bat": '@echo off\r\nset PYTHON="%s"\r\nset GIT=\r\nset VENV_DIR=\r\nset COMMANDLINE_ARGS=\r\n'
                          'call webui.bat\r\n' % python})
    result, doc, checks = doctor_json(prefix, prefix.win(webui), "--offline")
    assert doc["webui_dir"] == r"C:\sd\stable diffusion webui", doc["webui_dir"]
    install = checks["install-path"]
    assert install["status"] == "error" and "contains a space" in install["detail"], install
    python_check = checks["python"]
    assert python_check["status"] == "ok", python_check
    assert python_check["facts"]["resolved"].lower() == python.lower(), python_check["facts"]
    assert python_check["facts"]["source"] == "webui-user.bat", python_check["facts"]
    no_probe_failed(checks)
    # What the doctor read is what cmd really does with that file.
    seen = webui_env(prefix, prefix.cmd("webui-user.bat", cwd=webui))
    assert seen["exe"].lower() == python.lower(), seen["exe"]
    assert seen["cwd"].lower() == r"c:\sd\stable diffusion webui", seen["cwd"]


CHINESE_DIR = u"C:\\AI\u7ed8\u753b\\stable-diffusion-webui"  # C:\AI绘画\stable-diffusion-webui


@pytest.fixture(scope="module")
def chinese_webui(prefix):
    return make_webui(prefix.unix(CHINESE_DIR))


def test_chinese_path_on_a_chinese_windows(prefix, chinese_webui):
    """zh_CN: ANSI and OEM code pages are both 936; the report comes in Chinese on a GBK console, path intact."""
    env, why = winebed.locale_environ("zh_CN.UTF-8")
    if env is None:
        _no_locale(why)
    result = prefix.doctor_in_console([prefix.win(chinese_webui), "--offline", "--timeout", TIMEOUT], env=env,
                                      encoding="gbk")
    assert "Traceback" not in result.stdout + result.stderr, result
    assert result.returncode in (0, 1), result
    out = result.stdout
    assert CHINESE_DIR in out, out  # printed through the GBK console encoding without loss
    # Chinese, though no LANG / LC_* variable reached the doctor: the language came from Windows' UI language.
    assert u"安装路径" in out and u"汇总" in out, out
    line = [l for l in out.splitlines() if u"安装路径" in l][0]
    assert u"非 ASCII" in line, line
    assert line.startswith("!") and "cpython#101059" not in line, line  # 936/936: a warning, not the error
    assert "check crashed" not in out.lower() and u"检查崩溃" not in out, out


def test_json_bytes_on_a_chinese_windows_are_utf8_or_ascii(prefix, chinese_webui):
    """Issue 13 case 7. zh_CN: a Windows program's pipe is in the ANSI code page (936, GBK). The text report may be
    GBK (that is what a cmd window or a GBK-reading tool shows), the --json document never: its bytes are UTF-8 or
    pure ASCII, and json.loads gives back the Chinese path and the Chinese findings."""
    env, why = winebed.locale_environ("zh_CN.UTF-8")
    if env is None:
        _no_locale(why)
    args = [prefix.win(chinese_webui), "--offline", "--lang", "zh", "--timeout", TIMEOUT]
    text = prefix.doctor(args, env=env)
    assert text.returncode in (0, 1) and "Traceback" not in text.stderr, text
    # The precondition, measured: this pipe really is GBK (the report's Chinese is not UTF-8, and reads as cp936).
    with pytest.raises(UnicodeDecodeError):
        text.stdout_bytes.decode("utf-8")
    report = text.stdout_bytes.decode("cp936")
    assert CHINESE_DIR in report and u"汇总" in report and u"安装路径" in report, report

    result = prefix.doctor(args + ["--json", "--verbose"], env=env)
    assert result.returncode in (0, 1) and "Traceback" not in result.stderr, result
    doc = json.loads(utf8_document(result.stdout_bytes))
    assert doc["webui_dir"] == CHINESE_DIR, doc["webui_dir"]
    checks = dict((c["id"], c) for c in doc["checks"])
    install = checks["install-path"]
    assert install["title"] == u"安装路径" and u"非 ASCII" in install["detail"], install
    assert install["facts"]["path"] == CHINESE_DIR, install["facts"]
    assert install["facts"]["code_pages"] == [936, 936], install["facts"]  # the Chinese Windows the report saw


def utf8_document(raw):
    """The --json bytes as text: they must be UTF-8 (pure ASCII is UTF-8 too); a GBK document fails here."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise AssertionError("the --json bytes are not UTF-8 (%s): %r" % (exc, raw[:300]))


def _no_locale(why):
    message = "no Chinese Windows locale for Wine: " + why
    if os.environ.get("CI"):  # CI installs the locales package: the zh tier must run there
        pytest.fail(message)
    pytest.skip(message)


def test_chinese_path_on_a_western_windows(prefix, chinese_webui):
    """en-US (Wine's default under C.UTF-8): ANSI 1252 and OEM 437 differ, so creating the venv in that folder
    fails (cpython#101059): an error."""
    result, doc, checks = doctor_json(prefix, prefix.win(chinese_webui), "--offline", encoding="cp1252")
    # The console's code page (1252) cannot show the path; the JSON document still carries it intact (escaped).
    assert doc["webui_dir"] == CHINESE_DIR, doc["webui_dir"]
    install = checks["install-path"]
    assert install["status"] == "error", install
    assert "1252/437" in install["detail"] and "cpython#101059" in install["detail"], install
    assert install["facts"]["code_pages"] == [1252, 437], install["facts"]
    no_probe_failed(checks)


# -- scenario: the Visual C++ runtime key created, then removed (issue 11 part 5) -------------------------------------
VC_RUNTIME_KEY = r"HKLM\SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64"


def test_vc_runtime_is_read_from_the_registry_key_and_the_dlls(prefix):
    webui = make_webui(prefix.unix(r"C:\sd\webui-vc"), files={
        "venv/Lib/site-packages/torch/version.py": "__version__ = '2.4.1+cu121'\ndebug = False\ncuda = '12.1'\n"
                                                   "hip = None\n"})
    prefix.reg_add(VC_RUNTIME_KEY, "Installed", "REG_DWORD", 1)
    prefix.reg_add(VC_RUNTIME_KEY, "Version", "REG_SZ", "v14.40.33810.00")
    try:
        result, doc, checks = doctor_json(prefix, prefix.win(webui), "--offline")
    finally:
        prefix.reg_delete(VC_RUNTIME_KEY)
    win = checks["windows"]
    vc = win["facts"]["vc"]
    assert vc["torch_version"] == "2.4.1+cu121", vc
    assert vc["runtime"]["registry"]["installed"] == 1 and vc["runtime"]["registry"]["version"] == "v14.40.33810.00"
    dlls = vc["runtime"]["dlls"]
    if all(d["exists"] for d in dlls.values()):
        assert "runtime 14.40.33810.0 (registry)" in win["detail"], win
    # The key removed: the DLLs in Wine's System32 decide, and the report says which.
    result, doc, checks = doctor_json(prefix, prefix.win(webui), "--offline")
    win = checks["windows"]
    vc = win["facts"]["vc"]
    assert vc["runtime"]["registry"] is None, vc
    missing = [n for n, d in vc["runtime"]["dlls"].items() if not d["exists"]]
    version = (vc["runtime"]["dlls"]["vcruntime140.dll"] or {}).get("version")
    if missing:
        assert win["status"] == "error" and "vc_redist.x64.exe" in text_of(win) and missing[0] in win["detail"], win
    elif version:
        assert ("(vcruntime140.dll)" in win["detail"]) or ("older than the 2015-2022 runtime" in win["detail"]), win
    else:
        assert "version cannot be read" in win["detail"], win
