"""safetensors headers read without torch, and the model family they reveal (real files written here)."""

import json
import os
import struct

import pytest

from sd_doctor.probes import checkpoints as model_family
from sd_doctor.formats.safetensors import HeaderError, read_header, tensor_names

SD1_NAMES = ["cond_stage_model.transformer.text_model.embeddings.token_embedding.weight",
             "model.diffusion_model.input_blocks.0.0.weight", "first_stage_model.decoder.conv_in.weight"]
SD2_NAMES = ["cond_stage_model.model.token_embedding", "model.diffusion_model.input_blocks.0.0.weight"]
SDXL_NAMES = ["conditioner.embedders.0.transformer.text_model.embeddings.token_embedding.weight",
              "conditioner.embedders.1.model.token_embedding", "model.diffusion_model.label_emb.0.0.weight",
              "model.diffusion_model.input_blocks.0.0.weight"]
REFINER_NAMES = ["conditioner.embedders.0.model.token_embedding", "model.diffusion_model.label_emb.0.0.weight"]


def write_safetensors(path, names, metadata=None):
    """A genuine safetensors file: each tensor is one float16 scalar."""
    header = {}
    offset = 0
    for name in names:
        header[name] = {"dtype": "F16", "shape": [1], "data_offsets": [offset, offset + 2]}
        offset += 2
    if metadata is not None:
        header["__metadata__"] = metadata
    blob = json.dumps(header).encode("utf-8")
    blob += b" " * (-len(blob) % 8)  # the format pads the header to 8 bytes
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(blob)))
        fh.write(blob)
        fh.write(b"\x00\x3c" * len(names))
    return path


@pytest.mark.parametrize("names, family", [(SD1_NAMES, "sd1"), (SD2_NAMES, "sd2"), (SDXL_NAMES, "sdxl"),
                                           (REFINER_NAMES, "sdxl"), (["lora_unet_down.weight"], None)])
def test_family_from_real_headers(tmp_path, names, family):
    path = write_safetensors(str(tmp_path / "m.safetensors"), names, metadata={"format": "pt"})
    got = tensor_names(path)
    assert sorted(got) == sorted(names)  # __metadata__ is not a tensor
    assert model_family.classify(got) == family


def test_header_roundtrip_keeps_metadata(tmp_path):
    path = write_safetensors(str(tmp_path / "m.safetensors"), SD1_NAMES, metadata={"ss_base": "x"})
    header = read_header(path)
    assert header["__metadata__"] == {"ss_base": "x"}
    assert header[SD1_NAMES[0]]["dtype"] == "F16"


def _raw(tmp_path, name, data):
    path = str(tmp_path / name)
    with open(path, "wb") as fh:
        fh.write(data)
    return path


@pytest.mark.parametrize("data, why", [
    (b"\x01\x02", "shorter than"),
    (struct.pack("<Q", 0), "empty header"),
    (struct.pack("<Q", 500 * 1024 * 1024) + b"{}", "exceeds"),
    (struct.pack("<Q", 4096) + b'{"a": 1}', "larger than the file"),
    (struct.pack("<Q", 8) + b"\xff\xfe\x00garbx", "not JSON"),
    (struct.pack("<Q", 2) + b"[]", "not a JSON object"),
    (b"PK\x03\x04" + b"\x00" * 60, "larger than the file"),  # a .ckpt (zip) renamed: its first 8 bytes read
    # as a 67 MB length
])
def test_corrupt_files_are_refused_with_a_reason(tmp_path, data, why):
    path = _raw(tmp_path, "bad.safetensors", data)
    with pytest.raises(HeaderError) as info:
        read_header(path)
    assert why in str(info.value)


def test_header_bound_is_configurable(tmp_path):
    path = write_safetensors(str(tmp_path / "m.safetensors"), SDXL_NAMES)
    with pytest.raises(HeaderError):
        read_header(path, max_bytes=64)
    assert read_header(path, max_bytes=1 << 20)


def test_scan_mixed_folder(tmp_path):
    top = tmp_path / "models" / "Stable-diffusion"
    write_safetensors(str(top / "sd15.safetensors"), SD1_NAMES)
    write_safetensors(str(top / "xl" / "sdxl_base.safetensors"), SDXL_NAMES)
    _raw(tmp_path / "models" / "Stable-diffusion", "broken.safetensors", b"garbage!garbage!")
    _raw(tmp_path / "models" / "Stable-diffusion", "old.ckpt", b"PK\x03\x04")
    _raw(tmp_path / "models" / "Stable-diffusion", "notes.txt", b"hello")
    result = model_family.scan([str(top)])
    by_name = dict((f["name"], f) for f in result["files"])
    assert set(by_name) == {"sd15.safetensors", os.path.join("xl", "sdxl_base.safetensors"), "broken.safetensors",
                            "old.ckpt"}
    assert result["families"] == ["sd1", "sdxl"]
    assert by_name["broken.safetensors"]["family"] is None and by_name["broken.safetensors"]["error"]
    assert by_name["old.ckpt"]["family"] is None
    assert result["truncated"] is False


def test_scan_is_bounded_in_files(tmp_path):
    top = tmp_path / "many"
    for i in range(5):
        write_safetensors(str(top / ("m%d.safetensors" % i)), SD1_NAMES)
    result = model_family.scan([str(top)], max_files=3)
    assert len(result["files"]) == 3 and result["truncated"] is True


def test_checkpoint_dirs_follow_ckpt_dir(tmp_path):
    webui = str(tmp_path / "webui")
    dirs = model_family.checkpoint_dirs(webui, ["--xformers", "--ckpt-dir", "/srv/models"])
    assert dirs == [os.path.join(webui, "models", "Stable-diffusion"), "/srv/models"]
    assert model_family.checkpoint_dirs(webui, ["--ckpt-dir=rel/x"])[1] == os.path.join(webui, "rel/x")
