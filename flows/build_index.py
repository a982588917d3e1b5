"""Flow `build-index`: FAISS indices over a run's embeddings, per level and side, and the search indices.

`hierskp.eval.run_faiss.build_run_indices` does the work: indices live in RUN/index/, each with the
fingerprint of what it indexes (heads checksum, cache fingerprint, splits), so a rerun over an
unchanged cache and run loads them and a changed one rebuilds: idempotent without Prefect caching.
`warm_search` builds what `hierskp search` and `hierskp serve` load (RUN/index/search/, through the
public `hierskp.search_library`), so the first query after a new run embeds nothing but itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from cache_schema import CacheError, open_cache
from flows.artifacts import publish
from flows.failures import fails_with_reason
from hierskp.data.manifest import SPLITS, Split
from hierskp.eval.run_faiss import build_run_indices
from hierskp.numfmt import rounded
from hierskp.runs.model import load_method

Level = Literal["video", "operation", "frame"]


@task(name="index-run", cache_policy=NO_CACHE, persist_result=False)
def index_run(cache: str, run: str, levels: list[Level], splits: list[Split], kind: str) -> list[dict[str, Any]]:
    store = open_cache(cache, mode="r")
    return build_run_indices(store, load_method(store, run), levels=levels, splits=splits, kind=kind)  # type: ignore[arg-type]


@task(name="warm-search-index", cache_policy=NO_CACHE, persist_result=False)
def warm_search(cache: str, run: str) -> list[dict[str, Any]]:
    """Build (or load, when current) the run's search index of every level, over all splits."""
    from hierskp.eval.search import EmptyLibrary
    from hierskp.eval.search_rows import SEARCH_LEVELS
    from hierskp.library import search_library

    lib = search_library(run, cache)
    out = []
    for level in SEARCH_LEVELS:
        try:
            info = lib.index(level)
        except EmptyLibrary as exc:  # e.g. no annotated operation: that level has nothing to search
            print(f"search index {level}: nothing to index ({exc})")
            continue
        out.append({"level": f"search/{info.level}", "side": "video", "n": info.n, "kind": "search",
                    "path": info.path, "rebuilt": info.rebuilt, "reason": info.reason})  # fmt: skip
    return out


@flow(name="build-index", log_prints=True)
@fails_with_reason
def build_index(
    cache: str,
    run: str,
    levels: list[Level] = ["video", "operation", "frame"],  # noqa: B006 - Prefect copies parameters per run
    splits: list[Split] = list(SPLITS),  # noqa: B006
    kind: Literal["flat", "ivf", "hnsw", "auto"] = "auto",
    search: bool = True,
) -> list[dict[str, Any]]:
    """Build (or load, when up to date) RUN/index/<splits>/<level>.<side>.faiss over the SPLITS videos,
    and with `search` the run's search indices (RUN/index/search/, every level, all splits)."""
    if not (Path(run) / "final").is_dir():
        raise ValueError(f"build-index: {run} is not a finished run folder (no final/ heads)")
    try:
        open_cache(cache, mode="r")
    except CacheError as exc:
        raise ValueError(f"build-index: invalid parameters: {exc}") from None
    results = index_run(cache, run, list(levels), list(splits), kind)
    if search:
        results += warm_search(cache, run)
    publish("table", rounded(results), key="build-index", description=f"FAISS indices of {run}")
    for r in results:
        print(
            f"{r['level']}/{r['side']}: {r['n']} items, {r['kind']} -> {r['path']} "
            f"({'built' if r['rebuilt'] else 'loaded'}: {r['reason']})"
        )
    return results
