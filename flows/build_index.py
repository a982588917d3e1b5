"""Flow `build-index`: a run's search indices, the ones `hierskp search` and `hierskp serve` load.

`hierskp.search.library.SearchLibrary.build` does the work, as `hierskp index build` does: one FAISS index
per search level in RUN/index/search/, each with the fingerprint of what it indexes (heads checksum,
cache fingerprint, every included video's content, the options), so a rerun over an unchanged cache and
run loads them and a changed one rebuilds: idempotent without Prefect caching. After it, the first
query embeds nothing but itself and writes nothing. The report needs no index (its retrieval metrics
are matrix products over a split; its FAISS-vs-exact check builds in memory).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from cache_schema import CacheError, open_cache
from flows.artifacts import publish
from flows.failures import fails_with_reason
from hierskp.ingest.manifest import Split
from hierskp.numfmt import rounded
from hierskp.search.rows import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, SEARCH_LEVELS

Level = Literal["moment", "video", "operation"]


@task(name="warm-search-index", cache_policy=NO_CACHE, persist_result=False)
def warm_search(
    cache: str,
    run: str,
    levels: list[Level] | None = None,
    splits: list[Split] | None = None,
    window_s: float = DEFAULT_WINDOW_S,
    stride_s: float = DEFAULT_STRIDE_S,
) -> list[dict[str, Any]]:
    """Build (or load, when current) the run's search index of each level (default: every level, all splits)."""
    from hierskp.api import search_library

    lib = search_library(run, cache, window_s=window_s, stride_s=stride_s, splits=splits)
    built = [vars(info) for info in lib.build(levels or SEARCH_LEVELS)]
    print(f"{lib.embedded_rows} rows embedded")
    return built


@flow(name="build-index", log_prints=True)
@fails_with_reason
def build_index(
    cache: str,
    run: str,
    levels: list[Level] = ["moment", "video", "operation"],  # noqa: B006 - Prefect copies parameters per run
    splits: list[Split] = [],  # noqa: B006 - empty: every split
    window_s: float = DEFAULT_WINDOW_S,
    stride_s: float = DEFAULT_STRIDE_S,
) -> list[dict[str, Any]]:
    """Build (or load, when up to date) the run's search indices, RUN/index/search/, one per level:
    moments of `window_s` every `stride_s` seconds, videos, operations, over the SPLITS videos (default all)."""
    if not (Path(run) / "final").is_dir():
        raise ValueError(f"build-index: {run} is not a finished run folder (no final/ heads)")
    try:
        open_cache(cache, mode="r")
    except CacheError as exc:
        raise ValueError(f"build-index: invalid parameters: {exc}") from None
    results = warm_search(cache, run, list(levels), list(splits) or None, window_s, stride_s)
    publish("table", rounded(results), key="build-index", description=f"search indices of {run}")
    for r in results:
        state = f"built: {r['reason']}" if r["rebuilt"] else ("loaded" if r["path"] else r["reason"])
        print(f"{r['level']}: {r['n']} rows -> {r['path'] or '-'} ({state})")
    return results
