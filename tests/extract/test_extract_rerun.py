"""A rerun of an up-to-date cache loads no model; a changed model file makes it load again."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from hierskp.backbones.fingerprint import remember_fingerprint, remembered_fingerprint

from .conftest import run_cli

PROBE = """
import json, sys
from hierskp.extract import ExtractConfig, extract_manifest
from hierskp.extract.context import _encoders
s = extract_manifest(ExtractConfig(manifest=sys.argv[1], cache=sys.argv[2]), progress=False)
print(json.dumps({**s.as_dict(), "loaded": _encoders.cache_info().currsize, "transformers": "transformers" in sys.modules}))
"""


def _rerun(manifest, cache) -> dict:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(manifest), str(cache)], capture_output=True, text=True, env=env
    )
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_up_to_date_rerun_loads_no_model(corpus_copy, tmp_path):
    manifest, cache = corpus_copy / "manifest.jsonl", tmp_path / "cache.zarr"
    assert run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress").returncode == 0
    again = _rerun(manifest, cache)
    assert again["skipped"] == 4 and again["done"] == 0
    assert again["loaded"] == 0 and not again["transformers"], again
    # one video's annotations change: only then are the encoders loaded (for its texts)
    lines = manifest.read_text().splitlines()
    first = json.loads(lines[0])
    lines[0] = json.dumps({**first, "text": first["text"] + " (edited)"})
    manifest.write_text("\n".join(lines) + "\n")
    edited = _rerun(manifest, cache)
    assert edited["done"] == 1 and edited["skipped"] == 3 and edited["loaded"] == 1


def test_remembered_fingerprint_is_dropped_when_a_file_changes(tmp_path, monkeypatch):
    monkeypatch.setenv("HIERSKP_HOME", str(tmp_path / "home"))
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    (model / "model.safetensors").write_bytes(b"w" * 10)
    from hierskp.backbones.fingerprint import fingerprint_id

    fp = {"kind": "vision", "weights_sha256": "abc", "dim": 4}
    fp["fingerprint_id"] = fingerprint_id(fp)
    request = {"kind": "vision", "model": "m", "device": "cpu"}
    remember_fingerprint(request, model, fp)
    assert remembered_fingerprint(request, model) == fp
    assert remembered_fingerprint({**request, "device": "cuda"}, model) is None
    os.utime(model / "model.safetensors", ns=(1, 1))
    assert remembered_fingerprint(request, model) is None
    remember_fingerprint(request, model, fp)
    (model / "model.safetensors").write_bytes(b"w" * 11)
    assert remembered_fingerprint(request, model) is None


def test_symlink_out_of_the_dataset_fails_that_video_alone(corpus_copy, tmp_path):
    manifest, cache = corpus_copy / "manifest.jsonl", tmp_path / "cache.zarr"
    first = json.loads(manifest.read_text().splitlines()[0])
    outside = tmp_path / "outside.mp4"
    os.replace(corpus_copy / first["video"], outside)
    os.symlink(outside, corpus_copy / first["video"])
    res = run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress")
    assert res.returncode == 1 and "3 done, 0 skipped, 1 failed" in res.stdout, res.stdout
    assert f"FAILED {first['video_id']}: " in res.stdout and "outside the dataset folder" in res.stdout
    res = run_cli(
        "extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress", "--allow-outside-dataset"
    )
    assert res.returncode == 0 and "1 done, 3 skipped" in res.stdout, res.stdout
