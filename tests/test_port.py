"""port check: a real process holding the port, real binds; Windows facts (excluded ranges) at judge level."""

import os
import socket
import subprocess
import sys

import pytest

from conftest import cli_env, make_webui, run_json, text_of
from sd_doctor.checks import port as port_check
from sd_doctor.core.context import Context, Options

LISTENER = ("import socket,sys,time\n"
            "s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(5)\n"
            "print(s.getsockname()[1], flush=True); time.sleep(120)\n")


@pytest.fixture(scope="module")
def holder():
    """A separate process listening on a loopback port: (pid, port, its process name as the kernel reports it)."""
    if not os.path.isdir("/proc/self"):
        pytest.skip("reads the holder's name from /proc (Linux)")
    proc = subprocess.Popen([sys.executable, "-c", LISTENER], stdout=subprocess.PIPE, text=True)
    try:
        port = int(proc.stdout.readline())
        with open("/proc/%d/comm" % proc.pid) as fh:
            name = fh.read().strip()
        yield proc.pid, port, name
    finally:
        proc.kill()
        proc.wait()


def bindable(port):
    s = socket.socket()
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def check(tmp_path, env_extra, offline=False):
    webui = make_webui(str(tmp_path / "webui"))
    ctx = Context(webui, Options(timeout=3.0, offline=offline), environ=cli_env(env_extra))
    facts = port_check.probe(ctx)
    return facts, port_check.judge(facts)


def test_pinned_busy_port_is_an_error_that_names_the_process(tmp_path, holder):
    pid, port, name = holder
    webui = make_webui(str(tmp_path / "webui"))
    proc, doc, checks = run_json([webui, "--offline", "--lang", "en"],
                                 env=cli_env({"COMMANDLINE_ARGS": "--port %d --api" % port}))
    c = checks["port"]
    assert c["status"] == "error"
    assert "Cannot find empty port in range: %d-%d" % (port, port) in c["detail"]
    assert "%s (pid %d)" % (name, pid) in c["detail"]
    # The same through the Python interface: the proposal is a port that is free right now.
    facts, finding = check(tmp_path, {"COMMANDLINE_ARGS": "--port %d" % port})
    assert facts["pinned"] and facts["holder"] == {"pid": pid, "name": name}
    free = finding.proposals["port"]
    assert port < free <= port + 100 and bindable(free)
    assert "--port %d" % free in text_of(finding)


def test_unpinned_busy_port_is_a_warning(tmp_path, holder):
    pid, port, name = holder
    facts, finding = check(tmp_path, {"GRADIO_SERVER_PORT": str(port)})
    assert (facts["source"], facts["pinned"]) == ("GRADIO_SERVER_PORT", False)
    assert finding.status == "warn"
    assert "gradio will move to the next free port" in text_of(finding)
    assert "pid %d" % pid in text_of(finding)
    # gradio moves on by itself: the next free port is named, but no --port is proposed (it would pin the port)
    assert "(%d)" % facts["next_free"] in text_of(finding)
    assert "port" not in finding.proposals


def test_free_port_is_ok(tmp_path):
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    facts, finding = check(tmp_path, {"COMMANDLINE_ARGS": "--port=%d --listen" % port})
    assert facts["port"] == port and facts["address"] == "0.0.0.0"
    assert finding.status == "ok", text_of(finding)
    assert "0.0.0.0:%d is free (pinned with --port)" % port in text_of(finding)
    assert finding.proposals == {}


def test_defaults_and_nowebui(tmp_path):
    facts, _ = check(tmp_path, {})
    assert (facts["port"], facts["address"], facts["pinned"], facts["source"]) == (7860, "127.0.0.1", False, "default")
    facts, _ = check(tmp_path, {"COMMANDLINE_ARGS": "--nowebui --server-name 127.0.0.1"})
    assert (facts["port"], facts["pinned"], facts["address"]) == (7861, True, "127.0.0.1")


def test_low_port_and_bad_value(tmp_path):
    facts, finding = check(tmp_path, {"COMMANDLINE_ARGS": "--port 80"})
    assert finding.status in ("warn", "error")
    assert "below 1024" in text_of(finding)
    facts, finding = check(tmp_path, {"COMMANDLINE_ARGS": "--port abc"})
    assert finding.status == "error" and "--port = abc is not a port number" in text_of(finding)


def windows_facts(**kw):
    facts = {"platform": "windows", "commandline_split": True, "port": 7860, "source": "--port", "pinned": True,
             "nowebui": False, "address": "127.0.0.1", "address_source": "default",
             "bind": {"ok": False, "errno": 10013,
                      "error": "An attempt was made to access a socket in a way forbidden by its access permissions"},
             "holder": None, "next_free": 7901, "excluded_ranges": [[7800, 7899], [50000, 50059]]}
    facts.update(kw)
    return facts


def test_windows_excluded_range_pinned_is_error_with_netsh_advice():
    finding = port_check.judge(windows_facts())
    text = text_of(finding)
    assert finding.status == "error"
    assert "7800-7899" in text and "excludedportrange" in text
    assert "netsh winsock reset" in text and "Python 3.10.6" in text and "Accept failed on a socket" in text
    assert finding.proposals == {"port": 7901}
    assert "--port 7901 to COMMANDLINE_ARGS in webui-user.bat" in text
    # an existing webui.settings.bat (read after webui-user.bat) is where the writer puts it: the advice agrees
    text = text_of(port_check.judge(windows_facts(settings_file="webui.settings.bat")))
    assert "--port 7901 to COMMANDLINE_ARGS in webui.settings.bat" in text


def test_windows_excluded_range_unpinned_is_warning_and_busy_port_names_holder():
    finding = port_check.judge(windows_facts(pinned=False, source="default"))
    assert finding.status == "warn"
    finding = port_check.judge(windows_facts(excluded_ranges=[], bind={"ok": False, "errno": 10048, "error": "in use"},
                                             holder={"pid": 4242, "name": "python.exe"}, next_free=7861))
    text = text_of(finding)
    assert finding.status == "error" and "python.exe (pid 4242)" in text
    assert "netsh winsock reset" in text and finding.proposals == {"port": 7861}
