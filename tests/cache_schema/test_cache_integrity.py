"""Damage after completion is caught: deleted chunks, resized arrays, changed values, broken metadata."""

from __future__ import annotations

import json

import numpy as np
import pytest
import zarr

import cache_schema as cs
from cache_schema import layout as L


def _write(store: cs.CacheStore, vid: str, n: int = 600, d: int = 8) -> None:
    ann = {"operations": [{"start": 0, "end": 5, "label": "a", "text": "x"}], "frames": [{"time": 1.0, "text": "y"}]}
    w = store.begin_video(vid, {"fps": 1.0}, ann)
    w.append_frames(np.random.default_rng(1).normal(size=(n, d)), np.arange(n) + 0.5)
    w.write_texts(np.ones((1, 4)), np.ones((1, 4)), np.ones((1, 4)))
    w.write_annotation_arrays(np.array([[0.0, 5.0]]), np.array([0.0]))  # an all-fill chunk is stored too
    w.finalize()


@pytest.fixture()
def cache(tmp_path):
    store = cs.open_cache(str(tmp_path / "c.zarr"), "a", fingerprint_id="fp")
    _write(store, "v1")
    _write(store, "v2")
    return tmp_path / "c.zarr"


def _problems(path) -> list[str]:
    return cs.validate_cache(cs.open_cache(str(path))).problems


def test_marker_records_every_array(cache):
    marker = cs.open_cache(str(cache)).read_video("v1").completion
    assert marker["layout_version"] == 2 == cs.LAYOUT_VERSION
    assert marker["arrays"][L.FEATURES] == {**marker["arrays"][L.FEATURES], "shape": [600, 8], "chunks": 3}
    assert set(marker["arrays"]) == {
        L.FEATURES,
        L.TIMESTAMPS,
        L.TEXT_VIDEO,
        L.TEXT_OPERATIONS,
        L.TEXT_NARRATIONS,
        L.SEGMENTS,
        L.NARRATION_TIMES,
    }
    assert _problems(cache) == []


@pytest.mark.parametrize(
    "chunk",
    ["frames/features/c/1/0", "frames/timestamps/c/2", "text/operations/c/0/0", "annotations/narration_times/c/0"],
)
def test_deleted_chunk_is_caught_by_the_cheap_check(cache, chunk):
    (cache / "videos/v1" / chunk).unlink()
    # the failure as reported: zarr itself reads the hole back as fill values, without an error
    assert zarr.open_group(str(cache / "videos/v1"), mode="r")[chunk.split("/c/")[0]][:].size
    store = cs.open_cache(str(cache))
    assert store.status("v1") == "corrupt" and store.video_ids() == ["v2"]
    with pytest.raises(cs.CorruptVideoError, match="v1.*chunk"):
        store.read_video("v1")
    with pytest.raises(cs.CorruptVideoError, match="v1"):
        cs.require_valid(store, deep=False)
    problems = _problems(cache)
    assert problems and all(p.startswith("v1: array ") for p in problems), problems


def test_resized_array_is_caught(cache):
    zarr.open_group(str(cache / "videos/v1"), mode="a")[L.TIMESTAMPS].resize((300,))
    assert any("v1: array frames/timestamps: shape [300]" in p for p in _problems(cache))


def test_changed_values_are_caught_by_the_deep_check(cache):
    g = zarr.open_group(str(cache / "videos/v2"), mode="a")
    g[L.FEATURES][7, 1] = np.nan
    store = cs.open_cache(str(cache))
    assert store.status("v2") == "complete"  # shapes and chunks are intact: only values tell
    assert cs.validate_cache(store, deep=False).ok
    problems = _problems(cache)
    assert any(p.startswith("v2: array frames/features: values checksum") for p in problems), problems
    with pytest.raises(cs.CorruptVideoError, match="v2"):
        cs.require_valid(store, deep=True)


def test_mismatched_video_fingerprint_is_caught(cache):
    g = zarr.open_group(str(cache / "videos/v1"), mode="a")
    g.attrs[L.PROVENANCE] = {**g.attrs[L.PROVENANCE], "fingerprint_id": "another"}
    assert any("v1: provenance fingerprint_id 'another'" in p for p in _problems(cache))


@pytest.mark.parametrize("damage", ["garbage", "deleted"])
def test_broken_group_metadata_is_named_and_repairable(cache, damage):
    meta = cache / "videos/v1/zarr.json"
    if damage == "garbage":
        meta.write_text("{not json")
    else:
        meta.unlink()
    store = cs.open_cache(str(cache), "a", fingerprint_id="fp")
    assert store.video_ids(status=None) == ["v1", "v2"] and store.status("v1") == "corrupt"
    problems = _problems(cache)
    assert len(problems) == 1 and problems[0].startswith("v1: group metadata (zarr.json)"), problems
    _write(store, "v1")  # begin_video removes whatever is there
    assert _problems(cache) == [] and store.status("v1") == "complete"


def test_validate_with_manifest_ids_reports_missing(cache):
    report = cs.validate_cache(cs.open_cache(str(cache)), expected=["v1", "v2", "v3"])
    assert report.problems == ["v3: in the manifest but not in the cache"]


def test_annotation_update_keeps_frame_checksums(cache):
    store = cs.open_cache(str(cache), "a", fingerprint_id="fp")
    before = store.read_video("v1").completion["arrays"][L.FEATURES]
    w = store.begin_annotation_update("v1", {}, {"operations": [], "frames": []})
    w.write_texts(np.ones((1, 4)), np.zeros((0, 4)), np.zeros((0, 4)))
    w.write_annotation_arrays(np.zeros((0, 2)), np.zeros(0))
    w.finalize()
    marker = store.read_video("v1").completion
    assert marker["arrays"][L.FEATURES] == before and marker["arrays"][L.SEGMENTS]["chunks"] == 0
    assert _problems(cache) == []
    assert json.loads((cache / "videos/v1/zarr.json").read_text())["attributes"]["complete"]["n_frames"] == 600


def _open_at(path: str, start: float) -> None:
    import time

    while time.time() < start:
        pass
    cs.open_cache(path, "a", fingerprint_id="fp")


def test_writers_creating_one_new_cache_at_once(tmp_path):
    """Three processes create the same new cache at the same instant (this raised in one of them)."""
    import multiprocessing as mp
    import time

    ctx = mp.get_context("spawn")
    for trial in range(3):
        path, start = str(tmp_path / f"new{trial}.zarr"), time.time() + 3
        procs = [ctx.Process(target=_open_at, args=(path, start)) for _ in range(3)]
        for p in procs:
            p.start()
        for p in procs:
            p.join(60)
        assert [p.exitcode for p in procs] == [0, 0, 0]
        assert cs.open_cache(path).fingerprint_id == "fp"
