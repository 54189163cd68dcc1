"""Bounded HTTP(S) requests the way pip makes them: requests (pip's own client), the proxy pip would pick, the CA
bundle pip would trust. Every call runs in a daemon thread joined until an absolute deadline (``time.monotonic()``),
because name resolution and proxies can stall beyond requests' own timeouts. Results are plain data, never raise.
"""

import re
import socket
import threading
import time

from sd_doctor.core.redact import redact

SPEED_BYTES = 4 * 1024 * 1024  # the ranged download stops here


def bounded(work, deadline, default):
    """``work(box)`` in a daemon thread; ``box`` (a dict it fills as it goes) when it ends, else ``default`` updated
    with what ``box`` holds so far (a partial download still tells its speed)."""
    box = {}

    def run():
        try:
            work(box)
        except Exception as exc:  # a probe must never take the check down
            box.setdefault("state", "error")
            box.setdefault("error", redact("%s: %s" % (exc.__class__.__name__, exc)))
        box["done"] = True

    thread = threading.Thread(target=run, name="download-probe", daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if box.get("done"):
        return box
    out = dict(default)
    # The page answered and only the timed download is still running: the endpoint itself is fine.
    keep_state = box.get("state") == "ok" and "speed" in box
    out.update((k, v) for k, v in box.items() if keep_state or k != "state")
    return out


def _system_context(ssl_cert_file):
    import ssl

    context = ssl.create_default_context()
    if ssl_cert_file:
        try:
            context.load_verify_locations(cafile=ssl_cert_file)
        except (OSError, ssl.SSLError):
            pass
    return context


def session(proxy, verify):
    """A requests session that ignores the doctor's own environment and uses exactly this proxy and trust."""
    import requests
    from requests.adapters import HTTPAdapter

    s = requests.Session()
    s.trust_env = False
    s.headers["User-Agent"] = "sd-doctor (pip-like)"
    if proxy:
        s.proxies = {"http": proxy, "https": proxy}
    if verify.get("truststore"):
        context = _system_context(verify.get("ssl_cert_file"))

        class SystemTrust(HTTPAdapter):
            def init_poolmanager(self, *args, **kwargs):
                kwargs["ssl_context"] = context
                return super(SystemTrust, self).init_poolmanager(*args, **kwargs)

            def proxy_manager_for(self, *args, **kwargs):
                kwargs["ssl_context"] = context
                return super(SystemTrust, self).proxy_manager_for(*args, **kwargs)

        s.mount("https://", SystemTrust())
    s.verify = verify.get("bundle") or True
    return s


def classify(exc):
    """(state, the words pip will print) for a requests exception."""
    import requests

    text = redact(str(exc))
    if isinstance(exc, requests.exceptions.ProxyError):
        return "proxy", text
    if isinstance(exc, requests.exceptions.SSLError):
        return ("tls-rejected" if "CERTIFICATE_VERIFY_FAILED" in text or "certificate verify failed" in text
                else "tls-error"), text
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.ReadTimeout)):
        return "timeout", text
    if isinstance(exc, requests.exceptions.InvalidSchema) and "SOCKS" in text:
        return "socks-missing", text
    if isinstance(exc, requests.exceptions.ConnectionError):
        return "unreachable", text
    return "error", "%s: %s" % (exc.__class__.__name__, text)


def get(box, url, proxy, verify, deadline, headers=None, keep_body=0):
    """GET ``url``; fills ``box`` with state ('ok' or a classify() state), status, headers, body (up to keep_body)."""
    box["state"] = "connecting"
    start = time.monotonic()
    s = session(proxy, verify)
    try:
        remaining = max(0.05, deadline - time.monotonic())
        with s.get(url, headers=headers or {}, stream=True, timeout=(remaining, remaining)) as resp:
            box.update(state="ok", status=resp.status_code, seconds=round(time.monotonic() - start, 3),
                       final_url=redact(resp.url), headers=dict((k.lower(), v) for k, v in resp.headers.items()))
            if keep_body:
                body = b""
                for chunk in resp.iter_content(65536):
                    body += chunk
                    if len(body) >= keep_body or time.monotonic() > deadline:
                        break
                box["body"] = body
    except Exception as exc:
        box["state"], box["error"] = classify(exc)
    finally:
        s.close()
    return box


def ranged_download(box, url, proxy, verify, deadline, limit=SPEED_BYTES):
    """Download at most ``limit`` bytes of ``url`` (Range), until the deadline; the rate is counted from the first
    body byte, so connection set-up does not dilute it. Fills 'bytes', 'rate' (bytes/s), 'total' (from
    Content-Range, else Content-Length of a full answer)."""
    box.update(state="connecting", bytes=0)
    s = session(proxy, verify)
    try:
        remaining = max(0.05, deadline - time.monotonic())
        headers = {"Range": "bytes=0-%d" % (limit - 1), "Accept-Encoding": "identity"}
        with s.get(url, headers=headers, stream=True, timeout=(remaining, remaining)) as resp:
            box.update(state="ok", status=resp.status_code)
            match = re.search(r"/(\d+)\s*$", resp.headers.get("Content-Range", ""))
            if match:
                box["total"] = int(match.group(1))
            elif resp.status_code == 200 and resp.headers.get("Content-Length", "").isdigit():
                box["total"] = int(resp.headers["Content-Length"])
            first = None
            for chunk in resp.iter_content(16384):
                now = time.monotonic()
                if first is None:
                    first, box["first_chunk"] = now, len(chunk)
                box["bytes"] += len(chunk)
                if now > first:
                    box["rate"] = (box["bytes"] - box["first_chunk"]) / (now - first)
                box["seconds"] = round(now - first, 3)
                if box["bytes"] >= limit or now >= deadline - 0.05:
                    break
    except Exception as exc:
        box["state"], box["error"] = classify(exc)
    finally:
        s.close()
    return box


def peer_issuer(host, port, proxy, deadline):
    """The issuer (CN / O) of the certificate the server presents, read without verifying (through the proxy's
    CONNECT when there is one); None when it cannot be read."""
    import ssl

    from sd_doctor.probes import proxies as px
    from sd_doctor.probes import proxy_reach

    if proxy:
        parsed = px.parse_proxy(proxy, default_scheme="http")
        if (parsed.get("scheme") or "http") != "http" or parsed.get("problem"):
            return None
        sock, err = proxy_reach.open_connection(parsed["host"], parsed["port"], deadline)
        if err:
            return None
        try:
            answer = proxy_reach.http_connect(sock, host, port, proxy, deadline)
        except (OSError, socket.timeout):
            sock.close()
            return None
        if answer.get("state") != "ok":
            sock.close()
            return None
    else:
        sock, err = proxy_reach.open_connection(host, port, deadline)
        if err:
            return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    try:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        with context.wrap_socket(sock, server_hostname=host) as tls:
            der = tls.getpeercert(binary_form=True)
    except (OSError, ssl.SSLError, socket.timeout, ValueError):
        return None
    finally:
        sock.close()
    return issuer_of(der) if der else None


# -- a few DER bytes: the issuer of an X.509 certificate -----------------------------------------------------------

_OIDS = {b"\x55\x04\x03": "CN", b"\x55\x04\x0a": "O", b"\x55\x04\x0b": "OU"}


def _tlv(data, pos):
    tag = data[pos]
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        n = length & 0x7F
        length = int.from_bytes(data[pos:pos + n], "big")
        pos += n
    return tag, pos, pos + length  # tag, content start, content end


def issuer_of(der):
    """'CN=..., O=...' of a DER certificate's issuer, or None."""
    try:
        _, pos, _ = _tlv(der, 0)  # Certificate
        _, pos, _ = _tlv(der, pos)  # tbsCertificate
        tag, start, end = _tlv(der, pos)
        if tag == 0xA0:  # explicit version
            pos = end
        for _ in range(2):  # serialNumber, signature algorithm
            _, _, pos = _tlv(der, pos)
        _, pos, name_end = _tlv(der, pos)  # issuer Name
        parts = []
        while pos < name_end:
            _, set_start, set_end = _tlv(der, pos)
            _, seq_start, _ = _tlv(der, set_start)
            _, oid_start, oid_end = _tlv(der, seq_start)
            _, val_start, val_end = _tlv(der, oid_end)
            label = _OIDS.get(bytes(der[oid_start:oid_end]))
            if label:
                parts.append("%s=%s" % (label, bytes(der[val_start:val_end]).decode("utf-8", "replace")))
            pos = set_end
        return ", ".join(parts) or None
    except (IndexError, ValueError):
        return None
