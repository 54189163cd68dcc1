"""The Windows download, sd-doctor.exe (tools/build-windows freezes this module's ``main``).

What differs from ``python -m sd_doctor``: people download the file, drop it into the web UI folder and double-click
it. So without arguments it checks the folder it sits in when that folder holds a web UI, else the current folder,
and says which; and when it is the only program on its console (a window Explorer opened for it), it asks for Enter
before the window closes with the report in it.
"""

import os
import sys

from sd_doctor.core.text import T


def program_folder():
    """The folder sd-doctor.exe lies in (frozen), else None."""
    if getattr(sys, "frozen", False):
        return os.path.dirname(os.path.abspath(sys.executable))
    return None


def choose_folder(argv, exe_folder, cwd):
    """(argv to run, message saying which folder was chosen or None). Only a run without arguments chooses."""
    if argv:
        return list(argv), None
    from sd_doctor.launcher.flavour import detect

    if exe_folder and detect(exe_folder)[0]:
        return [exe_folder], T("Checking the folder sd-doctor.exe is in, which holds a web UI: {d}",
                               "检查 sd-doctor.exe 所在的文件夹（其中有 web UI）：{d}", d=exe_folder)
    if exe_folder:
        return [], T("Checking the current folder {d} (the folder sd-doctor.exe is in holds no web UI)",
                     "检查当前文件夹 {d}（sd-doctor.exe 所在的文件夹中没有 web UI）", d=cwd)
    return [], None


def _say(text):
    try:
        sys.stdout.reconfigure(errors="replace")
    except (AttributeError, ValueError):
        pass
    sys.stdout.write(text + "\n")
    sys.stdout.flush()


def main(argv=None, exe_folder=None):
    from sd_doctor import cli
    from sd_doctor import host as platforms
    from sd_doctor.host import console

    argv = sys.argv[1:] if argv is None else list(argv)
    wait = console.should_wait_for_enter(argv)
    lang = "en"
    try:
        lang = cli.detect_lang(argv, platforms.current().locale_names())
        argv, chosen = choose_folder(argv, exe_folder or program_folder(), os.getcwd())
        if chosen is not None:
            _say(chosen.render(lang))
        return cli.main(argv)
    finally:
        if wait:
            console.wait_for_enter(T("Press Enter to close this window.", "按回车键关闭此窗口。").render(lang))
