"""macOS."""

import platform

from sd_doctor.host.posix import PosixHost


class DarwinHost(PosixHost):
    name = "darwin"

    def os_version(self):
        facts = super(DarwinHost, self).os_version()
        facts["mac_ver"] = platform.mac_ver()[0]
        return facts

    def display_adapters(self):
        # Apple silicon shares its RAM with the GPU: the unified memory is the budget the web UI sees (MPS).
        if platform.machine() != "arm64":
            return []
        try:
            import psutil

            total = psutil.virtual_memory().total
        except Exception:
            total = None
        return [{"name": "Apple silicon (unified memory)", "vendor": "apple", "vram_total": total,
                 "source": "unified memory"}]
