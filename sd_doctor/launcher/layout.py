"""What is installed in the web UI folder: flavour, generation of webui.bat, version, accepted flags.

Facts only, read from the files; judging happens in the checks, planning in the planner.
"""

import os
import re

from sd_doctor.formats.textfile import read_text_lenient

MARKERS = ("webui.bat", "webui.sh", "launch.py")

GEN_2022 = "2022"  # hard-coded VENV_DIR=venv and COMMANDLINE_ARGS=%*
GEN_2023 = "2023"  # if not defined VENV_DIR (set VENV_DIR=venv), no settings call
GEN_17 = "1.7+"  # if exist webui.settings.bat call webui.settings.bat, first


def detect_generation(bat_text):
    """Generation of a webui.bat from its text (webui-facts.md §2), or None when it is not recognisable."""
    low = bat_text.lower()
    if re.search(r"^\s*set\s+\"?venv_dir=venv", low, re.M) and not re.search(r"if\s+not\s+defined", low):
        return GEN_2022  # checked first: the 2022 webui.bat may also call webui.settings.bat (after its own sets)
    if "webui.settings.bat" in low and re.search(r"if\s+exist\s+\"?webui\.settings\.bat", low):
        return GEN_17
    if re.search(r"if\s+not\s+defined\s+venv_dir", low):
        return GEN_2023
    if re.search(r"^\s*set\s+\"?venv_dir=venv", low, re.M):
        return GEN_2022
    return None


def calls_settings_bat(bat_text):
    return bool(re.search(r"call\s+\"?webui\.settings\.bat", bat_text, re.I))


def detect_flavour(root):
    """'a1111', 'forge', 'reforge', 'sdnext', or None when no web UI is installed there."""
    isdir = lambda *p: os.path.isdir(os.path.join(root, *p))
    isfile = lambda *p: os.path.isfile(os.path.join(root, *p))
    if isdir("modules_forge"):
        return "reforge" if isdir("ldm_patched") else "forge"
    if isfile("installer.py") and not isfile("webui.bat"):
        return "sdnext"
    if isfile("launch.py") or isfile("webui.bat") or isfile("webui.sh"):
        return "a1111"
    return None


# add_argument("--flag", ...) or add_argument("-f", "--flag", ...): every option string before the first keyword.
_CALL_RE = re.compile(r"""add_argument\(\s*((?:["']-{1,2}[A-Za-z0-9][A-Za-z0-9_-]*["']\s*,?\s*)+)""")
_OPTION_RE = re.compile(r"""["'](--[A-Za-z0-9][A-Za-z0-9_-]*)["']""")


def accepted_flags(root):
    """Every --flag the installed web UI's argument parser declares (modules/cmd_args.py), or None."""
    flags = set()
    found = False
    for rel in (("modules", "cmd_args.py"), ("modules_forge", "cmd_args.py"), ("ldm_patched", "modules", "args_parser.py"),
                ("backend", "args.py")):
        path = os.path.join(root, *rel)
        if os.path.isfile(path):
            found = True
            for options in _CALL_RE.findall(read_text_lenient(path)):
                flags.update(_OPTION_RE.findall(options))
    return sorted(flags) if found else None


_VERSION_RE = re.compile(r"v?(\d+\.\d+(?:\.\d+)?)")


def read_version(root, timeout=2.0):
    """The web UI's version from its git tags (``git describe``), or None."""
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    from sd_doctor.host.procs import run_bounded

    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    result = run_bounded(["git", "-C", root, "describe", "--tags", "--abbrev=0"], timeout, env=env)
    if result.ok:
        match = _VERSION_RE.search(result.stdout.strip())
        if match:
            return match.group(1)
    return None


def one_click_package(root):
    """True when ``root`` is the ``webui`` folder of a one-click package (environment.bat, system\\python beside it)."""
    parent = os.path.dirname(os.path.abspath(root))
    return os.path.isfile(os.path.join(parent, "environment.bat")) and os.path.isdir(os.path.join(parent, "system"))


def _emptiness(root):
    """(empty, the web UI one level below or None): ``webui\\`` of a one-click package, or a clone made inside."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return False, None
    for name in ["webui"] + names:
        sub = os.path.join(root, name)
        if os.path.isdir(sub) and any(os.path.isfile(os.path.join(sub, m)) for m in MARKERS):
            return False, sub
    return not names, None


def describe(root, timeout=2.0):
    """All layout facts about ``root`` as plain data."""
    facts = {"path": root, "exists": os.path.exists(root), "is_dir": os.path.isdir(root)}
    if not facts["is_dir"]:
        facts.update(installed=False, flavour=None, generation=None, version=None, markers=[])
        return facts
    markers = [m for m in MARKERS if os.path.isfile(os.path.join(root, m))]
    facts["markers"] = markers
    facts["empty"], facts["nested_webui"] = _emptiness(root) if not markers else (False, None)
    facts["installed"] = bool(markers)
    facts["flavour"] = detect_flavour(root)
    bat = os.path.join(root, "webui.bat")
    if os.path.isfile(bat):
        text = read_text_lenient(bat)
        facts["generation"] = detect_generation(text)
        facts["calls_settings_bat"] = calls_settings_bat(text)
    else:
        facts["generation"] = None
        facts["calls_settings_bat"] = False
    facts["one_click"] = one_click_package(root)
    facts["is_git"] = os.path.exists(os.path.join(root, ".git"))
    facts["version"] = read_version(root, timeout) if facts["installed"] else None
    facts["accepted_flags"] = accepted_flags(root)
    return facts
