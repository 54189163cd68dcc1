"""NVIDIA GPUs through NVML (package ``nvidia-ml-py``, imported as ``pynvml``), in a child process.

A wedged driver can hang ``nvmlInit`` for minutes, and a thread stuck inside a C call cannot be stopped. So the
gpu check runs :func:`main` in a child Python (``python -c``) through ``run_bounded``, which kills it at the bound;
the child prints one JSON document. :func:`query` is the same work in-process, for when no child can be started.

Result: ``{"status": "ok"|"no-module"|"no-library"|"init-failed"|"error", "error": str|None,
"driver_version": str|None, "cuda_driver_version": int|None, "devices": [{"index", "name", "uuid", "vram_total",
"vram_free", "vram_reserved", "memory_info": "v2"|"v1", "compute_capability": "8.6", "memory_error": str (only when NVML could not read the
memory), "errors": [str]}]}``.
"""

import json
import os
import sys

# What the child runs. The empty entry (current folder) is dropped from sys.path first, so a module in the web UI
# folder cannot shadow anything; the package's parent folder is put first so this module is importable.
_CHILD_CODE = ("import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; sys.path.insert(0, %r); "
               "from sd_doctor.probes.nvidia import main; main()")


def _text(value):
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value


def _err(exc):
    """An NVMLError's text, never raising (its __str__ calls back into the library)."""
    try:
        text = str(exc)
    except Exception:
        text = ""
    value = getattr(exc, "value", None)
    return "%s (NVML error %s)" % (text or exc.__class__.__name__, value) if value is not None else (
        text or exc.__class__.__name__)


def query():
    try:
        import pynvml
    except Exception as exc:  # ImportError, or a broken install
        return {"status": "no-module", "error": "%s: %s" % (exc.__class__.__name__, exc), "devices": []}
    result = {"status": "ok", "error": None, "driver_version": None, "cuda_driver_version": None, "devices": []}
    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError as exc:
        not_found = getattr(pynvml, "NVML_ERROR_LIBRARY_NOT_FOUND", 12)
        result["status"] = "no-library" if getattr(exc, "value", None) == not_found else "init-failed"
        result["error"] = _err(exc)
        result["error_code"] = getattr(exc, "value", None)
        return result
    except Exception as exc:
        result.update(status="init-failed", error="%s: %s" % (exc.__class__.__name__, exc))
        return result
    try:
        try:
            result["driver_version"] = _text(pynvml.nvmlSystemGetDriverVersion())
        except pynvml.NVMLError as exc:
            result["driver_version_error"] = _err(exc)
        for name in ("nvmlSystemGetCudaDriverVersion", "nvmlSystemGetCudaDriverVersion_v2"):
            fn = getattr(pynvml, name, None)
            if fn is None:
                continue
            try:
                result["cuda_driver_version"] = int(fn())
                break
            except pynvml.NVMLError:
                continue
        count = pynvml.nvmlDeviceGetCount()
        for index in range(count):
            result["devices"].append(_device(pynvml, index))
    except pynvml.NVMLError as exc:
        result.update(status="error", error=_err(exc))
    finally:
        try:
            pynvml.nvmlShutdown()
        except Exception:
            pass
    return result


def _device(pynvml, index):
    dev = {"index": index, "name": None, "uuid": None, "vram_total": None, "vram_free": None, "vram_reserved": None,
           "memory_info": None, "compute_capability": None, "errors": []}
    try:
        handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    except pynvml.NVMLError as exc:
        dev["errors"].append("handle: " + _err(exc))
        return dev
    try:
        dev["name"] = _text(pynvml.nvmlDeviceGetName(handle))
    except pynvml.NVMLError as exc:
        dev["errors"].append("name: " + _err(exc))
    try:
        dev["uuid"] = _text(pynvml.nvmlDeviceGetUUID(handle))
    except pynvml.NVMLError:
        pass
    memory = None
    v2 = getattr(pynvml, "nvmlMemory_v2", None)
    if v2 is not None:
        try:
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle, version=v2)
            dev["memory_info"] = "v2"
            dev["vram_reserved"] = int(memory.reserved)
        except pynvml.NVMLError:  # Function Not Found (drivers before 510), Not Supported, version mismatch
            memory = None
        except TypeError:  # a pynvml without the version argument
            memory = None
    if memory is None:
        try:
            memory = pynvml.nvmlDeviceGetMemoryInfo(handle)
            dev["memory_info"] = "v1"
        except pynvml.NVMLError as exc:
            dev["memory_error"] = _err(exc)
            dev["errors"].append("memory: " + dev["memory_error"])
    if memory is not None:
        dev["vram_total"] = int(memory.total)
        dev["vram_free"] = int(memory.free)
    try:
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        dev["compute_capability"] = "%d.%d" % (major, minor)
    except pynvml.NVMLError as exc:
        dev["errors"].append("compute capability: " + _err(exc))
    return dev


def main():
    try:
        result = query()
    except Exception as exc:  # the parent reads whatever JSON comes; a crash must still say why
        result = {"status": "error", "error": "%s: %s" % (exc.__class__.__name__, exc), "devices": []}
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()


def child_argv():
    """The command line that runs :func:`main` in a fresh interpreter, or None when there is none to start."""
    exe = sys.executable
    if not exe or not os.path.isfile(exe) or getattr(sys, "frozen", False):
        return None
    package_parent = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    return [exe, "-c", _CHILD_CODE % package_parent]


def run(timeout):
    """NVML facts gathered in a child process killed after ``timeout`` seconds. Adds 'elapsed' and 'how'."""
    from sd_doctor.host.procs import run_bounded

    argv = child_argv()
    if argv is None:
        import time

        start = time.monotonic()
        result = query()  # still bounded: the runner abandons this check's thread at its deadline
        result["how"] = "in-process"
        result["elapsed"] = round(time.monotonic() - start, 3)
        return result
    env = dict(os.environ)
    env["PYTHONIOENCODING"] = "utf-8"
    done = run_bounded(argv, timeout, env=env)
    if done.timed_out:
        return {"status": "timeout", "error": "NVML did not answer within %.1f s" % timeout, "devices": [],
                "how": "child process", "elapsed": round(done.elapsed, 3)}
    result = None
    for line in reversed(done.stdout.strip().splitlines()):
        try:
            result = json.loads(line)
            break
        except ValueError:
            continue
    if not isinstance(result, dict):
        tail = (done.error or done.stderr.strip().splitlines()[-1:] or ["exit code %s" % done.returncode])
        return {"status": "error", "error": "the NVML child process failed: %s" % (
            tail if isinstance(tail, str) else tail[0]), "devices": [], "how": "child process",
                "elapsed": round(done.elapsed, 3)}
    result["how"] = "child process"
    result["elapsed"] = round(done.elapsed, 3)
    return result


if __name__ == "__main__":
    main()
