"""downloads: the first start's downloads seen the way the install makes them (webui-facts.md §5, §10).

pip's index (the launcher's INDEX_URL, else pip's own configuration, else pip's default), the torch index
(TORCH_COMMAND / TORCH_INDEX_URL / the installed launcher's default) and Hugging Face (HF_ENDPOINT, else the public
endpoint): each fetched once, concurrently, through the proxy pip would pick and with the trust pip would use, all
within --timeout. The torch index also gets a short ranged download of the wheel this install will fetch: its speed
and the time the whole wheel would take.
"""

import time

from sd_doctor.checks._common import settings_file
from sd_doctor.checks._settings_lines import put_line
from sd_doctor.core.finding import Finding
from sd_doctor.core.redact import redact
from sd_doctor.core.text import T

ID = "downloads"
TITLE = T("Downloads", "下载")

HF_MIRROR = "https://hf-mirror.com"  # the Hugging Face mirror the Chinese guides use (not a package index)
SLOW_SECONDS = 30 * 60
PAGE_LIMIT = 4 * 1024 * 1024


def budget(timeout):
    return max(0.3, timeout - 0.25)


def _pip_view(ctx, python, urls, deadline):
    """pip's answer (child process), else the same derived from its files and the variables."""
    from sd_doctor.probes import downloads as dl
    from sd_doctor.probes import pip_config

    variables = ctx.launch["variables"]
    answer = dl.ask_pip(python, urls, variables, max(0.2, deadline - time.monotonic()))
    if answer.get("error") or "config" not in answer:
        site = None
        files = pip_config.pip_config_files(ctx.platform, variables, site)
        answer["config"] = pip_config.read_config_files(files, variables)
        answer["how"] = "files"
    else:
        answer["how"] = "pip"
    return answer


def _endpoints(ctx, pip, torch):
    from sd_doctor.probes import downloads as dl
    from sd_doctor.probes import wheels

    variables, sources = ctx.launch["variables"], ctx.launch["source"]
    launcher_index = variables.get("INDEX_URL") or None
    out = dl.pip_indexes(pip.get("config"), pip.get("default_index"), launcher_index,
                         sources.get("INDEX_URL", "environment"))
    if launcher_index:  # what pip would use without INDEX_URL: the alternative when INDEX_URL fails
        own = dl.pip_indexes(pip.get("config"), pip.get("default_index"), None, None)
        out.extend(dict(e, role="pip-own-index") for e in own if e["role"] == "pip-index")
    for e in out:
        e["probe_url"] = wheels.project_url(e["url"], "pip")
    torch_url = torch.get("url")
    if torch.get("via_pip_index") and out:
        torch_url = out[0]["url"]
    if torch_url:
        out.append({"role": "torch-index", "url": torch_url, "source": torch.get("source") or "?",
                    "probe_url": wheels.project_url(torch_url, "torch")})
    hf = dl.hf_endpoint(variables, sources)
    hf["probe_url"] = hf["url"] + dl.HF_PROBE_PATH
    out.append(hf)
    if ctx.options.lang == "zh" and not variables.get("HF_ENDPOINT"):
        out.append({"role": "hf-mirror", "url": HF_MIRROR, "source": "mirror", "probe_url": HF_MIRROR + dl.HF_PROBE_PATH})
    return out


def _probe_one(endpoint, verify, deadline, target):
    """The work for one endpoint (runs in a bounded thread): reach it, read the issuer when TLS fails, and for the
    torch index pick the wheel and time a ranged download of it."""
    from urllib.parse import urlparse

    from sd_doctor.probes import fetch, wheels

    proxy = endpoint.get("proxy_real")
    torch = endpoint["role"] == "torch-index"

    def work(box):
        headers = {"Accept": "application/vnd.pypi.simple.v1+json, text/html;q=0.1"} if torch else None
        fetch.get(box, endpoint["probe_url"], proxy, verify, deadline, headers=headers,
                  keep_body=PAGE_LIMIT if torch else 0)
        if box["state"] == "tls-rejected":
            parts = urlparse(endpoint["probe_url"])
            box["issuer"] = fetch.peer_issuer(parts.hostname, parts.port or 443, proxy, deadline)
        body = box.pop("body", None)
        if not (torch and box["state"] == "ok" and body and box.get("status") == 200):
            return
        files = wheels.files_on_page(body, box.get("final_url") or endpoint["probe_url"],
                                     box["headers"].get("content-type", ""))
        wheel = wheels.pick(files, target.get("version"), target.get("python"), target.get("platform"))
        if not wheel:
            box["wheel"] = None
            return
        box["wheel"] = {"filename": wheel["filename"], "size": wheel.get("size")}
        speed = box["speed"] = {}
        fetch.ranged_download(speed, wheel["url"], proxy, verify, deadline - 0.15)

    return work


def probe(ctx):
    from concurrent.futures import ThreadPoolExecutor

    from sd_doctor.probes.launcher_python import webui_python
    from sd_doctor.probes import downloads as dl
    from sd_doctor.probes import fetch

    start = time.monotonic()
    deadline = start + budget(ctx.timeout)
    launch = ctx.launch
    variables, sources = launch["variables"], launch["source"]
    windows = ctx.platform == "windows"
    facts = {"platform": ctx.platform, "offline": bool(ctx.offline), "timeout": ctx.timeout, "lang": ctx.options.lang,
             "settings_file": settings_file(ctx), "endpoints": [], "pip": {}, "verify": {}, "python": None,
             "user_hf_endpoint": bool(variables.get("HF_ENDPOINT"))}
    python = webui_python(ctx)
    facts["python"] = python
    torch = dl.torch_source(variables, sources, getattr(ctx.launcher, "torch", None))
    facts["torch"] = dict(torch)
    seed = [u for u in (torch.get("url"), dl.hf_endpoint(variables, sources)["url"], variables.get("INDEX_URL"),
                        HF_MIRROR) if u]
    pip = _pip_view(ctx, python, seed, start + max(0.3, 0.55 * budget(ctx.timeout)))
    facts["pip"] = dict((k, pip.get(k)) for k in ("pip", "python", "requests", "how", "error", "default_index"))
    endpoints = _endpoints(ctx, pip, torch)
    pip_proxy = dl.setting(pip.get("config"), "proxy")[0]
    registry = None
    if windows:
        try:
            registry = ctx.host.registry_proxy()
        except Exception:
            registry = None
    for e in endpoints:
        env = (pip.get("env_proxies") or {}).get(e["url"])
        e["proxy_from"] = "pip" if env is not None else "doctor"
        if env is None:
            env = dl.env_proxies_here(e["url"], variables, windows, registry)
        e["proxy_real"] = dl.choose_proxy(e["url"], env, pip_proxy)
    verify = dl.verify_setting(variables, pip.get("config"), pip.get("certifi"), pip.get("pip"), pip.get("python"))
    facts["verify"] = verify
    if ctx.offline:
        facts["endpoints"] = [_public(e, None) for e in endpoints]
        return facts
    target = {"version": torch.get("version"), "python": pip.get("python"), "platform": ctx.platform}
    pool = ThreadPoolExecutor(max_workers=max(1, len(endpoints)))
    try:
        futures = [pool.submit(fetch.bounded, _probe_one(e, verify, deadline, target), deadline, {"state": "timeout"})
                   if e["url"].lower().startswith(("http://", "https://")) else None for e in endpoints]
        results = [f.result() if f else {"state": "local"} for f in futures]
    finally:
        pool.shutdown(wait=False)
    facts["endpoints"] = [_public(e, r) for e, r in zip(endpoints, results)]
    facts["elapsed"] = round(time.monotonic() - start, 3)
    return facts


def _public(endpoint, result):
    """The endpoint as a fact: URLs and the proxy redacted."""
    out = dict((k, redact(v) if isinstance(v, str) else v) for k, v in endpoint.items() if k != "proxy_real")
    out["proxy"] = redact(endpoint.get("proxy_real")) if endpoint.get("proxy_real") else None
    if result is not None:
        result = dict(result)
        result.pop("headers", None)
        result.pop("done", None)
        out["result"] = result
    return out


# -- judging -----------------------------------------------------------------------------------------------------

_NAMES = {"pip-index": T("pip's index", "pip 的软件包索引"), "pip-extra-index": T("pip's extra index", "pip 的额外索引"),
          "pip-own-index": T("pip's own index", "pip 自身配置的索引"), "torch-index": T("the torch index", "torch 索引"),
          "hf": T("Hugging Face", "Hugging Face"), "hf-mirror": T("the Hugging Face mirror", "Hugging Face 镜像")}


def _where(e):
    via = T(" through the proxy {p}", "（经代理 {p}）", p=e["proxy"]) if e.get("proxy") else T(" (direct)", "（直连）")
    return T("{n} {u} (from {s}){v}", "{n} {u}（来源：{s}）{v}", n=_NAMES.get(e["role"], e["role"]), u=e["url"],
             s=e.get("source"), v=via)


def _problem(e, timeout):
    """T for an endpoint that failed, in the words pip will print, or None."""
    r = e.get("result") or {}
    state, err = r.get("state"), r.get("error") or ""
    where = _where(e)
    if state == "ok":
        return None
    if state in ("timeout", "connecting"):
        return T("{w} did not answer within {s} s: pip will fail with \"ReadTimeoutError: Read timed out\" or "
                 "\"ConnectTimeoutError\".", "{w} 在 {s} 秒内没有应答：pip 会报 \"ReadTimeoutError: Read timed out\" 或 "
                 "\"ConnectTimeoutError\"。", w=where, s="%g" % timeout)
    if state == "proxy":
        return T("{w}: the proxy refused or dropped the connection: pip will fail with \"ProxyError('Cannot connect to "
                 "proxy.')\" ({e}).", "{w}：代理拒绝或断开了连接：pip 会报 \"ProxyError('Cannot connect to proxy.')\"（{e}）。",
                 w=where, e=err[:200])
    if state == "tls-rejected":
        return T("{w}: the certificate is not trusted (issuer: {i}): pip will fail with \"SSL: CERTIFICATE_VERIFY_FAILED\".",
                 "{w}：证书不受信任（签发者：{i}）：pip 会报 \"SSL: CERTIFICATE_VERIFY_FAILED\"。", w=where,
                 i=r.get("issuer") or T("unreadable", "无法读取"))
    if state == "socks-missing":
        return T("{w}: a SOCKS proxy needs PySocks: \"Missing dependencies for SOCKS support\".",
                 "{w}：SOCKS 代理需要 PySocks：\"Missing dependencies for SOCKS support\"。", w=where)
    return T("{w}: cannot connect: pip will fail with \"Failed to establish a new connection\" ({e}).",
             "{w}：无法连接：pip 会报 \"Failed to establish a new connection\"（{e}）。", w=where, e=err[:200])


def _set_line(facts, name, value):
    return put_line(facts["platform"], facts.get("settings_file"), name, value)


def _mirror_advice(facts, e):
    role, zh = e["role"], facts.get("lang") == "zh"
    python = facts.get("python") or "python"
    if role in ("pip-index", "pip-extra-index", "pip-own-index"):
        return [T("Use a reachable index (a mirror you trust): {p} -m pip config set global.index-url <URL>\n(printed, "
                  "not run), or {s}", "改用可访问的索引（你信任的镜像）：{p} -m pip config set global.index-url <URL>\n（仅显示，"
                  "不会自动运行），或者{s}", p=python, s=_set_line(facts, "INDEX_URL", "<URL>"))] + (
            [T("PyPI mirrors the Chinese guides use: the Tsinghua University TUNA mirror and the Aliyun mirror (their help pages give the address); the choice is yours.", "国内常用的 PyPI 镜像：清华大学 TUNA 镜像、阿里云镜像（地址见它们的帮助页面），由你选择。")] if zh else [])
    if role == "torch-index":
        return [T("Use a reachable copy of the torch index (same /whl/<build> path): {s}",
                  "改用可访问的 torch 索引副本（保持相同的 /whl/<build> 路径）：{s}",
                  s=_set_line(facts, "TORCH_INDEX_URL", "<URL>/whl/<build>"))]
    if role == "hf":
        return [T("Use a Hugging Face mirror or a working proxy: {s}", "改用 Hugging Face 镜像或可用的代理：{s}",
                  s=_set_line(facts, "HF_ENDPOINT", HF_MIRROR if zh else "<URL>"))]
    return []


def _tls_advice(facts, e):
    v = facts.get("verify") or {}
    python = facts.get("python") or "python"
    out = [T("If {i} is your company's proxy or your antivirus (HTTPS scanning), export its root certificate to a .pem "
             "file and point pip at it: {p} -m pip config set global.cert <file.pem> (printed, not run); or turn off "
             "HTTPS scanning for these hosts.",
             "如果 {i} 是公司代理或杀毒软件（HTTPS 扫描），把它的根证书导出为 .pem 文件并让 pip 使用它：{p} -m pip config set "
             "global.cert <file.pem>（仅显示，不会自动运行）；或对这些网址关闭 HTTPS 扫描。",
             i=(e.get("result") or {}).get("issuer") or T("the issuer", "该签发者"), p=python)]
    if v.get("bundle_from") in ("REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE"):
        out.append(T("{n}={b} is what pip trusts here: it overrides pip's cert setting.",
                     "此处 pip 信任的是 {n}={b}：它会覆盖 pip 的 cert 设置。", n=v["bundle_from"], b=v.get("bundle")))
    if facts["platform"] == "darwin":
        out.append(T("python.org's macOS Python: run \"Install Certificates.command\" in its Applications folder.",
                     "python.org 的 macOS 版 Python：运行其应用程序文件夹中的 \"Install Certificates.command\"。"))
    return out


def _duration(seconds):
    if seconds < 90:
        return T("{n} s", "{n} 秒", n="%d" % seconds)
    if seconds < 5400:
        return T("{n} min", "{n} 分钟", n="%d" % round(seconds / 60.0))
    return T("{n} h", "{n} 小时", n="%.1f" % (seconds / 3600.0))


def _judge_speed(f, facts, e):
    from sd_doctor.probes.wheels import ASSUMED_TORCH_BYTES

    r = e.get("result") or {}
    wheel, speed = r.get("wheel"), r.get("speed") or {}
    if not wheel or not speed.get("rate"):
        if speed.get("error"):
            f.warn(T("The download of {w} from {u} failed: {e}", "从 {u} 下载 {w} 失败：{e}", w=(wheel or {}).get(
                "filename"), u=e["url"], e=speed["error"][:200]))
        return
    size = wheel.get("size") or speed.get("total")
    assumed = not size
    size = size or ASSUMED_TORCH_BYTES
    eta = size / speed["rate"]
    line = T("{w} from {u}: {r} kB/s, so about {t} for its {s}{a}.", "从 {u} 下载 {w}：{r} kB/s，整个文件（{s}{a}）约需 {t}。",
             w=wheel["filename"], u=e["url"], r="%.0f" % (speed["rate"] / 1000.0), t=_duration(eta),
             s="%.2f GB" % (size / 1e9), a=T(", assumed", "，估计值") if assumed else "")
    if eta > SLOW_SECONDS:
        f.warn(T("Slow: {l}", "速度太慢：{l}", l=line), *_mirror_advice(facts, e))
    else:
        f.ok(line)


def judge(facts):
    f = Finding(ID, TITLE)
    endpoints = facts.get("endpoints") or []
    if facts.get("offline"):
        f.skip(T("Not contacted (--offline): {e}.", "未连接测试（--offline）：{e}。",
                 e=", ".join("%s %s" % (x["role"], x["url"]) for x in endpoints)))
        return f
    timeout = facts.get("timeout", 5)
    failed, advised = set(), set()
    pip = facts.get("pip") or {}
    if not any(e["role"] == "pip-index" for e in endpoints):
        f.ok(T("pip's default index is not known: pip did not answer ({e}).", "不知道 pip 的默认索引：pip 没有应答（{e}）。",
               e=pip.get("error") or "?"))
    for e in endpoints:
        if e["role"] == "hf-mirror":
            continue
        if not e["url"].lower().startswith(("http://", "https://")):
            f.ok(T("{w}: a local index, nothing to download.", "{w}：本地索引，无需下载。", w=_where(e)))
            continue
        why = _problem(e, timeout)
        if why is None:
            r = e["result"]
            f.ok(T("{w}: HTTP {c} in {s} s.", "{w}：HTTP {c}，用时 {s} 秒。", w=_where(e), c=r.get("status"),
                   s="%.2f" % (r.get("seconds") or 0)))
            if e["role"] == "torch-index":
                _judge_speed(f, facts, e)
            continue
        failed.add(e["role"])
        level = f.warn if e["role"] in ("pip-extra-index", "pip-own-index") else f.error
        tls = e["result"].get("state") == "tls-rejected"
        key = "tls" if tls else e["role"]
        level(why, *([] if key in advised else (_tls_advice(facts, e) if tls else _mirror_advice(facts, e))))
        advised.add(key)
    _propose(f, facts, endpoints, failed)
    return f


def _propose(f, facts, endpoints, failed):
    """Variables the writer may write with --fix (shown in the plan first): only values the user already chose or
    the mirror the Chinese guides name, and only for an endpoint that failed."""
    by_role = dict((e["role"], e) for e in endpoints)
    own = by_role.get("pip-own-index")
    if "pip-index" in failed and own and (own.get("result") or {}).get("state") == "ok" and own["source"] != "pip default":
        f.proposals["INDEX_URL"] = own["url"]
    mirror = by_role.get("hf-mirror")
    if "hf" in failed and mirror and (mirror.get("result") or {}).get("state") == "ok" and \
            not facts.get("user_hf_endpoint"):
        f.proposals["HF_ENDPOINT"] = HF_MIRROR
