"""Extraction options: --dtype is recorded in the cache fingerprint (a cache continues only with the
dtype it was started with); --batch-size is the forward-pass size; encode copies once."""

from __future__ import annotations

import numpy as np
import pytest

import cache_schema as cs
from hierskp.extract import ExtractConfig, extract_manifest
from hierskp.ingest.manifest import load_manifest

from .conftest import run_cli


def test_dtype_is_in_the_fingerprint_and_a_cache_continues_only_with_it(corpus_copy, tmp_path):
    manifest = corpus_copy / "manifest.jsonl"
    ids = [r.entry.video_id for r in load_manifest(manifest).rows]
    cache = str(tmp_path / "cache.zarr")
    first = ExtractConfig(manifest=manifest, cache=cache, device="cpu", dtype="bfloat16", video_ids=(ids[0],))
    assert extract_manifest(first, progress=False).ok
    store = cs.open_cache(cache)
    assert store.info["backbone"]["dtype"] == "bfloat16"  # the dtype actually used, not "auto"
    with pytest.raises(cs.CacheError, match="fingerprint"):
        extract_manifest(first.model_copy(update={"dtype": "float32", "video_ids": None}), progress=False)
    rest = extract_manifest(first.model_copy(update={"video_ids": None, "batch_size": 3}), progress=False)
    assert sorted(rest.ids("done")) == sorted(ids[1:]) and rest.ids("skipped") == [ids[0]]
    feats = cs.open_cache(cache).read_video(ids[1]).features[:]
    assert feats.shape[0] > 0 and np.isfinite(feats.astype(np.float32)).all()


def test_cli_dtype_and_encoder_batch_size(corpus_copy, tmp_path):
    manifest = corpus_copy / "manifest.jsonl"
    vid = load_manifest(manifest).rows[0].entry.video_id
    cache = str(tmp_path / "cache.zarr")
    args = ["extract", "--manifest", str(manifest), "--cache", cache, "--no-progress", "--video-id", vid]
    proc = run_cli(*args, "--dtype", "float32", "--batch-size", "5", "--device", "cpu")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert cs.open_cache(cache).info["backbone"]["dtype"] == "float32"
    bad = run_cli(*args, "--dtype", "float64")
    assert bad.returncode == 2 and "float64" in bad.stderr
