"""Fingerprints: equal weights + preprocessing -> equal id from any path; any change -> new id."""

from __future__ import annotations

import json
import shutil

import torch

from hierskp.backbones import fingerprint_id, load_vision_encoder, weights_sha256
from hierskp.backbones.fingerprint import INFORMATIONAL, file_sha256, weight_files


def _load(path):
    return load_vision_encoder(str(path), device="cpu")


def test_same_weights_other_path_same_id(tiny_models, loaded_encoders, tmp_path):
    copy = shutil.copytree(tiny_models["clip"].path, tmp_path / "somewhere" / "else")
    a, b = loaded_encoders["clip"].fingerprint, _load(copy).fingerprint
    assert a["resolved_path"] != b["resolved_path"]
    assert a["fingerprint_id"] == b["fingerprint_id"] and a["weights_sha256"] == b["weights_sha256"]


def test_changed_weights_change_id(tiny_models, loaded_encoders, tmp_path):
    model = tiny_models["vit"].model
    state = {k: v.clone() for k, v in model.state_dict().items()}
    try:
        with torch.no_grad():
            model.embeddings.cls_token.add_(1e-3)
        model.save_pretrained(tmp_path / "vit2")
    finally:
        model.load_state_dict(state)
    shutil.copy(tiny_models["vit"].path / "preprocessor_config.json", tmp_path / "vit2")
    fp = _load(tmp_path / "vit2").fingerprint
    base = loaded_encoders["vit"].fingerprint
    assert fp["weights_sha256"] != base["weights_sha256"] and fp["fingerprint_id"] != base["fingerprint_id"]
    assert fp["preprocessing"] == base["preprocessing"]


def test_changed_preprocessing_changes_id(tiny_models, loaded_encoders, tmp_path):
    copy = shutil.copytree(tiny_models["siglip"].path, tmp_path / "siglip2")
    cfg_path = copy / "preprocessor_config.json"
    cfg = json.loads(cfg_path.read_text())
    cfg["image_mean"] = [0.4, 0.5, 0.5]
    cfg_path.write_text(json.dumps(cfg))
    fp, base = _load(copy).fingerprint, loaded_encoders["siglip"].fingerprint
    assert fp["weights_sha256"] == base["weights_sha256"]
    assert fp["preprocessing"]["image_mean"] == [0.4, 0.5, 0.5]
    assert fp["fingerprint_id"] != base["fingerprint_id"]


def test_fingerprint_is_json_and_id_reproducible(loaded_encoders):
    for enc in loaded_encoders.values():
        fp = enc.fingerprint
        assert json.loads(json.dumps(fp)) == fp
        assert fingerprint_id(fp) == fp["fingerprint_id"] and len(fp["fingerprint_id"]) == 16
        changed = {**fp, **{k: "elsewhere" for k in INFORMATIONAL}}
        assert fingerprint_id(changed) == fp["fingerprint_id"]
        assert fingerprint_id({**fp, "pooling": "other"}) != fp["fingerprint_id"]
    ids = {enc.fingerprint["fingerprint_id"] for enc in loaded_encoders.values()}
    assert len(ids) == len(loaded_encoders)


def test_sharded_weights_and_file_cache(tiny_models, tmp_path):
    model = tiny_models["dinov2"].model
    model.save_pretrained(tmp_path / "sharded", max_shard_size="20KB")
    shutil.copy(tiny_models["dinov2"].path / "preprocessor_config.json", tmp_path / "sharded")
    files = weight_files(tmp_path / "sharded")
    assert len(files) > 1 and all(f.suffix == ".safetensors" for f in files)
    enc = _load(tmp_path / "sharded")
    assert enc.fingerprint["weights_sha256"] == weights_sha256(tmp_path / "sharded")
    assert file_sha256(files[0]) == file_sha256(files[0])  # memoised by (path, size, mtime)
