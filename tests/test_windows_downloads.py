"""The downloads check under the Windows tier (issue 10): a proxy set only in the registry (Internet Settings, as the
Windows proxy dialog writes it) applies to the first start's downloads exactly as the Windows Python reads it.

The reference is computed by the bed's Windows CPython 3.10 in the same prefix, right before the doctor runs:
``urllib.request.getproxies()`` (which reads the registry when no *_proxy variable is set), ``proxy_bypass`` for
ProxyOverride, and what pip's HTTP client (requests: ``get_environ_proxies`` + ``select_proxy``) picks for each
endpoint URL. The endpoints are a real web UI's (v1.8) with INDEX_URL / TORCH_INDEX_URL / HF_ENDPOINT set in its
webui-user.bat, pointing at loopback servers; the proxy is the real tinyproxy, whose log shows what went through it.
"""

import json
import os
import subprocess

import pytest

from conftest import copy_corpus

from net_servers import IndexServer, Tinyproxy, free_port, self_signed
from wine import bed as winebed

if winebed.wine_command() is None:
    pytest.skip("Wine is not installed: the Windows tier did not run", allow_module_level=True)

INTERNET_SETTINGS = r"HKCU\Software\Microsoft\Windows\CurrentVersion\Internet Settings"
TIMEOUT = 10

# Run by the Windows Python: what urllib and pip's requests make of the registry for each URL.
PYTHON_VIEW = r'''
import json, sys, urllib.request
from urllib.parse import urlparse
from requests.utils import get_environ_proxies, select_proxy
out = {"getproxies": urllib.request.getproxies(), "endpoints": {}}
for url in json.loads(sys.argv[1]):
    env = get_environ_proxies(url)
    out["endpoints"][url] = {"urllib_bypass": bool(urllib.request.proxy_bypass(urlparse(url).hostname)),
                             "requests": env, "proxy": select_proxy(url, env)}
print(json.dumps(out))
'''


@pytest.fixture(scope="module")
def prefix(tmp_path_factory):
    try:
        bed, _seconds = winebed.build_bed()
    except (winebed.BedError, subprocess.TimeoutExpired, OSError) as exc:
        if os.environ.get("CI"):
            pytest.fail("could not build the Windows bed: %s" % exc)
        pytest.skip("could not build the Windows bed: %s" % exc)
    p = winebed.Prefix(str(tmp_path_factory.mktemp("wine-downloads")), bed)
    try:
        p.create()
        with open(os.path.join(p.folder, "view.py"), "w") as fh:
            fh.write(PYTHON_VIEW)
        yield p
    finally:
        p.destroy()


@pytest.fixture
def servers(tmp_path):
    """tinyproxy, a plain index and a TLS index (self-signed: only its issuer matters here), all on loopback."""
    try:
        proxy = Tinyproxy(str(tmp_path / "tinyproxy"))
    except RuntimeError as exc:
        if os.environ.get("CI"):
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    cert, key = self_signed(str(tmp_path))
    index, tls = IndexServer(), IndexServer(tls=(cert, key))
    try:
        yield proxy, index, tls
    finally:
        proxy.stop()
        index.close()
        tls.close()


def set_registry(prefix, server, override):
    prefix.reg_add(INTERNET_SETTINGS, "ProxyEnable", "REG_DWORD", 1)
    prefix.reg_add(INTERNET_SETTINGS, "ProxyServer", "REG_SZ", server)
    prefix.reg_add(INTERNET_SETTINGS, "ProxyOverride", "REG_SZ", override)


def python_view(prefix, urls):
    result = prefix.python([prefix.win(os.path.join(prefix.folder, "view.py")), json.dumps(urls)])
    assert result.returncode == 0, result
    return json.loads(result.stdout)


def downloads_run(prefix, folder, variables):
    """A real v1.8 web UI whose webui-user.bat sets ``variables``; the doctor's downloads check on it, under Wine."""
    webui = copy_corpus("a1111-2024-02-26-v1.8", prefix.unix(folder))
    path = os.path.join(webui, "webui-user.bat")
    with open(path, "rb") as fh:
        text = fh.read().decode("ascii")
    lines = "".join("set %s=%s\r\n" % item for item in sorted(variables.items()))
    with open(path, "wb") as fh:
        fh.write(text.replace("call webui.bat", lines + "\r\ncall webui.bat").encode("ascii"))
    result = prefix.doctor([folder, "--json", "--verbose", "--check", "downloads", "--timeout", str(TIMEOUT)])
    assert "Traceback" not in result.stdout + result.stderr, result
    assert result.returncode in (0, 1), result
    check = json.loads(result.stdout)["checks"][0]
    assert check["id"] == "downloads", check
    return check, result


def endpoint(check, role):
    found = [e for e in check["facts"]["endpoints"] if e["role"] == role]
    assert len(found) == 1, check["facts"]["endpoints"]
    return found[0]


def assert_same_as_python(check, view, urls):
    """Every endpoint goes through exactly the proxy the Windows Python picks for it (None: direct)."""
    seen = {}
    for role, url in urls.items():
        e = endpoint(check, role)
        assert e["url"] == url.rstrip("/"), e
        python = view["endpoints"][url]
        seen[role] = (e["proxy"], python["proxy"])
        assert e["proxy"] == python["proxy"], (role, e, python)
        if python["proxy"] is not None:  # not bypassed: the proxy is getproxies()'s entry for the URL's scheme
            assert python["proxy"] == view["getproxies"][url.split(":", 1)[0]], (role, view)
        # The doctor derived it itself (no pip in this Python): the registry reading is the doctor's own code.
        assert e["proxy_from"] == "doctor", e
    print("proxy per endpoint (doctor, Windows Python): %s; getproxies() = %s" % (seen, view["getproxies"]))


def test_registry_proxy_in_the_plain_form_and_local_override(prefix, servers):
    """``host:port`` serves every scheme (getproxies gives http://host:port for https too); ``<local>`` bypasses
    dot-less names such as localhost."""
    proxy, index, tls = servers
    urls = {"pip-index": index.url("/simple"), "torch-index": "http://localhost:%d/whl" % index.port,
            "hf": tls.url("/")}
    set_registry(prefix, "127.0.0.1:%d" % proxy.port, "<local>")
    view = python_view(prefix, list(urls.values()))
    check, _ = downloads_run(prefix, r"C:\sd\webui-plain", {
        "INDEX_URL": urls["pip-index"], "TORCH_INDEX_URL": urls["torch-index"], "HF_ENDPOINT": urls["hf"]})

    assert view["getproxies"] == dict((s, proxy.url) for s in ("http", "https", "ftp")), view
    assert_same_as_python(check, view, urls)
    for role, url in urls.items():  # urllib's proxy_bypass and pip's requests agree on these hosts
        assert view["endpoints"][url]["urllib_bypass"] is (view["endpoints"][url]["proxy"] is None), (role, view)
    assert endpoint(check, "pip-index")["proxy"] == proxy.url
    assert endpoint(check, "torch-index")["proxy"] is None
    assert endpoint(check, "hf")["proxy"] == proxy.url

    # What really went through the proxy: the index page and the HTTPS tunnel, not the bypassed torch index.
    log = proxy.log_text()
    assert "127.0.0.1:%d/simple/pip/" % index.port in log, log
    assert "CONNECT 127.0.0.1:%d" % tls.port in log, log
    assert "/whl/torch/" not in log and "/whl/torch/" in index.requests, (log, index.requests)
    assert endpoint(check, "pip-index")["result"]["state"] == "ok"
    hf = endpoint(check, "hf")["result"]
    assert hf["state"] == "tls-rejected" and "sd-doctor test interceptor" in hf["issuer"], hf  # seen through the tunnel


def test_registry_proxy_per_scheme_and_a_prefix_override(prefix, servers):
    """``http=...;https=...``: each scheme its own proxy (here https's refuses, so Hugging Face is a proxy error).
    ProxyOverride ``local`` is no glob: Python matches an entry at the start of the host name, so localhost is
    bypassed."""
    proxy, index, _tls = servers
    refused = free_port()
    urls = {"pip-index": index.url("/simple"), "torch-index": "http://localhost:%d/whl" % index.port,
            "hf": "https://127.0.0.1:%d" % free_port()}
    set_registry(prefix, "http=127.0.0.1:%d;https=127.0.0.1:%d" % (proxy.port, refused), "*.corp.invalid;local")
    view = python_view(prefix, list(urls.values()))
    check, result = downloads_run(prefix, r"C:\sd\webui-scheme", {
        "INDEX_URL": urls["pip-index"], "TORCH_INDEX_URL": urls["torch-index"], "HF_ENDPOINT": urls["hf"]})

    assert view["getproxies"] == {"http": proxy.url, "https": "http://127.0.0.1:%d" % refused}, view
    assert_same_as_python(check, view, urls)
    # urllib's own proxy_bypass also tries the reverse name of 127.0.0.1 (localhost); pip's requests does not, and
    # pip is what downloads: the doctor follows requests there. Both bypass localhost itself.
    assert view["endpoints"][urls["torch-index"]]["urllib_bypass"] is True, view
    assert endpoint(check, "pip-index")["proxy"] == proxy.url
    assert endpoint(check, "torch-index")["proxy"] is None
    assert endpoint(check, "hf")["proxy"] == "http://127.0.0.1:%d" % refused

    log = proxy.log_text()
    assert "127.0.0.1:%d/simple/pip/" % index.port in log, log
    assert "/whl/torch/" not in log and "/whl/torch/" in index.requests, (log, index.requests)
    assert endpoint(check, "hf")["result"]["state"] == "proxy", endpoint(check, "hf")
    assert check["status"] == "error" and "Cannot connect to proxy" in check["detail"], check
    assert "127.0.0.1:%d" % refused in check["detail"], check["detail"]
    assert check["elapsed_s"] < TIMEOUT + 1, check["elapsed_s"]


@pytest.mark.parametrize("shape", ["disabled", "socks"])
def test_registry_proxy_switched_off_or_socks_only(prefix, servers, shape):
    """ProxyEnable=0 with a ProxyServer still there: no proxy at all (nothing reaches tinyproxy). ``socks=host:port``
    alone: Python uses it for http and https as SOCKS4 (Windows' default SOCKS type)."""
    proxy, index, _tls = servers
    urls = {"pip-index": index.url("/simple"), "torch-index": "http://localhost:%d/whl" % index.port,
            "hf": index.url()}  # every endpoint on loopback: nothing leaves the machine
    if shape == "disabled":
        set_registry(prefix, "127.0.0.1:%d" % proxy.port, "")
        prefix.reg_add(INTERNET_SETTINGS, "ProxyEnable", "REG_DWORD", 0)
    else:
        set_registry(prefix, "socks=127.0.0.1:%d" % proxy.port, "<local>")
    view = python_view(prefix, list(urls.values()))
    check, _ = downloads_run(prefix, r"C:\sd\webui-%s" % shape, {
        "INDEX_URL": urls["pip-index"], "TORCH_INDEX_URL": urls["torch-index"], "HF_ENDPOINT": urls["hf"]})
    assert_same_as_python(check, view, urls)
    if shape == "disabled":
        assert view["getproxies"] == {}, view
        assert endpoint(check, "pip-index")["proxy"] is None and endpoint(check, "pip-index")["result"]["state"] == "ok"
        assert "/simple/pip/" not in proxy.log_text() and "/simple/pip/" in index.requests
    else:
        socks = "socks4://127.0.0.1:%d" % proxy.port
        assert view["getproxies"]["http"] == view["getproxies"]["https"] == socks, view
        assert endpoint(check, "pip-index")["proxy"] == socks and endpoint(check, "torch-index")["proxy"] is None
        # requests without PySocks (pip has none either) cannot use it: the finding says so in pip's words.
        assert endpoint(check, "pip-index")["result"]["state"] == "socks-missing", endpoint(check, "pip-index")
        assert "Missing dependencies for SOCKS support" in check["detail"], check["detail"]
