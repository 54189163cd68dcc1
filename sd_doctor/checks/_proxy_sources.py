"""Where the proxy check's proxies come from: the launcher's variables, the Windows registry, pip (its own answer or
its files) and git's http.proxy; and whether the web UI's Python has PySocks. Each entry is (facts entry, real URL):
the real URL is probed, only the redacted one becomes a fact.
"""

import os
import time

from sd_doctor.core.redact import redact


def python_env(ctx):
    env = dict(ctx.launch["variables"])
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    env["PIP_NO_INPUT"] = "1"
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def pip_proxies(ctx, python, deadline):
    """pip's proxies: ([(key, value)], how): pip's own answer when it comes in time, else pip's files read directly."""
    from sd_doctor.probes import pip_config
    from sd_doctor.host.procs import run_bounded

    if python:
        result = run_bounded([python, "-m", "pip", "config", "list"], max(0.1, deadline - time.monotonic()),
                             env=python_env(ctx))
        if result.ok:
            return pip_config.parse_pip_config_list(result.stdout), "pip config list"
    site = None
    if python:
        folder = os.path.dirname(os.path.dirname(python))
        if os.path.isfile(os.path.join(folder, "pyvenv.cfg")):
            site = folder
    files = pip_config.pip_config_files(ctx.platform, ctx.launch["variables"], site)
    return pip_config.read_pip_proxies(files, ctx.launch["variables"]), "files"


def has_pysocks(ctx, python, deadline):
    from sd_doctor.host.procs import run_bounded

    if not python:
        return None
    result = run_bounded([python, "-c", "import socks"], max(0.1, deadline - time.monotonic()), env=python_env(ctx))
    if result.timed_out or result.error:
        return None
    return result.returncode == 0


def git_proxies(ctx, deadline):
    from sd_doctor.probes import git as gitprobe
    from sd_doctor.probes import proxies
    from sd_doctor.host.procs import run_bounded

    git = gitprobe.find_git(ctx, deadline)
    if not git.get("path") or git.get("error"):
        return []
    env = gitprobe.git_env(ctx)
    cwd = ctx.webui_dir if os.path.isdir(ctx.webui_dir) else None
    pattern = r"^https?\..*proxy$"
    for extra in (["--show-scope"], []):
        result = run_bounded([git["path"], "config"] + extra + ["--get-regexp", pattern],
                             max(0.1, deadline - time.monotonic()), env=env, cwd=cwd)
        if result.returncode == 1 and not result.stderr.strip():
            return []  # nothing configured
        if result.ok:
            return proxies.parse_git_proxy_config(result.stdout)
        if result.timed_out or result.error:
            return []
    return []


def env_entries(variables, sources):
    """The *_proxy variables Python reads, as entries; and their names."""
    from sd_doctor.probes import proxies

    names = [n for n in proxies.env_proxy_names(variables) if n.lower() in proxies.PROXY_VARS]
    entries = [({"origin": "env", "name": n, "where": sources.get(n, "environment")}, variables[n]) for n in names]
    return entries, names


def _shown_registry(registry):
    shown = dict(registry)
    if shown.get("ProxyServer"):
        shown["ProxyServer"] = ";".join(redact(p) if "=" not in p else p.split("=", 1)[0] + "=" + redact(p.split("=", 1)[1])
                                        for p in str(shown["ProxyServer"]).split(";"))
    return shown


def registry_entries(ctx, variables, facts):
    """The Windows Internet Settings proxies as entries; facts['registry'] and facts['registry_active'] set."""
    from sd_doctor.probes import proxies

    try:
        registry = ctx.host.registry_proxy()
    except Exception as exc:  # an unreadable registry is not a reason to drop the other sources
        facts["registry_error"] = "%s: %s" % (exc.__class__.__name__, exc)
        return []
    if not registry:
        return []
    facts["registry"] = _shown_registry(registry)
    derived = proxies.registry_proxies(registry)
    # Python reads the registry only when no *_proxy variable at all is set (no_proxy included).
    facts["registry_active"] = bool(derived) and not any(v for k, v in variables.items() if k.lower().endswith("_proxy"))
    return [({"origin": "registry", "name": "ProxyServer", "where": protocol, "active": facts["registry_active"]}, url)
            for protocol, url in derived]


def safe_result(future, deadline, default):
    try:
        return future.result(timeout=max(0.0, deadline + 0.3 - time.monotonic()))
    except Exception:
        return default
