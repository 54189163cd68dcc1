"""pip's configuration: its files in pip's order, read directly (when pip itself cannot run), and ``pip config list``.

One reader for every check: the downloads check reads every option (index URLs, certificates), the proxy check the
``proxy`` ones (:func:`proxies_of`).
"""


def pip_config_files(platform_name, environ, site_prefix=None):
    """pip's configuration files in the order pip reads them (later wins): [(scope, path)]."""
    import os

    get = environ.get
    files = []
    if platform_name == "windows":
        program_data = get("PROGRAMDATA") or get("ALLUSERSPROFILE") or r"C:\ProgramData"
        files.append(("global", os.path.join(program_data, "pip", "pip.ini")))
        home = get("USERPROFILE") or os.path.expanduser("~")
        files.append(("user", os.path.join(home, "pip", "pip.ini")))
        if get("APPDATA"):
            files.append(("user", os.path.join(get("APPDATA"), "pip", "pip.ini")))
        name = "pip.ini"
    else:
        dirs = (get("XDG_CONFIG_DIRS") or "/etc/xdg").split(":")
        files.extend(("global", os.path.join(d, "pip", "pip.conf")) for d in dirs if d)
        files.append(("global", "/etc/pip.conf"))
        home = get("HOME") or os.path.expanduser("~")
        files.append(("user", os.path.join(home, ".pip", "pip.conf")))
        config_home = get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        if platform_name == "darwin":
            files.append(("user", os.path.join(home, "Library", "Application Support", "pip", "pip.conf")))
        files.append(("user", os.path.join(config_home, "pip", "pip.conf")))
        name = "pip.conf"
    if site_prefix:
        files.append(("site", os.path.join(site_prefix, name)))
    if get("PIP_CONFIG_FILE") and get("PIP_CONFIG_FILE") != os.devnull:
        files.append(("env-file", get("PIP_CONFIG_FILE")))
    return files


def parse_pip_config_list(text):
    """[(key, value)] of the *.proxy entries in ``pip config list`` output (lines like ``global.proxy='...'``)."""
    found = []
    for line in text.splitlines():
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        key = key.strip()
        if not key.lower().endswith(".proxy"):
            continue
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if value:
            found.append((key, value))
    return found


def read_config_files(files, variables):
    """[(key, value)] of pip's files read directly plus PIP_* variables, in pip's override order."""
    import configparser
    import os

    found = []
    for _, path in files:
        if not os.path.isfile(path):
            continue
        parser = configparser.RawConfigParser()
        try:
            parser.read(path, encoding="utf-8")
        except (configparser.Error, OSError, UnicodeDecodeError):
            continue
        for section in parser.sections():
            found.extend(("%s.%s" % (section, k), v.strip()) for k, v in parser.items(section))
    for name, value in sorted(variables.items()):
        if name.upper().startswith("PIP_") and value and name.upper() != "PIP_CONFIG_FILE":
            found.append((":env:." + name[4:].lower().replace("_", "-"), value))
    return found


def proxies_of(config):
    """[(key, value)] of the non-empty ``*.proxy`` entries of ``config`` (a later entry for a key wins), sorted."""
    found = {}
    for key, value in config:
        if key.rpartition(".")[2] == "proxy" and value:
            found[key] = value
    return sorted(found.items())


def read_pip_proxies(files, environ):
    """[(key, value)] proxies from pip's files read directly, plus PIP_PROXY (used when pip itself cannot run)."""
    return proxies_of(read_config_files(files, environ))
