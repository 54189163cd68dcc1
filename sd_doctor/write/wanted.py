"""The values sd-doctor wants the launcher to see (from the checks' proposals and the plan), before the file is read."""

import os

from sd_doctor.formats.bat import python_value
from sd_doctor.core.text import T

# Characters webui.bat would interpret where it expands GIT or VENV_DIR without quotes of its own.
_CMD_ACTIVE = set('"&|<>^')

# -- what it writes -------------------------------------------------------------------------------------------------

def proposals(findings):
    merged = {}
    for finding in findings.values():
        merged.update(getattr(finding, "proposals", None) or {})
    return merged


class Wanted(object):
    """The values sd-doctor wants the launcher to see, before looking at the file."""

    def __init__(self):
        self.values = []  # [(name, value, reason T)]
        self.problems = []  # [T] values that cannot be written safely
        self.left_out = []  # [T] values this launcher generation cannot take: said, not written, not an error


def _absolute_python_runs_outside_venv(ctx, python):
    """True where the installed webui.sh runs launch.py on an absolute python_cmd itself, outside the venv it uses
    (before v1.10, #16113); False when the venv is skipped or webui.sh re-points python_cmd at the venv (#16116)."""
    sh = ctx.launcher.webui_sh
    if not sh or sh.get("absolute_python_in_venv") or not os.path.isabs(python) or ctx.options.no_venv:
        return False
    return ctx.launch["variables"].get("venv_dir", "venv") != "-"


_DOWNLOAD_REASONS = (
    ("INDEX_URL", T("the downloads check: INDEX_URL does not answer, the index in pip's own configuration does",
                    "下载检查：INDEX_URL 无法访问，而 pip 自身配置的索引可以访问")),
    ("HF_ENDPOINT", T("the downloads check: Hugging Face does not answer, the mirror does",
                      "下载检查：Hugging Face 无法访问，而镜像可以访问")),
)


def _want_python(ctx, want, python, windows, target):
    if windows:
        if '"' in python:
            want.problems.append(T("the Python path {p} contains a quote.", "Python 路径 {p} 含有引号。", p=python))
        else:
            want.values.append(("PYTHON", python_value(python),
                                T("the interpreter the python check found", "“Python”检查项找到的解释器")))
    elif _absolute_python_runs_outside_venv(ctx, python):
        from sd_doctor.launcher.webui_sh import working_form
        want.left_out.append(T("python_cmd={p} is not written: this webui.sh (before v1.10) would run launch.py on "
                               "it outside the venv (#16113). Add these lines to {f} by hand:\n{l}",
                               "未写入 python_cmd={p}：这个 webui.sh（v1.10 之前）会在 venv 之外用它运行 launch.py"
                               "（#16113）。请手动在 {f} 中加入：\n{l}", p=python, f=target.name,
                               l=working_form(python)))
    else:
        want.values.append(("python_cmd", python, T("the interpreter the python check found", "“Python”检查项找到的解释器")))


def _want_git(want, value, windows):
    if windows and _CMD_ACTIVE & set(value):
        want.problems.append(T("GIT={v}: webui.bat would read part of it as a command.",
                               "GIT={v}：webui.bat 会把其中一部分当作命令执行。", v=value))
    else:
        want.values.append(("GIT", value, T("the git the check \"git and repositories\" found", "“git 与代码仓库”检查项找到的 git")))


def _want_no_venv(ctx, want, windows, target):
    if windows:
        legacy = ctx.layout.get("generation") == "2022"
        want.values.append(("VENV_DIR", "" if legacy else "-",
                            T("--no-venv: an empty VENV_DIR skips the venv in the 2022 webui.bat", "--no-venv：在 2022 "
                              "年版 webui.bat 中，空的 VENV_DIR 表示不使用 venv") if legacy else
                            T("--no-venv: VENV_DIR=- skips the venv", "--no-venv：VENV_DIR=- 表示不使用 venv")))
    elif (ctx.launcher.webui_sh or {}).get("venv_dash_honoured", True) is False:
        want.left_out.append(T("--no-venv: this webui.sh (before v1.7) reads venv_dir before it sources {f}, so "
                               "venv_dir=- there cannot skip the venv; update the web UI (git pull) first.",
                               "--no-venv：这个 webui.sh（v1.7 之前）在读取 {f} 之前就读了 venv_dir，因此在那里写 "
                               "venv_dir=- 无法跳过 venv；请先更新 web UI（git pull）。", f=target.name))
    else:
        want.values.append(("venv_dir", "-", T("--no-venv: venv_dir=- skips the venv", "--no-venv：venv_dir=- 表示不使用 venv")))


def _want_network(want, props, windows):
    if props.get("NO_PROXY"):
        reason = T("the proxy check: the web UI must reach itself on localhost without the proxy",
                   "“代理”检查项：web UI 访问本机 localhost 时不能经过代理")
        want.values.append(("NO_PROXY", props["NO_PROXY"], reason))
        if not windows:  # cmd's variables ignore case; bash's do not, and tools read either spelling
            want.values.append(("no_proxy", props["NO_PROXY"], reason))
    for var in ("HTTP_PROXY", "HTTPS_PROXY"):
        # Proposed only for a Windows registry proxy: once NO_PROXY is set, Python stops reading the registry.
        if props.get(var) and props.get("NO_PROXY"):
            want.values.append((var, props[var], T("the proxy check: keeps the Windows proxy in use once NO_PROXY is set",
                                                   "“代理”检查项：设置 NO_PROXY 后仍使用 Windows 代理")))
    for var, reason in _DOWNLOAD_REASONS:
        if props.get(var):
            want.values.append((var, props[var], reason))
    if props.get("STABLE_DIFFUSION_REPO"):
        want.values.append(("STABLE_DIFFUSION_REPO", props["STABLE_DIFFUSION_REPO"],
                            T("the git check: the default Stable Diffusion repository is gone",
                              "“git 与代码仓库”检查项：默认的 Stable Diffusion 仓库已不存在")))


def _refuse_absolute_venv(ctx, want, windows):
    """Never an absolute VENV_DIR where webui.bat puts %~dp0 in front of it (before January 2023, #6608)."""
    import ntpath

    if not (windows and (ctx.layout or {}).get("venv_under_dp0")):
        return
    for entry in [e for e in want.values if e[0] == "VENV_DIR" and ntpath.splitdrive(e[1].strip('"'))[0]]:
        want.values.remove(entry)
        want.left_out.append(T("VENV_DIR={v} is not written: this webui.bat runs \"%~dp0%VENV_DIR%\\Scripts\\Python.exe\""
                               " (#6608), so VENV_DIR must be relative to the web UI folder.",
                               "未写入 VENV_DIR={v}：这个 webui.bat 运行 \"%~dp0%VENV_DIR%\\Scripts\\Python.exe\"（#6608），"
                               "因此 VENV_DIR 必须是相对于 web UI 文件夹的路径。", v=entry[1]))


def wanted_values(ctx, findings, target):
    """(Wanted, the merged proposals) for ``target``'s dialect."""
    props = proposals(findings)
    windows = target.dialect == "bat"
    want = Wanted()
    if props.get("PYTHON"):
        _want_python(ctx, want, props["PYTHON"], windows, target)
    if props.get("GIT"):
        _want_git(want, props["GIT"], windows)
    if ctx.options.no_venv:
        _want_no_venv(ctx, want, windows, target)
    elif windows and props.get("VENV_DIR"):
        want.values.append(("VENV_DIR", props["VENV_DIR"], T("the venv check: this webui.bat takes VENV_DIR relative "
                                                             "to its folder (#6608)", "venv 检查：这个 webui.bat 把 "
                                                             "VENV_DIR 当作相对于其文件夹的路径（#6608）")))
    _refuse_absolute_venv(ctx, want, windows)
    _want_network(want, props, windows)
    return want, props
