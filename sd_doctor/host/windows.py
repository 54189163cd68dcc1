"""Windows. Registry and Win32 calls are imported lazily: this module is only imported on Windows."""

import os
import sys

from sd_doctor.host.base import Host


def _reg_value(root_name, key, value, view=0):
    """One registry value, or None. ``view``: winreg.KEY_WOW64_64KEY / KEY_WOW64_32KEY, or 0 for the default."""
    import winreg

    root = getattr(winreg, root_name)
    try:
        with winreg.OpenKey(root, key, 0, winreg.KEY_READ | view) as handle:
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


VC_RUNTIME_KEY = r"SOFTWARE\Microsoft\VisualStudio\14.0\VC\Runtimes\x64"
VC_RUNTIME_DLLS = ("vcruntime140.dll", "vcruntime140_1.dll", "msvcp140.dll")


def _file_version(path):
    """'14.40.33810.0' from a DLL's VS_FIXEDFILEINFO (version.dll), or None."""
    import ctypes
    from ctypes import wintypes

    try:
        api = ctypes.WinDLL("version")
        size = api.GetFileVersionInfoSizeW(path, None)
        if not size:
            return None
        buf = ctypes.create_string_buffer(size)
        if not api.GetFileVersionInfoW(path, 0, size, buf):
            return None
        info = ctypes.c_void_p()
        length = wintypes.UINT()
        if not api.VerQueryValueW(buf, "\\", ctypes.byref(info), ctypes.byref(length)) or length.value < 52:
            return None
        words = ctypes.cast(info, ctypes.POINTER(wintypes.DWORD * 13)).contents
        ms, ls = words[2], words[3]  # dwSignature, dwStrucVersion, dwFileVersionMS, dwFileVersionLS
        return "%d.%d.%d.%d" % (ms >> 16, ms & 0xFFFF, ls >> 16, ls & 0xFFFF)
    except (OSError, AttributeError, ValueError):
        return None


def _rtl_get_version():
    """(major, minor, build) from ntdll's RtlGetVersion, or None."""
    try:
        import ctypes

        class OSVERSIONINFOEXW(ctypes.Structure):
            _fields_ = [("dwOSVersionInfoSize", ctypes.c_ulong), ("dwMajorVersion", ctypes.c_ulong),
                        ("dwMinorVersion", ctypes.c_ulong), ("dwBuildNumber", ctypes.c_ulong),
                        ("dwPlatformId", ctypes.c_ulong), ("szCSDVersion", ctypes.c_wchar * 128),
                        ("wServicePackMajor", ctypes.c_ushort), ("wServicePackMinor", ctypes.c_ushort),
                        ("wSuiteMask", ctypes.c_ushort), ("wProductType", ctypes.c_ubyte),
                        ("wReserved", ctypes.c_ubyte)]

        info = OSVERSIONINFOEXW()
        info.dwOSVersionInfoSize = ctypes.sizeof(info)
        if ctypes.WinDLL("ntdll").RtlGetVersion(ctypes.byref(info)) != 0:
            return None
        if not info.dwMajorVersion:
            return None
        return int(info.dwMajorVersion), int(info.dwMinorVersion), int(info.dwBuildNumber)
    except Exception:
        return None


class WindowsHost(Host):
    name = "windows"

    def ui_language(self):
        """GetUserDefaultUILanguage: what Windows itself is shown in (the people this tool is for rarely set LANG;
        Git Bash and MSYS set it to en_US whatever the Windows language)."""
        try:
            import ctypes
            import locale

            return locale.windows_locale.get(ctypes.windll.kernel32.GetUserDefaultUILanguage()) or None
        except Exception:
            return None

    def locale_names(self):
        """The Windows UI language first, then the Unix-style variables."""
        ui = self.ui_language()
        names = super(WindowsHost, self).locale_names()
        return [n for n in ([ui] if ui else []) + names if n]

    def os_version(self):
        facts = super(WindowsHost, self).os_version()
        # Which source tells the version the system really runs:
        # - ntdll's RtlGetVersion: the kernel's answer, not adjusted to the calling program's manifest. Under Wine it
        #   is the version the prefix is set to (winecfg), like the registry's CurrentVersion.
        # - sys.getwindowsversion() calls GetVersionEx, which reports 6.2 (Windows 8) to a program whose manifest
        #   does not declare Windows 10 (python.exe's does; a host that embeds Python may not). Fallback only.
        # - platform.win32_ver()/version()/release() read the file version of kernel32.dll: Wine ships one fixed
        #   version (10.0.18362) whatever Windows the prefix is set to, so on Wine they say 10 for a Windows 7
        #   prefix. Kept as a fact ("file_version"), never judged.
        facts["file_version"] = facts.get("version")
        v = _rtl_get_version()
        if v is None:
            try:
                w = sys.getwindowsversion()
                v = (w.major, w.minor, w.build)
            except Exception:
                v = None
        if v is not None:
            facts["major"], facts["minor"], facts["build"] = v
            facts["version"] = "%d.%d.%d" % v
            facts["release"] = ("11" if v[0] == 10 and v[2] >= 22000 else str(v[0])) if v[0] >= 10 else {
                (6, 1): "7", (6, 2): "8", (6, 3): "8.1"}.get((v[0], v[1]), "%d.%d" % (v[0], v[1]))
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
                    # Read the values in the same registry view the tag was listed in: a 32-bit Python's key in
                    # HKLM lives in the 32-bit view (WOW6432Node) only.
                    exe = _reg_value(root, r"SOFTWARE\Python\PythonCore\%s\InstallPath" % tag, "ExecutablePath",
                                     view)
                    if not exe:
                        folder = _reg_value(root, r"SOFTWARE\Python\PythonCore\%s\InstallPath" % tag, "", view)
                        exe = os.path.join(folder, "python.exe") if folder else None
                    if exe and exe not in found:
                        found.append(exe)
        from sd_doctor.host.procs import run_bounded

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
        from sd_doctor.host.procs import run_bounded

        result = run_bounded(["netsh", "interface", "ipv4", "show", "excludedportrange", "protocol=tcp"], timeout)
        if not result.ok:
            return None
        ranges = []
        for line in result.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 2 and parts[0].isdigit() and parts[1].isdigit():
                ranges.append((int(parts[0]), int(parts[1])))
        return ranges

    def vc_runtime(self):
        import winreg

        registry = None
        # The x64 runtime's installer is a 32-bit program: its key usually sits in the 32-bit view (WOW6432Node).
        for view in (winreg.KEY_WOW64_32KEY, winreg.KEY_WOW64_64KEY):
            installed = _reg_value("HKEY_LOCAL_MACHINE", VC_RUNTIME_KEY, "Installed", view)
            version = _reg_value("HKEY_LOCAL_MACHINE", VC_RUNTIME_KEY, "Version", view)
            if installed is not None or version is not None:
                registry = {"installed": installed, "version": version, "key": "HKLM\\" + VC_RUNTIME_KEY}
                break
        system32 = os.path.join(os.environ.get("SystemRoot") or os.environ.get("WINDIR") or "C:\\Windows", "System32")
        dlls = {}
        for name in VC_RUNTIME_DLLS:
            path = os.path.join(system32, name)
            exists = os.path.isfile(path)
            dlls[name] = {"exists": exists, "version": _file_version(path) if exists else None, "path": path}
        return {"registry": registry, "dlls": dlls}

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
