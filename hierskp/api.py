"""The public surface: a trained run as encoders, and a run over a cache as a searchable video library.

    model = hierskp.load_model("runs/full")      # text and video encoders (`hierskp.runs.encoders.HierSKPModel`)
    model.embed_texts(["skin closure"])          # -> np.ndarray [N, E], unit rows
    lib = hierskp.search_library("runs/full", "data/cache.zarr")
    lib.search("skin closure", k=5, level="moment")  # -> [Hit(video_id, start, end, score), ...]

Opens what `hierskp.search.library.SearchLibrary` takes (a loaded model and an open cache); the
options are that class's (window_s, stride_s, splits, index_dir, kind).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hierskp.dataset.cache import CacheStore, open_cache
from hierskp.runs.encoders import HierSKPModel, TextEncoderMismatch, load_model
from hierskp.search.library import SearchLibrary

__all__ = ["HierSKPModel", "TextEncoderMismatch", "load_model", "search_library"]


def search_library(run: str | Path | HierSKPModel, cache: str | Path | CacheStore, **options: Any) -> SearchLibrary:
    """The run (a folder or a `hierskp.load_model` result) over the cache (a path, URL or open store)."""
    model = run if isinstance(run, HierSKPModel) else load_model(run)
    store = cache if isinstance(cache, CacheStore) else open_cache(str(cache), "r")
    return SearchLibrary(model, store, **options)
