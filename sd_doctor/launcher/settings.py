"""What the web UI's launcher will see: variables from the settings files on top of the environment.

Windows (webui-facts.md §1): the environment, then ``webui-user.bat``'s ``set`` lines (``set X=`` deletes X), then
``webui.settings.bat`` when webui.bat calls it (it is called first inside webui.bat, so after webui-user.bat), then
webui.bat's own defaults for what is still undefined. POSIX (§3): the environment, then ``webui-user.sh``.
This reads the files; it does not run them. Lines inside ``if``/``goto`` logic are read as if they ran.
"""

import os
import re
import shlex

from sd_doctor.formats.textfile import read_text_lenient

MAX_SETTINGS_BYTES = 128 * 1024  # a settings file is a few hundred bytes (the writer refuses larger ones too)

BAT_FILES = ("webui-user.bat", "webui.settings.bat")
SH_FILE = "webui-user.sh"

_SET_RE = re.compile(r'^\s*@?set\s+(?:"(?P<qname>[^=]+)=(?P<qvalue>.*)"\s*$|(?P<name>[^=\s/][^=]*)=(?P<value>.*)$)', re.I)
_PCT_RE = re.compile(r"%([^%\s]+)%")


def _expand_bat(value, variables, file_dir):
    def repl(match):
        name = match.group(1)
        if name in ("~dp0",):
            return file_dir.rstrip("\\/") + "\\"
        for key, val in variables.items():
            if key.upper() == name.upper():
                return val
        return ""  # cmd expands an undefined variable in a batch file to nothing

    value = value.replace("%~dp0", file_dir.rstrip("\\/") + "\\")
    return _PCT_RE.sub(repl, value)


def parse_bat(text, file_dir, variables):
    """Apply the ``set`` lines of a batch file to ``variables`` (a dict, names upper-cased). Returns names set."""
    touched = []
    for raw in text.splitlines():
        line = raw.strip()
        low = line.lower()
        if not low or low.startswith(("rem ", "::", "@rem ")) or low in ("rem", "@rem"):
            continue
        match = _SET_RE.match(line)
        if not match:
            continue
        name = (match.group("qname") or match.group("name") or "").strip()
        value = match.group("qvalue") if match.group("qname") is not None else match.group("value")
        if not name or name.startswith("/"):
            continue  # set /a, set /p: arithmetic and prompts, not settings
        from sd_doctor.formats.bat import parse_set

        exact = parse_set(line)  # cmd's own reading of %%, ^ and quotes, where no variable is involved
        if exact is not None and exact.exact and exact.name.strip() == name:
            value = exact.value
        else:
            value = _expand_bat(value.rstrip("\r"), variables, file_dir)
        key = name.upper()
        if value == "":
            variables.pop(key, None)
        else:
            variables[key] = value
        touched.append(key)
    return touched


_SH_ASSIGN_RE = re.compile(r"^\s*(?:export\s+)?(?P<name>[A-Za-z_][A-Za-z0-9_]*)=(?P<value>.*)$")


def parse_sh(text, variables):
    """Apply the simple assignments of a webui-user.sh to ``variables``. Returns names set."""
    touched = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        match = _SH_ASSIGN_RE.match(line)
        if not match:
            continue
        try:
            parts = shlex.split(match.group("value"), comments=True)
        except ValueError:
            continue
        value = " ".join(parts)
        value = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: variables.get(m.group(1), ""), value)
        variables[match.group("name")] = value
        touched.append(match.group("name"))
    return touched


def read(webui_dir, platform_name, environ, layout=None):
    """Effective launcher variables.

    Returns {'variables': {NAME: value}, 'source': {NAME: file name or 'environment' or 'default'},
    'files': [names of settings files that exist], 'unreadable': {file name: why}, 'platform': ...}.
    A settings file that cannot be read (I/O error, permissions) is left out and named in 'unreadable'.
    """
    layout = layout or {}
    if platform_name == "windows":
        variables = dict((k.upper(), v) for k, v in environ.items())
    else:
        variables = dict(environ)
    source = dict((k, "environment") for k in variables)
    files = []
    unreadable = {}

    def text_of(name):
        try:
            path = os.path.join(webui_dir, name)
            if os.path.getsize(path) > MAX_SETTINGS_BYTES:  # parsing is not linear: a huge file costs seconds
                unreadable[name] = "larger than %d KB, not read" % (MAX_SETTINGS_BYTES // 1024)
                return ""
            return read_text_lenient(path)
        except OSError as exc:
            unreadable[name] = "%s: %s" % (exc.__class__.__name__, exc.strerror or exc)
            return ""

    venv_skipped = False
    if platform_name == "windows":
        gen_2022 = layout.get("generation") == "2022"

        def apply(name):
            if os.path.isfile(os.path.join(webui_dir, name)):
                files.append(name)
                for key in parse_bat(text_of(name), webui_dir, variables):
                    source[key] = name

        apply("webui-user.bat")
        if gen_2022:
            # The 2022 webui.bat hard-codes these after webui-user.bat ran: VENV_DIR=venv, and COMMANDLINE_ARGS=%*
            # (arguments given to webui-user.bat are not forwarded, so it ends up empty, i.e. deleted).
            variables["VENV_DIR"] = "venv"
            source["VENV_DIR"] = "webui.bat"
            variables.pop("COMMANDLINE_ARGS", None)
        if layout.get("calls_settings_bat", True):
            apply("webui.settings.bat")
        if gen_2022 and "VENV_DIR" not in variables:
            venv_skipped = True  # in that generation an empty VENV_DIR skipped the venv
        for key, default in (("PYTHON", "python"), ("VENV_DIR", os.path.join(webui_dir, "venv"))):
            if key not in variables and not (key == "VENV_DIR" and venv_skipped):
                variables[key] = default
                source[key] = "default"
    else:
        path = os.path.join(webui_dir, SH_FILE)
        if os.path.isfile(path):
            files.append(SH_FILE)
            for key in parse_sh(text_of(SH_FILE), variables):
                source[key] = SH_FILE
        if "venv_dir" not in variables:
            variables["venv_dir"] = "venv"
            source["venv_dir"] = "default"
    for key in list(source):
        if key not in variables:
            del source[key]
    return {"variables": variables, "source": source, "files": files, "unreadable": unreadable,
            "platform": platform_name, "venv_skipped": venv_skipped}


def commandline_args(launch):
    """COMMANDLINE_ARGS as the web UI splits it (POSIX shlex, webui-facts.md §1); None when it cannot be split."""
    value = launch["variables"].get("COMMANDLINE_ARGS", "")
    try:
        return shlex.split(value)
    except ValueError:
        return None


def flag_value(tokens, flag):
    """The value of ``--flag N`` or ``--flag=N`` in a token list, or None."""
    for i, tok in enumerate(tokens or []):
        if tok == flag and i + 1 < len(tokens):
            return tokens[i + 1]
        if tok.startswith(flag + "="):
            return tok.split("=", 1)[1]
    return None


def venv_path(webui_dir, launch):
    """The venv folder the launcher will use, or None when the venv is skipped ('-' or SKIP_VENV=1)."""
    v = launch["variables"]
    if launch["platform"] == "windows":
        value = v.get("VENV_DIR", "")
        if value == "-" or v.get("SKIP_VENV") == "1" or launch.get("venv_skipped"):
            return None
    else:
        value = v.get("venv_dir", "venv")
        if value == "-":
            return None
    value = value.strip('"')
    return value if os.path.isabs(value) else os.path.join(webui_dir, value)
