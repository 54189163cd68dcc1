"""What the installed launcher's Python file says, read with ``ast``: ``modules/launch_utils.py`` (v1.3+), else
``launch.py`` (late 2022 to v1.2).

- repositories: each reachable ``git_clone(url_var, repo_dir('folder'), name, commit_var)`` whose variables come
  from ``os.environ.get('X_REPO', "url")`` / ``os.environ.get('X_COMMIT_HASH', "hash")`` (webui-facts.md §1); a
  commented-out or dead clone is not a clone;
- the default ``TORCH_INDEX_URL`` / ``TORCH_COMMAND`` (f-strings resolved from the defaults they name);
- the Python minors ``check_python_version`` accepts, per platform where the file distinguishes (with line numbers);
- the ``CLIP_PACKAGE`` default and the line that installs it (``--no-build-isolation`` or not);
- the requirements file (``REQS_FILE``) and the flags launch.py takes out of argv itself (``extract_arg``).
"""

import ast
import os

from sd_doctor.launcher import pysource

CANDIDATE_FILES = (("modules", "launch_utils.py"), ("launch.py",))


def _assignments(tree):
    """{python name: (ENV_VAR, default text, line)} for ``name = os.environ.get('ENV_VAR', default)``, first wins,
    with f-strings resolved from earlier defaults; also the env var -> same tuple."""
    by_name, by_var, known = {}, {}, {}
    for stmt in pysource.live_statements(tree.body):
        if not (isinstance(stmt, ast.Assign) and isinstance(stmt.value, ast.Call) and len(stmt.targets) == 1):
            continue
        target = stmt.targets[0]
        got = pysource.environ_default(stmt.value)
        if not got or not isinstance(target, ast.Name):
            continue
        var, default_node = got
        default = pysource.string_value(default_node, known)
        if target.id not in by_name:
            by_name[target.id] = (var, default, stmt.lineno)
            known[target.id] = default if default is not None else "{%s}" % target.id
        by_var.setdefault(var, (var, default, stmt.lineno))
    return by_name, by_var


def _clone_of(call, by_name):
    """A repository dict for one git_clone(...) call, or None when its arguments are not the usual shape."""
    args = list(call.args) + [kw.value for kw in call.keywords]
    if len(args) < 2:
        return None
    url_node, dir_node = args[0], args[1]
    folder = pysource.string_value(dir_node)
    if folder is None and isinstance(dir_node, ast.Call) and dir_node.args:
        folder = pysource.string_value(dir_node.args[0])
    url_var, url, _ = by_name.get(getattr(url_node, "id", None), (None, pysource.string_value(url_node), None))
    commit_var = commit = None
    commit_node = args[3] if len(call.args) >= 4 else next((kw.value for kw in call.keywords
                                                             if kw.arg == "commithash"), None)
    if commit_node is not None:
        commit_var, commit, _ = by_name.get(getattr(commit_node, "id", None),
                                            (None, pysource.string_value(commit_node), None))
    label = pysource.string_value(args[2]) if len(call.args) >= 3 else None
    return {"url_var": url_var, "commit_var": commit_var, "default_url": url, "default_commit": commit,
            "folder": folder, "name": label, "line": call.lineno}


def _python_minors(tree):
    """{'windows': [10], 'other': [7, ..., 11], 'line': n} from check_python_version, or None."""
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef) and node.name == "check_python_version":
            return _minors_in(node)
    return None


def _int_list(node):
    if isinstance(node, (ast.List, ast.Tuple)):
        values = [e.value for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, int)]
        return values if len(values) == len(node.elts) else None
    return None


def _minors_in(func):
    out = {}
    for stmt in pysource.live_statements(func.body):
        if isinstance(stmt, ast.If) and "windows" in ast.dump(stmt.test).lower():
            for key, block in (("windows", stmt.body), ("other", stmt.orelse)):
                for inner in block:
                    values = _assigned_list(inner)
                    if values is not None:
                        out[key] = values
                        out.setdefault("line", inner.lineno)
        elif "windows" not in out:
            values = _assigned_list(stmt)
            if values is not None:
                out["windows"] = out["other"] = values
                out["line"] = stmt.lineno
    return out or None


def _assigned_list(stmt):
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name) \
            and "minor" in stmt.targets[0].id:
        return _int_list(stmt.value)
    return None


def _calls(tree, by_name):
    """(clones, clip install line, extracted flags) from the live calls of the file."""
    clones, clip, extracted = [], None, []
    clip_names = set(n for n, (var, _, _) in by_name.items() if var == "CLIP_PACKAGE")
    for _, call in pysource.live_calls(tree):
        name = pysource.call_name(call)
        if name == "git_clone":
            clone = _clone_of(call, by_name)
            if clone:
                clones.append(clone)
        elif name == "run_pip" and call.args and clip is None:
            arg = call.args[0]
            names = set(v.value.id for v in getattr(arg, "values", []) if isinstance(v, ast.FormattedValue)
                        and isinstance(v.value, ast.Name))
            if names & clip_names:
                text = pysource.string_value(arg)
                clip = {"line": call.lineno, "command": "pip " + (text or ""),
                        "no_build_isolation": "--no-build-isolation" in (text or "")}
        elif name == "extract_arg" and len(call.args) >= 2:
            flag = pysource.string_value(call.args[1])
            if flag and flag not in extracted:
                extracted.append(flag)
    return clones, clip, extracted


def read_tree(tree, rel):
    """Every fact one parsed launcher file gives (see the module docstring)."""
    by_name, by_var = _assignments(tree)
    clones, clip, extracted = _calls(tree, by_name)
    default = lambda var: (by_var.get(var) or (None, None, None))[1]
    line = lambda var: (by_var.get(var) or (None, None, None))[2]
    minors = _python_minors(tree)
    return {"file": rel, "repos": clones, "torch_index_url": default("TORCH_INDEX_URL"),
            "torch_command": default("TORCH_COMMAND"), "torch_line": line("TORCH_COMMAND"),
            "python_minors": minors, "clip_package": default("CLIP_PACKAGE"), "clip_install": clip,
            "requirements_file": default("REQS_FILE"), "extracted_flags": extracted,
            "env_defaults": dict((var, v[1]) for var, v in by_var.items())}


def read(webui_dir):
    """(facts or None, notes): the newest launcher file that parses. ``notes``: [(file, why)] for files that exist
    but cannot be read as Python; facts['also'] holds what launch.py adds (extract_arg) when launch_utils.py won."""
    notes = []
    found = []
    for rel in CANDIDATE_FILES:
        path = os.path.join(webui_dir, *rel)
        if not os.path.isfile(path):
            continue
        name = "/".join(rel)
        try:
            found.append(read_tree(pysource.parse_file(path), name))
        except pysource.Unparsable as exc:
            notes.append((name, exc.why))
        except OSError as exc:
            notes.append((name, "%s: %s" % (exc.__class__.__name__, exc.strerror or exc)))
    if not found:
        return None, notes
    facts = found[0]
    for other in found[1:]:
        facts["extracted_flags"] = facts["extracted_flags"] + [f for f in other["extracted_flags"]
                                                                if f not in facts["extracted_flags"]]
    return facts, notes
