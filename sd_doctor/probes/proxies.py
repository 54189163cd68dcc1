"""Proxies: where they come from, what they say, and whether they carry a connection (webui-facts.md §5).

Everything here returns plain data. Credentials never leave this module in clear: ``core.redact.redact`` replaces the
user-info part by ``***`` before a value becomes a fact. Whether a proxy carries a
connection is :mod:`sd_doctor.probes.proxy_reach`; pip's configuration is :mod:`sd_doctor.probes.pip_config`.
"""

import re
import socket

from sd_doctor.core.redact import redact as redact_value

PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy")
NO_PROXY_VARS = ("no_proxy",)
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")

# Schemes the web UI's Python stack (requests/urllib3, httpx) accepts; socks5 needs PySocks for requests.
SUPPORTED_SCHEMES = ("http", "https", "socks5", "socks5h")
SOCKS_SCHEMES = ("socks5", "socks5h")
# Schemes curl (and so git) accepts.
CURL_SCHEMES = ("http", "https", "socks4", "socks4a", "socks5", "socks5h")

SCHEME_RE = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
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
    match = SCHEME_RE.match(value)
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
        if not SCHEME_RE.match(address):
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
    match = SCHEME_RE.match(url or "")
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
