"""The interpreter the web UI's launcher will start, found once per run and shared by the checks that need it
(python, proxy, downloads): PYTHON / python_cmd from the settings files, else what the installed webui.bat /
webui.sh picks from the launcher's PATH (a one-click package's own PATH included)."""

import os


def configured_command(ctx):
    """(command, where it came from): PYTHON (Windows) or python_cmd (POSIX), else what the launcher defaults to."""
    launch = ctx.launch
    v, src = launch["variables"], launch["source"]
    if ctx.platform == "windows":
        return v.get("PYTHON", "python").strip().strip('"'), src.get("PYTHON", "default")
    if v.get("python_cmd"):
        return v["python_cmd"], src.get("python_cmd", "environment")
    return None, "default"


def resolve(command, path_entries, host):
    """The file a command names: itself when it is a path, else the first match on PATH."""
    from sd_doctor.probes.interpreters import which_all

    if command and (os.sep in command or "/" in command or "\\" in command):
        return command if os.path.exists(command) else None
    matches = which_all(command, path_entries, host.executable_names) if command else []
    return matches[0] if matches else None


def default_posix_command(sh, entries, host):
    """(command, source) webui.sh runs when webui-user.sh sets no python_cmd: what the installed webui.sh picks
    (python3 before v1.10; python3.10 falling back to python3 from v1.10, PR #16092); python3.10-else-python3 when
    there is no webui.sh yet (the current one)."""
    if sh and not sh.get("fallback_python"):
        return sh["default_python"], "webui.sh line %s" % sh.get("default_python_line")
    first, fallback = (sh["default_python"], sh["fallback_python"]) if sh else ("python3.10", "python3")
    return (first if resolve(first, entries, host) else fallback), "default"


def launcher_python(ctx):
    """(command, where it came from, resolved path or None): the interpreter the launcher will start, found once
    per run and shared by the checks that need it (python, proxy)."""

    def compute():
        from sd_doctor.probes.interpreters import split_path

        entries = split_path(ctx.launcher.environ.get("PATH", ""), ctx.host.path_sep)
        command, source = configured_command(ctx)
        if command is None:
            command, source = default_posix_command(ctx.launcher.webui_sh, entries, ctx.host)
        return command, source, resolve(command, entries, ctx.host)

    return ctx.cached("launcher_python", compute)


def webui_python(ctx):
    """The interpreter the web UI runs in: the venv's when it exists, else the configured one. Path or None."""
    from sd_doctor.launcher.settings import venv_path

    if not ctx.options.no_venv:
        venv = venv_path(ctx.webui_dir, ctx.launch)
        if venv:
            candidate = os.path.join(venv, "Scripts", "python.exe") if ctx.platform == "windows" else \
                os.path.join(venv, "bin", "python")
            if os.path.isfile(candidate):
                return candidate
    return launcher_python(ctx)[2]
