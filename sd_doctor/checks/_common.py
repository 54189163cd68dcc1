"""Small helpers the checks share: sizes, shell-specific commands."""

import os


def gib(n):
    return "%.1f GB" % (n / 1024.0 ** 3) if n is not None else "?"


def quote_cmd_path(path):
    """A path for a cmd.exe command line (the advice a Windows user pastes)."""
    return '"%s"' % path


def quote_sh(value):
    import shlex

    return shlex.quote(value)


def delete_folder_command(platform_name, path):
    """The exact command that deletes a folder on this platform."""
    if platform_name == "windows":
        return "rmdir /s /q %s" % quote_cmd_path(path)
    return "rm -rf %s" % quote_sh(path)


def settings_file(ctx):
    """The settings file the writer puts the launcher's variables in (decided once, in the launcher model), named in
    advice so that a line the user adds by hand lands where the launcher reads it last; the platform's default file
    where no file can carry them."""
    name = ctx.launcher.target.name
    return name or ("webui-user.bat" if ctx.platform == "windows" else "webui-user.sh")


def join_path(platform_name, *parts):
    """Join path parts with the separator of the judged platform (not necessarily the running one)."""
    sep = "\\" if platform_name == "windows" else "/"
    out = parts[0].rstrip("\\/")
    for p in parts[1:]:
        out += sep + p.strip("\\/")
    return out


def nearest_existing(path):
    """``path`` itself, or its closest ancestor that exists (a planned install folder is judged by where it will go)."""
    path = os.path.abspath(path)
    while not os.path.exists(path):
        parent = os.path.dirname(path)
        if parent == path:
            break
        path = parent
    return path
