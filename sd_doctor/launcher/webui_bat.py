"""What the Aug-Sep 2022 ``webui.bat`` does itself (it predates launch.py): the repositories it clones with
``%GIT% clone <url> repositories\\<folder>`` and the ``TORCH_COMMAND`` / ``REQS_FILE`` it sets (webui-facts.md §2).
A batch file is not Python: its lines are read, never run; ``rem`` / ``::`` lines are comments, not clones."""

import os
import re

_CLONE = re.compile(r"^\s*%GIT%\s+clone\s+(?P<url>\S+)\s+\"?repositories[\\/](?P<folder>[^\s\">]+)", re.I)
_SET = re.compile(r"^\s*set\s+\"?(?P<name>TORCH_COMMAND|REQS_FILE)=(?P<value>[^\"\r\n]*)\"?\s*$", re.I)


def describe(webui_dir):
    """{'repos': [...], 'torch_command', 'torch_line', 'requirements_file'} from webui.bat, or None."""
    from sd_doctor.formats.textfile import read_text_lenient

    path = os.path.join(webui_dir, "webui.bat")
    try:
        lines = read_text_lenient(path).splitlines()
    except OSError:
        return None
    out = {"file": "webui.bat", "repos": [], "torch_command": None, "torch_line": None, "requirements_file": None}
    for number, line in enumerate(lines, 1):
        low = line.strip().lower()
        if low.startswith(("rem ", "::", "@rem ")):
            continue
        clone = _CLONE.match(line)
        if clone:
            out["repos"].append({"url_var": None, "commit_var": None, "default_url": clone.group("url"),
                                 "default_commit": None, "folder": clone.group("folder"), "name": None,
                                 "line": number})
        setting = _SET.match(line)
        if setting and setting.group("name").upper() == "TORCH_COMMAND" and out["torch_command"] is None:
            out["torch_command"], out["torch_line"] = setting.group("value").strip(), number
        elif setting and out["requirements_file"] is None and setting.group("name").upper() == "REQS_FILE":
            out["requirements_file"] = setting.group("value").strip()
    return out
