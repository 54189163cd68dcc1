"""python: the interpreter the web UI will actually use, and a better one when it is not fine (webui-facts.md §4)."""

import os

from sd_doctor.checks._common import delete_folder_command, settings_file
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "python"
TITLE = T("Python", "Python")


def configured_command(ctx):
    """(command, where it came from): PYTHON (Windows) or python_cmd (POSIX), else what the launcher defaults to."""
    launch = ctx.launch
    v, src = launch["variables"], launch["source"]
    if ctx.platform == "windows":
        return v.get("PYTHON", "python").strip().strip('"'), src.get("PYTHON", "default")
    if v.get("python_cmd"):
        return v["python_cmd"], src.get("python_cmd", "environment")
    return None, "default"


def resolve(command, path_entries, host):
    """The file a command names: itself when it is a path, else the first match on PATH."""
    from sd_doctor.probes.interpreters import which_all

    if command and (os.sep in command or "/" in command or "\\" in command):
        return command if os.path.exists(command) else None
    matches = which_all(command, path_entries, host.executable_names) if command else []
    return matches[0] if matches else None


def launcher_path(ctx):
    """PATH as the launcher gets it: run.bat's in a one-click package (environment.bat puts system\\python first),
    else the process's."""
    return ctx.launch["variables"].get("PATH", ctx.environ.get("PATH", ""))


def default_sh_command(ctx, entries):
    """What the installed webui.sh runs when the settings name no python_cmd (launcher/webui_sh.py): ``python3``
    before v1.10 (even where python3.10 exists), ``python3.10`` falling back to ``python3`` from v1.10 (#16092)."""
    sh = getattr(ctx.launcher, "webui_sh", None) if ctx.platform != "windows" else None
    if not sh or sh.get("default_python_line") is None:  # no webui.sh, or one that names no python: v1.10's rule
        return "python3.10" if resolve("python3.10", entries, ctx.host) else "python3"
    first, fallback = sh.get("default_python") or "python3", sh.get("fallback_python")
    if fallback and not resolve(first, entries, ctx.host):
        return fallback
    return first


def launcher_python(ctx):
    """(command, where it came from, resolved path or None): the interpreter the launcher will start, found once
    per run and shared by the checks that need it (python, proxy)."""

    def compute():
        from sd_doctor.probes.interpreters import split_path

        entries = split_path(launcher_path(ctx), ctx.host.path_sep)
        command, source = configured_command(ctx)
        if command is None:
            command = default_sh_command(ctx, entries)
        return command, source, resolve(command, entries, ctx.host)

    return ctx.cached("launcher_python", compute)


def probe(ctx):
    from sd_doctor.probes.interpreters import classify, find_alternatives, interrogate_once, is_good_for_webui, \
        local_bound, split_path
    from sd_doctor.launcher.settings import venv_path

    entries = split_path(launcher_path(ctx), ctx.host.path_sep)
    command, source, resolved = launcher_python(ctx)
    facts = {"platform": ctx.platform, "command": command, "source": source, "resolved": resolved,
             "kind": classify(resolved), "info": None, "alternatives": [],
             "unreadable_settings": ctx.launch.get("unreadable") or {}, "settings_file": settings_file(ctx)}
    bound = local_bound(ctx.timeout)
    # webui.sh skips its own venv inside an activated one and installs torch there (POSIX only).
    active = ctx.environ.get("VIRTUAL_ENV") if ctx.platform != "windows" else None
    facts["active_venv"] = active or None
    if resolved:
        facts["info"] = interrogate_once(ctx, resolved, bound)
    if active or not (facts["info"] and is_good_for_webui(facts["info"])):
        inside = [e for e in entries if active and _inside(e, active)]
        facts["alternatives"] = [a for a in find_alternatives(ctx.host, [e for e in entries if e not in inside], bound,
                                                              exclude=[resolved]) if not _inside(a["path"], active)]
    venv = venv_path(ctx.webui_dir, ctx.launch)
    facts["venv"] = venv if venv and os.path.isdir(venv) else None
    return facts


def _inside(path, folder):
    if not (path and folder):
        return False
    path, folder = os.path.abspath(path), os.path.abspath(folder)
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


def _judge_active_venv(f, facts):
    """An activated venv: webui.sh then uses it instead of its own venv, so torch lands in it. Returns True."""
    active = facts.get("active_venv")
    f.error(T("A virtual environment is active ({v}): webui.sh then skips its own venv and installs torch and the "
              "web UI's packages into this one.",
              "当前已激活一个虚拟环境（{v}）：webui.sh 会因此跳过它自己的 venv，把 torch 和 web UI 的依赖装进这个环境。",
              v=active),
            T("Leave it before you start the web UI:\n{c}", "启动 web UI 之前先退出它：\n{c}", c="deactivate"))
    return True


def _setting_line(platform, path):
    """The line to put in the settings file: PYTHON is used unquoted by webui.bat, so a path with spaces carries
    its own quotes (webui-facts.md §1)."""
    if platform == "windows":
        from sd_doctor.write.settings import python_value

        return "set PYTHON=%s" % python_value(path)
    import shlex

    return "python_cmd=%s" % shlex.quote(path)


def _settings_file(platform):
    return "webui-user.bat" if platform == "windows" else "webui-user.sh"


def _install_advice(platform):
    if platform == "windows":
        return T("Install Python 3.10.6 (64-bit) from https://www.python.org/downloads/release/python-3106/ and tick "
                 "\"Add Python to PATH\".",
                 "从 https://www.python.org/downloads/release/python-3106/ 安装 Python 3.10.6（64 位），并勾选 "
                 "\"Add Python to PATH\"。")
    if platform == "darwin":
        return T("Install Python 3.10: brew install python@3.10 (or pyenv install 3.10.6).",
                 "安装 Python 3.10：brew install python@3.10（或 pyenv install 3.10.6）。")
    return T("Install Python 3.10: pyenv install 3.10.6 (or your distribution's python3.10 and python3.10-venv).",
             "安装 Python 3.10：pyenv install 3.10.6（或发行版的 python3.10 与 python3.10-venv 包）。")


def _judge_version(f, info, resolved):
    """The interpreter runs: judge its version and bitness. True when the web UI can use it."""
    from sd_doctor.probes.interpreters import version_tuple

    good = False
    version = info.get("version", "?")
    vt = version_tuple(version)
    where = T("Python {v} ({b}-bit) at {p}", "Python {v}（{b} 位），位于 {p}", v=version, b=info.get("bits"),
              p=info.get("executable") or resolved)
    if info.get("bits") != 64:
        f.error(T("{w}: 32-bit Python finds no torch at all (#10592).", "{w}：32 位 Python 根本装不上 torch（#10592）。", w=where))
    elif vt == (3, 10, 6):
        f.ok(where)
        good = True
    elif vt[:2] == (3, 10):
        f.ok(T("{w}; the web UI is tested on 3.10.6, other 3.10 releases work.",
               "{w}；web UI 在 3.10.6 上测试，其他 3.10 版本也可以。", w=where))
        good = True
    elif vt[:2] == (3, 11):
        f.warn(T("{w}: 3.11 mostly works but breaks --xformers on Windows; the web UI is tested on 3.10.6.",
                 "{w}：3.11 大体可用，但在 Windows 上 --xformers 会出问题；web UI 在 3.10.6 上测试。", w=where))
    elif vt >= (3, 12):
        f.error(T("{w}: too new, pip finds no torch==2.1.2 for it (#16501, #16878).",
                  "{w}：版本太新，pip 找不到适用的 torch==2.1.2（#16501、#16878）。", w=where))
    else:
        f.error(T("{w}: too old, the web UI's code fails on it (#4272).", "{w}：版本太旧，web UI 的代码无法运行（#4272）。",
                  w=where))
    return good


def judge(facts):
    from sd_doctor.probes.interpreters import STORE_ALIAS, STORE_PYTHON

    f = Finding(ID, TITLE)
    platform = facts["platform"]
    info = facts.get("info") or {}
    command, resolved, kind = facts["command"], facts.get("resolved"), facts.get("kind")
    good = False
    if not resolved:
        f.error(T("{c} was not found (webui.bat stops with \"Couldn't launch python\", exit code 9009).",
                  "找不到 {c}（webui.bat 会停在 \"Couldn't launch python\"，exit code 9009）。", c=command)
                if platform == "windows" else
                T("{c} was not found.", "找不到 {c}。", c=command))
    elif kind == STORE_ALIAS:
        f.error(T("{p} is the Microsoft Store alias, not Python: it fails with exit code 9009.",
                  "{p} 是 Microsoft Store 的别名，不是真正的 Python：运行会以 exit code 9009 失败。", p=resolved),
                T("Settings > Apps > Advanced app settings > App execution aliases: turn off python.exe and python3.exe.",
                  "设置 > 应用 > 高级应用设置 > 应用执行别名：关闭 python.exe 和 python3.exe。"))
    elif kind == STORE_PYTHON:
        f.error(T("{p} is the Microsoft Store Python: it cannot create the web UI's venv (#9566).",
                  "{p} 是 Microsoft Store 版 Python：无法创建 web UI 的 venv（#9566）。", p=resolved))
    elif not info.get("runs"):
        f.error(T("{p} does not run: {e}", "{p} 无法运行：{e}", p=resolved, e=info.get("error") or info.get("exit_code")))
    else:
        good = _judge_version(f, info, resolved)
    if facts.get("active_venv"):
        good = not _judge_active_venv(f, facts)  # the active venv's interpreter is never the approved one
    for name, why in sorted((facts.get("unreadable_settings") or {}).items()):
        f.warn(T("{f} could not be read ({e}); the launcher cannot read it either, so its settings were ignored.",
                 "无法读取 {f}（{e}）；启动脚本同样读不了它，因此忽略了其中的设置。", f=name, e=why),
               T("Check that {f} is a readable file (copy it to a new file if the disk reports errors).",
                 "确认 {f} 是可读的文件（若磁盘报错，把它复制成一个新文件）。", f=name))
    if not good:
        alternatives = facts.get("alternatives") or []
        if alternatives:
            best = alternatives[0]
            f.advise(T("Use Python {v} found at {p}: put this line in {f}:\n{line}",
                       "使用已找到的 Python {v}（{p}）：在 {f} 中写入这一行：\n{line}", v=best["version"], p=best["path"],
                       f=facts.get("settings_file") or _settings_file(platform), line=_setting_line(platform, best["path"])))
            f.proposals["PYTHON"] = best["path"]
        else:
            f.advise(_install_advice(platform))
        if facts.get("venv"):
            f.advise(T("Then delete the old venv, or the new Python has no effect:\n{c}",
                       "然后删除旧 venv，否则新的 Python 不会生效：\n{c}", c=delete_folder_command(platform, facts["venv"])))
    return f
