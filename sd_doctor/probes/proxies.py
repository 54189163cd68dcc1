"""Proxies: where they come from, what they say, and whether they carry a connection (webui-facts.md §5).

Everything here returns plain data. Credentials never leave this module in clear: ``core.redact.redact`` replaces the
user-info part by ``***`` before a value becomes a fact. Network probes are bounded by an absolute deadline
(``time.monotonic()`` value): name resolution runs in a daemon thread because ``getaddrinfo`` has no timeout.
"""

import base64
import re
import socket
import threading
import time

from sd_doctor.core.redact import redact as redact_value

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")
NO_PROXY_VARS = ("no_proxy",)
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")

# Schemes the web UI's Python stack (requests/urllib3, httpx) accepts; socks5 needs PySocks for requests.
SUPPORTED_SCHEMES = ("http", "https", "socks5", "socks5h")
SOCKS_SCHEMES = ("socks5", "socks5h")
# Schemes curl (and so git) accepts.
CURL_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")

_SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_DEFAULT_PORTS = {"http": 80, "https": 443, "socks5": 1080, "socks5h": 1080, "socks4": 1080, "socks4a": 1080,
                  "socks": 1080}


def parse_proxy(value, default_scheme=None):
    """Pieces of a proxy URL.

    Returns {'value': redacted, 'scheme': str|None, 'host': str|None, 'port': int|None, 'credentials': bool,
    'problem': None|'no-scheme'|'bad-host'|'bad-port', 'fixed': redacted corrected URL or None}. ``default_scheme``
    is what the consumer assumes when the value has none (curl and Windows assume http).
    """
    value = (value or "").strip()
    facts = {"value": redact_value(value), "scheme": None, "host": None, "port": None, "credentials": False,
             "problem": None, "fixed": None}
    match = _SCHEME_RE.match(value)
    if match:
        scheme = match.group(1).lower()
        rest = value[len(match.group(0)):]
    else:
        scheme = None
        rest = value
    if "@" in rest:  # the user-info runs to the last '@' (a password may hold '/', ':' or '@')
        facts["credentials"] = True
        rest = rest.rsplit("@", 1)[1]
    authority = rest.split("/", 1)[0]
    host, port_text = _split_host_port(authority)
    facts["scheme"] = scheme
    if scheme is None:
        facts["problem"] = "no-scheme"
        fixed = "http://" + authority
        facts["fixed"] = fixed if (host and _valid_port(port_text)) else None
        scheme = default_scheme
    if not host or not _valid_host(host):
        facts["problem"] = facts["problem"] or "bad-host"
        facts["host"] = host or None
        return facts
    facts["host"] = host
    if port_text is None or port_text == "":
        facts["port"] = _DEFAULT_PORTS.get(scheme or "http", 80)
        facts["port_defaulted"] = True
    elif _valid_port(port_text):
        facts["port"] = int(port_text)
    else:
        facts["problem"] = facts["problem"] or "bad-port"
        facts["port_text"] = port_text
    return facts


def _split_host_port(authority):
    if authority.startswith("["):
        end = authority.find("]")
        if end < 0:
            return None, None
        host = authority[1:end]
        rest = authority[end + 1:]
        return host, (rest[1:] if rest.startswith(":") else (None if not rest else rest))
    if authority.count(":") > 1:  # a bare IPv6 address without brackets: cannot tell the port apart
        return authority, None
    if ":" in authority:
        host, port = authority.split(":", 1)
        return host, port
    return authority, None


def _valid_port(text):
    if text is None:
        return True
    return text.isdigit() and 0 < int(text) < 65536


_HOST_RE = re.compile(r"^[A-Za-z0-9_.-]+$")


def _valid_host(host):
    if ":" in host:  # IPv6 literal
        try:
            socket.inet_pton(socket.AF_INET6, host)
            return True
        except (OSError, ValueError, AttributeError):
            return False
    return bool(_HOST_RE.match(host)) and not host.startswith(".") and ".." not in host


def host_port_text(host, port):
    return "[%s]:%s" % (host, port) if host and ":" in host else "%s:%s" % (host, port)


# -- where the proxies come from -------------------------------------------------------------------------------

def lookup(variables, name, windows):
    """A variable's value the way the consumer's getenv sees it: case-insensitive on Windows."""
    if windows:
        for key, value in variables.items():
            if key.upper() == name.upper():
                return key, value
        return None, None
    if name in variables:
        return name, variables[name]
    return None, None


def python_no_proxy(variables, windows):
    """(variable name, value) of the no_proxy list Python's urllib/httpx read (lowercase wins on POSIX)."""
    for name in ("no_proxy", "NO_PROXY"):
        key, value = lookup(variables, name, windows)
        if value:
            return key, value
    return None, None


def env_proxy_names(variables):
    """Names of every *_proxy variable with a value (Python's getproxies_environment reads all of them)."""
    return sorted(k for k, v in variables.items() if v and k.lower().endswith("_proxy") and k.lower() != "no_proxy")


def registry_proxies(registry):
    """What Python's getproxies_registry derives from Internet Settings: [(protocol, url)], or [] when disabled."""
    if not registry or not registry.get("ProxyEnable"):
        return []
    server = str(registry.get("ProxyServer") or "").strip()
    if not server:
        return []
    if "=" not in server and ";" not in server:
        server = "http={0};https={0}".format(server)
    found = {}
    for part in server.split(";"):
        if "=" not in part:
            continue
        protocol, address = part.split("=", 1)
        protocol, address = protocol.strip().lower(), address.strip()
        if not address:
            continue
        if not _SCHEME_RE.match(address):
            if protocol in ("http", "https", "ftp"):
                address = "http://" + address  # Windows' default proxy type is HTTP
            elif protocol == "socks":
                address = "socks://" + address
        found[protocol] = address
    if found.get("socks"):
        # Python uses the SOCKS entry for HTTP(S) when those have none; Windows' default SOCKS type is SOCKS4.
        socks = re.sub(r"^socks://", "socks4://", found["socks"])
        found.setdefault("http", socks)
        found.setdefault("https", socks)
    return [(p, found[p]) for p in ("http", "https") if p in found]


def parse_pip_config_list(text):
    """[(key, value)] of the *.proxy entries in ``pip config list`` output (lines like ``global.proxy='...'``)."""
    found = []
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if not key.lower().endswith(".proxy"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if value:
            found.append((key, value))
    return found


def pip_config_files(platform_name, environ, site_prefix=None):
    """pip's configuration files in the order pip reads them (later wins): [(scope, path)]."""
    import os

    get = environ.get
    files = []
    if platform_name == "windows":
        program_data = get("PROGRAMDATA") or get("ALLUSERSPROFILE") or r"C:\ProgramData"
        files.append(("global", os.path.join(program_data, "pip", "pip.ini")))
        home = get("USERPROFILE") or os.path.expanduser("~")
        files.append(("user", os.path.join(home, "pip", "pip.ini")))
        if get("APPDATA"):
            files.append(("user", os.path.join(get("APPDATA"), "pip", "pip.ini")))
        name = "pip.ini"
    else:
        dirs = (get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
        files.extend(("global", os.path.join(d, "pip", "pip.conf")) for d in dirs if d)
        files.append(("global", "/etc/pip.conf"))
        home = get("HOME") or os.path.expanduser("~")
        files.append(("user", os.path.join(home, ".pip", "pip.conf")))
        config_home = get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        if platform_name == "darwin":
            files.append(("user", os.path.join(home, "Library", "Application Support", "pip", "pip.conf")))
        files.append(("user", os.path.join(config_home, "pip", "pip.conf")))
        name = "pip.conf"
    if site_prefix:
        files.append(("site", os.path.join(site_prefix, name)))
    if get("PIP_CONFIG_FILE") and get("PIP_CONFIG_FILE") != os.devnull:
        files.append(("env-file", get("PIP_CONFIG_FILE")))
    return files


def read_pip_config_files(files, environ):
    """[(key, value)] proxies from pip's files read directly, plus PIP_PROXY (used when pip itself cannot run)."""
    import configparser
    import os

    found = {}
    for scope, path in files:
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in parser.sections():
            if parser.has_option(section, "proxy"):
                value = parser.get(section, "proxy").strip()
                if value:
                    found["%s.proxy" % section] = value
    if environ.get("PIP_PROXY"):
        found[":env:.proxy"] = environ["PIP_PROXY"]
    return sorted(found.items())


def parse_git_proxy_config(text):
    """[(scope or None, key, value)] from ``git config [--show-scope] --get-regexp`` output."""
    found = []
    for line in text.splitlines():
        line = line.rstrip("\r")
        if not line.strip():
            continue
        scope = None
        if "\t" in line:
            scope, line = line.split("\t", 1)
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[1].strip():
            found.append((scope, parts[0], parts[1].strip()))
    return found


# -- which proxy a URL goes through -----------------------------------------------------------------------------

def bypassed(host, no_proxy):
    """Whether ``host`` matches a no_proxy list (curl's and Python's common rules: '*', exact, domain suffix)."""
    if not host or not no_proxy:
        return False
    host = host.strip("[]").lower().rstrip(".")
    for entry in re.split(r"[,\s]+", no_proxy):
        entry = entry.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry = entry.strip("[]").lstrip(".").rstrip(".")
        if ":" in entry and entry.count(":") == 1:
            entry = entry.split(":", 1)[0]  # host:port entries: compare the host
        if host == entry or host.endswith("." + entry):
            return True
    return False


def curl_proxy_for(url, variables, windows, git_proxy=None):
    """The proxy git (curl) uses for ``url``: git's http.proxy, else curl's variables; None when direct."""
    match = _SCHEME_RE.match(url or "")
    scheme = match.group(1).lower() if match else None
    if scheme not in ("http", "https"):
        return None
    host = parse_proxy(url)["host"]
    _, no_proxy = lookup(variables, "no_proxy", windows)
    if not no_proxy:
        _, no_proxy = lookup(variables, "NO_PROXY", windows)
    if bypassed(host, no_proxy):
        return None
    if git_proxy:
        return git_proxy
    names = ["http_proxy"] if scheme == "http" else ["https_proxy", "HTTPS_PROXY"]
    names += ["all_proxy", "ALL_PROXY"]
    for name in names:
        _, value = lookup(variables, name, windows)
        if value:
            return value
    return None


# -- reaching a proxy -------------------------------------------------------------------------------------------

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

    match = _SCHEME_RE.match(url)
    rest = url[len(match.group(0)):] if match else url
    authority = rest.split("/", 1)[0]
    if "@" not in authority:
        return None, None
    userinfo = authority.rsplit("@", 1)[0]
    user, _, password = userinfo.partition(":")
    return unquote(user), unquote(password)


def _http_connect(sock, target_host, target_port, url, deadline):
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
                entry.update(_http_connect(conn, host, port, url, deadline))
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
