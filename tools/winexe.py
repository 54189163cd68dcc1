"""Builds sd-doctor.exe on Linux: PyInstaller's win_amd64 wheel runs in the Windows tier's CPython 3.10 under Wine.

The Windows CPython is the tier's bed (tests/wine/bed.py: the embeddable CPython 3.10 plus the project's
dependencies as win_amd64 wheels). PyInstaller and its Windows-only dependencies (pefile, pywin32-ctypes) are fetched
with pip through its configured index as win_amd64 wheels and unpacked next to them. One throw-away Wine prefix runs
the build; the result is cached under a folder keyed by the bed, the PyInstaller pins and a hash of the project's
sources, so an unchanged tree takes no Wine at all:

    $SD_DOCTOR_WINEXE_CACHE, else $XDG_CACHE_HOME/sd-doctor/winexe, else ~/.cache/sd-doctor/winexe
"""

import hashlib
import json
import os
import shutil
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests"))

from wine import bed as winebed  # noqa: E402  (the tier's bed lives with the tests)

BUILD_FORMAT = "1"  # bump when the PyInstaller options below change
# pefile and pywin32-ctypes are PyInstaller's dependencies on Windows only (sys_platform markers): a download for
# another platform does not pull them in, so they are named here.
PYINSTALLER_PINS = ["pyinstaller==6.22.3", "pefile==2024.8.26", "pywin32-ctypes==0.2.3"]
EXE_NAME = "sd-doctor.exe"
KEEP_BUILDS = 4  # cached builds kept (one per source tree); older ones are removed
ENTRY = os.path.join("tools", "windows", "sd_doctor_exe.py")
# Standard-library parts the doctor never imports (PyInstaller follows every import, even dead ones).
EXCLUDES = ["tkinter", "unittest", "pydoc", "doctest", "lib2to3", "sqlite3", "xmlrpc", "pdb", "test"]


class BuildError(Exception):
    """The exe could not be built (no bed, pip failed, PyInstaller failed, ...)."""


def cache_root():
    return winebed.sd_doctor_cache("winexe", "SD_DOCTOR_WINEXE_CACHE")


def source_files():
    """(relative path, absolute path) of everything that goes into the exe or decides how it is built."""
    found = []
    for top in ("sd_doctor", os.path.join("tools", "windows")):
        for folder, dirs, files in os.walk(os.path.join(ROOT, top)):
            dirs[:] = sorted(d for d in dirs if d != "__pycache__")
            for name in sorted(files):
                if name.endswith((".pyc", ".pyo")):
                    continue
                path = os.path.join(folder, name)
                found.append((os.path.relpath(path, ROOT).replace(os.sep, "/"), path))
    for rel in ("pyproject.toml", "tools/winexe.py"):
        found.append((rel, os.path.join(ROOT, rel)))
    return found


def package_modules():
    """Every module of the package: the runner imports the checks by name, which no import graph can follow.
    (PyInstaller's --collect-submodules lists them by importing the package in the Windows Python, which found
    none here: the list comes from the source tree instead.)"""
    names = []
    for rel, _path in source_files():
        if rel.startswith("sd_doctor/") and rel.endswith(".py"):
            name = rel[:-3].replace("/", ".")
            names.append(name[:-len(".__init__")] if name.endswith(".__init__") else name)
    return names


def build_key(bed_name):
    digest = hashlib.sha256()
    digest.update(json.dumps([BUILD_FORMAT, bed_name, PYINSTALLER_PINS]).encode())
    for rel, path in source_files():
        with open(path, "rb") as fh:
            digest.update(rel.encode() + b"\0" + hashlib.sha256(fh.read()).digest())
    return "pyi-%s" % digest.hexdigest()[:16]


def _download_pyinstaller(root, log):
    pins_key = hashlib.sha256(json.dumps([winebed.PY_TAG, PYINSTALLER_PINS]).encode()).hexdigest()[:12]
    wheels = os.path.join(root, "downloads", "pyinstaller-" + pins_key)
    if not os.path.isfile(os.path.join(wheels, ".complete")):
        winebed._pip(["download", "--platform", "win_amd64", "--python-version", winebed.PY_TAG,
                      "--implementation", "cp", "--only-binary=:all:", "-d", wheels] + PYINSTALLER_PINS, log)
        open(os.path.join(wheels, ".complete"), "w").close()
    return wheels, sorted(n for n in os.listdir(wheels) if n.endswith(".whl"))


def _copy_sources(dest):
    for rel, path in source_files():
        target = os.path.join(dest, *rel.split("/"))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copyfile(path, target)


def _pyinstaller_argv():
    src = r"C:\src"
    return [r"C:\builder\python.exe", "-m", "PyInstaller", "--onefile", "--console", "--noconfirm", "--clean",
            "--noupx", "--name", EXE_NAME[:-4], "--paths", src,
            "--add-data", src + r"\sd_doctor\templates;sd_doctor\templates",  # read with importlib.resources
            "--distpath", r"C:\out\dist", "--workpath", r"C:\out\build", "--specpath", r"C:\out"] + [
        a for name in EXCLUDES for a in ("--exclude-module", name)] + [
        a for name in package_modules() for a in ("--hidden-import", name)] + [src + "\\" + ENTRY.replace("/", "\\")]


def _build_in_wine(bed, wheels_dir, wheels, work, log):
    """One throw-away prefix: the bed's Python plus PyInstaller, the sources on C:; returns the exe's Linux path."""
    prefix = winebed.Prefix(os.path.join(work, "wine"), bed)
    try:
        os.makedirs(prefix.folder)
        result = prefix.run(["wineboot", "-i"], timeout=300)
        if not os.path.isdir(prefix.drive_c):
            raise BuildError("wineboot made no prefix: %r" % result)
        builder = prefix.unix(r"C:\builder")
        shutil.copytree(os.path.join(bed, "doctor"), builder)
        for name in wheels:
            winebed._unpack_wheel(os.path.join(wheels_dir, name), os.path.join(builder, "Lib", "site-packages"))
        _copy_sources(prefix.unix(r"C:\src"))
        result = prefix.run(_pyinstaller_argv(), timeout=900)
        log.append("$ PyInstaller\n%s\n%s" % (result.stdout, result.stderr))
        exe = prefix.unix("C:\\out\\dist\\" + EXE_NAME)
        if result.returncode != 0 or not os.path.isfile(exe):
            tail = (result.stderr or result.stdout).strip().splitlines()[-5:]
            raise BuildError("PyInstaller failed under Wine (exit %s): %s" % (result.returncode, " | ".join(tail)))
        target = os.path.join(work, EXE_NAME)
        shutil.copyfile(exe, target)
        return target
    finally:
        prefix.destroy()


def _prune(root, keep):
    builds = [os.path.join(root, n) for n in os.listdir(root) if n.startswith("pyi-")]
    builds.sort(key=lambda p: os.path.getmtime(p), reverse=True)
    for old in builds[keep:]:
        shutil.rmtree(old, ignore_errors=True)


def build_exe(log=None):
    """The cached exe: (path, seconds spent building; 0 when it came from the cache)."""
    log = [] if log is None else log
    start = time.monotonic()
    try:
        bed, _ = winebed.build_bed(log)
    except winebed.BedError as exc:
        raise BuildError("the Windows bed could not be built: %s" % exc)
    root = cache_root()
    folder = os.path.join(root, build_key(os.path.basename(bed)))
    exe = os.path.join(folder, EXE_NAME)
    if os.path.isfile(exe):
        return exe, 0.0
    os.makedirs(root, exist_ok=True)
    with winebed._lock(os.path.join(root, ".lock")):
        if os.path.isfile(exe):
            return exe, 0.0
        try:
            wheels_dir, wheels = _download_pyinstaller(root, log)
        except winebed.BedError as exc:
            raise BuildError(str(exc))
        work = tempfile.mkdtemp(prefix=".build-", dir=root)
        try:
            built = _build_in_wine(bed, wheels_dir, wheels, work, log)
            os.makedirs(folder, exist_ok=True)
            with open(os.path.join(folder, "build.json"), "w") as fh:
                json.dump({"bed": os.path.basename(bed), "wheels": wheels, "seconds": round(time.monotonic() - start, 1),
                           "size": os.path.getsize(built)}, fh, indent=1)
            os.rename(built, exe)
        finally:
            shutil.rmtree(work, ignore_errors=True)
        _prune(root, KEEP_BUILDS)
    return exe, time.monotonic() - start


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in ("-h", "--help"):
        sys.stdout.write("usage: tools/build-windows [OUTPUT]   (default: dist/%s)\n%s" % (EXE_NAME, __doc__))
        return 0
    output = os.path.abspath(argv[0] if argv else os.path.join(ROOT, "dist", EXE_NAME))
    if winebed.wine_command() is None:
        sys.stderr.write("build-windows: Wine is not installed (Debian: apt-get install wine wine64)\n")
        return 2
    log = []
    try:
        exe, seconds = build_exe(log)
    except (BuildError, OSError, AssertionError) as exc:
        sys.stderr.write("build-windows: %s\n" % exc)
        if os.environ.get("SD_DOCTOR_DEBUG"):
            sys.stderr.write("\n".join(log)[-20000:] + "\n")
        return 1
    os.makedirs(os.path.dirname(output), exist_ok=True)
    shutil.copyfile(exe, output + ".part")
    os.replace(output + ".part", output)
    how = "built in %.0f s" % seconds if seconds else "from the cache %s" % os.path.dirname(exe)
    sys.stdout.write("%s (%.1f MB), %s\n" % (output, os.path.getsize(output) / 1e6, how))
    return 0
