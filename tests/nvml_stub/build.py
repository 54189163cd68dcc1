"""Compile the stand-in NVML library (nvml_stub.c) with the system C compiler, and write its configs.

``build(folder, variant)`` returns the folder that holds ``libnvidia-ml.so.1`` (put it on LD_LIBRARY_PATH), or raises
``CompilerMissing``. ``write_config(path, **settings)`` writes the file NVML_STUB_CONFIG names.
"""

import os
import shutil
import subprocess

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "nvml_stub.c")
GB = 1024 ** 3


class CompilerMissing(Exception):
    pass


def compiler():
    for name in (os.environ.get("CC"), "gcc", "cc", "clang"):
        if name and shutil.which(name):
            return shutil.which(name)
    return None


def build(folder, variant="default"):
    """Compile one variant ('default', or 'no-v2': without nvmlDeviceGetMemoryInfo_v2) into folder/variant/."""
    cc = compiler()
    if cc is None:
        raise CompilerMissing("no C compiler (gcc, cc or clang) on PATH")
    out_dir = os.path.join(folder, variant)
    os.makedirs(out_dir, exist_ok=True)
    target = os.path.join(out_dir, "libnvidia-ml.so.1")
    argv = [cc, "-shared", "-fPIC", "-O1", "-Wall", "-o", target, SOURCE]
    if variant == "no-v2":
        argv.insert(1, "-DNO_MEMORY_V2")
    result = subprocess.run(argv, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise RuntimeError("compiling the NVML stub failed:\n" + result.stderr)
    return out_dir


def write_config(path, devices, driver="535.104.05", cuda=12020, init="ok", v2=True):
    """devices: [{'name', 'total', 'free', 'reserved', 'cc': '7.5', 'uuid', 'memory': 'fail:999'}]."""
    lines = ["init=%s" % init, "driver=%s" % driver, "cuda=%d" % cuda, "v2=%d" % (1 if v2 else 0),
             "count=%d" % len(devices)]
    for i, dev in enumerate(devices):
        total = int(dev["total"])
        lines.append("device%d.name=%s" % (i, dev["name"]))
        lines.append("device%d.total=%d" % (i, total))
        lines.append("device%d.free=%d" % (i, int(dev.get("free", total * 9 // 10))))
        lines.append("device%d.reserved=%d" % (i, int(dev.get("reserved", 300 * 1024 ** 2))))
        lines.append("device%d.cc=%s" % (i, dev.get("cc", "8.6")))
        if dev.get("memory"):
            lines.append("device%d.memory=%s" % (i, dev["memory"]))
        if dev.get("uuid"):
            lines.append("device%d.uuid=%s" % (i, dev["uuid"]))
    with open(path, "w") as fh:
        fh.write("\n".join(lines) + "\n")
    return path
