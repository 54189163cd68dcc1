"""The models check (issue 11 part 4): real safetensors files written by the `safetensors` package, then truncated;
Git LFS pointers, HTML and JSON pages saved as models; real zip and pickle .ckpt files (never unpickled); thousands
of files and a symlink loop within the budget; what each flavour downloads when there is none (real launchers)."""

import json
import os
import pickle
import time
import zipfile

import pytest

from conftest import copy_corpus, make_webui, run_json
from sd_doctor.checks import models
from sd_doctor.core.text import render
from sd_doctor.probes import checkpoints

np = pytest.importorskip("numpy")
st_numpy = pytest.importorskip("safetensors.numpy")

SD1 = {"cond_stage_model.transformer.text_model.embeddings.token_embedding.weight": (64, 8),
       "model.diffusion_model.input_blocks.0.0.weight": (32, 4, 3, 3), "first_stage_model.decoder.conv_in.weight": (16,)}
SDXL = {"conditioner.embedders.1.model.token_embedding": (64, 8), "model.diffusion_model.label_emb.0.0.weight": (32, 8)}
LFS = ("version https://git-lfs.github.com/spec/v1\n"
       "oid sha256:6ce0161689b3853acaa03779ec93eafe75a02f4ced659bee03f50797806fa2fa\nsize 4265146304\n")
HTML = "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Please log in</body></html>\n"


def save(path, tensors):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    st_numpy.save_file(dict((k, np.ones(shape, dtype=np.float16)) for k, shape in tensors.items()), path)
    return path


def raw(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as fh:
        fh.write(data if isinstance(data, bytes) else data.encode("utf-8"))
    return path


def truncate(path, keep):
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(data[:keep] if keep >= 0 else data[:len(data) + keep])
    return path


def torch_zip_ckpt(path, complete=True):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with zipfile.ZipFile(path, "w") as zf:  # the layout torch.save writes: archive/data.pkl, archive/data/0
        zf.writestr("archive/data.pkl", pickle.dumps({"state_dict": {}}, protocol=2))
        zf.writestr("archive/data/0", b"\x00" * 4096)
    if not complete:
        truncate(path, 2048)
    return path


@pytest.fixture
def folder(tmp_path):
    top = str(tmp_path / "webui" / "models" / "Stable-diffusion")
    save(os.path.join(top, "sd15.safetensors"), SD1)
    save(os.path.join(top, "xl", "base.safetensors"), SDXL)
    truncate(save(os.path.join(top, "half.safetensors"), SD1), -100)  # data_offsets past the end
    truncate(save(os.path.join(top, "stub.safetensors"), SD1), 40)  # the header itself is cut
    raw(os.path.join(top, "lfs.safetensors"), LFS)
    raw(os.path.join(top, "login.safetensors"), HTML)
    raw(os.path.join(top, "err.ckpt"), json.dumps({"error": "Repository not found"}))
    raw(os.path.join(top, "empty.safetensors"), b"")
    torch_zip_ckpt(os.path.join(top, "old.ckpt"))
    torch_zip_ckpt(os.path.join(top, "cut.ckpt"), complete=False)
    raw(os.path.join(top, "legacy.ckpt"), pickle.dumps({"a": 1}, protocol=2))
    raw(os.path.join(top, "notes.txt"), "not a model")
    return top


def test_every_file_is_named_with_what_it_really_is(folder):
    result = checkpoints.scan([folder])
    kinds = dict((e["name"], e["kind"]) for e in result["files"])
    assert kinds == {"sd15.safetensors": "safetensors", os.path.join("xl", "base.safetensors"): "safetensors",
                     "half.safetensors": "truncated", "stub.safetensors": "truncated", "lfs.safetensors": "lfs",
                     "login.safetensors": "html", "err.ckpt": "json", "empty.safetensors": "empty",
                     "old.ckpt": "pickle", "cut.ckpt": "truncated", "legacy.ckpt": "pickle"}
    by_name = dict((e["name"], e) for e in result["files"])
    assert "downloaded" in by_name["half.safetensors"]["error"]
    assert by_name["half.safetensors"]["expected_size"] == os.path.getsize(os.path.join(folder, "half.safetensors")) + 100
    assert "4265146304" in by_name["lfs.safetensors"]["error"]
    assert result["families"] == ["sd1", "sdxl"]


def test_models_check_errors_name_each_file_in_both_languages(folder):
    facts = {"platform": "linux", "dirs": [folder], "scan": checkpoints.scan([folder]), "installed": True,
             "flavour": "a1111", "version": "v1.10.1", "no_download": False, "ckpt": None, "download_url": None}
    f = models.judge(facts)
    en = "\n".join(render(f.detail_lines() + f.advice, "en"))
    zh = "\n".join(render(f.detail_lines() + f.advice, "zh"))
    assert f.status == "error"
    for name in ("half.safetensors", "lfs.safetensors", "login.safetensors", "err.ckpt", "cut.ckpt"):
        assert name in en and name in zh
    assert "Git LFS pointer" in en and "git lfs pull" in en and "web page" in en and "Git LFS" in zh
    assert "rm " + os.path.join(folder, "login.safetensors") in en
    assert "old.ckpt: a .ckpt pickle" in en and "sd15.safetensors (sd1)" in en
    win = models.judge(dict(facts, platform="windows"))
    assert 'del "%s"' % os.path.join(folder, "lfs.safetensors") in "\n".join(render(win.advice, "en"))


def test_thousands_of_files_and_a_symlink_loop_end_within_the_budget(tmp_path):
    top = tmp_path / "models"
    for i in range(3000):
        raw(str(top / ("d%02d" % (i % 30)) / ("m%04d.safetensors" % i)), LFS)
    os.symlink(str(top), str(top / "d00" / "loop"))  # models/d00/loop -> models
    start = time.monotonic()
    result = checkpoints.scan([str(top)], budget_s=1.0)
    elapsed = time.monotonic() - start
    assert elapsed < 2.0, elapsed
    names = [e["name"] for e in result["files"]]
    assert len(names) == len(set(names)) and not any("loop" in n for n in names)
    assert result["truncated"] or len(names) == 3000
    few = checkpoints.scan([str(top)], budget_s=5.0, max_files=100)
    assert len(few["files"]) == 100 and few["truncated"]


def test_symlinked_model_folder_is_followed(tmp_path):
    other = str(tmp_path / "elsewhere")
    save(os.path.join(other, "linked.safetensors"), SD1)
    top = tmp_path / "models"
    top.mkdir()
    os.symlink(other, str(top / "external"))
    result = checkpoints.scan([str(top)])
    assert [e["name"] for e in result["files"]] == [os.path.join("external", "linked.safetensors")]


def test_header_bound_is_kept(tmp_path):
    path = raw(str(tmp_path / "huge.safetensors"), (200 * 1024 * 1024).to_bytes(8, "little") + b"{}")
    entry = checkpoints.inspect(path, "huge.safetensors")
    assert entry["kind"] == "corrupt" and "exceeds" in entry["error"]


@pytest.mark.parametrize("corpus, status, words", [("a1111-2024-02-26-v1.8", "warn", "gone since 2024"),
                                                   ("forge-2025-06-26", "ok", "downloads its default model")])
def test_no_checkpoint_says_what_the_flavour_downloads(tmp_path, corpus, status, words):
    webui = copy_corpus(corpus, str(tmp_path / "webui"))
    proc, doc, checks = run_json([webui, "--offline", "--timeout", "2"])
    ids = [c["id"] for c in doc["checks"]]
    assert ids.index("models") == ids.index("gpu") + 1
    assert checks["models"]["status"] == status and words in checks["models"]["detail"], checks["models"]


def test_ckpt_dir_is_read_and_broken_files_fail_the_run(tmp_path):
    store = str(tmp_path / "store")
    raw(os.path.join(store, "sdxl.safetensors"), HTML)
    webui = make_webui(str(tmp_path / "webui"), {"webui-user.sh": 'export COMMANDLINE_ARGS="--ckpt-dir %s"\n' % store})
    proc, doc, checks = run_json([webui, "--offline", "--timeout", "2"])
    assert proc.returncode == 1 and checks["models"]["status"] == "error"
    assert "sdxl.safetensors" in checks["models"]["detail"] and "web page" in checks["models"]["detail"]
