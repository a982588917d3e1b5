"""Extra captions in the cache (layout minor 1): round trip, integrity, and caches without them."""

from __future__ import annotations

import numpy as np
import pytest
import zarr

import cache_schema as cs
from cache_schema import layout as L
from cache_schema.validate import validate_video

ANN = {
    "text": "v",
    "texts": ["v2", "v3"],
    "operations": [
        {"start": 0, "end": 5, "label": "a", "text": "x", "texts": ["x2"]},
        {"start": 5, "end": 9, "label": "b", "text": "z"},
    ],
    "frames": [{"time": 1.0, "text": "y", "texts": ["y2", "y3"]}],
}


def _alts() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(1)
    return {
        "video": (rng.normal(size=(2, 8)), np.array([0, 0])),
        "operations": (rng.normal(size=(1, 8)), np.array([0])),
        "narrations": (rng.normal(size=(2, 8)), np.array([0, 0])),
    }


def _write(store: cs.CacheStore, vid: str, alts: dict | None) -> None:
    w = store.begin_video(vid, {"fps": 1.0}, ANN)
    w.append_frames(np.ones((20, 4), np.float32), np.arange(20) + 0.5)
    w.write_texts(np.ones((1, 8)), np.ones((2, 8)), np.ones((1, 8)))
    if alts is not None:
        w.write_alt_texts(alts)
    w.write_annotation_arrays(np.array([[0.0, 5.0], [5.0, 9.0]]), np.array([1.0]))
    w.finalize()


def test_round_trip_and_validation(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    _write(store, "v1", _alts())
    rec = cs.open_cache(str(tmp_path / "c.zarr")).read_video("v1")
    assert rec.has_alt_texts()
    for level, (emb, owner) in _alts().items():
        got, got_owner = rec.alt_texts(level)
        np.testing.assert_allclose(got, emb.astype(np.float32))
        np.testing.assert_array_equal(got_owner, owner)
    assert set(rec.open_arrays()) >= {"alt_video", "alt_operations", "alt_narrations"}
    assert set(L.ALT_TEXTS.values()) <= set(rec.completion["arrays"])
    assert rec.completion["layout_minor"] == cs.LAYOUT_MINOR
    assert not validate_video(store, "v1", deep=True).problems
    assert store.info["layout_minor"] == cs.LAYOUT_MINOR


def test_deleted_alt_array_is_corrupt(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    _write(store, "v1", _alts())
    del zarr.open_group(str(tmp_path / "c.zarr/videos/v1"), mode="a")["text/alt/operations"]
    status, _, _, problems = store.inspect("v1")
    assert status == "corrupt" and any("text/alt/operations" in p for p in problems)


def test_owner_out_of_range_fails_validation(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    alts = {**_alts(), "operations": (np.ones((1, 8)), np.array([2]))}  # only rows 0 and 1 exist
    _write(store, "v1", alts)
    report = validate_video(store, "v1", deep=False)
    assert report.status == "corrupt" and any("text/alt/operations_owner" in p for p in report.problems)


def test_writer_refuses_unsorted_owners(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    w = store.begin_video("v1", {"fps": 1.0}, ANN)
    with pytest.raises(ValueError, match="alt captions of operations"):
        w.write_alt_texts({"operations": (np.ones((2, 8)), np.array([1, 0]))})


def test_old_layout_without_alt_texts_still_reads(tmp_path):
    """A minor-0 cache (root without layout_minor, videos without text/alt) reads, validates, has no
    extra captions; opening it for writing records the minor this writer may add."""
    url = str(tmp_path / "c.zarr")
    store = cs.open_cache(url, "a", fingerprint_id="fp")
    _write(store, "old", None)
    root = zarr.open_group(url, mode="a")
    info = dict(root.attrs[L.ROOT_ATTR])
    del info["layout_minor"]
    root.attrs[L.ROOT_ATTR] = info
    group = root["videos/old"]
    marker = dict(group.attrs[L.COMPLETE])
    del marker["layout_minor"]
    group.attrs[L.COMPLETE] = marker
    reader = cs.open_cache(url)
    assert "layout_minor" not in reader.info
    rec = reader.read_video("old")
    assert not rec.has_alt_texts() and "alt_video" not in rec.open_arrays()
    emb, owner = rec.alt_texts("narrations")
    assert emb.shape == (0, 8) and owner.shape == (0,)
    assert not validate_video(reader, "old", deep=True).problems
    assert cs.open_cache(url, "a", fingerprint_id="fp").info["layout_minor"] == cs.LAYOUT_MINOR
    with pytest.raises(ValueError, match="unknown text level"):
        rec.alt_texts("frames")
