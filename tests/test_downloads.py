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
    print("black hole run: %.2f s at --timeout 2" % elapsed)
    assert elapsed < 2 + 1, elapsed
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


def test_chinese_report_names_the_mirrors_and_fix_proposes_hf_endpoint_only_through_the_plan(tmp_path):
    with IndexServer() as index:
        env = dl_env(tmp_path, index_conf(index.url()), HF_ENDPOINT="http://127.0.0.1:%d" % free_port())
        check, _ = downloads(tmp_path, env, lang="zh")
    assert check["status"] == "error"
    assert any("清华" in a for a in check["advice"]) or "HF_ENDPOINT" in " ".join(check["advice"])
    assert "hf-mirror.com" in " ".join(check["advice"])
