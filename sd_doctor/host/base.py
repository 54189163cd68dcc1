"""The interface every operating-system module implements.

Methods return plain data (str, int, bool, list, dict) or None when the fact is unknown on this system, so the
checks can be fed the same data recorded from another system. Methods never raise for an unavailable fact; the
runner still turns an unexpected exception into a ``skip`` finding.
"""

import os


class Host(object):
    name = "unknown"  # "windows" | "linux" | "darwin"
    path_sep = os.pathsep

    # -- language ------------------------------------------------------------------------------------------------
    def locale_names(self):
        """Locale names in order of precedence, e.g. ['zh_CN.UTF-8']."""
        names = []
        for var in ("LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE"):
            value = os.environ.get(var)
            if value:
                names.extend(v for v in value.split(":") if v)
        return names

    def ui_language(self):
        """The language the system's user interface is shown in, as a locale name ('zh_CN'), or None (not known)."""
        return None

    # -- operating system ----------------------------------------------------------------------------------------
    def os_version(self):
        """{'system': ..., 'release': ..., 'version': ..., 'major': int|None, 'build': int|None}."""
        import platform

        return {"system": platform.system(), "release": platform.release(), "version": platform.version(),
                "major": None, "build": None}

    def code_pages(self):
        """(ANSI, OEM) code pages on Windows; None elsewhere."""
        return None

    def long_paths_enabled(self):
        """LongPathsEnabled on Windows (True/False, None when unreadable); None elsewhere (no such limit)."""
        return None

    def memory(self):
        """{'ram_total': bytes, 'swap_total': bytes, 'swap_system_managed': bool|None}."""
        import psutil

        ram = psutil.virtual_memory().total
        try:
            swap = psutil.swap_memory().total
        except Exception:  # psutil raises RuntimeError/OSError on some systems (e.g. Wine)
            swap = None
        return {"ram_total": ram, "swap_total": swap, "swap_system_managed": None}

    # -- Python discovery -----------------------------------------------------------------------------------------
    def executable_names(self, name):
        """File names that ``name`` may resolve to when looked up on PATH."""
        return [name]

    def registered_pythons(self, timeout):
        """Interpreters the system registry knows (PythonCore keys, ``py -0p``). Paths; empty elsewhere."""
        return []

    def usual_python_locations(self):
        """Glob patterns of usual install folders' interpreters."""
        return []

    # -- network -------------------------------------------------------------------------------------------------
    def registry_proxy(self):
        """Windows Internet Settings: {'ProxyEnable': int, 'ProxyServer': str, 'ProxyOverride': str} or None."""
        return None

    def excluded_port_ranges(self, timeout):
        """TCP port ranges reserved by the system [(start, end)], or None when unknown / not applicable."""
        return None

    def vc_runtime(self):
        """The Visual C++ 2015-2022 x64 runtime (Windows): {'registry': {...} or None, 'dlls': {name: {'exists',
        'version'}}}; None where not applicable."""
        return None

    # -- GPU -----------------------------------------------------------------------------------------------------
    def display_adapters(self):
        """Non-NVML adapter facts: [{'name': str, 'vendor': str, 'vram_total': bytes|None, 'source': str}]."""
        return []
