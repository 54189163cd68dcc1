"""The settings file the writer writes, and why (webui-facts.md §2, §3, §8), decided once per run in the launcher
model so that the checks' advice and the writer name the same file.

``webui-user.bat`` for current Windows installs; ``webui.settings.bat`` where webui.bat calls it and either an
updater overwrites webui-user.bat (one-click packages), the file already exists (it is read after webui-user.bat,
so it wins), or the 2022 webui.bat calls it after hard-coding its own values; ``webui-user.sh`` on Linux and macOS;
no file for launchers that read neither (SD.Next, ComfyUI).
"""

import os

from sd_doctor.core.text import T
from sd_doctor.launcher.flavour import LABELS, NOT_WEBUI_USER

USER_BAT = "webui-user.bat"
SETTINGS_BAT = "webui.settings.bat"
USER_SH = "webui-user.sh"


def _not_webui_user(label):
    return Target(None, None, None,
                  T("{n} is not a webui-user.bat launcher: it reads neither webui-user.bat nor webui-user.sh; give "
                    "these settings to its own launcher.",
                    "{n} 不是 webui-user.bat 类启动器：它不读取 webui-user.bat 或 webui-user.sh；请把这些设置交给它自己的"
                    "启动方式。", n=label),
                  blocked=T("{n} has no settings file that sd-doctor writes.", "{n} 没有 sd-doctor 可写的设置文件。",
                            n=label))


class Target(object):
    """The settings file to write. ``dialect``: 'bat', 'sh' or None (no file can carry the settings);
    ``blocked``: a T saying why it is shown but never written, or None."""

    def __init__(self, name, path, dialect, why, blocked=None):
        self.name = name
        self.path = path
        self.dialect = dialect
        self.why = why
        self.blocked = blocked


def choose(layout, folder, platform_name):
    """The Target for a layout (flavour.py / model.py facts), the web UI folder and the judged platform."""
    windows = platform_name == "windows"
    default = USER_BAT if windows else USER_SH
    path = lambda name: os.path.join(folder, name)
    if not layout.get("is_dir"):
        return Target(default, path(default), "bat" if windows else "sh",
                      T("the web UI folder does not exist yet; these are the settings for {f} after the install.",
                        "web UI 文件夹还不存在；以下是安装后应写入 {f} 的设置。", f=default),
                      blocked=T("the web UI folder does not exist yet: install the web UI first, then run sd-doctor "
                                "--fix again.",
                                "web UI 文件夹还不存在：请先安装 web UI，再运行 sd-doctor --fix。"))
    if layout.get("flavour") in NOT_WEBUI_USER:
        return _not_webui_user(LABELS[layout["flavour"]])
    if not layout.get("installed"):
        return Target(default, path(default), "bat" if windows else "sh",
                      T("no web UI is installed in this folder yet; these are the settings for {f} after the install.",
                        "此文件夹中还没有安装 web UI；以下是安装后应写入 {f} 的设置。", f=default),
                      blocked=T("no web UI is installed here yet (a file written now would stop git clone): install "
                                "it first, then run sd-doctor --fix again.",
                                "这里还没有安装 web UI（现在写入文件会导致 git clone 失败）：请先安装，再运行 sd-doctor --fix。"))
    if not windows:
        return Target(USER_SH, path(USER_SH), "sh",
                      T("webui.sh reads webui-user.sh from its own folder before it starts.",
                        "webui.sh 启动前会读取同一文件夹中的 webui-user.sh。"))
    return _windows_target(layout, path)


def _windows_target(layout, path):
    """The Target on Windows, by the generation of the installed webui.bat (webui-facts.md §2)."""
    generation = layout.get("generation")
    calls = layout.get("calls_settings_bat")
    if generation == "2022":
        if calls:
            return Target(SETTINGS_BAT, path(SETTINGS_BAT), "bat",
                          T("this webui.bat (2022) sets PYTHON, VENV_DIR and COMMANDLINE_ARGS itself, then calls "
                            "webui.settings.bat: only that file can change them.",
                            "这个 webui.bat（2022 年版）自己设置 PYTHON、VENV_DIR 和 COMMANDLINE_ARGS，然后调用 "
                            "webui.settings.bat：只有该文件能改变它们。"))
        return Target(None, None, None,
                      T("this webui.bat (2022) sets PYTHON, VENV_DIR and COMMANDLINE_ARGS itself and reads no settings "
                        "file.", "这个 webui.bat（2022 年版）自己设置 PYTHON、VENV_DIR 和 COMMANDLINE_ARGS，不读取任何设置文件。"),
                      blocked=T("update the web UI (git pull in its folder) so that it reads webui-user.bat, then run "
                                "sd-doctor --fix again.",
                                "请更新 web UI（在其文件夹中运行 git pull），使它读取 webui-user.bat，再运行 sd-doctor --fix。"))
    if generation == "1.7+" or calls:
        if layout.get("one_click"):
            return Target(SETTINGS_BAT, path(SETTINGS_BAT), "bat",
                          T("one-click package: its updater overwrites webui-user.bat, and webui.bat reads "
                            "webui.settings.bat first.",
                            "一键安装包：它的更新程序会覆盖 webui-user.bat，而 webui.bat 会先读取 webui.settings.bat。"))
        if os.path.isfile(path(SETTINGS_BAT)):
            return Target(SETTINGS_BAT, path(SETTINGS_BAT), "bat",
                          T("webui.settings.bat exists, and webui.bat reads it after webui-user.bat's lines, so its "
                            "values win.",
                            "webui.settings.bat 已存在，webui.bat 在 webui-user.bat 之后读取它，所以以它的值为准。"))
        return Target(USER_BAT, path(USER_BAT), "bat",
                      T("webui-user.bat is the file you start; it sets the variables, then calls webui.bat (v1.7 or "
                        "later).", "webui-user.bat 是你启动的文件；它先设置变量，再调用 webui.bat（v1.7 及以后）。"))
    if generation == "2023":
        why = T("webui-user.bat is the file you start; this webui.bat (late 2022 to 2023) keeps the values it sets.",
                "webui-user.bat 是你启动的文件；这个 webui.bat（2022 年末至 2023 年）会沿用它设置的值。")
        if layout.get("one_click"):
            why = T("{w} The package's updater may overwrite webui-user.bat: run sd-doctor --fix again after an "
                    "update.", "{w} 安装包的更新程序可能覆盖 webui-user.bat：更新后请再次运行 sd-doctor --fix。", w=why)
        return Target(USER_BAT, path(USER_BAT), "bat", why)
    return Target(USER_BAT, path(USER_BAT), "bat",
                  T("webui-user.bat sets the variables, then calls webui.bat.", "webui-user.bat 先设置变量，再调用 webui.bat。"))
