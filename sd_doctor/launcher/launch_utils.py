"""The repositories the installed web UI will clone, read from the text of ``modules/launch_utils.py``.

The file is parsed, never imported or run: each ``os.environ.get('X_REPO', "url")`` gives a default URL and each
``os.environ.get('X_COMMIT_HASH', "hash")`` a pinned commit; ``git_clone(var, repo_dir('folder'), ...)`` ties a URL
variable to its folder under ``repositories/`` (webui-facts.md §1). The *_REPO / *_COMMIT_HASH variables the launcher
sees (environment + settings files) override the defaults.
"""

import os
import re

from sd_doctor.formats.textfile import read_text_lenient

# Folder names for the variables A1111 documents, when the git_clone call cannot be tied to its variable.
KNOWN_FOLDERS = {
    "ASSETS_REPO": "stable-diffusion-webui-assets",
    "STABLE_DIFFUSION_REPO": "stable-diffusion-stability-ai",
    "STABLE_DIFFUSION_XL_REPO": "generative-models",
    "K_DIFFUSION_REPO": "k-diffusion",
    "BLIP_REPO": "BLIP",
    "CODEFORMER_REPO": "CodeFormer",
    "TAMING_TRANSFORMERS_REPO": "taming-transformers",
}

_GET = r"""(?:os\.)?environ\.get\(\s*['"](?P<var>[A-Z0-9_]+_%s)['"]\s*,\s*(?P<q>['"])(?P<value>[^'"]*)(?P=q)\s*\)"""
_REPO_RE = re.compile(r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?" + _GET % "REPO")
_COMMIT_RE = re.compile(r"(?:(?P<name>[A-Za-z_][A-Za-z0-9_]*)\s*=\s*)?" + _GET % "COMMIT_HASH")
_CLONE_RE = re.compile(r"""git_clone\(\s*(?P<var>[A-Za-z_][A-Za-z0-9_]*)\s*,\s*(?:repo_dir\(\s*)?['"](?P<folder>[^'"]+)['"]""")

CANDIDATE_FILES = (("modules", "launch_utils.py"), ("launch.py",))


def installed_texts(webui_dir):
    """(file name, text) of each launcher file that exists, newest layout first: launch_utils.py (v1.3+), launch.py."""
    for rel in CANDIDATE_FILES:
        path = os.path.join(webui_dir, *rel)
        if os.path.isfile(path):
            try:
                yield path, read_text_lenient(path)
            except OSError:
                continue


def parse(text):
    """[{'url_var', 'commit_var', 'default_url', 'default_commit', 'folder'}] in the file's order."""
    commits = {}
    for match in _COMMIT_RE.finditer(text):
        commits[match.group("var")] = match.group("value")
    folders_by_name = dict((m.group("var"), m.group("folder")) for m in _CLONE_RE.finditer(text))
    repos = []
    seen = set()
    for match in _REPO_RE.finditer(text):
        var = match.group("var")
        if var in seen:
            continue
        seen.add(var)
        stem = var[:-len("_REPO")]
        commit_var = stem + "_COMMIT_HASH"
        folder = folders_by_name.get(match.group("name") or "") or KNOWN_FOLDERS.get(var)
        repos.append({"url_var": var, "commit_var": commit_var, "default_url": match.group("value"),
                      "default_commit": commits.get(commit_var), "folder": folder})
    return repos


def read(webui_dir, variables, sources=None):
    """The repositories with the launcher's overrides applied.

    Returns {'file': path or None, 'repos': [{'url_var', 'commit_var', 'url', 'url_source', 'commit',
    'commit_source', 'folder'}]}. ``variables`` are the launcher's effective variables, ``sources`` where each came
    from.
    """
    sources = sources or {}
    path = text = None
    for candidate, candidate_text in installed_texts(webui_dir):
        if "_REPO" in candidate_text:
            path, text = candidate, candidate_text
            break
    if path is None:
        return {"file": None, "repos": []}
    repos = []
    for entry in parse(text):
        url, url_source = entry["default_url"], "launch_utils"
        if variables.get(entry["url_var"]):
            url, url_source = variables[entry["url_var"]], sources.get(entry["url_var"], "environment")
        commit, commit_source = entry["default_commit"], "launch_utils"
        if variables.get(entry["commit_var"]):
            commit, commit_source = variables[entry["commit_var"]], sources.get(entry["commit_var"], "environment")
        repos.append({"url_var": entry["url_var"], "commit_var": entry["commit_var"], "url": url,
                      "url_source": url_source, "commit": commit, "commit_source": commit_source,
                      "folder": entry["folder"]})
    return {"file": path, "repos": repos}
