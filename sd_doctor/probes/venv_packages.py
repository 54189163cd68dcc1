"""What is installed in a venv (or a base interpreter), read from its site-packages folder: ``*.dist-info`` names,
versions and ``Requires-Dist`` lines, pip's presence, the ``~``-prefixed leftovers of an interrupted uninstall, and
the extensions that pin torch. Nothing is run or imported (webui-facts.md §10).

pip renames a package's folders to ``~<name minus its first letter>`` while it uninstalls (``torch`` -> ``~orch``)
and removes them at the end; an interrupted run (a killed window, "Access is denied" while another process holds the
files, #17297) leaves them, and pip then warns "Ignoring invalid distribution ~orch" on every start.
"""

import glob
import os
import re

MAX_ENTRIES = 5000
MAX_METADATA = 256 * 1024
_PIN_RE = re.compile(r"^\s*torch\s*==\s*([0-9][0-9A-Za-z.+]*)", re.M)
_INSTALL_PIN_RE = re.compile(r"""\btorch==([0-9][0-9A-Za-z.+]*)""")


def site_packages(root, platform_name, base=False):
    """The site-packages folders of a venv (or, with ``base``, of an installation prefix) that exist."""
    if platform_name == "windows":
        candidates = [os.path.join(root, "Lib", "site-packages")]
    else:
        candidates = sorted(glob.glob(os.path.join(root, "lib", "python3*", "site-packages")))
        if base:  # Debian/Ubuntu keep the system's packages in dist-packages
            candidates += [os.path.join(root, "lib", "python3", "dist-packages")]
            candidates += sorted(glob.glob(os.path.join(root, "local", "lib", "python3*", "dist-packages")))
    return [c for c in candidates if os.path.isdir(c)]


def normalize(name):
    return re.sub(r"[-_.]+", "-", name).lower()


def _metadata(path):
    """(Name, Version, [Requires-Dist]) from a dist-info folder's METADATA (bounded read)."""
    name = version = None
    requires = []
    try:
        with open(os.path.join(path, "METADATA"), "rb") as fh:
            text = fh.read(MAX_METADATA).decode("utf-8", "replace")
    except OSError:
        return None, None, []
    for line in text.splitlines():
        if not line.strip():
            break  # the headers end at the first empty line; the description follows
        key, _, value = line.partition(":")
        key, value = key.strip().lower(), value.strip()
        if key == "name":
            name = value
        elif key == "version":
            version = value
        elif key == "requires-dist":
            requires.append(value)
    return name, version, requires


def read(folder):
    """{'dists': {normalized name: {'name', 'version', 'requires', 'path'}}, 'half_uninstalled': [entry names],
    'pip': bool, 'count': n}."""
    out = {"dists": {}, "half_uninstalled": [], "pip": False, "count": 0, "folder": folder}
    try:
        entries = sorted(os.listdir(folder))[:MAX_ENTRIES]
    except OSError as exc:
        out["error"] = exc.strerror or str(exc)
        return out
    for entry in entries:
        if entry.startswith("~"):
            out["half_uninstalled"].append(entry)
            continue
        if entry == "pip" and os.path.isfile(os.path.join(folder, entry, "__init__.py")):
            out["pip"] = True
        if not entry.endswith(".dist-info"):
            continue
        path = os.path.join(folder, entry)
        name, version, requires = _metadata(path)
        if name is None:  # METADATA unreadable: the folder name still says name-version
            stem = entry[:-len(".dist-info")]
            name, _, version = stem.partition("-")
        out["dists"][normalize(name)] = {"name": name, "version": version, "requires": requires, "path": path}
        out["count"] += 1
    return out


def torch_requirement(requires):
    """'2.1.2' from Requires-Dist ['torch==2.1.2', 'numpy'] (xformers pins the torch it was built for), or None."""
    for line in requires:
        spec = line.split(";")[0].replace(" ", "")
        if normalize(spec.split("=")[0].split("(")[0].rstrip("<>!~")) == "torch" and "==" in spec:
            return spec.split("==", 1)[1].strip("()")
    return None


def public(version):
    """'2.1.2+cu121' -> '2.1.2'."""
    return (version or "").split("+")[0]


def extension_pins(webui_dir, limit=200):
    """[{'extension', 'file', 'torch'}] for each extension whose requirements.txt or install.py pins torch."""
    pins = []
    root = os.path.join(webui_dir, "extensions")
    try:
        names = sorted(os.listdir(root))[:limit]
    except OSError:
        return pins
    for name in names:
        for rel, pattern in (("requirements.txt", _PIN_RE), ("install.py", _INSTALL_PIN_RE)):
            path = os.path.join(root, name, rel)
            try:
                with open(path, "rb") as fh:
                    text = fh.read(MAX_METADATA).decode("utf-8", "replace")
            except OSError:
                continue
            match = pattern.search(text)
            if match:
                pins.append({"extension": name, "file": rel, "torch": match.group(1)})
                break
    return pins
