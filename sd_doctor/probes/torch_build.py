"""Which torch build the web UI will run with: CUDA 12.1, 11.8, ROCm, CPU... read from files, never by importing torch.

In order (webui-facts.md §1, §7): the torch already installed in the venv (launch_utils installs TORCH_COMMAND only
when torch is missing, or with --reinstall-torch); else TORCH_COMMAND; else TORCH_INDEX_URL; else the defaults in the
installed ``modules/launch_utils.py`` (``launch.py`` before v1.3). The index URL's host is never hard-coded here: it is
read from those files, and advice that names a different build only swaps the ``/whl/<build>`` suffix.
"""

import glob
import os
import re

from sd_doctor.formats.textfile import read_text_lenient

_URL_RE = re.compile(r"""(https?://[^\s"'{}<>]+?/whl/((?:cu\d{2,4})|(?:rocm[\d.]+)|cpu|xpu))(?=["'\s/]|$)""")
_TAG_RE = re.compile(r"(?:\+|/whl/|\b)(cu\d{2,4}|rocm\d+(?:\.\d+)*|cpu)\b")
_VERSION_RE = re.compile(r"""^__version__\s*=\s*["']([^"']+)["']""", re.M)
_CUDA_RE = re.compile(r"""^cuda\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""", re.M)
_HIP_RE = re.compile(r"""^hip\s*(?::[^=]*)?=\s*(?:["']([^"']+)["']|None)""", re.M)
_PIN_RE = re.compile(r"\btorch==([0-9][0-9a-z.]*)")
_DEFAULT_COMMAND_RE = re.compile(r"""['"]TORCH_COMMAND['"]\s*,\s*f?(['"])(.*?)\1""")


def pinned_torch(command):
    """'pip install torch==2.1.2 ...' -> '2.1.2'; None when the command does not pin torch."""
    m = _PIN_RE.search(command or "")
    return m.group(1) if m else None


def default_torch_command(text):
    """The first default TORCH_COMMAND in a launch_utils.py / launch.py text (the CUDA branch comes first), or None."""
    m = _DEFAULT_COMMAND_RE.search(text or "")
    return m.group(2) if m else None


def tag_to_build(tag):
    """'cu121' -> {'kind': 'cuda', 'cuda': '12.1', 'tag': 'cu121'}; 'rocm5.7' -> rocm; 'cpu' -> cpu."""
    if not tag:
        return None
    tag = tag.lower()
    if tag.startswith("cu") and tag[2:].isdigit():
        digits = tag[2:]
        return {"kind": "cuda", "cuda": "%s.%s" % (digits[:-1], digits[-1]), "tag": tag}
    if tag.startswith("rocm"):
        return {"kind": "rocm", "cuda": None, "tag": tag}
    if tag == "cpu":
        return {"kind": "cpu", "cuda": None, "tag": tag}
    return None


def build_in_text(text):
    """The build a TORCH_COMMAND / index URL names (the last tag wins: '--extra-index-url .../cu128' after 'torch')."""
    tags = _TAG_RE.findall(text or "")
    return tag_to_build(tags[-1]) if tags else None


def default_index_url(torch_defaults):
    """The default torch index URL of the launcher model's ``torch`` facts: TORCH_INDEX_URL's default, else the URL
    in the default TORCH_COMMAND (the 2022 launch.py and webui.bat name it there), or None."""
    if not torch_defaults:
        return None
    if torch_defaults.get("index_url"):
        return torch_defaults["index_url"]
    urls = _URL_RE.findall(torch_defaults.get("command") or "")
    return urls[0][0] if urls else None


def index_base(url):
    """'https://host/whl/cu121' -> 'https://host' (what precedes /whl/), or None."""
    if not url:
        return None
    m = re.match(r"(.+?)/whl/[^/]*/?$", url.strip())
    return m.group(1) if m else None


def read_installed_torch(venv_dir):
    """{'version': '2.1.2+cu121', 'cuda': '12.1', 'hip': None, 'path': ...} for the torch in a venv, or None."""
    if not venv_dir or not os.path.isdir(venv_dir):
        return None
    patterns = [os.path.join(venv_dir, "Lib", "site-packages", "torch", "version.py"),
                os.path.join(venv_dir, "lib", "python3*", "site-packages", "torch", "version.py")]
    for pattern in patterns:
        for path in sorted(glob.glob(pattern)):
            try:
                text = read_text_lenient(path)
            except OSError:
                continue
            version = _VERSION_RE.search(text)
            cuda = _CUDA_RE.search(text)
            hip = _HIP_RE.search(text)
            return {"version": version.group(1) if version else None,
                    "cuda": cuda.group(1) if cuda and cuda.group(1) else None,
                    "hip": hip.group(1) if hip and hip.group(1) else None, "path": path}
    return None


def describe(webui_dir, variables, tokens, venv_dir, defaults=None):
    """What torch build the web UI will use, as plain facts.

    Returns {'kind': 'cuda'|'rocm'|'cpu'|None, 'cuda': '12.1'|None, 'source': 'venv'|'TORCH_COMMAND'|
    'TORCH_INDEX_URL'|'launch_utils.py'|'launch.py'|None, 'detail': str, 'index_url': default index URL|None,
    'index_base': what precedes /whl/|None, 'installed': {...}|None, 'reinstall': bool}. ``defaults``: the launcher
    model's ``torch`` facts (read from ``webui_dir`` when not given).
    """
    facts = {"kind": None, "cuda": None, "source": None, "detail": None, "index_url": None, "index_base": None,
             "installed": None, "reinstall": "--reinstall-torch" in (tokens or []), "torch_version": None,
             "venv": venv_dir, "default_command": None}
    if defaults is None:
        from sd_doctor.launcher import launch_utils

        launch = launch_utils.read(webui_dir)[0] or {}
        defaults = {"index_url": launch.get("torch_index_url"), "command": launch.get("torch_command"),
                    "file": launch.get("file")}
    default_url = default_index_url(defaults)
    default_file = os.path.basename(defaults.get("file") or "") or None
    facts["default_command"] = defaults.get("command")
    env_url = variables.get("TORCH_INDEX_URL")
    command = variables.get("TORCH_COMMAND")
    facts["index_url"] = env_url or default_url
    facts["index_base"] = index_base(default_url) or index_base(env_url)
    if facts["index_base"] is None and command:
        urls = _URL_RE.findall(command)
        facts["index_base"] = index_base(urls[0][0]) if urls else None
    installed = read_installed_torch(venv_dir)
    facts["installed"] = installed
    if installed and not facts["reinstall"]:
        if installed.get("cuda"):
            facts.update(kind="cuda", cuda=installed["cuda"])
        elif installed.get("hip"):
            facts.update(kind="rocm")
        else:
            facts.update(kind="cpu")
        facts.update(source="venv", detail=installed.get("version"), torch_version=installed.get("version"))
        return facts
    # TORCH_INDEX_URL only feeds the default command, so its torch pin is the default command's.
    pins = {"TORCH_COMMAND": pinned_torch(command), "TORCH_INDEX_URL": pinned_torch(facts["default_command"]),
            default_file: pinned_torch(facts["default_command"])}
    for source, text in (("TORCH_COMMAND", command), ("TORCH_INDEX_URL", env_url), (default_file, default_url)):
        if not text or not source:
            continue
        build = build_in_text(text)
        if build:
            facts.update(kind=build["kind"], cuda=build["cuda"], source=source, detail=build["tag"],
                         torch_version=pins.get(source))
            return facts
    return facts
