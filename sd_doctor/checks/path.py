"""path: what PATH gives the launchers: python and git reachable, no dead entries, no impostor Python first."""

import os

from sd_doctor.core.finding import Finding
from sd_doctor.core.text import T

ID = "path"
TITLE = T("PATH", "PATH 环境变量")


def probe(ctx):
    from sd_doctor.probes.interpreters import STORE_ALIAS, STORE_PYTHON, classify, interrogate_once, local_bound, \
        split_path, which_all

    # The PATH the launcher gets: in a one-click package run.bat's (environment.bat puts the package's git and
    # Python first), else the process's own.
    entries = split_path(ctx.launcher.environ.get("PATH", ""), ctx.host.path_sep)
    names = ctx.host.executable_names
    pythons = which_all("python", entries, names)
    if ctx.platform != "windows":  # webui.sh runs python3.10, else python3 (webui-facts.md §3)
        pythons = which_all("python3.10", entries, names) + which_all("python3", entries, names) + pythons
        pythons = [p for i, p in enumerate(pythons) if p not in pythons[:i]]
    v = ctx.launch["variables"]
    first = next((p for p in pythons if classify(p) not in (STORE_ALIAS, STORE_PYTHON)), None)
    # Asked once and shared with the python check: a pyenv shim without that version is on PATH but does not run.
    first_runs = interrogate_once(ctx, first, local_bound(ctx.timeout)) if first else None
    return {
        "first_python": {"path": first, "runs": first_runs.get("runs"), "error": first_runs.get("error")}
        if first_runs else None,
        "platform": ctx.platform,
        "entries": entries,
        "missing": [e for e in entries if e.strip() and not os.path.isdir(os.path.expandvars(e.strip().strip('"')))],
        "pythons": [{"path": p, "kind": classify(p)} for p in pythons],
        "git": (which_all("git", entries, names) or [None])[0],
        "python_setting": v.get("PYTHON") if ctx.platform == "windows" and ctx.launch["source"].get("PYTHON") not in
        (None, "default") else v.get("python_cmd"),
        "git_setting": v.get("GIT"),
        "one_click": (ctx.launcher.one_click or {}).get("run_bat"),
    }


def judge(facts):
    from sd_doctor.probes.interpreters import STORE_ALIAS, STORE_PYTHON

    f = Finding(ID, TITLE)
    windows = facts["platform"] == "windows"
    pythons = facts.get("pythons") or []
    real = [p for p in pythons if p["kind"] not in (STORE_ALIAS, STORE_PYTHON)]
    if not real:
        msg = T("No Python on PATH.", "PATH 中没有 Python。")
        if facts.get("python_setting"):
            f.ok(T("No Python on PATH, but the settings name one ({p}).", "PATH 中没有 Python，但设置里已指定（{p}）。",
                   p=facts["python_setting"]))
        elif windows:
            f.error(msg, T("Re-run the Python 3.10.6 installer, choose Modify, tick \"Add Python to environment "
                           "variables\"; or set PYTHON in webui-user.bat to the full path of python.exe.",
                           "重新运行 Python 3.10.6 安装程序，选择 Modify 并勾选 \"Add Python to environment variables\"；"
                           "或在 webui-user.bat 中把 PYTHON 设为 python.exe 的完整路径。"))
        else:
            f.error(msg, T("Install python3.10 and make sure its folder is on PATH.", "安装 python3.10 并确保其目录在 PATH 中。"))
    if pythons and pythons[0]["kind"] == STORE_ALIAS and real:
        f.warn(T("The Microsoft Store alias ({a}) comes before the real Python ({p}) on PATH.",
                 "PATH 中 Microsoft Store 别名（{a}）排在真正的 Python（{p}）前面。", a=pythons[0]["path"], p=real[0]["path"]),
               T("Settings > Apps > Advanced app settings > App execution aliases: turn off python.exe and python3.exe.",
                 "设置 > 应用 > 高级应用设置 > 应用执行别名：关闭 python.exe 和 python3.exe。"))
    if real and real[0]["kind"] and pythons[0] is real[0]:
        f.warn(T("The first Python on PATH belongs to {k}: {p}", "PATH 中第一个 Python 属于 {k}：{p}", k=real[0]["kind"],
                 p=real[0]["path"]),
               T("Set {v} in the settings file to your Python 3.10 (see the check \"Python\"), or move its folder "
                 "ahead of {k}'s on PATH.", "在设置文件中把 {v} 设为你的 Python 3.10（见“Python”检查项），或在 PATH 中把它移到 {k} 之前。",
                 k=real[0]["kind"], v="PYTHON" if windows else "python_cmd"))
    if not facts.get("git"):
        if facts.get("git_setting"):
            f.ok(T("git is not on PATH, but GIT is set ({g}).", "PATH 中没有 git，但已设置 GIT（{g}）。", g=facts["git_setting"]))
        else:
            f.error(T("git is not on PATH: the launcher cannot clone its repositories.", "PATH 中没有 git：启动脚本无法克隆所需仓库。"),
                    T("Install Git for Windows from https://git-scm.com/download/win (keep \"Git from the command line\").",
                      "从 https://git-scm.com/download/win 安装 Git for Windows（保留 \"Git from the command line\" 选项）。")
                    if windows else T("Install git: sudo apt install git (or your system's package manager).",
                                      "安装 git：sudo apt install git（或使用系统的包管理器）。"))
    missing = facts.get("missing") or []
    if missing:
        f.warn(T("{n} PATH entries do not exist: {l}", "PATH 中有 {n} 项不存在：{l}", n=len(missing), l="; ".join(missing[:5])),
               T("Remove them in System Properties > Environment Variables > Path.", "在 系统属性 > 环境变量 > Path 中删除它们。")
               if windows else T("Remove them from PATH in your shell profile.", "在 shell 配置文件中把它们从 PATH 删除。"))
    first = facts.get("first_python") or {}
    if real and first.get("path") == real[0]["path"] and first.get("runs") is False:
        # Never a pass for the interpreter the python check fails (a pyenv shim without that version); its
        # error and the remedy are said there, once.
        f.warn(T("The first Python on PATH, {p}, does not run (see the check \"Python\").",
                 "PATH 中第一个 Python（{p}）无法运行（见“Python”检查项）。", p=first["path"]))
    if not f.lines:
        f.ok(T("python {p}, git {g}", "python {p}，git {g}", p=real[0]["path"] if real else "-", g=facts.get("git")))
    if facts.get("one_click"):
        f.ok(T("Judged on the PATH {r} gives the launcher (the package's git and Python first).",
               "按 {r} 交给启动脚本的 PATH 判断（安装包自带的 git 和 Python 在最前面）。", r=facts["one_click"]))
    return f
