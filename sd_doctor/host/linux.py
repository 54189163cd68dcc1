"""Linux."""

import glob
import os

from sd_doctor.host.posix import PosixHost


class LinuxHost(PosixHost):
    name = "linux"

    def os_version(self):
        facts = super(LinuxHost, self).os_version()
        try:
            with open("/etc/os-release") as fh:
                for line in fh:
                    if line.startswith("PRETTY_NAME="):
                        facts["distribution"] = line.split("=", 1)[1].strip().strip('"')
        except OSError:
            pass
        return facts

    def display_adapters(self):
        adapters = []
        for path in sorted(glob.glob("/sys/class/drm/card*/device/mem_info_vram_total")):
            try:
                with open(path) as fh:
                    vram = int(fh.read().strip())
            except (OSError, ValueError):
                continue
            vendor = _read(os.path.join(os.path.dirname(path), "vendor"))
            adapters.append({"name": os.path.basename(os.path.dirname(os.path.dirname(path))),
                             "vendor": {"0x1002": "amd", "0x8086": "intel", "0x10de": "nvidia"}.get(vendor, vendor),
                             "vram_total": vram, "source": path})
        return adapters


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None
