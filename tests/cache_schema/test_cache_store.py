"""The cache contract on real Zarr stores on disk."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import cache_schema as cs
from cache_schema import layout as L


def _write_video(store: cs.CacheStore, vid: str, n: int = 300, d: int = 16, finalize: bool = True) -> np.ndarray:
    ann = {"operations": [{"start": 0, "end": 5, "label": "a", "text": "x"}], "frames": [{"time": 1.0, "text": "y"}]}
    w = store.begin_video(vid, {"fps": 1.0}, ann)
    feats = np.random.default_rng(0).normal(size=(n, d)).astype(np.float32)
    for i in range(0, n, 37):
        w.append_frames(feats[i : i + 37], np.arange(i, min(n, i + 37)) + 0.5)
    w.write_texts(np.ones((1, 8)), np.ones((1, 8)), np.ones((1, 8)))
    w.write_annotation_arrays(np.array([[0.0, 5.0]]), np.array([1.0]))
    if finalize:
        assert w.finalize() == n
    return feats


def test_round_trip_and_chunking(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1", backbone={"name": "b"})
    feats = _write_video(store, "v1")
    rec = cs.open_cache(str(tmp_path / "c.zarr")).read_video("v1")
    assert rec.features.dtype == np.float16 and rec.features.chunks == (L.FEATURE_CHUNK_FRAMES, 16)
    np.testing.assert_allclose(rec.features[:], feats.astype(np.float16))
    assert np.all(np.diff(rec.timestamps()) > 0) and rec.n_frames == 300
    # plain zarr opens it, as the contract promises
    g = zarr.open_group(str(tmp_path / "c.zarr"), mode="r")
    assert g["videos/v1/frames/features"].shape == (300, 16)
    assert g.attrs[L.ROOT_ATTR]["layout_version"] == cs.LAYOUT_VERSION


def test_partial_video_never_reads_as_complete(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1")
    _write_video(store, "done")
    _write_video(store, "half", finalize=False)
    assert store.video_ids() == ["done"]
    assert store.status("half") == "partial"
    with pytest.raises(cs.IncompleteVideoError):
        store.read_video("half")
    report = cs.validate_cache(store)
    assert not report.ok and any("half" in p and "partial" in p for p in report.problems)
    _write_video(store, "half")  # a redo replaces the partial group
    assert cs.validate_cache(store).ok


def test_other_backbone_is_refused(tmp_path):
    cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1")
    with pytest.raises(cs.CacheFingerprintMismatch, match="fp1"):
        cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="other")


def test_validate_catches_tampering(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1")
    _write_video(store, "v1")
    g = zarr.open_group(str(tmp_path / "c.zarr/videos/v1"), mode="a")
    g["frames/timestamps"][5] = 0.0  # no longer strictly increasing
    g["frames/features"][3, 2] = np.nan
    problems = cs.validate_cache(store).problems
    assert any("strictly increasing" in p for p in problems)


def test_rejects_non_increasing_timestamps(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1")
    w = store.begin_video("v", {}, {})
    w.append_frames(np.zeros((2, 4)), np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match="strictly increasing"):
        w.append_frames(np.zeros((1, 4)), np.array([1.0]))


def test_not_a_cache(tmp_path):
    zarr.open_group(str(tmp_path / "x.zarr"), mode="w")
    with pytest.raises(cs.CacheLayoutError, match="not a hierskp cache"):
        cs.open_cache(str(tmp_path / "x.zarr"))
    with pytest.raises(cs.CacheLayoutError):
        cs.open_cache(str(tmp_path / "missing.zarr"))


def test_annotation_update_keeps_frames_and_is_partial_until_finalized(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp1")
    feats = _write_video(store, "v1")
    ann = {"operations": [], "frames": [], "text": "new"}
    w = store.begin_annotation_update("v1", {"annotations_hash": "h2"}, ann)
    assert store.status("v1") == "partial"  # a kill here never leaves stale texts marked complete
    w.write_texts(np.ones((1, 8)), np.zeros((0, 8)), np.zeros((0, 8)))
    w.write_annotation_arrays(np.zeros((0, 2)), np.zeros(0))
    assert w.finalize() == 300
    rec = store.read_video("v1")
    np.testing.assert_allclose(rec.features[:], feats.astype(np.float16))
    assert rec.annotations == ann and rec.provenance["annotations_hash"] == "h2" and rec.provenance["fps"] == 1.0
    assert cs.validate_cache(store).ok
