"""Pick the torch wheel this install will download from an index's project page (HTML or PEP 691 JSON)."""

import json
import re
from urllib.parse import unquote, urljoin

ASSUMED_TORCH_BYTES = int(2.5 * 1024 ** 3)  # a CUDA torch wheel, when the index does not say its size
_HREF_RE = re.compile(r"""href\s*=\s*["']([^"']+)["']""", re.I)


def project_url(index_url, project="torch"):
    return index_url.rstrip("/") + "/" + project + "/"


def files_on_page(body, page_url, content_type=""):
    """[{'filename', 'url', 'size' or None}] from a simple-index project page."""
    files = []
    if "json" in (content_type or ""):
        try:
            doc = json.loads(body.decode("utf-8"))
            for f in doc.get("files") or []:
                files.append({"filename": f.get("filename"), "url": urljoin(page_url, f.get("url") or ""),
                              "size": f.get("size")})
            return files
        except (ValueError, AttributeError):
            return []
    text = body.decode("utf-8", "replace")
    for href in _HREF_RE.findall(text):
        path = href.split("#", 1)[0]
        name = unquote(path.rstrip("/").rsplit("/", 1)[-1])
        if name.endswith(".whl"):
            files.append({"filename": name, "url": urljoin(page_url, href.split("#", 1)[0]), "size": None})
    return files


def platform_matches(tag, platform_name, machine="x86_64"):
    tag = tag.lower()
    if platform_name == "windows":
        return tag == "win_amd64"
    if platform_name == "darwin":
        return tag.startswith("macosx")
    return "linux" in tag and machine in tag


def pick(files, version, python_version, platform_name, machine="x86_64"):
    """The wheel pip would take for this interpreter and platform (best effort), or None."""
    py_tag = "cp%d%d" % tuple(python_version[:2]) if python_version and len(python_version) >= 2 else None
    best, best_score = None, -1
    for f in files:
        parts = (f.get("filename") or "")[:-4].split("-")
        if len(parts) < 5 or parts[0].lower() != "torch":
            continue
        score = 0
        if version and (parts[1] == version or parts[1].split("+")[0] == version.split("+")[0]):
            score += 4
        if py_tag and parts[-3] == py_tag:
            score += 2
        if platform_matches(parts[-1], platform_name, machine):
            score += 1
        if score >= best_score:  # ties: the later entry (pages list versions oldest first)
            best, best_score = f, score
    return best
