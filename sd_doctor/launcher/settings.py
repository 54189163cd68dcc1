"""What the web UI's launcher will see: variables from the settings files on top of the environment.

Windows (webui-facts.md §1): the environment, then ``webui-user.bat``'s ``set`` lines (``set X=`` deletes X), then
``webui.settings.bat`` when webui.bat calls it (it is called first inside webui.bat, so after webui-user.bat), then
webui.bat's own defaults for what is still undefined. POSIX (§3): the environment, then ``webui-user.sh``.
This reads the files; it does not run them. Lines inside ``if``/``goto`` logic are read as if they ran.
"""

import os
import shlex

from sd_doctor.formats.textfile import read_text_lenient

MAX_SETTINGS_BYTES = 128 * 1024  # a settings file is a few hundred bytes (the writer refuses larger ones too)

BAT_FILES = ("webui-user.bat", "webui.settings.bat")
SH_FILE = "webui-user.sh"

def parse_bat(text, file_dir, variables, bom=False):
    """Apply a batch file to ``variables`` (a dict, names upper-cased) as cmd runs it, with formats.bat's one reader
    (logical lines joined at ``^``, %VAR% expanded on the way, a BOM line dead). Returns the names set."""
    from sd_doctor.formats import bat as batfile

    touched = []
    for st in batfile.statements(text.replace("\r", "").split("\n"), variables, file_dir, bom=bom):  # cmd drops CR
        if st.kind == "set":
            touched.append(st.set.name.upper())
        elif st.kind == "call":
            break  # what follows runs after the web UI has exited
    return touched


def parse_sh(text, variables, exported=None, bom=False):
    """Apply a webui-user.sh to ``variables`` as bash sources it (formats.sh's one reader). Returns names set."""
    from sd_doctor.formats import sh as shfile

    touched = []
    for st in shfile.statements(text, variables, exported, bom=bom):
        if st.kind == "assign":
            touched.append(st.assign.name)
    return touched


class _Files(object):
    """The settings files of one read: their texts, and which file set each name."""

    def __init__(self, webui_dir, variables, ignore_bom=None):
        self.webui_dir = webui_dir
        self.ignore_bom = ignore_bom  # a file whose BOM --fix drops: read it as it will be
        self.boms = []
        self.variables = variables
        self.source = dict((k, "environment") for k in variables)
        self.files = []
        self.unreadable = {}

    def text_of(self, name):
        """(text, starts with a UTF-8 BOM) of a settings file; ('', False) when it cannot be read."""
        try:
            path = os.path.join(self.webui_dir, name)
            if os.path.getsize(path) > MAX_SETTINGS_BYTES:  # parsing is not linear: a huge file costs seconds
                self.unreadable[name] = "larger than %d KB, not read" % (MAX_SETTINGS_BYTES // 1024)
                return "", False
            text = read_text_lenient(path)  # refuses FIFOs and other non-regular files
            with open(path, "rb") as fh:
                bom = fh.read(3) == b"\xef\xbb\xbf"
            if bom:
                self.boms.append(name)
            return text, bom and name != self.ignore_bom
        except OSError as exc:
            self.unreadable[name] = "%s: %s" % (exc.__class__.__name__, exc.strerror or exc)
            return "", False

    def apply_bat(self, name):
        if os.path.isfile(os.path.join(self.webui_dir, name)):
            self.files.append(name)
            text, bom = self.text_of(name)
            for key in parse_bat(text, self.webui_dir, self.variables, bom=bom):
                self.source[key] = name


def _read_windows(files, layout):
    """webui-user.bat, the 2022 webui.bat's hard-coded values, webui.settings.bat, webui.bat's defaults. Returns
    True when the venv is skipped (an empty VENV_DIR in the 2022 generation)."""
    variables, source = files.variables, files.source
    gen_2022 = layout.get("generation") == "2022"
    files.apply_bat("webui-user.bat")
    if gen_2022:
        # The 2022 webui.bat hard-codes these after webui-user.bat ran: VENV_DIR=venv, and COMMANDLINE_ARGS=%*
        # (arguments given to webui-user.bat are not forwarded, so it ends up empty, i.e. deleted).
        variables["VENV_DIR"] = "venv"
        source["VENV_DIR"] = "webui.bat"
        variables.pop("COMMANDLINE_ARGS", None)
    if layout.get("calls_settings_bat", True):
        files.apply_bat("webui.settings.bat")
    venv_skipped = gen_2022 and "VENV_DIR" not in variables  # in that generation an empty VENV_DIR skipped the venv
    for key, default in (("PYTHON", "python"), ("VENV_DIR", os.path.join(files.webui_dir, "venv"))):
        if key not in variables and not (key == "VENV_DIR" and venv_skipped):
            variables[key] = default
            source[key] = "default"
    return venv_skipped


def _read_posix(files, environ, unexported):
    variables = files.variables
    if os.path.isfile(os.path.join(files.webui_dir, SH_FILE)):
        files.files.append(SH_FILE)
        text, bom = files.text_of(SH_FILE)
        exported = set(environ)
        for key in parse_sh(text, variables, exported, bom=bom):
            files.source[key] = SH_FILE
        _drop_unexported(variables, exported, unexported)
    if "venv_dir" not in variables:
        variables["venv_dir"] = "venv"
        files.source["venv_dir"] = "default"


def read(webui_dir, platform_name, environ, layout=None, target=None):
    """Effective launcher variables.

    Returns {'variables': {NAME: value}, 'source': {NAME: file name or 'environment' or 'default'},
    'files': [names of settings files that exist], 'unreadable': {file name: why}, 'platform': ...,
    'after_fix': the variables once --fix has dropped the BOM of ``target`` (the settings file it writes; the same
    dict as 'variables' when that file has none)}.
    A settings file that cannot be read (I/O error, permissions) is left out and named in 'unreadable'.
    """
    out = _read_once(webui_dir, platform_name, environ, layout)
    out["after_fix"] = out["variables"]
    if target and target in out["boms"]:
        out["after_fix"] = _read_once(webui_dir, platform_name, environ, layout, ignore_bom=target)["variables"]
    return out


def _read_once(webui_dir, platform_name, environ, layout, ignore_bom=None):
    windows = platform_name == "windows"
    variables = dict((k.upper(), v) for k, v in environ.items()) if windows else dict(environ)
    files = _Files(webui_dir, variables, ignore_bom)
    unexported = []
    venv_skipped = False
    if windows:
        venv_skipped = _read_windows(files, layout or {})
    else:
        _read_posix(files, environ, unexported)
    source = files.source
    for key in list(source):
        if key not in variables:
            del source[key]
    return {"variables": variables, "source": source, "files": files.files, "unreadable": files.unreadable,
            "platform": platform_name, "venv_skipped": venv_skipped,
            "unexported": unexported, "boms": files.boms}


def _drop_unexported(variables, exported, unexported):
    """A name set without export stays a shell variable of webui.sh: launch.py, a child process, never sees it."""
    from sd_doctor.formats.sh import SHELL_ONLY

    for name in list(variables):
        if name not in exported and name not in SHELL_ONLY:
            del variables[name]
            unexported.append(name)


def commandline_args(launch):
    """COMMANDLINE_ARGS as the web UI splits it (POSIX shlex, webui-facts.md §1); None when it cannot be split."""
    value = launch["variables"].get("COMMANDLINE_ARGS", "")
    try:
        return shlex.split(value)
    except ValueError:
        return None


def planning_args(launch):
    """The COMMANDLINE_ARGS tokens a plan starts from: the value the launcher sees once --fix has repaired the file
    (its BOM dropped, Windows paths quoted, #15025), as the user meant them; None when it cannot be split at all."""
    from sd_doctor.formats.args import meant_tokens

    variables = launch.get("after_fix") or launch["variables"]
    return meant_tokens(variables.get("COMMANDLINE_ARGS", ""), launch.get("platform") == "windows")


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
