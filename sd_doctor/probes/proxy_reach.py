"""Whether a proxy carries a connection: a bounded TCP connect, then HTTP CONNECT or a SOCKS5 handshake to each target.

Network probes are bounded by an absolute deadline (``time.monotonic()`` value): name resolution runs in a daemon
thread because ``getaddrinfo`` has no timeout. Credentials go to the proxy only, never into a result.
"""

import base64
import socket
import threading
import time

from sd_doctor.probes.proxies import SCHEME_RE, host_port_text, parse_proxy


def resolve_bounded(host, port, deadline):
    """getaddrinfo in a daemon thread: ([(family, sockaddr)], None) or ([], 'dns'|'dns-timeout'|error text)."""
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        return [(family, (host, port) if family == socket.AF_INET else (host, port, 0, 0))], None
    except (OSError, ValueError):
        pass
    box = {}

    def work():
        try:
            box["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except Exception as exc:  # gaierror and friends
            box["error"] = str(exc) or exc.__class__.__name__

    thread = threading.Thread(target=work, name="resolve-" + host, daemon=True)
    thread.start()
    thread.join(max(0.0, deadline - time.monotonic()))
    if thread.is_alive():
        return [], "dns-timeout"
    if "error" in box:
        return [], "dns: " + box["error"]
    return [(info[0], info[4]) for info in box.get("infos", [])], None


def open_connection(host, port, deadline):
    """(socket, None) or (None, {'state': 'refused'|'timeout'|'dns'|'error', 'detail': str})."""
    addresses, error = resolve_bounded(host, port, deadline)
    if error:
        return None, {"state": "dns", "detail": error}
    last = {"state": "error", "detail": "no address"}
    for family, sockaddr in addresses:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None, {"state": "timeout", "detail": "no answer within the time limit"}
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.settimeout(remaining)
        try:
            sock.connect(sockaddr)
            return sock, None
        except socket.timeout:
            sock.close()
            last = {"state": "timeout", "detail": "no answer within the time limit"}
        except ConnectionRefusedError as exc:
            sock.close()
            last = {"state": "refused", "detail": exc.strerror or str(exc)}
        except OSError as exc:
            sock.close()
            last = {"state": "error", "detail": exc.strerror or str(exc)}
    return None, last


def _recv_until(sock, marker, deadline, limit=65536):
    data = b""
    while marker not in data and len(data) < limit:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        sock.settimeout(remaining)
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def _recv_exact(sock, n, deadline):
    data = b""
    while len(data) < n:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise socket.timeout()
        sock.settimeout(remaining)
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def _basic_auth(url):
    """The Proxy-Authorization value for a URL's user-info, or None."""
    from urllib.parse import unquote

    match = SCHEME_RE.match(url)
    rest = url[len(match.group(0)):] if match else url
    authority = rest.split("/", 1)[0]
    if "@" not in authority:
        return None, None
    userinfo = authority.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password)


def http_connect(sock, target_host, target_port, url, deadline):
    request = "CONNECT {0} HTTP/1.1\r\nHost: {0}\r\nUser-Agent: sd-doctor\r\n".format(
        host_port_text(target_host, target_port))
    user, password = _basic_auth(url)
    if user is not None:
        token = base64.b64encode(("%s:%s" % (user, password)).encode("utf-8")).decode("ascii")
        request += "Proxy-Authorization: Basic %s\r\n" % token
    sock.sendall((request + "\r\n").encode("latin-1"))
    data = _recv_until(sock, b"\r\n", deadline)
    if not data:
        return {"state": "closed", "detail": "Remote end closed connection without response"}
    line = data.split(b"\r\n", 1)[0].decode("latin-1", "replace").strip()
    parts = line.split(None, 2)
    status = int(parts[1]) if len(parts) >= 2 and parts[1].isdigit() else None
    if status is None:
        return {"state": "bad-answer", "line": line[:200]}
    if 200 <= status < 300:
        return {"state": "ok", "status": status, "line": line[:200]}
    if status == 407:
        return {"state": "auth", "status": status, "line": line[:200]}
    return {"state": "rejected", "status": status, "line": line[:200]}


_SOCKS5_REPLIES = {1: "general SOCKS server failure", 2: "connection not allowed by ruleset", 3: "network unreachable",
                   4: "host unreachable", 5: "connection refused", 6: "TTL expired", 7: "command not supported",
                   8: "address type not supported"}


def _socks5_connect(sock, target_host, target_port, url, deadline):
    user, password = _basic_auth(url)
    methods = b"\x00" + (b"\x02" if user is not None else b"")
    sock.sendall(b"\x05" + bytes([len(methods)]) + methods)
    answer = _recv_exact(sock, 2, deadline)
    if len(answer) < 2:
        return {"state": "closed", "detail": "Remote end closed connection without response"}
    if answer[0] != 5:
        return {"state": "bad-answer", "line": "not a SOCKS5 server"}
    if answer[1] == 2 and user is not None:
        u, p = user.encode("utf-8")[:255], password.encode("utf-8")[:255]
        sock.sendall(b"\x01" + bytes([len(u)]) + u + bytes([len(p)]) + p)
        auth = _recv_exact(sock, 2, deadline)
        if len(auth) < 2 or auth[1] != 0:
            return {"state": "auth", "line": "SOCKS5 authentication failed"}
    elif answer[1] != 0:
        return {"state": "auth", "line": "SOCKS5 server asks for a method we did not offer (credentials?)"}
    name = target_host.encode("idna")[:255]
    sock.sendall(b"\x05\x01\x00\x03" + bytes([len(name)]) + name + target_port.to_bytes(2, "big"))
    reply = _recv_exact(sock, 2, deadline)
    if len(reply) < 2:
        return {"state": "closed", "detail": "Remote end closed connection without response"}
    if reply[1] == 0:
        return {"state": "ok", "line": "SOCKS5 CONNECT succeeded"}
    return {"state": "rejected", "line": "SOCKS5: " + _SOCKS5_REPLIES.get(reply[1], "error %d" % reply[1])}


def probe_proxy(url, targets, deadline):
    """Connect to a proxy, then ask it to CONNECT to each (host, port) target. Plain data, never raises.

    {'tcp': 'ok'|'refused'|'timeout'|'dns'|'error', 'detail': str, 'targets': [{'target': 'host:port',
    'state': 'ok'|'timeout'|'closed'|'auth'|'rejected'|'bad-answer'|'error'|'not-tested', ...}]}
    """
    parsed = parse_proxy(url, default_scheme="http")
    scheme = parsed["scheme"] or "http"
    result = {"tcp": None, "targets": []}
    if parsed["problem"] in ("bad-host", "bad-port"):
        result["tcp"] = "not-tested"
        return result
    sock, error = open_connection(parsed["host"], parsed["port"], deadline)
    if error:
        result["tcp"] = error["state"]
        result["detail"] = error.get("detail")
        return result
    result["tcp"] = "ok"
    sock.close()
    if scheme not in ("http", "https", "socks5", "socks5h") or not targets:
        return result
    from concurrent.futures import ThreadPoolExecutor

    def one(target):
        host, port = target
        entry = {"target": host_port_text(host, port)}
        conn, err = open_connection(parsed["host"], parsed["port"], deadline)
        if err:
            entry.update(state=err["state"], detail=err.get("detail"))
            return entry
        try:
            if scheme == "https":
                import ssl

                context = ssl.create_default_context()
                conn.settimeout(max(0.05, deadline - time.monotonic()))
                conn = context.wrap_socket(conn, server_hostname=parsed["host"])
            if scheme.startswith("socks5"):
                entry.update(_socks5_connect(conn, host, port, url, deadline))
            else:
                entry.update(http_connect(conn, host, port, url, deadline))
        except socket.timeout:
            entry.update(state="timeout", detail="no answer within the time limit")
        except (OSError, ValueError) as exc:
            entry.update(state="error", detail=str(exc) or exc.__class__.__name__)
        finally:
            try:
                conn.close()
            except OSError:
                pass
        return entry

    pool = ThreadPoolExecutor(max_workers=min(4, len(targets)))
    try:
        result["targets"] = list(pool.map(one, targets))
    finally:
        pool.shutdown(wait=False)
    return result
