"""git as the web UI's launcher uses it: which git, which remotes, and bounded probes of them (webui-facts.md §1, §5).

Every git process runs through ``run_bounded`` with credential prompts disabled (no terminal prompt, no askpass
program, no credential helper, ssh in batch mode), with English messages so they can be classified, and with the
launcher's own variables so it meets the same proxies. Remote probes are ``git ls-remote``; local probes never
reach the network.
"""

import os
import re
import time

from sd_doctor.host.procs import run_bounded
from sd_doctor.core.redact import redact

_DUBIOUS = ("detected dubious ownership", "unsafe repository")


def is_dubious(text):
    low = (text or "").lower()
    return any(marker in low for marker in _DUBIOUS)


def git_command(launch):
    """(command, source): GIT from the settings files / environment (webui-facts.md §1), else 'git'."""
    value = (launch["variables"].get("GIT") or "").strip().strip('"')
    if value:
        return value, launch["source"].get("GIT", "environment")
    return "git", "default"


def find_git(ctx, deadline):
    """{'command', 'source', 'path', 'version', 'error'}; computed once per run."""
    def compute():
        from sd_doctor.probes.interpreters import split_path, which_all

        command, source = git_command(ctx.launch)
        facts = {"command": command, "source": source, "path": None, "version": None, "error": None}
        if os.sep in command or "/" in command or "\\" in command:
            path = command if os.path.isfile(command) else None
        else:
            entries = split_path(ctx.launch["variables"].get("PATH", ctx.environ.get("PATH", "")), ctx.host.path_sep)
            matches = which_all(command, entries, ctx.host.executable_names)
            path = matches[0] if matches else None
        if path is None:
            facts["error"] = "not found"
            return facts
        facts["path"] = path
        result = run_bounded([path, "--version"], max(0.2, min(3.0, deadline - time.monotonic())),
                             env=git_env(ctx))
        if result.ok:
            match = re.search(r"git version (\S+)", result.stdout)
            facts["version"] = match.group(1) if match else result.stdout.strip()[:80]
        else:
            facts["error"] = result.error or ("timed out" if result.timed_out else
                                              (result.stderr.strip() or "exit code %s" % result.returncode)[:200])
        return facts

    return ctx.cached("gitprobe.git", compute)


def git_env(ctx, timeout=None):
    """The launcher's variables (so git meets the same proxies and config) with every interactive path closed."""
    env = dict(ctx.launch["variables"])
    if ctx.platform == "windows":
        env.setdefault("SYSTEMROOT", ctx.environ.get("SYSTEMROOT", "C:\\Windows"))
    env["GIT_TERMINAL_PROMPT"] = "0"
    env["GIT_ASKPASS"] = "echo"
    env["SSH_ASKPASS"] = "echo"
    env["SSH_ASKPASS_REQUIRE"] = "never"
    env["GCM_INTERACTIVE"] = "never"
    env["GIT_OPTIONAL_LOCKS"] = "0"
    env["LC_ALL"] = "C"  # English messages: they are matched below
    env["LANGUAGE"] = "C"
    if not env.get("GIT_SSH_COMMAND") and not env.get("GIT_SSH"):
        env["GIT_SSH_COMMAND"] = "ssh -o BatchMode=yes -o ConnectTimeout=%d" % max(1, int(timeout or ctx.timeout))
    return env


# -- remotes -----------------------------------------------------------------------------------------------------

def read_origin(webui_dir):
    """remote.origin.url from the checkout's .git/config (read as text: no git, no ownership check), or None."""
    dot_git = os.path.join(webui_dir, ".git")
    config = os.path.join(dot_git, "config")
    if os.path.isfile(dot_git):  # a worktree or submodule: "gitdir: <path>"
        try:
            with _open_text(dot_git) as fh:
                line = fh.read().strip()
            if line.startswith("gitdir:"):
                gitdir = line[len("gitdir:"):].strip()
                config = os.path.join(webui_dir, gitdir, "config") if not os.path.isabs(gitdir) else \
                    os.path.join(gitdir, "config")
        except OSError:
            return None
    try:
        with _open_text(config) as fh:
            text = fh.read(1 << 20)  # a config is a few KB; never read a huge file whole
    except OSError:
        return None
    section = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("["):
            section = re.sub(r"\s+", " ", line.strip("[]").strip()).lower()
            continue
        if section == 'remote "origin"' and "=" in line:
            key, value = line.split("=", 1)
            if key.strip().lower() == "url":
                return value.strip().strip('"')
    return None


def remotes(ctx):
    """{'launch_utils': file the repositories were read from or None, 'origin': url or None, 'repos': [...]} with
    real URLs (not for facts): the repositories the launcher model says are really cloned."""
    def compute():
        model = ctx.launcher
        repos = [r for r in (model.repositories or []) if r.get("url")]
        source = model.launch_file if model.repositories is not None else None
        return {"launch_utils": source, "origin": read_origin(ctx.webui_dir), "repos": repos}

    return ctx.cached("gitprobe.remotes", compute)


def url_host_port(url):
    """(host, port) of an http(s) URL, or None."""
    from sd_doctor.probes.proxies import parse_proxy

    match = re.match(r"^(https?)://", url or "", re.I)
    if not match:
        return None
    parsed = parse_proxy(url)
    if not parsed["host"] or parsed["problem"]:
        return None
    port = parsed["port"] if not parsed.get("port_defaulted") else (443 if match.group(1).lower() == "https" else 80)
    return parsed["host"], port


def remote_targets(ctx, limit=3):
    """Distinct (host, port) of the http(s) remotes the install will reach, origin first."""
    info = remotes(ctx)
    urls = ([info["origin"]] if info["origin"] else []) + [r["url"] for r in info["repos"] if r.get("url")]
    targets = []
    for url in urls:
        hp = url_host_port(url)
        if hp and hp not in targets:
            targets.append(hp)
    return targets[:limit]


_STATES = (
    ("proxy-dns", ("could not resolve proxy",)),
    ("proxy-auth", ("http code 407", "407 proxy authentication", "proxy authentication required")),
    ("proxy", ("proxy connect aborted", "from proxy after connect", "unsupported proxy")),
    ("dns", ("could not resolve host", "could not resolve hostname", "name or service not known",
             "temporary failure in name resolution", "nodename nor servname", "no such host")),
    ("refused", ("connection refused", "couldn't connect to server", "failed to connect", "connection reset",
                 "network is unreachable", "no route to host", "empty reply from server", "recv failure")),
    ("timeout", ("timed out", "timeout")),
    ("gone", ("repository not found", "not found", "returned error: 404", "returned error: 403",
              "returned error: 401", "does not appear to be a git repository", "authentication failed",
              "could not read username", "could not read password", "terminal prompts disabled",
              "permission denied (publickey)", "does not exist")),
)


def _fatal_line(text):
    lines = [l.strip() for l in (text or "").splitlines() if l.strip()]
    for line in lines:
        if line.lower().startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else ""


def classify_remote(result):
    """{'state': 'reachable'|'timeout'|'dns'|'refused'|'gone'|'proxy'|'proxy-dns'|'proxy-auth'|'error', 'detail'}."""
    if result.error:
        return {"state": "error", "detail": result.error}
    if result.timed_out:
        return {"state": "timeout", "detail": "no answer within %.1f s" % result.elapsed}
    if result.returncode == 0:
        return {"state": "reachable"}
    text = (result.stderr or "") + "\n" + (result.stdout or "")
    low = text.lower()
    detail = redact(_fatal_line(text))[:300]
    for state, needles in _STATES:
        if any(n in low for n in needles):
            return {"state": state, "detail": detail}
    return {"state": "error", "detail": detail or "exit code %s" % result.returncode}


def ls_remote(git_path, url, env, deadline, cwd=None):
    remaining = deadline - time.monotonic()
    if remaining <= 0.05:
        return {"state": "timeout", "detail": "no time left"}
    result = run_bounded([git_path, "-c", "credential.helper=", "ls-remote", "-q", url, "HEAD"], remaining,
                         env=env, cwd=cwd)
    out = classify_remote(result)
    out["elapsed_s"] = round(result.elapsed, 3)
    return out


# -- local health ------------------------------------------------------------------------------------------------

def local_health(git_path, folder, env, deadline, commit=None):
    """A clone's local state, without the network.

    {'state': 'missing'|'not-a-clone'|'dubious'|'invalid'|'ok'|'no-commit'|'other-commit'|'timeout', 'head', 'detail'}
    """
    if not os.path.isdir(folder):
        return {"state": "missing"}
    if not os.path.exists(os.path.join(folder, ".git")):
        return {"state": "not-a-clone", "detail": "no .git in the folder"}
    env = dict(env)
    # Never let git walk up into the web UI's own checkout when this folder's .git is broken.
    env["GIT_CEILING_DIRECTORIES"] = os.path.dirname(os.path.abspath(folder))
    remaining = deadline - time.monotonic()
    if remaining <= 0.05:
        return {"state": "timeout", "detail": "no time left"}
    result = run_bounded([git_path, "-C", folder, "rev-parse", "--verify", "-q", "HEAD"], remaining, env=env)
    text = result.stderr + result.stdout
    if result.timed_out:
        return {"state": "timeout", "detail": "git did not answer in time"}
    if is_dubious(text):
        return {"state": "dubious", "detail": _fatal_line(result.stderr)}
    if result.returncode == 1 and not text.strip():
        # A repository without a single commit (unborn HEAD): readable, but holds nothing.
        if commit:
            return {"state": "no-commit", "detail": "fatal: reference is not a tree: %s" % commit}
        return {"state": "ok", "head": None}
    if not result.ok:
        return {"state": "invalid", "detail": (_fatal_line(text) or result.error or "")[:300]}
    head = result.stdout.strip().splitlines()[-1] if result.stdout.strip() else None
    facts = {"state": "ok", "head": head}
    if commit and head and not head.startswith(commit.lower()):
        remaining = deadline - time.monotonic()
        if remaining <= 0.05:
            facts.update(state="timeout", detail="no time left")
            return facts
        check = run_bounded([git_path, "-C", folder, "cat-file", "-e", commit + "^{commit}"], remaining, env=env)
        if check.timed_out:
            facts.update(state="timeout", detail="git did not answer in time")
        elif check.ok:
            facts["state"] = "other-commit"  # the launcher checks the pinned commit out itself
        else:
            facts.update(state="no-commit", detail="fatal: reference is not a tree: %s" % commit)
    return facts


def safe_directory_command(platform_name, path):
    """The exact line that marks a folder safe; git wants forward slashes on Windows too."""
    if platform_name == "windows":
        value = path.replace("\\", "/")
        if " " in value:
            value = '"%s"' % value
    else:
        import shlex

        value = shlex.quote(path)
    return "git config --global --add safe.directory %s" % value


def _open_text(path):
    """A repository file as text, refusing a FIFO or device (``open`` would wait forever on a FIFO)."""
    import io

    from sd_doctor.formats.textfile import open_regular

    return io.TextIOWrapper(open_regular(path), encoding="utf-8", errors="replace")
