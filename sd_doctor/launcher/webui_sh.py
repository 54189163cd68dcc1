"""What the installed ``webui.sh`` does, by generation (webui-facts.md §3), read from its lines (a shell script is
not Python; only its plain assignments and tests are read, never run):

- ``default_python``: the python_cmd it picks when webui-user.sh sets none (``python3`` before v1.10; ``python3.10``
  falling back to ``python3`` from v1.10, PR #16092);
- ``absolute_python_in_venv``: whether launch.py runs on the venv's python even when python_cmd is an absolute path
  (v1.10 re-points python_cmd at ``${venv_dir}/bin/python`` after activating, #16116; before, an absolute python_cmd
  runs launch.py on the base interpreter, outside the venv, #16113);
- ``venv_dash_honoured``: whether ``venv_dir=-`` in webui-user.sh skips the venv (the ``"-"`` test must come after
  webui-user.sh is sourced: from v1.7; v1.6 tests venv_dir before sourcing it).
"""

import os
import re

_ASSIGN_PY = re.compile(r"^\s*python_cmd=[\"']?([^\"'\s]+)[\"']?\s*$")
_SOURCE_USER = re.compile(r"^\s*(?:source|\.)\s+.*webui-user\.sh")
_DASH_TEST = re.compile(r"venv_dir\}?\"?\s*==\s*[\"']?-[\"']?")
_VENV_REPOINT = re.compile(r"^\s*python_cmd=\"?\$\{?venv_dir\}?\"?/bin/python")
_FALLBACK = re.compile(r"command\s+-v\s+\"?\$\{?python_cmd")


def describe(webui_dir):
    """The facts above as plain data, or None when there is no readable webui.sh of a known shape."""
    from sd_doctor.formats.textfile import read_text_lenient

    path = os.path.join(webui_dir, "webui.sh")
    if not os.path.isfile(path):
        return None
    try:
        lines = read_text_lenient(path).splitlines()
    except OSError:
        return None
    defaults, fallback, source_line, dash_line, repoint = [], False, None, None, False
    for number, line in enumerate(lines, 1):
        if line.lstrip().startswith("#"):
            continue
        match = _ASSIGN_PY.match(line)
        if match and "$" not in match.group(1):
            defaults.append((match.group(1), number))
        if _FALLBACK.search(line):
            fallback = True
        if source_line is None and _SOURCE_USER.match(line):
            source_line = number
        if dash_line is None and _DASH_TEST.search(line):
            dash_line = number
        if _VENV_REPOINT.match(line):
            repoint = True
    if not defaults and source_line is None:
        return None  # not a webui.sh of any known generation (a stand-in): nothing is known about it
    first = defaults[0] if defaults else ("python3", None)
    return {"default_python": first[0], "default_python_line": first[1],
            "fallback_python": defaults[1][0] if fallback and len(defaults) > 1 else None,
            "absolute_python_in_venv": repoint,
            "venv_dash_honoured": bool(dash_line and source_line and dash_line > source_line),
            "sources_user_file_line": source_line}


def working_form(path):
    """The webui-user.sh lines that run the interpreter ``path`` inside the venv on every webui.sh generation: its
    folder first on PATH and python_cmd as a bare command name (webui.sh activates the venv, whose bin/ then comes
    first on PATH, so the name finds the venv's interpreter)."""
    import shlex

    folder, name = os.path.split(path)
    return 'export PATH=%s:"$PATH"\npython_cmd=%s' % (shlex.quote(folder), shlex.quote(name))
