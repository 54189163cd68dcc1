"""Windows. Registry and Win32 calls are imported lazily: this module is only imported on Windows."""

import glob
import os
import sys

from sd_doctor.platforms.base import Host


def _reg_value(root_name, key, value):
    """One registry value, or None."""
    import winreg

    root = getattr(winreg, root_name)
    try:
        with winreg.OpenKey(root, key) as handle:
            return winreg.QueryValueEx(handle, value)[0]
    except OSError:
        return None


def _reg_subkeys(root_name, key, view=0):
    import winreg

    root = getattr(winreg, root_name)
    try:
        with winreg.OpenKey(root, key, 0, winreg.KEY_READ | view) as handle:
            names = []
            i = 0
            while True:
                try:
                    names.append(winreg.EnumKey(handle, i))
                except OSError:
                    return names
                i += 1
    except OSError:
        return []


class WindowsHost(Host):
    name = "windows"

    def locale_names(self):
        names = super(WindowsHost, self).locale_names()
        try:
            import ctypes
            import locale

            langid = ctypes.windll.kernel32.GetUserDefaultUILanguage()
            names.append(locale.windows_locale.get(langid, ""))
        except Exception:
            pass
        return [n for n in names if n]

    def os_version(self):
        facts = super(WindowsHost, self).os_version()
        # sys.getwindowsversion() is what the C runtime (and Python's own DLL loading) sees; platform.win32_ver() may
        # report a newer version through the registry. The former decides whether Python 3.9+ runs.
        try:
            v = sys.getwindowsversion()
            facts["major"], facts["minor"], facts["build"] = v.major, v.minor, v.build
        except Exception:
            pass
        facts["product_name"] = _reg_value("HKEY_LOCAL_MACHINE",
                                           r"SOFTWARE\Microsoft\Windows NT\CurrentVersion", "ProductName")
        return facts

    def code_pages(self):
        try:
            import ctypes

            return ctypes.windll.kernel32.GetACP(), ctypes.windll.kernel32.GetOEMCP()
        except Exception:
            return None

    def long_paths_enabled(self):
        value = _reg_value("HKEY_LOCAL_MACHINE", r"SYSTEM\CurrentControlSet\Control\FileSystem", "LongPathsEnabled")
        return None if value is None else bool(value)

    def memory(self):
        facts = {"ram_total": None, "swap_total": None, "swap_system_managed": None}
        try:
            import psutil

            facts["ram_total"] = psutil.virtual_memory().total
        except Exception:
            pass
        try:
            import psutil

            facts["swap_total"] = psutil.swap_memory().total
        except Exception:  # psutil's PDH query fails under Wine and on some locked-down systems
            pass
        # PagingFiles lists "C:\pagefile.sys 0 0" (0 0 = system managed) or "?:\pagefile.sys" (automatic on all
        # drives); an empty list means no page file at all.
        files = _reg_value("HKEY_LOCAL_MACHINE",
                           r"SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management", "PagingFiles")
        auto = _reg_value("HKEY_LOCAL_MACHINE",
                          r"SYSTEM\CurrentControlSet\Control\Session Manager\Memory Management", "AutomaticManagedPagefile")
        if files is not None:
            entries = [f for f in files if f.strip()] if isinstance(files, list) else [files]
            managed = any(e.strip().startswith("?:") or e.strip().endswith(" 0 0") for e in entries)
            facts["swap_system_managed"] = bool(managed or auto)
            facts["paging_files"] = entries
        return facts

    def executable_names(self, name):
        if os.path.splitext(name)[1]:
            return [name]
        exts = os.environ.get("PATHEXT", ".COM;.EXE;.BAT;.CMD").split(";")
        return [name + ext.lower() for ext in exts if ext]

    def registered_pythons(self, timeout):
        found = []
        import winreg

        for root in ("HKEY_CURRENT_USER", "HKEY_LOCAL_MACHINE"):
            for view in (winreg.KEY_WOW64_64KEY, winreg.KEY_WOW64_32KEY):
                for tag in _reg_subkeys(root, r"SOFTWARE\Python\PythonCore", view):
                    exe = _reg_value(root, r"SOFTWARE\Python\PythonCore\%s\InstallPath" % tag, "ExecutablePath")
                    if not exe:
                        folder = _reg_value(root, r"SOFTWARE\Python\PythonCore\%s\InstallPath" % tag, "")
                        exe = os.path.join(folder, "python.exe") if folder else None
                    if exe and exe not in found:
                        found.append(exe)
        from sd_doctor.procs import run_bounded

        result = run_bounded(["py", "-0p"], timeout)
        if result.ok:
            for line in result.stdout.splitlines():
                parts = line.split()
                if parts and parts[-1].lower().endswith(".exe") and parts[-1] not in found:
                    found.append(parts[-1])
        return found

    def usual_python_locations(self):
        local = os.environ.get("LOCALAPPDATA", "")
        patterns = [os.path.join(local, "Programs", "Python", "Python310*", "python.exe"),
                    r"C:\Python310*\python.exe"]
        for var in ("ProgramFiles", "ProgramFiles(x86)", "ProgramW6432"):
            if os.environ.get(var):
                patterns.append(os.path.join(os.environ[var], "Python310*", "python.exe"))
        home = os.path.expanduser("~")
        patterns.append(os.path.join(home, ".pyenv", "pyenv-win", "versions", "3.10*", "python.exe"))
        patterns.append(os.path.join(home, "miniconda3", "envs", "*", "python.exe"))
        patterns.append(os.path.join(home, "anaconda3", "envs", "*", "python.exe"))
        return patterns

    def registry_proxy(self):
        key = r"Software\Microsoft\Windows\CurrentVersion\Internet Settings"
        values = dict((name, _reg_value("HKEY_CURRENT_USER", key, name))
                      for name in ("ProxyEnable", "ProxyServer", "ProxyOverride"))
        return values if any(v is not None for v in values.values()) else None

    def excluded_port_ranges(self, timeout):
        from sd_doctor.procs import run_bounded

        result = run_bounded(["netsh", "interface", "ipv4", "show", "excludedportrange", "protocol=tcp"], timeout)
        if not result.ok:
            return None
        ranges = []
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                ranges.append((int(parts[0]), int(parts[1])))
        return ranges

    def display_adapters(self):
        # qwMemorySize is a 64-bit value under the display class key; WMI's AdapterRAM is 32-bit and caps at 4 GB.
        cls = r"SYSTEM\CurrentControlSet\Control\Class\{4d36e968-e325-11ce-bfc1-08002be10318}"
        adapters = []
        for sub in _reg_subkeys("HKEY_LOCAL_MACHINE", cls):
            if not sub.isdigit():
                continue
            key = cls + "\\" + sub
            name = _reg_value("HKEY_LOCAL_MACHINE", key, "DriverDesc")
            size = _reg_value("HKEY_LOCAL_MACHINE", key, "HardwareInformation.qwMemorySize")
            if size is None:
                size = _reg_value("HKEY_LOCAL_MACHINE", key, "HardwareInformation.MemorySize")
                if isinstance(size, bytes):
                    size = int.from_bytes(size[:4], "little")
            if isinstance(size, bytes):
                size = int.from_bytes(size[:8], "little")
            if name:
                lname = name.lower()
                vendor = ("nvidia" if "nvidia" in lname else "amd" if ("amd" in lname or "radeon" in lname)
                          else "intel" if "intel" in lname else "other")
                adapters.append({"name": name, "vendor": vendor, "vram_total": size, "source": "registry"})
        return adapters
