"""python: the interpreter the web UI will actually use, and a better one when it is not fine (webui-facts.md §4)."""

import os

from sd_doctor.checks._common import delete_folder_command, settings_file
from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T, join
from sd_doctor.launcher.webui_sh import working_form

ID = "python"
TITLE = T("Python", "Python")


def probe(ctx):
    from sd_doctor.probes.interpreters import classify, find_alternatives, interrogate_once, is_good_for_webui, \
        local_bound, split_path
    from sd_doctor.launcher.settings import venv_path

    entries = split_path(ctx.launcher.environ.get("PATH", ""), ctx.host.path_sep)
    from sd_doctor.probes.launcher_python import launcher_python

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
    facts.update(launcher_facts(ctx, command, venv))
    return facts


def launcher_facts(ctx, command, venv):
    """What the launcher model says about Python: the flavour, its accepted minors and torch pin (with the file and
    line they come from), the one-click package, webui.sh's venv rules, files that could not be read."""
    model = ctx.launcher
    sh = model.webui_sh or {}
    return {"flavour": model.flavour_label, "python_range": model.python, "torch": model.torch,
            "one_click": (model.one_click or {}).get("root"),
            "outside_venv": bool(ctx.platform != "windows" and venv and command and os.path.isabs(command)
                                 and sh and not sh.get("absolute_python_in_venv")),
            "absolute_python_outside_venv": bool(sh and venv and not sh.get("absolute_python_in_venv")),
            "launcher_notes": list(model.notes)}


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
    from sd_doctor.checks._settings_lines import settings_line

    if platform == "windows":
        from sd_doctor.formats.bat import python_value

        return settings_line(platform, "PYTHON", python_value(path))
    return settings_line(platform, "python_cmd", path)


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


def _range_text(facts):
    """Where the verdict comes from, e.g. 'Forge: modules/launch_utils.py line 46 accepts 3.10 on Windows;
    torch==2.3.1 (modules/launch_utils.py line 365)'; None when the launcher model knows neither."""
    rng, torch = facts.get("python_range") or {}, facts.get("torch") or {}
    windows = facts["platform"] == "windows"
    minors = rng.get("windows" if windows else "other") or []
    label = facts.get("flavour") or "web UI"
    parts = []
    if minors:
        parts.append(T("{f} line {n} accepts {m} on {p}", "{f} 第 {n} 行接受 {p} 上的 {m}", f=rng.get("file"),
                       n=rng.get("line"), m=", ".join("3.%d" % m for m in minors),
                       p="Windows" if windows else "Linux/macOS"))
    if torch.get("pin"):
        parts.append(T("torch=={v} ({f} line {n})", "torch=={v}（{f} 第 {n} 行）", v=torch["pin"], f=torch.get("file"),
                       n=torch.get("line")))
    if not parts:
        return None
    return T("{l}: {p}", "{l}：{p}", l=label, p=join(parts))


def _judge_version(f, facts, info, where, vt):
    """Add the verdict on one runnable interpreter; True when it is fine for the installed flavour."""
    rng = facts.get("python_range") or {}
    wheels = (facts.get("torch") or {}).get("pythons")
    pin = (facts.get("torch") or {}).get("pin") or "2.1.2"
    accepted = rng.get("windows" if facts["platform"] == "windows" else "other")
    said = _range_text(facts)
    w = T("{w} ({s})", "{w}（{s}）", w=where, s=said) if said else where
    minor = vt[1] if vt[:1] == (3,) else None
    if info.get("bits") != 64:
        f.error(T("{w}: 32-bit Python finds no torch at all (#10592).", "{w}：32 位 Python 根本装不上 torch（#10592）。", w=w))
    elif minor is None or (wheels and minor > wheels[1]) or (not wheels and minor >= 12):
        f.error(T("{w}: too new, pip finds no torch=={t} for it (#16501, #16878).",
                  "{w}：版本太新，pip 找不到适用的 torch=={t}（#16501、#16878）。", w=w, t=pin))
    elif minor < 10 or (wheels and minor < wheels[0]):
        f.error(T("{w}: too old, the web UI's code fails on it (#4272).", "{w}：版本太旧，web UI 的代码无法运行（#4272）。", w=w))
    elif accepted and minor not in accepted:
        f.warn(T("{w}: its check_python_version does not accept 3.{m} here: it prints \"INCOMPATIBLE PYTHON VERSION\" "
                 "and goes on; it is tested on 3.10.6{x}.", "{w}：它的 check_python_version 在此不接受 3.{m}：会显示 "
                 "\"INCOMPATIBLE PYTHON VERSION\" 并继续；它在 3.10.6 上测试{x}。", w=w, m=minor, x=_xformers(facts, minor)))
    elif not accepted and minor == 11:
        f.warn(T("{w}: 3.11 mostly works but breaks --xformers on Windows; the web UI is tested on 3.10.6.",
                 "{w}：3.11 大体可用，但在 Windows 上 --xformers 会出问题；web UI 在 3.10.6 上测试。", w=w))
    else:
        f.ok(w if vt == (3, 10, 6) or minor != 10 else T(
            "{w}; the web UI is tested on 3.10.6, other 3.10 releases work.",
            "{w}；web UI 在 3.10.6 上测试，其他 3.10 版本也可以。", w=w))
        return True
    return False


def _xformers(facts, minor):
    if minor == 11 and facts["platform"] == "windows":
        return T(" (3.11 breaks --xformers on Windows)", "（3.11 在 Windows 上会让 --xformers 出问题）")
    return ""


def judge(facts):
    from sd_doctor.probes.interpreters import STORE_ALIAS, STORE_PYTHON, version_tuple

    f = Finding(ID, TITLE)
    platform = facts["platform"]
    info = facts.get("info") or {}
    command, resolved, kind = facts["command"], facts.get("resolved"), facts.get("kind")
    good = False
    if not resolved and facts.get("one_click"):
        f.error(T("The package's Python ({c}) was not found in its system\\python folder: the package is incomplete.",
                  "在安装包的 system\\python 文件夹中找不到它的 Python（{c}）：安装包不完整。", c=command),
                T("Extract the one-click package again (the whole archive, keeping its folders).",
                  "重新完整解压一键安装包（保留其文件夹结构）。"))
    elif not resolved:
        f.error(T("{c} was not found (webui.bat stops with \"Couldn't launch python\", exit code 9009).",
                  "找不到 {c}（webui.bat 会停在 \"Couldn't launch python\"，退出代码 9009）。", c=command)
                if platform == "windows" else
                T("{c} was not found ({s} runs it: python_cmd is not set).", "找不到 {c}（{s} 会运行它：未设置 python_cmd）。",
                  c=command, s=facts["source"]) if str(facts.get("source")).startswith("webui.sh") else
                T("{c} was not found.", "找不到 {c}。", c=command))
    elif kind == STORE_ALIAS:
        f.error(T("{p} is the Microsoft Store alias, not Python: it fails with exit code 9009.",
                  "{p} 是 Microsoft Store 的别名，不是真正的 Python：运行会以退出代码 9009 失败。", p=resolved),
                T("Settings > Apps > Advanced app settings > App execution aliases: turn off python.exe and python3.exe.",
                  "设置 > 应用 > 高级应用设置 > 应用执行别名：关闭 python.exe 和 python3.exe。"))
    elif kind == STORE_PYTHON:
        f.error(T("{p} is the Microsoft Store Python: it cannot create the web UI's venv (#9566).",
                  "{p} 是 Microsoft Store 版 Python：无法创建 web UI 的 venv（#9566）。", p=resolved))
    elif not info.get("runs"):
        f.error(T("{p} does not run: {e}", "{p} 无法运行：{e}", p=resolved, e=info.get("error") or info.get("exit_code")))
    else:
        version = info.get("version", "?")
        vt = version_tuple(version)
        where = T("Python {v} ({b}-bit) at {p}", "Python {v}（{b} 位），位于 {p}", v=version, b=info.get("bits"),
                  p=info.get("executable") or resolved)
        good = _judge_version(f, facts, info, where, vt)
    if facts.get("active_venv"):
        good = not _judge_active_venv(f, facts)  # the active venv's interpreter is never the approved one
    _launcher_lines(f, facts)
    _advise(f, facts, good)
    return f


def _launcher_lines(f, facts):
    """The launcher model's remarks: unreadable files, the one-click package, webui.sh's venv rule."""
    for name, why in sorted((facts.get("unreadable_settings") or {}).items()):
        f.warn(T("{f} could not be read ({e}); the launcher cannot read it either, so its settings were ignored.",
                 "无法读取 {f}（{e}）；启动脚本同样读不了它，因此忽略了其中的设置。", f=name, e=why),
               T("Check that {f} is a readable file (copy it to a new file if the disk reports errors).",
                 "确认 {f} 是可读的文件（若磁盘报错，把它复制成一个新文件）。", f=name))
    for note in facts.get("launcher_notes") or []:
        f.add("skip", T("{f} could not be read as Python ({w}): what it tells ({u}) is unknown and not assumed; the "
                        "web UI's usual 3.10 is the measure.", "无法按 Python 读取 {f}（{w}）：它所说明的内容（{u}）未知，"
                        "不作猜测；按 web UI 通常的 3.10 判断。", f=note["file"], w=note["why"], u=note["for"]))
    if facts.get("one_click"):
        f.ok(T("One-click package: run.bat gives the launcher the package's own Python and git (environment.bat, "
               "SKIP_VENV=1). Start the web UI with {r}, never webui-user.bat directly (that gives exit code 9009).",
               "一键安装包：run.bat 会让启动脚本使用安装包自带的 Python 和 git（environment.bat，SKIP_VENV=1）。请用 {r} "
               "启动 web UI，不要直接运行 webui-user.bat（那样会出现退出代码 9009）。",
               r=facts["one_click"].rstrip("\\/") + ("\\" if facts["platform"] == "windows" else "/") + "run.bat"))
    if facts.get("outside_venv"):
        f.warn(T("This webui.sh (before v1.10) runs launch.py with the absolute python_cmd {c} itself, outside the venv "
                 "(#16113): packages go to that interpreter, not to the venv.",
                 "这个 webui.sh（v1.10 之前）会直接用绝对路径 python_cmd {c} 运行 launch.py，不在 venv 中（#16113）：软件包会"
                 "装进那个解释器，而不是 venv。", c=facts["command"]),
               T("In webui-user.sh put the interpreter's folder first on PATH and name it by its command name:\n{l}",
                 "在 webui-user.sh 中把该解释器所在文件夹放到 PATH 最前面，并用命令名指定它：\n{l}",
                 l=working_form(facts["command"])))


def _advise(f, facts, good):
    platform = facts["platform"]
    if good:
        return
    alternatives = facts.get("alternatives") or []
    if alternatives:
        best = alternatives[0]
        line = _setting_line(platform, best["path"])
        if platform != "windows" and facts.get("absolute_python_outside_venv"):
            line = working_form(best["path"])
        f.advise(T("Use Python {v} found at {p}: put this line in {f}:\n{line}",
                   "使用已找到的 Python {v}（{p}）：在 {f} 中写入这一行：\n{line}", v=best["version"], p=best["path"],
                   f=facts.get("settings_file") or _settings_file(platform), line=line))
        f.proposals["PYTHON"] = best["path"]
    elif not facts.get("one_click"):
        f.advise(_install_advice(platform))
    if facts.get("venv"):
        f.advise(T("Then delete the old venv, or the new Python has no effect:\n{c}",
                   "然后删除旧 venv，否则新的 Python 不会生效：\n{c}", c=delete_folder_command(platform, facts["venv"])))
