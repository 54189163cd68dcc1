"""Which web UI is installed (flavour) and which generation of webui.bat it has, with how each was recognised.

Flavours (webui-facts.md §1, §8): ``a1111``; ``forge`` (``modules_forge/`` with ``backend/``, or with
``ldm_patched/`` before Forge's 2024 backend rewrite); ``reforge`` (``modules_forge/`` + ``ldm_patched/`` in a
checkout that names reForge: its git remote or README); ``forge-classic`` / ``forge-neo`` (a Forge whose README
names Classic or Neo); ``directml`` (the AMD fork: its parser declares ``--use-directml`` / ``--use-zluda``, or
``modules/dml/``); ``sdnext`` (``installer.py`` at the root) and ``comfyui`` (``comfy/`` + ``main.py``): these two do
not use webui-user.bat at all.
"""

import os
import re

from sd_doctor.formats.textfile import read_text_lenient

MARKERS = ("webui.bat", "webui.sh", "launch.py")

GEN_2022 = "2022"  # hard-coded VENV_DIR=venv and COMMANDLINE_ARGS=%*
GEN_2023 = "2023"  # if not defined VENV_DIR (set VENV_DIR=venv), no settings call
GEN_17 = "1.7+"  # if exist webui.settings.bat call webui.settings.bat, first

LABELS = {"a1111": "AUTOMATIC1111", "forge": "Forge", "reforge": "reForge", "forge-classic": "Forge Classic",
          "forge-neo": "Forge Neo", "directml": "the DirectML/AMD fork", "sdnext": "SD.Next", "comfyui": "ComfyUI"}
FORGE_FAMILY = ("forge", "reforge", "forge-classic", "forge-neo")
NOT_WEBUI_USER = ("sdnext", "comfyui")  # launchers that never read webui-user.bat / webui-user.sh

# The flags that run each family on the CPU (webui-facts.md §7, §8): A1111 needs all four; Forge has its own.
CPU_FLAGS = {"a1111": [("--use-cpu", ["all"]), ("--precision", ["full"]), ("--no-half", []),
                       ("--skip-torch-cuda-test", [])],
             "forge": [("--always-cpu", []), ("--skip-torch-cuda-test", [])], "none": []}


def family(flavour):
    """'forge' for the Forge family, 'none' for launchers without webui-user, else 'a1111' (also not installed)."""
    return "forge" if flavour in FORGE_FAMILY else ("none" if flavour in NOT_WEBUI_USER else "a1111")


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


def _readme_names(root, words):
    for name in ("README.md", "readme.md"):
        path = os.path.join(root, name)
        if os.path.isfile(path):
            try:
                head = read_text_lenient(path)[:4000].lower()
            except OSError:
                return None
            for word in words:
                if word.lower() in head:
                    return word
    return None


def _forge_kind(root, origin):
    """(flavour, evidence) for a checkout with modules_forge/."""
    isdir = lambda *p: os.path.isdir(os.path.join(root, *p))
    named = _readme_names(root, ("Forge Neo", "Forge Classic", "reForge"))
    if named == "Forge Neo":
        return "forge-neo", "modules_forge/ and a README that names Forge Neo"
    if named == "Forge Classic":
        return "forge-classic", "modules_forge/ and a README that names Forge Classic"
    if isdir("ldm_patched") and ((origin and "reforge" in origin.lower()) or named == "reForge"):
        return "reforge", "modules_forge/ and ldm_patched/, in a checkout that names reForge"
    if isdir("backend"):
        return "forge", "modules_forge/ and backend/"
    if isdir("ldm_patched"):
        return "forge", "modules_forge/ and ldm_patched/ (Forge before its 2024 backend rewrite)"
    return "forge", "modules_forge/"


def detect(root, origin=None, declared_flags=None):
    """(flavour or None, evidence text) for the folder ``root``; None when no web UI is installed there."""
    isdir = lambda *p: os.path.isdir(os.path.join(root, *p))
    isfile = lambda *p: os.path.isfile(os.path.join(root, *p))
    if isdir("modules_forge"):
        return _forge_kind(root, origin)
    if isfile("installer.py"):
        return "sdnext", "installer.py at the root"
    if isdir("comfy") and isfile("main.py") and not isfile("launch.py"):
        return "comfyui", "comfy/ and main.py at the root"
    flags = declared_flags or ()
    if "--use-directml" in flags or "--use-zluda" in flags or isdir("modules", "dml"):
        return "directml", "its parser declares --use-directml / --use-zluda (or modules/dml/)"
    present = [m for m in MARKERS if isfile(m)]
    if present:
        return "a1111", "%s, no fork's folders" % ", ".join(present)
    return None, "no webui.bat, webui.sh or launch.py"
