"""Installed distributions written the way pip writes them: ``<name>-<version>.dist-info`` with METADATA (core
metadata 2.1 headers), INSTALLER, RECORD, plus the package's own files."""

import os


def dist_info_name(name, version):
    return "%s-%s.dist-info" % (name.replace("-", "_"), version)


def write_dist(site, name, version, requires=(), files=None):
    """Install ``name`` ``version`` into the site-packages folder ``site``; returns the dist-info path."""
    files = dict(files or {"%s/__init__.py" % name.replace("-", "_").lower(): "__version__ = %r\n" % version})
    info = os.path.join(site, dist_info_name(name, version))
    os.makedirs(info, exist_ok=True)
    headers = ["Metadata-Version: 2.1", "Name: %s" % name, "Version: %s" % version, "Summary: %s" % name]
    headers += ["Requires-Dist: %s" % r for r in requires]
    meta = {"METADATA": "\n".join(headers) + "\n\nThe long description.\n", "INSTALLER": "pip\n",
            "WHEEL": "Wheel-Version: 1.0\nGenerator: bdist_wheel (0.42.0)\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    for rel, text in list(files.items()) + [(os.path.join(os.path.basename(info), k), v) for k, v in meta.items()]:
        path = os.path.join(site, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", newline="\n") as fh:
            fh.write(text)
    record = [rel.replace(os.sep, "/") + ",," for rel in files] + [
        "%s/%s,," % (os.path.basename(info), k) for k in list(meta) + ["RECORD"]]
    with open(os.path.join(info, "RECORD"), "w", newline="\n") as fh:
        fh.write("\n".join(record) + "\n")
    return info


def venv_site(venv, version="3.10"):
    return os.path.join(venv, "lib", "python%s" % version, "site-packages")
