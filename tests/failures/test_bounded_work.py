"""Issue 20, class 6: options that multiply work are checked before any work; old index versions go."""

from __future__ import annotations

import pytest

import cache_schema as cs
import hierskp
from hierskp.search.bounds import KEEP_VERSIONS, SearchBoundsError
from hierskp.search.library import SearchLibrary
from hierskp.train import load_config

from .conftest import hierskp_cli


def test_a_stride_below_one_frame_is_refused_before_anything_is_embedded(finished_run, tiny_cache):
    res = hierskp_cli("search", "--run", str(finished_run), "--cache", tiny_cache, "--stride", "0.0001", "closure")
    assert res.returncode == 2, res.stdout + res.stderr
    assert "--stride 0.0001 s is shorter than one frame" in res.stderr and "use --stride 1 or more" in res.stderr
    assert not (finished_run / "index").exists()  # nothing embedded, nothing written
    model, store = hierskp.load_model(finished_run), cs.open_cache(tiny_cache)
    with pytest.raises(SearchBoundsError, match="--window 0.5 s"):
        # a cache without a recorded fps: the spacing comes from a video, read when an index is first needed
        SearchLibrary(model, store, window_s=0.5).index("moment")
    with pytest.raises(SearchBoundsError, match="k must be >= 1 and <= 10000"):
        SearchLibrary(model, store).search("closure", k=10**9)


def test_old_moment_index_versions_are_removed(finished_run, tiny_cache, tmp_path):
    model, store = hierskp.load_model(finished_run), cs.open_cache(tiny_cache)
    for window in range(2, 4 + KEEP_VERSIONS):
        SearchLibrary(model, store, window_s=float(window), index_dir=tmp_path).index("moment")
    left = sorted(p.name for p in (tmp_path / "all").glob("*.faiss"))
    assert len(left) == KEEP_VERSIONS and f"moment_w{3 + KEEP_VERSIONS}_s2.faiss" in left
    assert not list((tmp_path / "all").glob("*.tmp*"))


def test_training_steps_are_bounded_before_any_work(tiny_cache, tmp_path):
    with pytest.raises(ValueError, match="max_steps"):
        load_config(None, ["max_steps=1000000000"], cache=tiny_cache, out=str(tmp_path / "r"))
    with pytest.raises(ValueError, match="epochs"):
        load_config(None, ["epochs=100000000"], cache=tiny_cache, out=str(tmp_path / "r"))
