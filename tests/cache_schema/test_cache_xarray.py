"""The cache as PyData users open it: xarray's DataTree over the Zarr store, named dimensions."""

from __future__ import annotations

import numpy as np
import xarray as xr
import zarr

import cache_schema as cs


def _video(store: cs.CacheStore, vid: str, n: int) -> None:
    w = store.begin_video(vid, {"fps": 1.0}, {"operations": []})
    w.append_frames(np.random.default_rng(0).normal(size=(n, 16)), np.arange(n) + 0.5)
    w.write_texts(np.ones((1, 8)), np.ones((2, 8)), np.ones((3, 8)))
    w.write_annotation_arrays(np.array([[0.0, 5.0], [5.0, 9.0]]), np.array([1.0, 2.0, 3.0]))
    w.finalize()


def test_open_datatree_with_named_dimensions(tmp_path):
    url = str(tmp_path / "c.zarr")
    store = cs.open_cache(url, "a", fingerprint_id="fp1")
    _video(store, "v1", 300)
    store.consolidate()
    tree = xr.open_datatree(url, engine="zarr")
    frames = tree["videos/v1/frames"].to_dataset()
    assert frames["features"].dims == ("time", "feature") and frames["timestamps"].dims == ("time",)
    assert frames.sizes["time"] == 300 and frames["timestamps"].attrs["units"] == "s"
    assert frames["timestamps"].dtype == np.float64  # seconds stay numbers, not timedeltas
    np.testing.assert_allclose(frames.set_coords("timestamps")["timestamps"].values[:2], [0.5, 1.5])
    text, ann = tree["videos/v1/text"].to_dataset(), tree["videos/v1/annotations"].to_dataset()
    assert text["operations"].dims == ("operation", "text_feature") and set(text.data_vars) == {
        "video",
        "operations",
        "narrations",
    }
    assert ann["segments"].dims == ("operation", "bound") and ann.sizes["operation"] == text.sizes["operation"]


def test_readers_ignore_stale_consolidated_metadata(tmp_path):
    """A video added after the last consolidation is still seen by hierskp's readers."""
    url = str(tmp_path / "c.zarr")
    store = cs.open_cache(url, "a", fingerprint_id="fp1")
    _video(store, "v1", 10)
    store.consolidate()
    _video(store, "v2", 12)
    assert cs.open_cache(url).video_ids() == ["v1", "v2"]
    assert cs.open_cache(url).read_video("v2").n_frames == 12
    assert "v2" not in zarr.open_group(url, mode="r", use_consolidated=True)["videos"]  # what stale means
    store.consolidate()
    assert "v2" in zarr.open_group(url, mode="r", use_consolidated=True)["videos"]
