"""Which model family the checkpoints in ``models/Stable-diffusion`` belong to (SD 1.x, SD 2.x, SDXL), from their
tensor names (safetensors headers; no torch).

- SDXL: ``conditioner.embedders.1.model...`` (the second text encoder, OpenCLIP bigG) and
  ``model.diffusion_model.label_emb...``; the refiner has ``conditioner.embedders.0.model...`` with label_emb.
- SD 1.x: ``cond_stage_model.transformer...`` (CLIP ViT-L).
- SD 2.x: ``cond_stage_model.model...`` (OpenCLIP ViT-H).
``.ckpt`` files are pickles that only torch can read safely: their family stays unknown (never unpickled).

What each file really is (:func:`inspect`, the ``models`` check): a Git LFS pointer, an HTML or JSON error page, an
empty file, a safetensors file whose header length runs past the end or whose tensors' ``data_offsets`` do (a
truncated download), a .ckpt zip without its end-of-archive record (truncated), or a real checkpoint. Only the first
bytes, the header (at most 100 MB, the format's own bound) and the last 64 KiB are read.

The walk follows symlinked folders (users link model folders from other drives) but never enters a folder twice
(device, inode), so a symlink loop ends; it stops at ``max_files`` entries or at its time budget.
"""

import os
import stat
import time

from sd_doctor.formats.safetensors import HeaderError, read_header

SD1, SD2, SDXL = "sd1", "sd2", "sdxl"
CHECKPOINT_EXTS = (".safetensors", ".ckpt", ".gguf")
MAX_FILES = 5000
SNIFF_BYTES = 512
LFS_MAGIC = b"version https://git-lfs.github.com/spec/"


def classify(names):
    """'sdxl' | 'sd1' | 'sd2' | None from a list of tensor names."""
    has_label_emb = False
    has_embedders = False
    has_clip_l = False
    has_open_clip = False
    for name in names:
        if name.startswith("model.diffusion_model.label_emb"):
            has_label_emb = True
        elif name.startswith("conditioner.embedders."):
            has_embedders = True
        elif name.startswith("cond_stage_model.transformer."):
            has_clip_l = True
        elif name.startswith("cond_stage_model.model."):
            has_open_clip = True
    if has_embedders or has_label_emb:
        return SDXL
    if has_clip_l:
        return SD1
    if has_open_clip:
        return SD2
    return None


def checkpoint_dirs(webui_dir, tokens):
    """models/Stable-diffusion under the web UI, plus --ckpt-dir when COMMANDLINE_ARGS names one."""
    from sd_doctor.launcher.settings import flag_value

    dirs = [os.path.join(webui_dir, "models", "Stable-diffusion")]
    extra = flag_value(tokens or [], "--ckpt-dir")
    if extra:
        extra = extra if os.path.isabs(extra) else os.path.join(webui_dir, extra)
        if extra not in dirs:
            dirs.append(extra)
    return dirs


def _sniff_text(head):
    """'lfs' | 'html' | 'json' | None from a file's first bytes."""
    text = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if text.startswith(LFS_MAGIC):
        return "lfs"
    low = text[:64].lower()
    if low.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml", b"<body")):
        return "html"
    if text[:1] in (b"{", b"[") and b"\x00" not in head[:8]:  # a safetensors length has zero high bytes
        return "json"
    return None


def _lfs_size(head):
    for line in head.decode("ascii", "replace").splitlines():
        if line.startswith("size "):
            return line[5:].strip()
    return None


def _inspect_safetensors(path, size, entry):
    try:
        header = read_header(path)
    except (HeaderError, ValueError, RecursionError, MemoryError) as exc:  # costs this file, never the check
        msg = str(exc)
        entry["kind"] = "truncated" if ("larger than the file" in msg or "ends inside" in msg) else "corrupt"
        entry["error"] = msg
        return
    end = 0
    for name, info in header.items():
        if name != "__metadata__" and isinstance(info, dict):
            offsets = info.get("data_offsets") or [0, 0]
            if isinstance(offsets, list) and len(offsets) == 2 and all(isinstance(o, int) for o in offsets):
                end = max(end, offsets[1])
    with open(path, "rb") as fh:
        length = int.from_bytes(fh.read(8), "little")
    need = 8 + length + end
    if need > size:
        entry["kind"] = "truncated"
        entry["error"] = "tensor data runs to byte %d but the file has %d (%.0f%% downloaded)" % (
            need, size, 100.0 * size / need)
        entry["expected_size"] = need
        return
    entry["kind"] = "safetensors"
    entry["family"] = classify([k for k in header if k != "__metadata__"])


def _inspect_ckpt(fh, size, head, entry):
    if head.startswith(b"PK\x03\x04"):
        fh.seek(max(0, size - 65536))
        tail = fh.read(65536)
        if b"PK\x05\x06" not in tail and b"PK\x06\x06" not in tail:
            entry["kind"], entry["error"] = "truncated", "a zip (torch .ckpt) without its end-of-archive record"
            return
        entry["kind"] = "pickle"
    elif head[:1] == b"\x80":
        entry["kind"] = "pickle"
    else:
        entry["kind"], entry["error"] = "corrupt", "neither a zip nor a pickle"


def inspect(path, name):
    """{'name', 'kind', 'family', 'error', 'size'}: kind is 'safetensors' | 'pickle' | 'gguf' | 'lfs' | 'html' |
    'json' | 'empty' | 'truncated' | 'corrupt' | 'unreadable'."""
    entry = {"name": name, "kind": None, "family": None, "error": None, "size": None}
    lower = name.lower()
    try:
        size = os.path.getsize(path)
        entry["size"] = size
        with open(path, "rb") as fh:
            head = fh.read(SNIFF_BYTES)
            text_kind = _sniff_text(head)
            if size == 0:
                entry["kind"], entry["error"] = "empty", "an empty file"
            elif text_kind == "lfs":
                entry["kind"] = "lfs"
                entry["error"] = "a Git LFS pointer (%s bytes of text) to a %s-byte file" % (size, _lfs_size(head) or "?")
            elif text_kind in ("html", "json"):
                snippet = head[:80].decode("utf-8", "replace").strip().splitlines()[0] if head.strip() else ""
                entry["kind"] = text_kind
                entry["error"] = "an %s page (%d bytes): %s" % ("HTML" if text_kind == "html" else "JSON", size, snippet)
            elif lower.endswith(".ckpt"):
                _inspect_ckpt(fh, size, head, entry)
            elif lower.endswith(".gguf"):
                entry["kind"] = "gguf" if head.startswith(b"GGUF") else "corrupt"
                entry["error"] = None if entry["kind"] == "gguf" else "no GGUF magic"
        if entry["kind"] is None and lower.endswith(".safetensors"):
            _inspect_safetensors(path, size, entry)
    except OSError as exc:
        entry["kind"], entry["error"] = "unreadable", exc.strerror or str(exc)
    return entry


def _walk(top, end, max_files, seen):
    """Yield (path, relative name) of checkpoint files; the caller counts and stops."""
    stack = [top]
    while stack:
        folder = stack.pop()
        try:
            st = os.stat(folder)
        except OSError:
            continue
        key = (st.st_dev, st.st_ino)
        if key in seen:
            continue  # a symlink loop, or the same folder linked twice
        seen.add(key)
        try:
            names = sorted(os.listdir(folder))
        except OSError:
            continue
        subdirs = []
        for name in names:
            if time.monotonic() > end:
                return
            path = os.path.join(folder, name)
            try:
                mode = os.stat(path).st_mode
            except OSError:
                continue  # a dangling link
            if stat.S_ISDIR(mode):
                subdirs.append(path)
            elif name.lower().endswith(CHECKPOINT_EXTS):
                yield path, os.path.relpath(path, top)
        stack.extend(reversed(subdirs))


def scan_budget(timeout):
    """The walk's time budget, the same for the gpu and models checks (they share one scan): it ends well inside the
    runner's deadline (timeout + 0.8 s)."""
    return max(0.5, min(2.0, 0.4 * timeout))


def scan(dirs, budget_s=2.0, max_files=MAX_FILES):
    """{'files': [inspect(...) entries], 'families': sorted known families, 'truncated': bool, 'dirs': [...],
    'elapsed': s}. ``truncated``: the walk stopped at max_files or at the budget."""
    start = time.monotonic()
    end = start + budget_s
    files = []
    truncated = False
    seen = set()
    for top in dirs:
        if not os.path.isdir(top):
            continue
        for path, name in _walk(top, end, max_files, seen):
            if len(files) >= max_files:
                truncated = True
                break
            files.append(inspect(path, name))
        if truncated:
            break
    if time.monotonic() > end:
        truncated = True
    families = sorted(set(f["family"] for f in files if f["family"]))
    return {"files": files, "families": families, "truncated": truncated, "dirs": list(dirs),
            "elapsed": round(time.monotonic() - start, 3)}
