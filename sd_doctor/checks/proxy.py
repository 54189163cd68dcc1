"""proxy: every proxy the install will meet, whether it is well formed, and whether it carries a connection
(webui-facts.md §5).

Sources: the launcher's variables (environment + settings files), pip's configuration as the web UI's Python sees
it, git's http.proxy, and on Windows the Internet Settings registry values, which Python reads only when no *_proxy
variable is set. Credentials never appear in facts or messages: URLs are redacted before they are stored.
"""

import time

from sd_doctor.checks import _proxy_sources as sources
from sd_doctor.checks._common import settings_file
from sd_doctor.checks._settings_lines import put_lines, settings_line
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "proxy"
TITLE = T("Proxy", "代理")

DEFAULT_TARGET = ("github.com", 443)


def budget(timeout):
    return max(0.3, timeout - 0.25)


class _Reach(object):
    """Parses entries into the facts and starts probing each distinct proxy at once (the probes run while pip
    starts); ``futures``: [(reach id, future)]."""

    def __init__(self, ctx, facts, pool, targets, deadline):
        self.ctx, self.facts, self.pool, self.targets, self.deadline = ctx, facts, pool, targets, deadline
        self.ids = {}
        self.futures = []

    def add(self, batch):
        from sd_doctor.probes import proxies, proxy_reach

        for entry, url in batch:
            default_scheme = "http" if entry["origin"] in ("git", "registry") else None
            entry["parsed"] = proxies.parse_proxy(url, default_scheme=default_scheme)
            if entry["origin"] == "git" and entry["name"].lower() == "https.proxy":
                entry["ignored"] = True  # git has no https.proxy setting; guides that set it change nothing
            self.facts["entries"].append(entry)
            if entry.get("ignored") or entry["parsed"]["problem"] in ("bad-host", "bad-port"):
                continue
            if entry["origin"] == "registry" and not entry.get("active"):
                continue
            if (entry["parsed"]["scheme"] or "http") not in proxies.CURL_SCHEMES + ("socks",):
                continue
            if url not in self.ids:
                self.ids[url] = "p%d" % len(self.ids)
                if not self.ctx.offline:
                    self.futures.append((self.ids[url], self.pool.submit(proxy_reach.probe_proxy, url, self.targets,
                                                                         self.deadline)))
            entry["reach_id"] = self.ids[url]


def _targets(future, local_end, no_value):
    from sd_doctor.probes import proxies

    all_targets = sources.safe_result(future, local_end - 0.3, [])
    targets = [t for t in all_targets if not proxies.bypassed(t[0], no_value or "")]
    return targets if all_targets else [DEFAULT_TARGET]


def probe(ctx):
    from concurrent.futures import ThreadPoolExecutor

    from sd_doctor.probes import git as gitprobe
    from sd_doctor.probes import proxies
    from sd_doctor.probes.launcher_python import webui_python

    start = time.monotonic()
    deadline = start + budget(ctx.timeout)
    variables, origins = ctx.launch["variables"], ctx.launch["source"]
    facts = {"platform": ctx.platform, "offline": bool(ctx.offline), "timeout": ctx.timeout, "entries": [],
             "reach": {}, "registry": None, "registry_active": False, "pysocks": None, "python": None,
             "pip_source": None, "no_proxy": None, "python_proxies": [], "targets": [],
             "settings_file": settings_file(ctx)}
    python = facts["python"] = webui_python(ctx)
    # pip may take seconds to start on a slow machine: it gets most of the time, the probes of its proxies the rest.
    local_end = start + max(0.2, 0.6 * budget(ctx.timeout))
    pool = ThreadPoolExecutor(max_workers=12)
    try:
        pip_future = pool.submit(sources.pip_proxies, ctx, python, local_end)
        socks_future = pool.submit(sources.has_pysocks, ctx, python, local_end)
        git_future = pool.submit(sources.git_proxies, ctx, local_end)
        targets_future = pool.submit(gitprobe.remote_targets, ctx)
        entries, facts["python_proxies"] = sources.env_entries(variables, origins)
        no_name, no_value = proxies.python_no_proxy(variables, ctx.platform == "windows")
        if no_name:
            facts["no_proxy"] = {"name": no_name, "value": no_value, "where": origins.get(no_name, "environment")}
        entries += sources.registry_entries(ctx, variables, facts)
        reach = _Reach(ctx, facts, pool, _targets(targets_future, local_end, no_value), deadline)
        reach.add(entries)
        git_entries = sources.safe_result(git_future, local_end, [])
        reach.add([({"origin": "git", "name": key, "where": scope or "git"}, value) for scope, key, value in git_entries])
        pip_entries, facts["pip_source"] = sources.safe_result(pip_future, local_end, ([], "timed out"))
        reach.add([({"origin": "pip", "name": key, "where": "pip"}, value) for key, value in pip_entries])
        facts["pysocks"] = sources.safe_result(socks_future, local_end, None)
        if reach.futures:
            facts["targets"] = [proxies.host_port_text(h, p) for h, p in reach.targets]
        for rid, future in reach.futures:
            facts["reach"][rid] = sources.safe_result(future, deadline,
                                                      {"tcp": "timeout", "detail": "no answer within the time limit"})
    finally:
        pool.shutdown(wait=False)
    return facts


# -- judging -----------------------------------------------------------------------------------------------------

def _label(entry):
    origin = entry["origin"]
    if origin == "env":
        where = T("environment", "环境变量") if entry["where"] == "environment" else entry["where"]
        return T("{n} (from {w})", "{n}（来自 {w}）", n=entry["name"], w=where)
    if origin == "pip":
        return T("pip's {n}", "pip 的 {n}", n=entry["name"])
    if origin == "git":
        return T("git's {n} ({w})", "git 的 {n}（{w}）", n=entry["name"], w=entry["where"])
    return T("the Windows proxy setting ({w})", "Windows 代理设置（{w}）", w=entry["where"])


REGISTRY_PATH = T("Windows Settings > Network & Internet > Proxy (or Control Panel > Internet Options > Connections > "
                  "LAN settings)",
                  "Windows 设置 > 网络和 Internet > 代理（或 控制面板 > Internet 选项 > 连接 > 局域网设置）")


def _remove_advice(entry, platform):
    origin, name, where = entry["origin"], entry["name"], entry["where"]
    if origin == "env":
        if where in ("webui-user.bat", "webui.settings.bat", "webui-user.sh"):
            return T("Remove the line that sets {n} from {f}.", "从 {f} 中删除设置 {n} 的那一行。", n=name, f=where)
        if platform == "windows":
            return T("Remove it in this cmd window: set {n}=\n(PowerShell: Remove-Item Env:{n}; if it is set in System "
                     "Properties > Environment Variables, delete it there too.)",
                     "在当前 cmd 窗口中删除：set {n}=\n（PowerShell：Remove-Item Env:{n}；如果它设置在 系统属性 > 环境变量 中，"
                     "也要在那里删除。）", n=name)
        return T("Remove it in this shell: unset {n}\n(and from your shell profile, e.g. ~/.bashrc, if it is set there)",
                 "在当前 shell 中删除：unset {n}\n（如果在 ~/.bashrc 等配置文件中设置过，也要删除）", n=name)
    if origin == "pip":
        if name.startswith(":env:"):
            return T("Remove the PIP_PROXY variable ({c}).", "删除 PIP_PROXY 变量（{c}）。",
                     c="set PIP_PROXY=" if platform == "windows" else "unset PIP_PROXY")
        return T("Remove it: python -m pip config unset {n}\n(run it with the web UI's Python)",
                 "删除它：python -m pip config unset {n}\n（用 web UI 所用的 Python 运行）", n=name)
    if origin == "git":
        scope = where if where in ("global", "system", "local", "worktree") else "global"
        return T("Remove it: git config --{s} --unset {n}", "删除它：git config --{s} --unset {n}", s=scope, n=name)
    return T("{p}: fix the proxy address or turn the proxy off.", "{p}：修正代理地址或关闭代理。", p=REGISTRY_PATH)


def _fix_advice(entry, platform, fixed):
    origin, name = entry["origin"], entry["name"]
    if (entry.get("parsed") or {}).get("credentials"):
        # Never a line that, pasted, sets the password to '***': name the user's own URL instead.
        return T("Write it with a scheme: put http:// in front of your proxy URL in {n} (keep your user name and "
                 "password as they are).", "加上协议头：在 {n} 中你的代理地址前加上 http://（用户名和密码保持不变）。", n=name)
    if origin == "pip" and not name.startswith(":env:"):
        return T("Write it with a scheme: python -m pip config set {n} {u}", "加上协议头：python -m pip config set {n} {u}",
                 n=name, u=fixed)
    name = "PIP_PROXY" if origin == "pip" else name  # pip's :env:.proxy is the PIP_PROXY variable
    return T("Write it with a scheme: {l}", "加上协议头：{l}", l=settings_line(platform, name, fixed, export=True))


def _reach_problem(reach, timeout):
    """(T message for a proxy that does not work, or None)."""
    if not reach:
        return None
    tcp = reach.get("tcp")
    if tcp in ("refused", "timeout", "dns", "error"):
        why = {"refused": T("connection refused", "连接被拒绝"),
               "timeout": T("no answer within {s} s", "{s} 秒内无应答", s="%g" % timeout),
               "dns": T("its host name does not resolve", "其主机名无法解析")}.get(tcp, T("connection failed", "连接失败"))
        return T("cannot connect to the proxy: {w}{d} (pip and git report \"Cannot connect to proxy\" / "
                 "\"Failed to establish a new connection\")",
                 "无法连接到代理：{w}{d}（pip 和 git 会报 \"Cannot connect to proxy\" / "
                 "\"Failed to establish a new connection\"）", w=why,
                 d=(" (%s)" % reach["detail"]) if reach.get("detail") and tcp in ("dns", "error") else "")
    for target in reach.get("targets") or []:
        state = target.get("state")
        if state == "ok":
            continue
        if state == "timeout":
            return T("the proxy accepts connections but did not answer a request to reach {t} within {s} s",
                     "代理接受连接，但在 {s} 秒内没有回应访问 {t} 的请求", t=target["target"], s="%g" % timeout)
        if state == "closed":
            return T("the proxy closed the connection when asked to reach {t} (\"Remote end closed connection without "
                     "response\")", "请求访问 {t} 时代理关闭了连接（\"Remote end closed connection without response\"）",
                     t=target["target"])
        if state == "auth":
            return T("the proxy asks for credentials to reach {t} ({l})", "代理要求身份验证才能访问 {t}（{l}）",
                     t=target["target"], l=target.get("line") or "407")
        return T("the proxy cannot reach {t}: {l}", "代理无法访问 {t}：{l}", t=target["target"],
                 l=target.get("line") or target.get("detail") or state)
    return None


def _malformed(f, entry, parsed, label, platform):
    """A proxy URL without a scheme, with an unreadable host or port, or with a scheme the tools reject: True."""
    from sd_doctor.probes import proxies

    value, scheme = parsed.get("value"), parsed.get("scheme")
    problem = parsed.get("problem")
    if problem == "no-scheme" and entry["origin"] in ("env", "pip"):
        fixed = parsed.get("fixed")
        f.error(T("{l} = {v}: \"Proxy URL had no scheme, should start with http:// or https://\" (#1091).",
                  "{l} = {v}：\"Proxy URL had no scheme, should start with http:// or https://\"（#1091）。",
                  l=label, v=value),
                *([_fix_advice(entry, platform, fixed)] if fixed else [_remove_advice(entry, platform)]))
        return True
    if problem in ("bad-host", "bad-port"):
        f.error(T("{l} = {v}: the proxy's host or port cannot be read.", "{l} = {v}：无法识别代理的主机或端口。",
                  l=label, v=value), _remove_advice(entry, platform))
        return True
    accepted = proxies.CURL_SCHEMES if entry["origin"] == "git" else proxies.SUPPORTED_SCHEMES
    if scheme and scheme not in accepted:
        if scheme.startswith("socks"):
            f.error(T("{l} = {v}: the {s}:// scheme is not supported (httpx rejects it, #16474); use socks5:// "
                      "or an http:// proxy.",
                      "{l} = {v}：不支持 {s}:// 协议（httpx 会拒绝，#16474）；请改用 socks5:// 或 http:// 代理。",
                      l=label, v=value, s=scheme), _remove_advice(entry, platform))
        else:
            f.error(T("{l} = {v}: the {s}:// scheme is not a proxy scheme; use http://.",
                      "{l} = {v}：{s}:// 不是代理协议；请使用 http://。", l=label, v=value, s=scheme),
                    _remove_advice(entry, platform))
        return True
    return False


def _judge_entry(f, facts, entry, platform, timeout, reach):
    """One proxy entry: ignored, unused, malformed, unsupported, without PySocks, unreachable, or working."""
    from sd_doctor.probes import proxies

    parsed = entry.get("parsed") or {}
    label = _label(entry)
    value = parsed.get("value")
    scheme = parsed.get("scheme")
    if entry.get("ignored"):
        f.ok(T("{l} = {v} is ignored: git reads only http.proxy (for every URL).",
               "{l} = {v} 不会生效：git 只读取 http.proxy（对所有地址都适用）。", l=label, v=value))
        return
    if entry["origin"] == "registry" and not entry.get("active"):
        f.ok(T("{l} = {v} is not used by Python, because *_proxy environment variables are set.",
               "{l} = {v} 不会被 Python 使用，因为已设置 *_proxy 环境变量。", l=label, v=value))
        return
    if _malformed(f, entry, parsed, label, platform):
        return
    if scheme in proxies.SOCKS_SCHEMES and entry["origin"] != "git" and facts.get("pysocks") is False:
        f.warn(T("{l} = {v} is a SOCKS proxy, but the web UI's Python lacks PySocks: \"Missing dependencies for "
                 "SOCKS support\".",
                 "{l} = {v} 是 SOCKS 代理，但 web UI 的 Python 没有安装 PySocks：会报 \"Missing dependencies for "
                 "SOCKS support\"。", l=label, v=value),
               T("Install it into the web UI's Python: {p} -m pip install PySocks, or use an http:// proxy.",
                 "为 web UI 的 Python 安装它：{p} -m pip install PySocks，或改用 http:// 代理。",
                 p=facts.get("python") or "python"))
    rid = entry.get("reach_id")
    if facts.get("offline") or rid is None:
        f.ok(T("{l} = {v} (not contacted{o}).", "{l} = {v}（未连接测试{o}）。", l=label, v=value,
               o=" (--offline)" if facts.get("offline") else ""))
        return
    why = _reach_problem(reach.get(rid), timeout)
    if why is None:
        tested = [t["target"] for t in (reach.get(rid) or {}).get("targets") or [] if t.get("state") == "ok"]
        f.ok(T("{l} = {v} works{t}.", "{l} = {v} 可用{t}。", l=label, v=value,
               t=T(" (reached {x} through it)", "（已通过它访问 {x}）", x=", ".join(tested)) if tested else ""))
        return
    f.error(T("{l} = {v}: {w}.", "{l} = {v}：{w}。", l=label, v=value, w=why),
            T("Start the proxy program, fix its address, or remove the setting.", "请启动代理程序、修正其地址，或删除该设置。"),
            _remove_advice(entry, platform))


def judge(facts):
    f = Finding(ID, TITLE)
    platform = facts["platform"]
    timeout = facts.get("timeout", 5)
    entries = facts.get("entries") or []
    reach = facts.get("reach") or {}
    if not entries:
        f.ok(T("No proxy is configured (environment, pip, git{r}).", "未配置代理（环境变量、pip、git{r}）。",
               r=T(", Windows settings", "、Windows 设置") if platform == "windows" else ""))
        return f
    for entry in entries:
        _judge_entry(f, facts, entry, platform, timeout, reach)
    _judge_no_proxy(f, facts)
    return f


def _judge_no_proxy(f, facts):
    from sd_doctor.probes import proxies

    platform = facts["platform"]
    active = [e for e in facts.get("entries") or [] if (e["origin"] == "env" and e["name"] in facts.get(
        "python_proxies", [])) or (e["origin"] == "registry" and e.get("active"))]
    if not active:
        return
    current = facts.get("no_proxy") or {}
    value = current.get("value") or ""
    present = [p.strip().strip("[]").lower() for p in value.replace(" ", ",").split(",") if p.strip()]
    if "*" in present:
        return
    missing = [n for n in proxies.LOCAL_NAMES if n not in present]
    if not missing:
        return
    new_value = ",".join([p.strip() for p in value.split(",") if p.strip()] + missing)
    f.warn(T("A proxy is active but NO_PROXY does not list {m}: gradio's own check of the local server goes through "
             "the proxy and fails with \"When localhost is not accessible, a shareable link must be created\" (#9089).",
             "已启用代理，但 NO_PROXY 中没有 {m}：gradio 检查本地服务器时会经过代理而失败，报 \"When localhost is not "
             "accessible, a shareable link must be created\"（#9089）。", m=", ".join(missing)),
           # bash keeps no_proxy and NO_PROXY apart and Python reads the lowercase one first: set both there.
           put_lines(platform, facts.get("settings_file"), [("NO_PROXY", new_value)] + (
               [("no_proxy", new_value)] if platform != "windows" else []), sentence=True))
    f.proposals["NO_PROXY"] = new_value
    registry_only = all(e["origin"] == "registry" for e in active)
    if registry_only:
        # Once any *_proxy variable is set, Python stops reading the registry: keep the registry proxy as variables.
        by_protocol = dict((e["where"], e) for e in active)
        for protocol, var in (("http", "HTTP_PROXY"), ("https", "HTTPS_PROXY")):
            e = by_protocol.get(protocol)
            if e and not (e.get("parsed") or {}).get("credentials"):
                f.proposals[var] = _registry_url(e)
        f.advise(T("Setting NO_PROXY makes Python ignore the Windows proxy setting; also set HTTP_PROXY and HTTPS_PROXY "
                   "to that proxy so downloads keep using it.",
                   "设置 NO_PROXY 后 Python 将不再读取 Windows 代理设置；请同时把 HTTP_PROXY 和 HTTPS_PROXY 设为该代理，"
                   "以便下载仍然经过它。"))


def _registry_url(entry):
    parsed = entry.get("parsed") or {}
    scheme = parsed.get("scheme") or "http"
    from sd_doctor.probes.proxies import host_port_text

    return "%s://%s" % (scheme, host_port_text(parsed.get("host"), parsed.get("port")))
