"""How the installed launcher installs CLIP (webui-facts.md §1, the setuptools 81 wall): read from
``modules/launch_utils.py`` (``launch.py`` before v1.3) with the ``ast`` module, never run.

Since setuptools 81 (February 2026) has no ``pkg_resources``, pip's isolated build of the CLIP zip (which pulls the
newest setuptools into its build environment) fails: "Couldn't install clip" / "No module named 'pkg_resources'"
(#17284, #17305, #17311, #17449). A launcher whose CLIP ``run_pip`` call carries ``--no-build-isolation`` (A1111's
dev branch, PR #17293) is spared, and so is a venv that already has CLIP.
"""

import ast
import re

_DEFAULT_RE = re.compile(r"""environ\.get\(\s*['"]CLIP_PACKAGE['"]\s*,\s*f?['"]([^'"]+)['"]""")


def _strings(node):
    """Every string constant inside ``node`` (f-string parts included)."""
    out = []
    for sub in ast.walk(node):
        if isinstance(sub, ast.Constant) and isinstance(sub.value, str):
            out.append(sub.value)
    return out


def _names(node):
    return set(sub.id for sub in ast.walk(node) if isinstance(sub, ast.Name))


def clip_calls(text):
    """[{'line', 'no_build_isolation'}] for each pip call that installs ``clip_package``; None when unparsable."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return None
    calls = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        if name not in ("run_pip", "run") or not node.args:
            continue
        if "clip_package" not in _names(node.args[0]):
            continue
        words = " ".join(_strings(node))
        calls.append({"line": node.lineno, "no_build_isolation": "--no-build-isolation" in words})
    return calls


def describe(webui_dir, variables):
    """{'file', 'package', 'package_source', 'calls', 'isolated'} (isolated: True | False | None unknown)."""
    import os

    from sd_doctor.formats.textfile import read_text_lenient

    def installed_texts(root):
        for rel in (("modules", "launch_utils.py"), ("launch.py",)):
            path = os.path.join(root, *rel)
            if os.path.isfile(path):
                try:
                    yield path, read_text_lenient(path)
                except OSError:
                    continue

    facts = {"file": None, "package": None, "package_source": None, "calls": None, "isolated": None}
    for path, text in installed_texts(webui_dir):
        if "clip_package" not in text:
            continue
        facts["file"] = path
        match = _DEFAULT_RE.search(text)
        facts["package"] = match.group(1) if match else None
        facts["package_source"] = "launch_utils" if match else None
        facts["calls"] = clip_calls(text)
        break
    if variables.get("CLIP_PACKAGE"):
        facts["package"], facts["package_source"] = variables["CLIP_PACKAGE"], "CLIP_PACKAGE"
    calls = facts["calls"]
    if calls:
        isolated = not any(c["no_build_isolation"] for c in calls)
        if "--no-build-isolation" in (facts["package"] or ""):
            isolated = False
        facts["isolated"] = isolated
    return facts
