"""Finding and interrogating Python interpreters, the way the web UI's launchers would find them."""

import glob
import json
import os
import re

# Printed by the interpreter under test. Kept compatible with Python 2.7 so a stray old python still answers.
INTERROGATE = (
    "import sys,struct,json;"
    "print(json.dumps({'version':'.'.join(map(str,sys.version_info[:3])),'releaselevel':sys.version_info[3],"
    "'bits':struct.calcsize('P')*8,'executable':sys.executable,'prefix':sys.prefix,"
    "'base_prefix':getattr(sys,'base_prefix',sys.prefix)}))"
)

STORE_ALIAS = "store-alias"  # %LOCALAPPDATA%\Microsoft\WindowsApps\python.exe: opens the Store, exit code 9009
STORE_PYTHON = "store-python"  # ...\WindowsApps\PythonSoftwareFoundation.Python.3.10_...: cannot make the venv

# Other programs that put their own Python first on PATH (webui-facts.md §4: #141, #4484).
_FOREIGN = (
    ("inkscape", re.compile(r"[\\/]inkscape[\\/]", re.I)),
    ("anaconda", re.compile(r"[\\/](ana|mini)conda\d*[\\/]", re.I)),
    ("msys", re.compile(r"[\\/](msys\d*|mingw\d*|cygwin\d*|git[\\/]usr)[\\/]", re.I)),
    ("pyenv-win shim", re.compile(r"[\\/]pyenv-win[\\/]shims[\\/]", re.I)),
)  # pyenv's POSIX shims are how pyenv users normally get their Python: not foreign


def local_bound(timeout):
    """Seconds one interpreter may take to answer. Local work, but the python check shares the run's deadline
    (--timeout + 0.8 s) between the configured interpreter and the search for alternatives, so each gets under half."""
    return max(0.5, min(3.0, 0.45 * timeout))


def classify(path):
    """What kind of interpreter a path is: STORE_ALIAS, STORE_PYTHON, a foreign program's name, or None."""
    if not path:
        return None
    norm = path.replace("/", "\\").lower()
    if "\\windowsapps\\" in norm:
        return STORE_PYTHON if "pythonsoftwarefoundation" in norm else STORE_ALIAS
    for name, pattern in _FOREIGN:
        if pattern.search(path):
            return name
    return None


def split_path(value, sep):
    return [p for p in (value or "").split(sep)]


def which_all(name, path_entries, names_for):
    """Every file on PATH that ``name`` resolves to, in PATH order. ``names_for(name)`` gives candidate file names."""
    found = []
    for entry in path_entries:
        entry = entry.strip().strip('"')
        if not entry:
            continue
        for candidate in names_for(name):
            full = os.path.join(entry, candidate)
            if os.path.isfile(full) and (os.name == "nt" or os.access(full, os.X_OK)) and full not in found:
                found.append(full)
    return found


def interrogate(argv, timeout):
    """Run an interpreter and read what it is. Always returns a dict with 'runs'."""
    from sd_doctor.host.procs import run_bounded

    result = run_bounded(list(argv) + ["-c", INTERROGATE], timeout)
    facts = {"argv": list(argv), "runs": False, "exit_code": result.returncode}
    if result.error:
        facts["error"] = result.error
        return facts
    if result.timed_out:
        facts["error"] = "timed out after %.1f s" % timeout
        return facts
    for line in reversed(result.stdout.strip().splitlines()):
        try:
            data = json.loads(line)
        except ValueError:
            continue
        if isinstance(data, dict) and "version" in data:
            facts.update(data)
            facts["runs"] = result.returncode == 0
            return facts
    text = result.stderr.strip() or result.stdout.strip()
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    # One line is enough to say why; the last line of a traceback is the exception, the first of a shim's message.
    facts["error"] = (lines[-1] if text.startswith("Traceback") else lines[0])[:300] if lines else "no answer"
    return facts


def version_tuple(version):
    """'3.10.6' -> (3, 10, 6) through packaging.version; () when unreadable."""
    from sd_doctor.core.versions import release

    return release(version, 3)


def interrogate_once(ctx, path, timeout):
    """``interrogate([path])`` once per run: the python and path checks ask about the same interpreter."""
    return ctx.cached(("interrogate", path), lambda: interrogate([path], timeout))


def is_good_for_webui(info):
    """A 64-bit CPython 3.10 that runs: what the web UI is tested on."""
    return bool(info.get("runs")) and version_tuple(info.get("version"))[:2] == (3, 10) and info.get("bits") == 64 \
        and classify(info.get("executable")) not in (STORE_ALIAS, STORE_PYTHON)


def find_alternatives(host, path_entries, timeout, exclude=(), limit=8):
    """64-bit Python 3.10 interpreters elsewhere on this machine: PATH, registry / py launcher, usual folders."""
    candidates = []
    for name in ("python3.10", "python", "python3"):
        candidates.extend(which_all(name, path_entries, host.executable_names))
    try:
        candidates.extend(host.registered_pythons(timeout))
    except Exception:
        pass
    for pattern in host.usual_python_locations():
        candidates.extend(sorted(glob.glob(pattern)))
    seen = set(os.path.normcase(os.path.abspath(p)) for p in exclude if p)
    unique = []
    for path in candidates:
        key = os.path.normcase(os.path.abspath(path))
        if key in seen or classify(path) in (STORE_ALIAS, STORE_PYTHON):
            continue
        seen.add(key)
        unique.append(path)
    unique = unique[:24]
    # Interrogate concurrently: each start costs 20-100 ms, and the whole search ends within ``timeout`` (a hung
    # candidate must not hold up the ones queued behind it).
    import time
    from concurrent.futures import ThreadPoolExecutor

    end = time.monotonic() + timeout

    def ask(path):
        left = end - time.monotonic()
        if left < 0.05:
            return {"argv": [path], "runs": False, "error": "not asked: out of time"}
        return interrogate([path], left)

    good = []
    if unique:
        with ThreadPoolExecutor(max_workers=min(8, len(unique))) as pool:
            for path, info in zip(unique, pool.map(ask, unique)):
                if is_good_for_webui(info):
                    info["path"] = path
                    good.append(info)
    # Prefer 3.10.6 (what the web UI is tested on), then the newest 3.10.
    good.sort(key=lambda i: (version_tuple(i["version"]) != (3, 10, 6), [-x for x in version_tuple(i["version"])]))
    return good[:limit]
