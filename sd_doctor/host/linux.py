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
        return drm_adapters("/sys")


def drm_adapters(root):
    """Cards with their own VRAM under ``root``/class/drm; AMD ones carry their gfx target from the KFD topology."""
    targets = kfd_gfx_targets(root)
    adapters = []
    for path in sorted(glob.glob(os.path.join(root, "class", "drm", "card*", "device", "mem_info_vram_total"))):
        try:
            with open(path) as fh:
                vram = int(fh.read().strip())
        except (OSError, ValueError):
            continue
        device = os.path.dirname(path)
        vendor = _read(os.path.join(device, "vendor"))
        device_id = _read(os.path.join(device, "device"))
        card = os.path.basename(os.path.dirname(device))
        entry = {"name": card, "vendor": {"0x1002": "amd", "0x8086": "intel", "0x10de": "nvidia"}.get(vendor, vendor),
                 "vram_total": vram, "source": path, "device_id": device_id}
        if device_id:
            entry["name"] = "%s %s (%s)" % ({"amd": "AMD GPU", "intel": "Intel GPU"}.get(entry["vendor"], "GPU"),
                                            device_id, card)
            try:
                entry["gfx_target_version"] = targets.get(int(device_id, 16))
            except ValueError:
                pass
        if entry.get("gfx_target_version"):
            value = entry["gfx_target_version"]
            entry["gfx"] = "gfx%d%x%x" % (value // 10000, (value // 100) % 100, value % 100)
        adapters.append(entry)
    return adapters


def kfd_gfx_targets(root):
    """{PCI device id: gfx_target_version} from the KFD topology (amdgpu's compute nodes; CPUs report 0)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(root, "class", "kfd", "kfd", "topology", "nodes", "*", "properties"))):
        props = {}
        text = _read(path) or ""
        for line in text.splitlines()[:200]:
            parts = line.split()
            if len(parts) == 2 and parts[1].isdigit():
                props[parts[0]] = int(parts[1])
        if props.get("gfx_target_version") and props.get("device_id"):
            out[props["device_id"]] = props["gfx_target_version"]
    return out


def _read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None
