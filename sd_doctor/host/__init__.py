"""One small module per operating system behind one interface (``base.Host``), chosen once per process."""

import sys

_HOST = None


def current():
    """The Host for the running operating system."""
    global _HOST
    if _HOST is None:
        if sys.platform == "win32":
            from sd_doctor.host.windows import WindowsHost as cls
        elif sys.platform == "darwin":
            from sd_doctor.host.darwin import DarwinHost as cls
        else:
            from sd_doctor.host.linux import LinuxHost as cls
        _HOST = cls()
    return _HOST
