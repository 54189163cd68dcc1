"""The downloads check against real loopback servers: an index, a self-signed HTTPS index, tinyproxy, a proxy that
refuses, a black hole, a server that trickles bytes; endpoints from a real launcher file and a pip config file."""

import os
import re
import sys
import time

import pytest

from conftest import cli_env, copy_corpus, corpus_path, make_webui, run_cli, run_json
from net_servers import IndexServer, Tarpit, Tinyproxy, free_port, self_signed

_TRUST_VARS = ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE", "PIP_CERT", "SSL_CERT_FILE", "SSL_CERT_DIR", "PIP_INDEX_URL",
               "PIP_EXTRA_INDEX_URL", "PIP_PROXY", "HF_ENDPOINT", "INDEX_URL", "TORCH_INDEX_URL", "TORCH_COMMAND",
               "PIP_FIND_LINKS", "PIP_CONFIG_FILE")


def dl_env(tmp_path, pip_conf=None, **extra):
    """The CLI's environment: this interpreter as the web UI's Python, pip reading only the test's config file."""
    env = cli_env()
    for name in _TRUST_VARS:
        env.pop(name, None)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_CONFIG_DIRS=str(home / "xdg"),
               python_cmd=sys.executable)
    conf = tmp_path / "pip.conf"
    conf.write_text(pip_conf or "[global]\n")
    env["PIP_CONFIG_FILE"] = str(conf)
    env.update(extra)
    return env


def downloads(tmp_path, env, timeout="4", lang="en", webui=None):
    webui = webui or str(tmp_path / "webui")
    if not os.path.isdir(webui):
        make_webui(webui)
    start = time.monotonic()
    proc, doc, checks = run_json([webui, "--verbose", "--timeout", timeout, "--lang", lang], env=env)
    return checks["downloads"], time.monotonic() - start


def by_role(check, role):
    return [e for e in check["facts"]["endpoints"] if e["role"] == role]


def index_conf(url):
    return "[global]\nindex-url = %s/simple\n" % url


def test_endpoints_come_from_pip_config_and_the_settings(tmp_path):
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), TORCH_INDEX_URL=index.url("/whl"), HF_ENDPOINT=index.url())
        check, _ = downloads(tmp_path, env)
    assert check["status"] == "ok", check
    pip = by_role(check, "pip-index")[0]
    assert pip["url"] == index.url() + "/simple" and pip["source"] == "pip config global.index-url"
    assert pip["result"]["status"] == 200
    torch = by_role(check, "torch-index")[0]
    assert torch["source"].startswith("TORCH_INDEX_URL") and torch["result"]["wheel"]["filename"] == index.wheel_name
    assert by_role(check, "hf")[0]["source"].startswith("HF_ENDPOINT")
    assert "/simple/pip/" in index.requests and "/whl/torch/" in index.requests


def test_torch_index_default_comes_from_the_real_launch_utils(tmp_path):
    src = corpus_path("a1111-2024-02-26-v1.8")
    webui = str(tmp_path / "webui")
    copy_corpus("a1111-2024-02-26-v1.8", webui)
    with open(os.path.join(src, "modules", "launch_utils.py"), encoding="utf-8") as fh:
        expected = re.search(r"TORCH_INDEX_URL', \"([^\"]+)\"", fh.read()).group(1)
    proc, doc, checks = run_json([webui, "--verbose", "--offline"], env=dl_env(tmp_path))
    check = checks["downloads"]
    assert check["status"] == "skip"
    torch = by_role(check, "torch-index")[0]
    assert torch["url"] == expected and torch["source"] == "launch_utils.py"
    assert check["facts"]["torch"]["version"] == "2.1.2"
    assert by_role(check, "hf")[0]["source"] == "public endpoint"
    # Without any index configured, pip itself names its default (never written into the doctor).
    default = check["facts"]["pip"]["default_index"]
    assert default and by_role(check, "pip-index")[0]["url"] == default


def test_launcher_index_url_wins_over_pip_config(tmp_path):
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), INDEX_URL="http://127.0.0.1:%d/simple" % free_port(),
                     HF_ENDPOINT=index.url())
        check, _ = downloads(tmp_path, env)
    pip = by_role(check, "pip-index")[0]
    assert pip["source"].startswith("INDEX_URL") and pip["result"]["state"] == "unreachable"
    assert check["status"] == "error" and "Failed to establish a new connection" in check["detail"]
    assert by_role(check, "pip-own-index")[0]["result"]["state"] == "ok"


def test_self_signed_certificate_is_predicted_and_pip_cert_trusts_it(tmp_path):
    cert, key = self_signed(str(tmp_path))
    with IndexServer(tls=(cert, key)) as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url())
        check, _ = downloads(tmp_path, env)
        assert check["status"] == "error", check
        pip = by_role(check, "pip-index")[0]
        assert pip["result"]["state"] == "tls-rejected"
        assert "CN=sd-doctor test interceptor" in pip["result"]["issuer"]
        assert "CERTIFICATE_VERIFY_FAILED" in check["detail"] and "sd-doctor test interceptor" in check["detail"]
        assert any("pip config set global.cert" in a for a in check["advice"])
        env["PIP_CERT"] = cert
        trusted, _ = downloads(tmp_path, env)
    assert trusted["status"] == "ok", trusted
    assert trusted["facts"]["verify"]["bundle"] == cert
    assert by_role(trusted, "pip-index")[0]["result"]["status"] == 200


@pytest.fixture
def tinyproxy(tmp_path):
    try:
        proxy = Tinyproxy(str(tmp_path / "tinyproxy"))
    except RuntimeError as exc:
        pytest.skip(str(exc))
    yield proxy
    proxy.stop()


def test_downloads_go_through_tinyproxy(tmp_path, tinyproxy):
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url(), TORCH_INDEX_URL=index.url("/whl"),
                     http_proxy=tinyproxy.url)
        check, _ = downloads(tmp_path, env)
    assert check["status"] == "ok", check
    pip = by_role(check, "pip-index")[0]
    assert pip["proxy"] == tinyproxy.url and "through the proxy" in check["detail"]
    assert "/simple/pip/" in tinyproxy.log_text()


def test_no_proxy_bypass_is_pips(tmp_path, tinyproxy):
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url(), http_proxy=tinyproxy.url,
                     no_proxy="127.0.0.1")
        check, _ = downloads(tmp_path, env)
    assert by_role(check, "pip-index")[0]["proxy"] is None
    assert "/simple/pip/" not in tinyproxy.log_text()


def test_refusing_proxy_is_a_proxy_error(tmp_path):
    refused = "http://user:secret@127.0.0.1:%d" % free_port()
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url(), http_proxy=refused)
        check, elapsed = downloads(tmp_path, env, timeout="2")
    assert by_role(check, "pip-index")[0]["result"]["state"] == "proxy"
    assert "Cannot connect to proxy" in check["detail"] and "***@127.0.0.1" in check["detail"]
    assert "secret" not in str(check)
    assert elapsed < 2 + 1


def test_black_hole_proxy_ends_within_the_timeout(tmp_path):
    with Tarpit() as pit, IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url(), TORCH_INDEX_URL=index.url("/whl"),
                     http_proxy="http://127.0.0.1:%d" % pit.port)
        check, elapsed = downloads(tmp_path, env, timeout="2")
    start = time.monotonic()
    run_cli(["--version"], env=env)
    startup = time.monotonic() - start  # the interpreter's start on this (possibly busy) machine
    print("black hole run: %.2f s at --timeout 2 (startup %.2f s, check %.2f s)" % (elapsed, startup,
                                                                                  check["elapsed_s"]))
    assert check["elapsed_s"] < 2 + 1 and elapsed < 2 + 1 + startup, (elapsed, startup, check["elapsed_s"])
    assert by_role(check, "pip-index")[0]["result"]["state"] == "timeout"
    assert "Read timed out" in check["detail"]


def test_speed_estimate_matches_a_trickling_server(tmp_path):
    rate = 200 * 1000  # bytes per second
    with IndexServer(rate=rate, wheel_size=2 * 1000 ** 3) as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url(), TORCH_INDEX_URL=index.url("/whl"))
        check, _ = downloads(tmp_path, env, timeout="4")
    speed = by_role(check, "torch-index")[0]["result"]["speed"]
    print("speed estimate %.0f B/s against %d B/s" % (speed["rate"], rate))
    assert abs(speed["rate"] - rate) / rate < 0.30, speed
    assert speed["total"] == 2 * 1000 ** 3
    # 2 GB at 200 kB/s is close to three hours: a warning with the mirror remedy.
    assert check["status"] == "warn" and "Slow" in check["detail"] and "kB/s" in check["detail"], check["detail"]
    assert any("TORCH_INDEX_URL" in a for a in check["advice"])


def test_chinese_report_names_the_mirrors_as_choices(tmp_path):
    dead = "http://127.0.0.1:%d" % free_port()
    env = dl_env(tmp_path, index_conf(dead), HF_ENDPOINT=dead)
    check, _ = downloads(tmp_path, env, lang="zh")
    advice = " ".join(check["advice"])
    assert check["status"] == "error" and "无法连接" in check["detail"]
    assert "清华大学 TUNA" in advice and "阿里云" in advice and "hf-mirror.com" in advice
    assert "pip config set global.index-url" in advice


def test_fix_writes_index_url_from_the_plan_and_leaves_pip_config_alone(tmp_path):
    dead = "http://127.0.0.1:%d/simple" % free_port()
    webui = str(tmp_path / "webui")
    make_webui(webui, files={"webui-user.sh": "#!/bin/bash\nexport INDEX_URL=%s\n" % dead})
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT=index.url())
        conf_before = (tmp_path / "pip.conf").read_bytes()
        proc, doc, checks = run_json([webui, "--timeout", "4"], env=env)
        assert doc["settings"]["variables"].get("INDEX_URL") == index.url() + "/simple", doc["settings"]
        fixed = run_cli([webui, "--fix", "--timeout", "4"], env=env)
    assert "INDEX_URL=%s/simple: the downloads check" % index.url() in fixed.stdout, fixed.stdout
    with open(os.path.join(webui, "webui-user.sh")) as fh:
        text = fh.read()
    assert "INDEX_URL=%s/simple" % index.url() in text and dead not in text
    assert (tmp_path / "pip.conf").read_bytes() == conf_before


# -- pure parts: pip's proxy choice, the registry, trust order, the judge's proposals -------------------------------

def test_pip_proxy_wins_for_http_and_https_and_ignores_no_proxy():
    from sd_doctor.probes.downloads import choose_proxy, env_proxies_here

    env = {"https_proxy": "http://env:1", "no_proxy": "127.0.0.1"}
    assert choose_proxy("https://a.example/simple", env_proxies_here("https://a.example/simple", env, False, None),
                        None) == "http://env:1"
    assert choose_proxy("https://a.example/simple", {"https": "http://env:1"}, "http://pip:2") == "http://pip:2"
    bypassed = env_proxies_here("http://127.0.0.1:9/simple", env, False, None)
    assert bypassed == {} and choose_proxy("http://127.0.0.1:9/simple", bypassed, None) is None
    assert choose_proxy("http://127.0.0.1:9/simple", bypassed, "http://pip:2") == "http://pip:2"


def test_windows_registry_proxy_and_its_override_list():
    from sd_doctor.probes.downloads import env_proxies_here

    registry = {"ProxyEnable": 1, "ProxyServer": "10.0.0.1:8080", "ProxyOverride": "*.corp.example;<local>"}
    assert env_proxies_here("https://files.example/x", {}, True, registry)["https"] == "http://10.0.0.1:8080"
    assert env_proxies_here("https://pkgs.corp.example/x", {}, True, registry) == {}
    assert env_proxies_here("http://intranet/x", {}, True, registry) == {}
    # An entry is matched at the start of the name, as pip's requests does (Windows tier: test_windows_downloads).
    prefix = dict(registry, ProxyOverride="local;10.0.0.1")
    assert env_proxies_here("http://localhost:9/x", {}, True, prefix) == {}
    assert env_proxies_here("http://10.0.0.12/x", {}, True, prefix) == {}
    assert env_proxies_here("http://files.local.example/x", {}, True, prefix)["http"] == "http://10.0.0.1:8080"
    # Any *_proxy variable switches the registry off for Python.
    assert env_proxies_here("https://files.example/x", {"HTTP_PROXY": "http://v:1"}, True, registry) == {
        "http": "http://v:1"}


def test_requests_ca_bundle_beats_pip_cert_and_truststore_needs_pip_24_2_on_3_10():
    from sd_doctor.probes.downloads import verify_setting

    config = [[":env:.cert", "/c/pip.pem"]]
    assert verify_setting({}, config, "/certifi.pem", "23.2.1", [3, 10, 6])["bundle"] == "/c/pip.pem"
    v = verify_setting({"REQUESTS_CA_BUNDLE": "/c/req.pem"}, config, "/certifi.pem", "24.2", [3, 10, 6])
    assert v["bundle"] == "/c/req.pem" and v["truststore"] is True
    assert verify_setting({}, [], "/certifi.pem", "24.2", [3, 9, 13])["truststore"] is False
    assert verify_setting({}, [["global.use-deprecated", "legacy-certs"]], None, "25.0", [3, 10, 6])[
        "truststore"] is False


def _facts(hf_state, mirror_state, user_hf=False, platform="windows"):
    def endpoint(role, url, state):
        return {"role": role, "url": url, "source": "s", "proxy": None, "result": {"state": state, "status": 200}}

    return {"platform": platform, "offline": False, "timeout": 2, "lang": "zh", "settings_file": "webui-user.bat",
            "python": "C:\\Python310\\python.exe", "user_hf_endpoint": user_hf, "verify": {}, "pip": {},
            "endpoints": [endpoint("pip-index", "https://idx.example/simple", "ok"),
                          endpoint("hf", "https://hf.example", hf_state),
                          endpoint("hf-mirror", "https://mirror.example", mirror_state)]}


def test_hf_endpoint_is_proposed_only_when_hf_fails_and_the_mirror_answers():
    from sd_doctor.checks.downloads import HF_MIRROR, judge

    f = judge(_facts("timeout", "ok"))
    assert f.status == "error" and f.proposals == {"HF_ENDPOINT": HF_MIRROR}
    assert any("set HF_ENDPOINT=%s" % HF_MIRROR in a.render("zh") for a in f.advice)
    assert judge(_facts("timeout", "timeout")).proposals == {}
    assert judge(_facts("timeout", "ok", user_hf=True)).proposals == {}
    assert judge(_facts("ok", "ok")).proposals == {} and judge(_facts("ok", "ok")).status == "ok"


def test_issuer_is_read_from_der(tmp_path):
    import ssl

    from sd_doctor.probes.fetch import issuer_of

    cert, _ = self_signed(str(tmp_path), name="Corp TLS Inspection CA")
    with open(cert) as fh:
        der = ssl.PEM_cert_to_DER_cert(fh.read())
    assert issuer_of(der) == "CN=Corp TLS Inspection CA, O=sd-doctor tests"
