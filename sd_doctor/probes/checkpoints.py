"""Which model family the checkpoints in ``models/Stable-diffusion`` belong to (SD 1.x, SD 2.x, SDXL), from their
tensor names (safetensors headers; no torch).

- SDXL: ``conditioner.embedders.1.model...`` (the second text encoder, OpenCLIP bigG) and
  ``model.diffusion_model.label_emb...``; the refiner has ``conditioner.embedders.0.model...`` with label_emb.
- SD 1.x: ``cond_stage_model.transformer...`` (CLIP ViT-L).
- SD 2.x: ``cond_stage_model.model...`` (OpenCLIP ViT-H).
``.ckpt`` files are pickles that only torch can read safely: their family stays unknown.
"""

import os
import time

from sd_doctor.formats.safetensors import HeaderError, tensor_names

SD1, SD2, SDXL = "sd1", "sd2", "sdxl"
CHECKPOINT_EXTS = (".safetensors", ".ckpt")
MAX_FILES = 200


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


def scan(dirs, budget_s=2.0, max_files=MAX_FILES):
    """{'files': [{'name', 'family', 'error'}], 'families': sorted known families, 'truncated': bool}."""
    end = time.monotonic() + budget_s
    files = []
    truncated = False
    seen = set()  # real folders already walked: symlinks are followed as the web UI does, loops are not
    for top in dirs:
        if not os.path.isdir(top):
            continue
        for root, subdirs, names in os.walk(top, followlinks=True):
            real = os.path.realpath(root)
            if real in seen:
                subdirs[:] = []
                continue
            seen.add(real)
            subdirs.sort()
            for name in sorted(names):
                if not name.lower().endswith(CHECKPOINT_EXTS):
                    continue
                if len(files) >= max_files or time.monotonic() > end:
                    truncated = True
                    break
                path = os.path.join(root, name)
                entry = {"name": os.path.relpath(path, top), "family": None, "error": None}
                if name.lower().endswith(".safetensors"):
                    try:
                        entry["family"] = classify(tensor_names(path))
                    except (HeaderError, OSError, ValueError, RecursionError, MemoryError) as exc:
                        entry["error"] = str(exc) or exc.__class__.__name__  # costs this file, never the check
                else:
                    entry["error"] = "a .ckpt file (pickle): its family is not read"
                files.append(entry)
            if truncated:
                break
        if truncated:
            break
    families = sorted(set(f["family"] for f in files if f["family"]))
    return {"files": files, "families": families, "truncated": truncated}
