"""proxy check: real proxies (tinyproxy), a tarpit, dead ports, real pip and git configuration; Windows at judge level."""

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import time

import pytest

from conftest import cli_env, make_webui, run_cli, run_json, text_of
from net_servers import GitHttpServer, Tarpit, Tinyproxy, free_port, launch_utils_text, make_repo
from sd_doctor.probes import proxies
from sd_doctor.checks import proxy as proxy_check
from sd_doctor.core.context import Context, Options

needs_tinyproxy = pytest.mark.skipif(not (shutil.which("tinyproxy") or os.path.exists("/usr/bin/tinyproxy")),
                                     reason="tinyproxy is not installed")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    root = tmp_path_factory.mktemp("proxysrv")
    make_repo(str(root / "src" / "kdiff"), bare_copy=str(root / "srv" / "kdiff.git"))
    srv = GitHttpServer(str(root / "srv"))
    yield srv
    srv.close()


def webui_for(tmp_path, remote_url):
    """A web UI whose only remote is ``remote_url`` (so the CONNECT probe stays on loopback)."""
    return make_webui(str(tmp_path / "webui"), {"modules/launch_utils.py": launch_utils_text(
        [("K_DIFFUSION", remote_url, "a" * 40, "k-diffusion")])})


def env_with(tmp_path, extra):
    cfg = tmp_path / "gitconfig"
    if not cfg.exists():
        cfg.write_text("")
    base = {"GIT_CONFIG_GLOBAL": str(cfg), "GIT_CONFIG_NOSYSTEM": "1", "python_cmd": sys.executable,
            "PIP_CONFIG_FILE": os.devnull}
    base.update(extra)
    return cli_env(base)


def run_check(webui, env, timeout=3.0, offline=False):
    ctx = Context(webui, Options(timeout=timeout, offline=offline), environ=env)
    start = time.monotonic()
    facts = proxy_check.probe(ctx)
    return facts, proxy_check.judge(facts), time.monotonic() - start


def test_no_proxy_at_all(tmp_path):
    facts, finding, _ = run_check(make_webui(str(tmp_path / "w")), env_with(tmp_path, {}))
    assert finding.status == "ok" and facts["entries"] == []


def test_scheme_problems_in_environment_and_pip(tmp_path):
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nproxy = socks4://127.0.0.1:1080\n")
    port = free_port()
    env = env_with(tmp_path, {"HTTP_PROXY": "127.0.0.1:%d" % port, "PIP_CONFIG_FILE": str(pip_conf)})
    facts, finding, _ = run_check(webui_for(tmp_path, "http://127.0.0.1:9/x.git"), env, timeout=5.0, offline=True)
    assert facts["pip_source"] == "pip config list"  # pip itself answered, as the web UI's Python sees it
    text = text_of(finding)
    assert finding.status == "error"
    assert "HTTP_PROXY (from environment) = 127.0.0.1:%d: \"Proxy URL had no scheme" % port in text
    assert "export HTTP_PROXY=http://127.0.0.1:%d" % port in text
    assert "pip's global.proxy = socks4://127.0.0.1:1080: the socks4:// scheme is not supported" in text
    assert "python -m pip config unset global.proxy" in text


def test_pip_files_are_read_directly_when_pip_cannot_answer(tmp_path):
    """No Python to ask: pip's files and PIP_PROXY are read by the one pip-config reader (probes/pip_config.py),
    the same one the downloads check uses; an empty proxy line is no proxy."""
    pip_conf = tmp_path / "pip.conf"
    pip_conf.write_text("[global]\nproxy = socks4://127.0.0.1:1080\n[install]\nproxy =\n[download]\nindex-url = x\n")
    env = env_with(tmp_path, {"PIP_CONFIG_FILE": str(pip_conf), "PIP_PROXY": "127.0.0.1:3128",
                              "python_cmd": str(tmp_path / "no-such-python")})
    env["PATH"] = str(tmp_path / "empty-bin")
    facts, finding, _ = run_check(make_webui(str(tmp_path / "w")), env, offline=True)
    assert facts["pip_source"] == "files"
    pip = sorted((e["name"], e["parsed"]["value"]) for e in facts["entries"] if e["origin"] == "pip")
    assert pip == [(":env:.proxy", "127.0.0.1:3128"), ("global.proxy", "socks4://127.0.0.1:1080")]
    text = text_of(finding)
    assert "pip's global.proxy = socks4://127.0.0.1:1080: the socks4:// scheme is not supported" in text
    # PIP_PROXY is a variable: the fix is a line for the settings file (pip config cannot set it), exported for pip
    assert "Write it with a scheme: export PIP_PROXY=http://127.0.0.1:3128" in text


def test_dead_proxy_and_git_config(tmp_path):
    dead = free_port()
    (tmp_path / "gitconfig").write_text("[http]\n\tproxy = http://127.0.0.1:%d\n[https]\n\tproxy = http://x:1\n" % dead)
    env = env_with(tmp_path, {"https_proxy": "http://127.0.0.1:%d" % dead})
    facts, finding, elapsed = run_check(webui_for(tmp_path, "http://127.0.0.1:9/x.git"), env)
    text = text_of(finding)
    assert finding.status == "error"
    assert "https_proxy (from environment) = http://127.0.0.1:%d: cannot connect to the proxy: connection refused" % dead \
        in text
    assert "unset https_proxy" in text
    assert "git's http.proxy (global) = http://127.0.0.1:%d: cannot connect" % dead in text
    assert "git config --global --unset http.proxy" in text
    assert "https.proxy (global) = http://x:1 is ignored" in text
    assert len(facts["reach"]) == 1  # the same proxy is probed once


def test_tarpit_proxy_accepts_but_never_answers(tmp_path):
    with Tarpit() as tarpit:
        env = env_with(tmp_path, {"HTTPS_PROXY": "http://127.0.0.1:%d" % tarpit.port,
                                  "NO_PROXY": "localhost,127.0.0.1,::1"})
        facts, finding, elapsed = run_check(webui_for(tmp_path, "https://git.example.invalid/x.git"), env,
                                            timeout=1.5)
        assert tarpit.accepted >= 2  # the TCP probe and the CONNECT attempt
    print("proxy probe against a tarpit with --timeout 1.5: %.2f s" % elapsed)
    assert elapsed < 1.5 + 0.5
    reach = list(facts["reach"].values())[0]
    assert reach["tcp"] == "ok" and reach["targets"][0]["state"] == "timeout"
    assert reach["targets"][0]["target"] == "git.example.invalid:443"
    assert "accepts connections but did not answer a request to reach git.example.invalid:443 within 1.5 s" \
        in text_of(finding)


@needs_tinyproxy
def test_real_proxy_carries_connect_then_fails_when_stopped(tmp_path, server):
    proxy = Tinyproxy(str(tmp_path / "proxy"))
    remote = server.url("kdiff.git")
    target = "127.0.0.1:%d" % server.port
    try:
        env = env_with(tmp_path, {"HTTPS_PROXY": proxy.url, "HTTP_PROXY": proxy.url,
                                  "NO_PROXY": "localhost,::1,example.org"})
        facts, finding, _ = run_check(webui_for(tmp_path, remote), env)
        assert "CONNECT %s" % target in proxy.log_text()
        assert "reached %s through it" % target in text_of(finding)
        assert finding.status == "warn"  # only the NO_PROXY gap
        assert finding.proposals == {"NO_PROXY": "localhost,::1,example.org,127.0.0.1"}
    finally:
        proxy.stop()
    facts, finding, _ = run_check(webui_for(tmp_path, remote), env)
    assert finding.status == "error"
    assert "HTTPS_PROXY (from environment) = %s: cannot connect to the proxy" % proxy.url in text_of(finding)


@needs_tinyproxy
def test_proxy_credentials_are_used_but_never_shown(tmp_path, server):
    proxy = Tinyproxy(str(tmp_path / "proxy"), extra=["BasicAuth sduser s3cr3tpass"])
    try:
        good = "http://sduser:s3cr3tpass@127.0.0.1:%d" % proxy.port
        webui = webui_for(tmp_path, server.url("kdiff.git"))
        env = env_with(tmp_path, {"HTTPS_PROXY": good, "NO_PROXY": "localhost,::1"})
        facts, finding, _ = run_check(webui, env)
        assert finding.status == "warn", text_of(finding)  # the NO_PROXY gap only: the tunnel works
        assert "reached 127.0.0.1:%d through it" % server.port in text_of(finding)
        assert "s3cr3t" not in json.dumps(facts) and "sduser" not in json.dumps(facts)
        assert "http://***@127.0.0.1:%d" % proxy.port in text_of(finding)
        for args in (["--json", "--verbose"], ["--verbose"]):
            proc = run_cli([webui, "--lang", "en", "--timeout", "3"] + args, env=env)
            assert "s3cr3t" not in proc.stdout + proc.stderr and "sduser" not in proc.stdout + proc.stderr
            assert "***@127.0.0.1:%d" % proxy.port in proc.stdout
        # Without the credentials the proxy answers 407: reported as such.
        env = env_with(tmp_path, {"HTTPS_PROXY": proxy.url, "NO_PROXY": "localhost,::1"})
        facts, finding, _ = run_check(webui, env)
        assert finding.status == "error" and "asks for credentials" in text_of(finding)
        assert "407" in text_of(finding)
    finally:
        proxy.stop()


def test_socks_proxy_needs_pysocks(tmp_path):
    port = free_port()
    env = env_with(tmp_path, {"ALL_PROXY": "socks5h://127.0.0.1:%d" % port, "NO_PROXY": "*"})
    facts, finding, _ = run_check(webui_for(tmp_path, "http://127.0.0.1:9/x.git"), env, offline=True)
    has_pysocks = importlib.util.find_spec("socks") is not None  # the same interpreter the check asked
    assert facts["pysocks"] is has_pysocks
    assert ("lacks PySocks" in text_of(finding)) is (not has_pysocks)
    assert finding.status == ("ok" if has_pysocks else "warn")


def test_no_proxy_gap_end_to_end(tmp_path):
    port = free_port()
    webui = webui_for(tmp_path, "http://127.0.0.1:9/x.git")
    env = env_with(tmp_path, {"http_proxy": "http://127.0.0.1:%d" % port, "no_proxy": "intranet.local"})
    proc, doc, checks = run_json([webui, "--offline", "--lang", "en"], env=env)
    c = checks["proxy"]
    assert c["status"] == "warn"
    assert "NO_PROXY does not list localhost, 127.0.0.1, ::1" in c["detail"]
    # The lines --fix writes (formats/sh.py), both spellings: bash keeps them apart.
    lines = ("export NO_PROXY=intranet.local,localhost,127.0.0.1,::1\n"
             "export no_proxy=intranet.local,localhost,127.0.0.1,::1")
    assert any("Put these lines in webui-user.sh:\n" + lines in a for a in c["advice"])
    # The advice, run in bash where the lowercase no_proxy is already set, really makes Python bypass the proxy.
    advice = [a for a in c["advice"] if "export NO_PROXY=" in a][0].split(":\n", 1)[1].replace("\n", " && ")
    check = ("import urllib.request as u, sys; sys.exit(0 if all(u.proxy_bypass_environment(h) for h in "
             "('localhost', '127.0.0.1')) else 1)")
    done = subprocess.run(["bash", "-c", advice + ' && "$0" -c "$1"', sys.executable, check], env=env, timeout=30)
    assert done.returncode == 0


# -- judge level: Windows --------------------------------------------------------------------------------------

def registry_facts(server_value, reach, env_entries=()):
    registry = {"ProxyEnable": 1, "ProxyServer": server_value, "ProxyOverride": "<local>"}
    entries = []
    for name, value in env_entries:
        entries.append({"origin": "env", "name": name, "where": "environment", "parsed": proxies.parse_proxy(value),
                        "reach_id": "p0"})
    active = not env_entries
    for protocol, url in proxies.registry_proxies(registry):
        entry = {"origin": "registry", "name": "ProxyServer", "where": protocol, "active": active,
                 "parsed": proxies.parse_proxy(url, default_scheme="http")}
        if active:
            entry["reach_id"] = "p0"
        entries.append(entry)
    return {"platform": "windows", "offline": False, "timeout": 5.0, "entries": entries, "reach": {"p0": reach},
            "registry": registry, "registry_active": active, "pysocks": False, "python": r"C:\sd\venv\Scripts\python.exe",
            "pip_source": "pip config list", "no_proxy": None,
            "python_proxies": [n for n, _ in env_entries], "targets": ["github.com:443"]}


def test_windows_registry_proxy_dead():
    finding = proxy_check.judge(registry_facts("127.0.0.1:7890", {"tcp": "refused", "detail": "refused"}))
    text = text_of(finding)
    assert finding.status == "error"
    assert "the Windows proxy setting (https) = http://127.0.0.1:7890: cannot connect to the proxy" in text
    assert "Internet Options > Connections > LAN settings" in text
    assert finding.proposals == {"NO_PROXY": "localhost,127.0.0.1,::1", "HTTP_PROXY": "http://127.0.0.1:7890",
                                 "HTTPS_PROXY": "http://127.0.0.1:7890"}
    assert "Put this line in webui-user.bat:\nset NO_PROXY=localhost,127.0.0.1,::1\n" in text
    facts = registry_facts("127.0.0.1:7890", {"tcp": "refused", "detail": "refused"})
    facts["settings_file"] = "webui.settings.bat"  # the file webui.bat reads last, where the writer puts NO_PROXY
    assert "Put this line in webui.settings.bat:\nset NO_PROXY=" in text_of(proxy_check.judge(facts))


def test_windows_registry_socks_only_is_socks4():
    finding = proxy_check.judge(registry_facts("socks=127.0.0.1:1080", {"tcp": "ok", "targets": []}))
    assert "socks4:// scheme is not supported" in text_of(finding)
    assert finding.status == "error"


def test_windows_environment_wins_over_registry_and_cmd_advice():
    facts = registry_facts("http=10.0.0.1:80;https=10.0.0.1:81", {"tcp": "refused"},
                           env_entries=[("HTTP_PROXY", "http://127.0.0.1:3128")])
    facts["no_proxy"] = {"name": "NO_PROXY", "value": "localhost,127.0.0.1,::1", "where": "environment"}
    finding = proxy_check.judge(facts)
    text = text_of(finding)
    assert "not used by Python, because *_proxy environment variables are set" in text
    assert "set HTTP_PROXY=" in text and "unset" not in text
    assert "NO_PROXY" not in finding.proposals


def test_registry_parsing_and_bypass_rules():
    assert proxies.registry_proxies({"ProxyEnable": 0, "ProxyServer": "1.2.3.4:80"}) == []
    assert proxies.registry_proxies({"ProxyEnable": 1, "ProxyServer": "http=1.2.3.4:80;https=1.2.3.4:81"}) == [
        ("http", "http://1.2.3.4:80"), ("https", "http://1.2.3.4:81")]
    assert proxies.bypassed("api.github.com", "localhost,.github.com")
    assert not proxies.bypassed("github.com.evil", "github.com")
    assert proxies.bypassed("::1", "localhost,[::1]")
    assert __import__("sd_doctor.core.redact", fromlist=["x"]).redact("user:pw@host:1") == "***@host:1"
    assert proxies.parse_proxy("http://host:abc")["problem"] == "bad-port"
