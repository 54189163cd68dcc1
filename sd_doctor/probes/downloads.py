"""Where the first start downloads from, and through which proxy and trust store (webui-facts.md §5, §10).

Plain data only. No index host name is written here: pip's index comes from the target interpreter's pip (its
configuration, else the default pip itself reports), the torch index from the settings files or the installed
launcher file, Hugging Face from HF_ENDPOINT or its public endpoint.

pip's own view is asked once, in a child process of the target interpreter (``PIP_FACTS``): its version, its merged
configuration (what ``pip config list`` prints), its default index, its CA bundle, and, for each URL, the proxies its
vendored requests takes from that environment (``get_environ_proxies``: NO_PROXY, the Windows registry and macOS
settings applied by pip's own code). When that child cannot answer, the same is derived here from the variables.
"""

import json
import re

HF_PUBLIC = "https://huggingface.co"
# The file transformers fetches first on the first start (the CLIP tokenizer, "Can't load tokenizer").
HF_PROBE_PATH = "/openai/clip-vit-large-patch14/resolve/main/tokenizer_config.json"

PIP_FACTS = r'''
import json, sys
out = {"python": list(sys.version_info[:3])}
try:
    import pip
    out["pip"] = pip.__version__
except Exception as exc:
    out["error"] = "pip: %s" % exc
    print(json.dumps(out))
    sys.exit(0)
try:
    from pip._internal.models.index import PyPI
    out["default_index"] = PyPI.simple_url
except Exception as exc:
    out["default_index_error"] = str(exc)
try:
    from pip._internal.configuration import Configuration
    conf = Configuration(isolated=False)
    conf.load()
    out["config"] = [[k, v] for k, v in conf.items()]
except Exception as exc:
    out["config_error"] = str(exc)
try:
    from pip._vendor import certifi
    out["certifi"] = certifi.where()
except Exception:
    pass
for name in ("pip._vendor.truststore", "truststore"):
    try:
        __import__(name)
        out.setdefault("truststore_modules", []).append(name)
    except Exception:
        pass
try:
    from pip._vendor import requests
    from pip._vendor.requests.utils import get_environ_proxies
    out["requests"] = requests.__version__
    urls = json.loads(sys.argv[1])
    for key, value in out.get("config") or []:
        if key.split(".")[-1] in ("index-url", "extra-index-url"):
            urls.extend(value.split())
    if out.get("default_index"):
        urls.append(out["default_index"])
    out["env_proxies"] = dict((u, get_environ_proxies(u)) for u in urls)
except Exception as exc:
    out["proxies_error"] = str(exc)
print(json.dumps(out))
'''


def pip_env(variables):
    env = dict(variables)
    env.update(PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1", PYTHONIOENCODING="utf-8")
    return env


def ask_pip(python, urls, variables, timeout):
    """PIP_FACTS run by ``python`` with the launcher's variables; {'error': why} when it cannot answer."""
    from sd_doctor.host.procs import run_bounded

    if not python:
        return {"error": "no interpreter"}
    result = run_bounded([python, "-c", PIP_FACTS, json.dumps(list(urls))], timeout, env=pip_env(variables))
    if result.timed_out:
        return {"error": "timed out"}
    if not result.ok:
        return {"error": (result.error or result.stderr.strip()[-300:] or "exit code %s" % result.returncode)}
    try:
        return json.loads(result.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        return {"error": "unreadable answer"}


def setting(config, name, command="install"):
    """(value, key) of one pip option as ``pip install`` sees it: :env: > install > global; (None, None)."""
    best = (None, None)
    rank = {"global": 1, command: 2, ":env:": 3}
    best_rank = 0
    for key, value in config or []:
        section, _, option = key.rpartition(".")
        if option == name and rank.get(section, 0) >= best_rank and rank.get(section, 0):
            best, best_rank = (value, key), rank[section]
    return best


def pip_indexes(config, default_index, launcher_index, launcher_source):
    """[{'role', 'url', 'source'}] of the indexes ``run_pip`` uses (the launcher's INDEX_URL wins over pip's)."""
    out = []
    if launcher_index:
        out.append({"role": "pip-index", "url": launcher_index, "source": "INDEX_URL (%s)" % launcher_source})
    else:
        value, key = setting(config, "index-url")
        if value:
            out.append({"role": "pip-index", "url": value, "source": _key_source(key)})
        elif default_index:
            out.append({"role": "pip-index", "url": default_index, "source": "pip default"})
    value, key = setting(config, "extra-index-url")
    for url in (value or "").split():
        out.append({"role": "pip-extra-index", "url": url, "source": _key_source(key)})
    return out


def _key_source(key):
    if key.startswith(":env:."):
        return "PIP_" + key[6:].upper().replace("-", "_")
    return "pip config %s" % key


_TORCH_VERSION_RE = re.compile(r"\btorch==([0-9][0-9A-Za-z.+]*)")
_INDEX_OPT_RE = re.compile(r"(?:--extra-index-url|--index-url|-i)[ =](\S+)")


def torch_source(variables, sources, torch_defaults):
    """{'url', 'source', 'version', 'via_pip_index'} of the torch download.

    TORCH_COMMAND (settings or environment) wins; else the launcher's default command with TORCH_INDEX_URL or the
    default index of the installed launch_utils.py / launch.py (the launcher model's ``torch`` facts).
    """
    import os

    from sd_doctor.probes.torch_build import default_index_url

    command = variables.get("TORCH_COMMAND")
    if command:
        urls = _INDEX_OPT_RE.findall(command)
        version = _TORCH_VERSION_RE.search(command)
        return {"url": urls[-1] if urls else None, "source": "TORCH_COMMAND (%s)" % sources.get("TORCH_COMMAND", "?"),
                "version": version.group(1) if version else None, "via_pip_index": not urls}
    torch_defaults = torch_defaults or {}
    version = torch_defaults.get("pin")
    if variables.get("TORCH_INDEX_URL"):
        return {"url": variables["TORCH_INDEX_URL"], "source": "TORCH_INDEX_URL (%s)" % sources.get(
            "TORCH_INDEX_URL", "?"), "version": version, "via_pip_index": False}
    file_name = os.path.basename(torch_defaults.get("file") or "") or None
    return {"url": default_index_url(torch_defaults), "source": file_name, "version": version, "via_pip_index": False}


def hf_endpoint(variables, sources):
    value = (variables.get("HF_ENDPOINT") or "").strip()
    if value:
        return {"role": "hf", "url": value.rstrip("/"), "source": "HF_ENDPOINT (%s)" % sources.get("HF_ENDPOINT", "?")}
    return {"role": "hf", "url": HF_PUBLIC, "source": "public endpoint"}


# -- which proxy -------------------------------------------------------------------------------------------------

def env_proxies_here(url, variables, windows, registry):
    """What requests' get_environ_proxies returns for ``url`` in that environment, derived without pip's code.

    getproxies_environment (lowercase names win on POSIX, any case on Windows), else the Windows registry; {} when
    NO_PROXY (requests' suffix rule, then urllib's) bypasses the host.
    """
    from urllib.parse import urlparse

    from sd_doctor.probes import proxies as px

    found = {}
    names = sorted(variables, key=lambda n: n != n.upper())  # uppercase first, lowercase overrides on POSIX
    for name in names:
        if name.lower().endswith("_proxy") and variables[name]:
            found[name.lower()[:-6]] = variables[name]
    from_registry = not found and windows
    if from_registry:
        found = dict(px.registry_proxies(registry))
    host = (urlparse(url).hostname or "").lower()
    _, no_proxy = px.python_no_proxy(variables, windows)
    no_proxy = no_proxy or found.get("no") or ""
    if no_proxy.strip() == "*":
        return {}
    for entry in no_proxy.replace(" ", "").split(","):
        if entry and (host.endswith(entry.lower()) or px.bypassed(host, entry)):
            return {}
    if from_registry and registry:
        if _registry_bypass(host, str(registry.get("ProxyOverride") or "")):
            return {}
    return found


def _registry_bypass(host, override):
    """requests' proxy_bypass_registry (what pip applies on Windows): '<local>' is any dot-less name; every other
    entry is a pattern ('*' any run, '?' one character) matched case-blind at the START of the host name, so
    'local' covers localhost and '10.0.0.1' covers 10.0.0.12. (urllib's own version also tries the host's address and
    reverse name; pip's requests does not.)"""
    for pattern in filter(None, override.split(";")):
        if pattern == "<local>" and "." not in host:
            return True
        regex = pattern.replace(".", r"\.").replace("*", r".*").replace("?", r".")
        try:
            if re.match(regex, host, re.I):
                return True
        except re.error:
            continue
    return False


def choose_proxy(url, env_proxies, pip_proxy):
    """The proxy pip uses for ``url``: PipSession passes pip's ``proxy`` for http and https as the request's proxies,
    the environment's fill the other keys (requests' merge_environment_settings), then select_proxy picks."""
    from urllib.parse import urlparse

    merged = {"http": pip_proxy, "https": pip_proxy} if pip_proxy else {}
    for key, value in (env_proxies or {}).items():
        merged.setdefault(key, value)
    parts = urlparse(url)
    host = parts.hostname or ""
    for key in (parts.scheme + "://" + host, parts.scheme, "all://" + host, "all"):
        if merged.get(key):
            return merged[key]
    return None


def verify_setting(variables, config, certifi_path, pip_version, python_version):
    """How the target pip verifies TLS: {'bundle': path or None, 'bundle_from': str, 'truststore': bool}.

    REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE beat pip's ``cert`` (requests reads them per request, over the session's
    value); pip 24.2+ on Python 3.10+ also trusts the system store (truststore) unless legacy-certs is chosen.
    """
    for name in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        if variables.get(name):
            bundle, origin = variables[name], name
            break
    else:
        value, key = setting(config, "cert")
        if value:
            bundle, origin = value, _key_source(key)
        else:
            bundle, origin = certifi_path, "pip's certifi"
    features = (setting(config, "use-feature")[0] or "").split()
    deprecated = (setting(config, "use-deprecated")[0] or "").split()
    pv = _version_tuple(pip_version)
    py_ok = tuple(python_version or (0,))[:2] >= (3, 10)
    truststore = py_ok and (("legacy-certs" not in deprecated and pv >= (24, 2)) or
                            ("truststore" in features and pv >= (22, 2)))
    return {"bundle": bundle, "bundle_from": origin, "truststore": bool(truststore),
            "ssl_cert_file": variables.get("SSL_CERT_FILE")}


def _version_tuple(text):
    parts = []
    for piece in str(text or "").split(".")[:3]:
        digits = re.match(r"\d+", piece)
        parts.append(int(digits.group(0)) if digits else 0)
    return tuple(parts)
