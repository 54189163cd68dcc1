"""The one-click package (webui-facts.md §8): a root with ``run.bat``, ``environment.bat``, ``system\\python``,
``system\\git`` and the web UI in ``webui\\``. ``run.bat`` calls ``environment.bat``, which puts the package's git
and Python first on PATH and sets ``SKIP_VENV=1`` and ``PIP_INSTALLER_LOCATION``; that environment, not the bare
user PATH, is what the launcher sees, so the python, path, venv and git checks judge it.
"""

import os

PATH_ENTRIES = (("system", "git", "bin"), ("system", "python"), ("system", "python", "Scripts"))


def package_root(webui_dir):
    """The package root when ``webui_dir`` is the ``webui`` folder of a one-click package, else None."""
    parent = os.path.dirname(os.path.abspath(webui_dir))
    if os.path.isfile(os.path.join(parent, "environment.bat")) and os.path.isdir(os.path.join(parent, "system")):
        return parent
    return None


def describe(webui_dir, environ, path_sep):
    """{'root', 'run_bat', 'environment_bat', 'python_dir', 'git_dir', 'environ', 'set_by_environment_bat'} or None.

    ``environ``: the environment run.bat hands the launcher: the user's, then environment.bat's ``set`` lines (read,
    not run), with the package's three folders first on PATH as the package lays them out."""
    root = package_root(webui_dir)
    if root is None:
        return None
    from sd_doctor.launcher.settings import parse_bat
    from sd_doctor.formats.textfile import read_text_lenient

    env = dict((k.upper(), v) for k, v in environ.items())
    bat = os.path.join(root, "environment.bat")
    touched, unreadable = [], None
    try:
        touched = parse_bat(read_text_lenient(bat), root, env)
    except OSError as exc:
        unreadable = "%s: %s" % (exc.__class__.__name__, exc.strerror or exc)
    ours = [os.path.join(root, *parts) for parts in PATH_ENTRIES]
    inside = lambda entry: entry.replace("\\", "/").startswith(root.replace("\\", "/"))
    rest = [e for e in (env.get("PATH") or "").split(path_sep) if e and not inside(e)]
    env["PATH"] = path_sep.join(ours + rest)
    env.setdefault("SKIP_VENV", "1")
    env.setdefault("PIP_INSTALLER_LOCATION", os.path.join(root, "system", "python", "get-pip.py"))
    return {"root": root, "run_bat": os.path.join(root, "run.bat"), "environment_bat": bat,
            "python_dir": ours[1], "git_dir": ours[0], "environ": env, "set_by_environment_bat": sorted(set(touched)),
            "unreadable": unreadable}
