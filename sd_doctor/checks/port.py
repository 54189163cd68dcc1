"""port: the address and port the web UI will bind, and whether it can (webui-facts.md §6). Local: runs under --offline.

Without --port, gradio starts at GRADIO_SERVER_PORT (default 7860) and moves on to the next free port by itself; with
--port N only N is tried ("Cannot find empty port in range: N-N", #16543). --nowebui (API only) binds 7861 unless
--port says otherwise, and only that port.
"""

import errno
import socket
import time

from sd_doctor.checks._common import settings_file
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "port"
TITLE = T("Port", "端口")

DEFAULT_PORT = 7860
NOWEBUI_PORT = 7861
SCAN = 100  # gradio tries the next 100 ports


def try_bind(address, port, windows):
    """{'ok': bool, 'errno': int|None, 'error': str|None} for binding (address, port) now, as the server will."""
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    host = address
    try:
        sock = socket.socket(family, socket.SOCK_STREAM)
    except OSError as exc:
        return {"ok": False, "errno": exc.errno, "error": exc.strerror or str(exc)}
    try:
        if not windows:
            # What uvicorn does on POSIX: a port in TIME_WAIT is not "in use" for it. (On Windows SO_REUSEADDR would
            # let the bind succeed over a live listener, so it is left out there.)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(1)
        return {"ok": True, "errno": None, "error": None}
    except OSError as exc:
        code = getattr(exc, "winerror", None) or exc.errno
        return {"ok": False, "errno": code, "error": exc.strerror or str(exc)}
    finally:
        sock.close()


def _is_in_use(code):
    return code in (errno.EADDRINUSE, 10048)


def _is_forbidden(code):
    return code in (errno.EACCES, errno.EPERM, 10013)


def _is_not_local(code):
    return code in (errno.EADDRNOTAVAIL, 10049)


def find_holder(port):
    """{'pid', 'name'} of the process listening on ``port``, {'error': ...} when that cannot be read, or None."""
    try:
        import psutil
    except ImportError:
        return {"error": "psutil is not installed"}
    try:
        connections = psutil.net_connections(kind="inet")
    except (psutil.AccessDenied, PermissionError, OSError) as exc:
        connections = None
        denied = "access denied (%s)" % exc.__class__.__name__
    if connections is None:
        # macOS and locked-down systems: fall back to the processes this account may inspect.
        for proc in psutil.process_iter(["pid", "name"]):
            try:
                method = getattr(proc, "net_connections", None) or proc.connections
                for conn in method(kind="inet"):
                    if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
                        return {"pid": proc.pid, "name": proc.info.get("name")}
            except (psutil.Error, OSError):
                continue
        return {"error": denied}
    for conn in connections:
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN:
            holder = {"pid": conn.pid, "name": None}
            if conn.pid:
                try:
                    holder["name"] = psutil.Process(conn.pid).name()
                except (psutil.Error, OSError) as exc:
                    holder["error"] = exc.__class__.__name__
            else:
                holder["error"] = "the owner is hidden (access denied)"
            return holder
    return None


def _in_ranges(port, ranges):
    return [list(r) for r in ranges or [] if r[0] <= port <= r[1]]


def _port(args, variables, nowebui, facts):
    """(port or None, its source, the --port value or None); a value that is no port goes to facts['bad_value']."""
    from sd_doctor.launcher.settings import flag_value

    pinned_value = flag_value(args, "--port")
    if pinned_value is not None:
        source, value = "--port", pinned_value
    elif variables.get("GRADIO_SERVER_PORT") and not nowebui:
        source, value = "GRADIO_SERVER_PORT", variables["GRADIO_SERVER_PORT"].strip()
    else:
        return (NOWEBUI_PORT if nowebui else DEFAULT_PORT), ("--nowebui default" if nowebui else "default"), None
    if value.isdigit() and 0 < int(value) < 65536:
        return int(value), source, pinned_value
    facts["bad_value"] = value
    return None, source, pinned_value


def _address(args, variables, nowebui):
    """(the address the server binds, where it comes from)."""
    from sd_doctor.launcher.settings import flag_value

    server_name = flag_value(args, "--server-name")
    if server_name:
        return server_name, "--server-name"
    if "--listen" in args:
        return "0.0.0.0", "--listen"
    if variables.get("GRADIO_SERVER_NAME") and not nowebui:
        return variables["GRADIO_SERVER_NAME"], "GRADIO_SERVER_NAME"
    return "127.0.0.1", "default"


def _first_free(port, excluded, address, windows, deadline):
    """The first port after ``port`` that binds, outside the excluded ranges, before ``deadline``; None."""
    for candidate in range(port + 1, min(65536, port + 1 + SCAN)):
        if time.monotonic() > deadline:
            break
        if _in_ranges(candidate, excluded):
            continue
        if try_bind(address, candidate, windows)["ok"]:
            return candidate
    return None


def probe(ctx):
    start = time.monotonic()
    args = ctx.commandline_args or []
    variables = ctx.launch["variables"]
    windows = ctx.platform == "windows"
    facts = {"platform": ctx.platform, "commandline_split": ctx.commandline_args is not None,
             "settings_file": settings_file(ctx)}
    nowebui = "--nowebui" in args
    port, source, pinned_value = _port(args, variables, nowebui, facts)
    address, address_source = _address(args, variables, nowebui)
    facts.update({"port": port, "source": source, "pinned": pinned_value is not None or nowebui, "nowebui": nowebui,
                  "address": address, "address_source": address_source, "bind": None, "holder": None,
                  "next_free": None, "excluded_ranges": None})
    bind_address = address
    if address not in ("0.0.0.0", "::") and not _is_ip(address):
        from sd_doctor.probes.proxy_reach import resolve_bounded

        found, error = resolve_bounded(address, port or 0, start + max(0.2, min(2.0, ctx.timeout - 0.3)))
        if error or not found:
            facts["resolve_error"] = error or "no address"
            return facts
        bind_address = found[0][1][0]
        facts["bind_address"] = bind_address
    try:
        facts["excluded_ranges"] = ctx.host.excluded_port_ranges(max(0.2, min(3.0, ctx.timeout - 0.3)))
    except Exception as exc:  # an OS tool failing must not hide the bind result
        facts["excluded_ranges_error"] = "%s: %s" % (exc.__class__.__name__, exc)
    if port is None:
        return facts
    facts["bind"] = try_bind(bind_address, port, windows)
    if not facts["bind"]["ok"]:
        if _is_in_use(facts["bind"]["errno"]):
            facts["holder"] = find_holder(port)
        facts["next_free"] = _first_free(port, facts["excluded_ranges"] or [], bind_address, windows,
                                         start + max(0.2, ctx.timeout - 0.3))
    elif _in_ranges(port, facts["excluded_ranges"]):
        facts["next_free"] = _next_outside(port, facts["excluded_ranges"], bind_address, windows)
    return facts


def _next_outside(port, ranges, address, windows):
    for candidate in range(port + 1, min(65536, port + 1 + SCAN)):
        if not _in_ranges(candidate, ranges) and try_bind(address, candidate, windows)["ok"]:
            return candidate
    return None


def _is_ip(text):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            continue
    return False


# -- judging -----------------------------------------------------------------------------------------------------

def _holder_text(holder):
    if not holder:
        return T("another process", "另一个进程")
    if holder.get("name") and holder.get("pid"):
        return T("{n} (pid {p})", "{n}（pid {p}）", n=holder["name"], p=holder["pid"])
    if holder.get("pid"):
        return T("the process with pid {p}", "pid 为 {p} 的进程", p=holder["pid"])
    return T("another process (its name could not be read: {e})", "另一个进程（无法读取其名称：{e}）",
             e=holder.get("error") or "?")


def _use_port_advice(platform, port, where=None):
    where = where or ("webui-user.bat" if platform == "windows" else "webui-user.sh")
    return T("Use the free port {n}: add --port {n} to COMMANDLINE_ARGS in {f}.",
             "改用空闲端口 {n}：在 {f} 的 COMMANDLINE_ARGS 中加入 --port {n}。", n=port, f=where)


ASYNCIO_ADVICE = T(
    "If the console shows \"ERROR:asyncio:Accept failed on a socket\": check for port conflicts, run "
    "netsh winsock reset in a command prompt opened as administrator (then restart), change the port, and use "
    "Python 3.10.6.",
    "如果控制台出现 \"ERROR:asyncio:Accept failed on a socket\"：检查端口冲突，以管理员身份打开命令提示符运行 "
    "netsh winsock reset（然后重启），更换端口，并使用 Python 3.10.6。")


def _bind_failed(f, facts, bind, where, covering):
    """The port did not bind: in use (by whom), not an address here, forbidden, or another error."""
    port, pinned, source, address = facts.get("port"), facts.get("pinned"), facts.get("source"), facts.get("address")
    next_free = facts.get("next_free")
    code = bind.get("errno")
    who = _holder_text(facts.get("holder"))
    if _is_in_use(code):
        if facts.get("nowebui") and source != "--port":
            f.error(T("Port {p} is in use by {w}; with --nowebui only this port is tried.",
                      "端口 {p} 已被 {w} 占用；使用 --nowebui 时只会尝试这个端口。", p=port, w=who))
        elif pinned:
            f.error(T("Port {p} is in use by {w}; with --port {p} gradio tries only that port: \"Cannot find empty "
                      "port in range: {p}-{p}\" (#16543).",
                      "端口 {p} 已被 {w} 占用；指定 --port {p} 时 gradio 只尝试这个端口：\"Cannot find empty port in "
                      "range: {p}-{p}\"（#16543）。", p=port, w=who))
        else:
            f.warn(T("Port {p} is in use by {w}; gradio will move to the next free port{n}.",
                     "端口 {p} 已被 {w} 占用；gradio 会自动改用下一个空闲端口{n}。", p=port, w=who,
                     n=(" (%d)" % next_free) if next_free else ""))
        f.advise(T("Close {w}, or use another port.", "关闭 {w}，或改用其他端口。", w=who))
    elif _is_not_local(code):
        f.error(T("{a} is not an address of this machine: the server cannot bind it ({e}).",
                  "{a} 不是本机地址：服务器无法绑定（{e}）。", a=address, e=bind.get("error")),
                T("Use --listen (all addresses) or this machine's IP address with --server-name.",
                  "请改用 --listen（所有地址），或在 --server-name 中使用本机 IP 地址。"))
    elif _is_forbidden(code) and not covering:
        add = f.error if pinned else f.warn
        add(T("Binding {w} is not permitted ({e}).", "不允许绑定 {w}（{e}）。", w=where, e=bind.get("error")))
    elif not covering:
        f.warn(T("Binding {w} failed: {e}", "绑定 {w} 失败：{e}", w=where, e=bind.get("error")))


def judge(facts):
    f = Finding(ID, TITLE)
    platform = facts["platform"]
    port = facts.get("port")
    source = facts.get("source")
    if facts.get("bad_value") is not None:
        f.error(T("{s} = {v} is not a port number (1-65535).", "{s} = {v} 不是有效的端口号（1-65535）。", s=source,
                  v=facts["bad_value"]),
                T("Use a number, e.g. --port 7860.", "请使用数字，例如 --port 7860。"))
        return f
    address = facts.get("address")
    where = T("{a}:{p}", "{a}:{p}", a=address, p=port)
    if facts.get("resolve_error"):
        f.error(T("--server-name {a} does not resolve to an address of this machine ({e}).",
                  "--server-name {a} 无法解析为本机地址（{e}）。", a=address, e=facts["resolve_error"]),
                T("Use --listen (all addresses) or this machine's IP address.", "请改用 --listen（所有地址）或本机 IP 地址。"))
        return f
    pinned = facts.get("pinned")
    next_free = facts.get("next_free")
    bind = facts.get("bind") or {}
    if port < 1024:
        f.warn(T("Port {p} is below 1024: binding it needs administrator (root) rights.",
                 "端口 {p} 小于 1024：绑定它需要管理员（root）权限。", p=port),
               T("Use a port above 1024, e.g. --port 7860.", "请使用大于 1024 的端口，例如 --port 7860。"))
    covering = _in_ranges(port, facts.get("excluded_ranges"))
    if covering:
        r = covering[0]
        add = f.error if pinned else f.warn
        add(T("Port {p} lies in a TCP port range Windows reserves ({s}-{e}; see netsh interface ipv4 show "
              "excludedportrange protocol=tcp): it cannot be bound.",
              "端口 {p} 位于 Windows 保留的 TCP 端口范围内（{s}-{e}；见 netsh interface ipv4 show excludedportrange "
              "protocol=tcp）：无法绑定。", p=port, s=r[0], e=r[1]))
    if bind.get("ok") is False:
        _bind_failed(f, facts, bind, where, covering)
    # Only a pinned port needs a new --port: unpinned, gradio moves on by itself, and writing --port would pin it.
    if next_free and f.status == "error" and (bind.get("ok") is False or covering):
        f.advise(_use_port_advice(platform, next_free, facts.get("settings_file")))
        f.proposals["port"] = next_free
    if platform == "windows" and f.status in ("warn", "error"):
        f.advise(ASYNCIO_ADVICE)
    if f.status == "ok":
        how = {"--port": T("pinned with --port", "由 --port 指定"),
               "GRADIO_SERVER_PORT": T("from GRADIO_SERVER_PORT", "来自 GRADIO_SERVER_PORT"),
               "--nowebui default": T("the --nowebui default", "--nowebui 的默认端口")}.get(
            source, T("the default", "默认端口"))
        f.ok(T("{w} is free ({h}).", "{w} 空闲（{h}）。", w=where, h=how))
        if address in ("0.0.0.0", "::"):
            f.ok(T("The web UI will listen on all addresses ({s}): other machines can reach it.",
                   "web UI 将监听所有地址（{s}）：其他机器可以访问。", s=facts.get("address_source")))
    return f
