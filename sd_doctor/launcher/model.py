"""The launcher model: one description of the installed launcher, built once per run from the installed files, that
every check, the planner and the writer read (so no two places decide the same thing differently).

``build(ctx)`` is the ``launcher_factory`` the command line hands to the Context; ``ctx.launcher`` returns it.
Every attribute is plain data; ``to_json()`` gives them for ``--verbose`` / ``--json``. Where a file cannot be
read as Python, ``notes`` names it and why, and the model falls back to what the generation's markers tell (it
never presents a guess as a fact: an unknown stays None).
"""

import os
import re

from sd_doctor.launcher import cmd_args, flavour as flavours, launch_utils, one_click, target, webui_bat, webui_sh

_TORCH_PIN = re.compile(r"\btorch==([0-9][^\s]*)")
# The Python minors each torch release publishes wheels for (lowest, highest): outside them pip finds no torch.
TORCH_WHEEL_PYTHONS = {(1, 12): (7, 10), (1, 13): (7, 11), (2, 0): (8, 11), (2, 1): (8, 11), (2, 2): (8, 12),
                       (2, 3): (8, 12), (2, 4): (8, 12), (2, 5): (9, 13), (2, 6): (9, 13), (2, 7): (9, 13),
                       (2, 8): (9, 13), (2, 9): (10, 14)}


class Launcher(object):
    """The installed launcher. Attributes (None where unknown):

    webui_dir, platform, exists, is_dir, installed, markers, is_git, version;
    flavour ('a1111'|'forge'|'reforge'|'forge-classic'|'forge-neo'|'directml'|'sdnext'|'comfyui'), flavour_label,
    flavour_evidence, generation ('2022'|'2023'|'1.7+' of webui.bat), calls_settings_bat, venv_under_dp0 (webui.bat
    runs "%~dp0%VENV_DIR%\\Scripts\\Python.exe": VENV_DIR must be relative, #6608);
    one_click ({'root', 'run_bat', 'python_dir', ...}) and environ (the environment the launcher gets: run.bat's in a
    one-click package, else the process's); settings (launcher/settings.read: the variables it sees);
    launch_file (the file read with ast), repositories ([{url_var, commit_var, url, url_source, commit,
    commit_source, folder, name, line}] with the launcher's overrides applied; None when unknown), torch
    ({'index_url', 'command', 'pin', 'file', 'line'}), python ({'windows', 'other', 'file', 'line'}: accepted minors),
    clip ({'package', 'line', 'command', 'no_build_isolation'}), requirements_file;
    flags ({'--flag': {'help', 'noop', 'file', 'line'}} or None when no parser file was found), flags_missing
    (parser files imported but absent: their flags are unknown); webui_sh (webui_sh.describe); target (the settings
    file the writer writes and why); notes ([{'file', 'why'}]: files that could not be read as Python).
    """

    def __init__(self, **facts):
        self.__dict__.update(facts)

    # -- questions the checks ask ---------------------------------------------------------------------------------
    @property
    def accepted_flags(self):
        """Every declared --flag (sorted), or None when the install has no readable parser file."""
        return sorted(self.flags) if self.flags is not None else None

    def declares(self, flag):
        """True / False; None when the parser is unknown (no parser file, or the flag could live in a missing one)."""
        if self.flags is None:
            return None
        if flag in self.flags:
            return True
        return None if self.flags_missing else False

    def cpu_flags(self):
        """[(flag, [values])] that run this flavour on the CPU, only those its parser declares (all of them when no
        parser is known: not installed yet, A1111 assumed)."""
        accepted = set(self.flags) if self.flags is not None else None
        return [(f, v) for f, v in flavours.CPU_FLAGS[flavours.family(self.flavour)] if accepted is None or f in accepted]

    @property
    def sdxl_capable(self):
        """True where this install can load SDXL (1.5.0+: it clones generative-models; the Forge family), False where
        its launcher file clones repositories but not generative-models, None when unknown."""
        if self.flavour in flavours.FORGE_FAMILY:
            return True
        if not self.repositories:
            return None
        return any(r.get("folder") == "generative-models" for r in self.repositories)

    def is_noop(self, flag):
        return bool(self.flags and self.flags.get(flag, {}).get("noop"))

    @property
    def layout(self):
        """The layout facts as the older readers' dict (path, installed, flavour, generation, ...)."""
        return {"path": self.webui_dir, "exists": self.exists, "is_dir": self.is_dir, "installed": self.installed,
                "markers": list(self.markers), "flavour": self.flavour, "generation": self.generation,
                "calls_settings_bat": self.calls_settings_bat, "one_click": bool(self.one_click),
                "is_git": self.is_git, "version": self.version, "accepted_flags": self.accepted_flags,
                "empty": self.empty, "nested_webui": self.nested_webui, "venv_under_dp0": self.venv_under_dp0}

    def to_json(self):
        out = dict(self.layout)
        out.update(flavour_label=self.flavour_label, flavour_evidence=self.flavour_evidence,
                   launch_file=self.launch_file, repositories=self.repositories, torch=self.torch, python=self.python,
                   clip=self.clip, requirements_file=self.requirements_file, webui_sh=self.webui_sh,
                   sdxl_capable=self.sdxl_capable, cpu_flags=[" ".join([f] + v) for f, v in self.cpu_flags()],
                   flags_files=self.flags_files, flags_missing=self.flags_missing, notes=self.notes,
                   noop_flags=sorted(f for f in (self.flags or {}) if self.is_noop(f)),
                   target={"file": self.target.name, "why": self.target.why, "blocked": self.target.blocked},
                   one_click=dict((k, v) for k, v in (self.one_click or {}).items() if k != "environ") or None)
        return out


def read_origin(webui_dir):
    """The git remote 'origin' URL from .git/config (no git process), or None."""
    from sd_doctor.formats.textfile import read_text_lenient

    path = os.path.join(webui_dir, ".git", "config")
    try:
        text = read_text_lenient(path)
    except OSError:
        return None
    match = re.search(r'\[remote\s+"origin"\][^\[]*?url\s*=\s*(\S+)', text, re.S)
    return match.group(1) if match else None


def _version(root, timeout):
    if not os.path.exists(os.path.join(root, ".git")):
        return None
    from sd_doctor.host.procs import run_bounded

    env = dict(os.environ, GIT_TERMINAL_PROMPT="0")
    result = run_bounded(["git", "-C", root, "describe", "--tags", "--abbrev=0"], timeout, env=env)
    match = re.search(r"v?(\d+\.\d+(?:\.\d+)?)", result.stdout.strip()) if result.ok else None
    return match.group(1) if match else None


def _emptiness(root):
    """(empty, the web UI one level below or None): ``webui\\`` of a one-click package, or a clone made inside."""
    try:
        names = sorted(os.listdir(root))
    except OSError:
        return False, None
    for name in ["webui"] + names:
        sub = os.path.join(root, name)
        if os.path.isdir(sub) and any(os.path.isfile(os.path.join(sub, m)) for m in flavours.MARKERS):
            return False, sub
    return not names, None


_DP0_VENV = re.compile(r"%~dp0%venv_dir%", re.I)


def venv_under_dp0(bat_text):
    """True where webui.bat builds ``"%~dp0%VENV_DIR%\\Scripts\\Python.exe"`` (before January 2023, #6608): VENV_DIR is
    taken relative to the web UI folder there, so an absolute value makes a path that does not exist."""
    return any(_DP0_VENV.search(line) and not line.strip().lower().startswith(("rem ", "@rem ", "::"))
               for line in bat_text.splitlines())


def _layout_facts(root, timeout):
    from sd_doctor.formats.textfile import read_text_lenient

    facts = {"webui_dir": root, "exists": os.path.exists(root), "is_dir": os.path.isdir(root), "generation": None,
             "calls_settings_bat": False, "markers": [], "installed": False, "is_git": False, "version": None,
             "empty": False, "nested_webui": None, "venv_under_dp0": False}
    if not facts["is_dir"]:
        return facts
    facts["markers"] = [m for m in flavours.MARKERS if os.path.isfile(os.path.join(root, m))]
    facts["installed"] = bool(facts["markers"])
    if not facts["installed"]:
        facts["empty"], facts["nested_webui"] = _emptiness(root)
    bat = os.path.join(root, "webui.bat")
    if os.path.isfile(bat):
        try:
            text = read_text_lenient(bat)
            facts.update(generation=flavours.detect_generation(text), calls_settings_bat=flavours.calls_settings_bat(text),
                         venv_under_dp0=venv_under_dp0(text))
        except OSError:
            pass
    facts["is_git"] = os.path.exists(os.path.join(root, ".git"))
    facts["version"] = _version(root, timeout) if facts["installed"] else None
    return facts


def apply_overrides(repos, variables, sources):
    """The repositories with the *_REPO / *_COMMIT_HASH values the launcher sees instead of the file's defaults."""
    out = []
    for repo in repos:
        entry = dict(repo, url=repo["default_url"], url_source="default", commit=repo["default_commit"],
                     commit_source="default")
        for key, var in (("url", repo.get("url_var")), ("commit", repo.get("commit_var"))):
            if var and variables.get(var):
                entry[key], entry[key + "_source"] = variables[var], sources.get(var, "environment")
        out.append(entry)
    return out


def _python_files(root, notes):
    """(launch facts from the Python launcher file, or from the 2022 webui.bat, or None)."""
    facts, bad = launch_utils.read(root)
    notes.extend({"file": f, "why": why, "for": "repositories, torch, python range"} for f, why in bad)
    if facts is None and not os.path.isfile(os.path.join(root, "launch.py")) and not bad:
        legacy = webui_bat.describe(root) if os.path.isfile(os.path.join(root, "webui.bat")) else None
        if legacy:
            legacy.update(python_minors=None, clip_package=None, clip_install=None, extracted_flags=[],
                          torch_index_url=None)
            return legacy
    return facts


def _torch(launch):
    if not launch or not launch.get("torch_command"):
        return {"index_url": (launch or {}).get("torch_index_url"), "command": None, "pin": None, "pythons": None,
                "file": (launch or {}).get("file"), "line": None}
    pin = _TORCH_PIN.search(launch["torch_command"])
    pin = pin.group(1) if pin else None
    release = re.match(r"(\d+)\.(\d+)", pin or "")
    pythons = TORCH_WHEEL_PYTHONS.get((int(release.group(1)), int(release.group(2)))) if release else None
    return {"index_url": launch.get("torch_index_url"), "command": launch["torch_command"], "pin": pin,
            "pythons": list(pythons) if pythons else None, "file": launch["file"], "line": launch.get("torch_line")}


def build(ctx):
    """The Launcher for ``ctx`` (its web UI folder, platform and environment). Never raises for a bad file."""
    from sd_doctor.launcher import settings as launch_settings

    root = ctx.webui_dir
    facts = _layout_facts(root, min(2.0, ctx.timeout))
    notes = []
    launch = _python_files(root, notes) if facts["is_dir"] else None
    parser, bad = cmd_args.read(root, (launch or {}).get("extracted_flags") or ()) if facts["is_dir"] else (None, [])
    notes.extend({"file": f, "why": why, "for": "the declared flags"} for f, why in bad)
    flags = parser["flags"] if parser else None
    kind, evidence = flavours.detect(root, read_origin(root), flags) if facts["is_dir"] else (None, "no folder")
    package = one_click.describe(root, ctx.environ, ctx.host.path_sep) if facts["is_dir"] else None
    environ = package["environ"] if package else dict(ctx.environ)
    layout = dict(facts, flavour=kind, one_click=bool(package))
    chosen = target.choose(layout, root, ctx.platform)
    settings = launch_settings.read(root, ctx.platform, environ, layout, target=chosen.name)
    repos = None
    if launch is not None:
        repos = apply_overrides(launch["repos"], settings["variables"], settings["source"])
    clip = None
    if launch and launch.get("clip_package"):
        clip = dict(launch.get("clip_install") or {}, package=launch["clip_package"], file=launch["file"])
    python = None
    if launch and launch.get("python_minors"):
        python = dict(launch["python_minors"], file=launch["file"])
    return Launcher(platform=ctx.platform, flavour=kind, flavour_label=flavours.LABELS.get(kind),
                    flavour_evidence=evidence, one_click=package, environ=environ, settings=settings,
                    launch_file=(launch or {}).get("file"), repositories=repos, torch=_torch(launch), python=python,
                    clip=clip, requirements_file=(launch or {}).get("requirements_file"), flags=flags,
                    flags_files=(parser or {}).get("files") or [], flags_missing=(parser or {}).get("missing") or [],
                    webui_sh=webui_sh.describe(root) if facts["is_dir"] else None, notes=notes,
                    target=chosen, **facts)
