"""Flow `build-index`: FAISS indices over a run's video-side embeddings, for text->video search.

One index per level (whole videos, operations) over the chosen splits, saved in
RUN/index/<level>.faiss. `hierskp.eval.index.load_or_build` fingerprints what it indexes, so a
rerun over an unchanged cache and run loads the saved index instead of rebuilding it, and a
changed one is rebuilt: the flow is idempotent without any Prefect caching.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
from prefect import flow, task
from prefect.artifacts import create_table_artifact
from prefect.cache_policies import NO_CACHE

from cache_schema import CacheError, open_cache
from hierskp.eval.embed import LevelData, embed_split
from hierskp.eval.index import load_or_build

Level = Literal["video", "operation"]
Split = Literal["pretrain", "train", "test"]


def item_ids(level: Level, data: LevelData) -> list[str]:
    """Unique ids: the video id, or "<video_id>#<k>" for the k-th operation of a video."""
    if level == "video":
        return list(data.video_ids)
    seen: dict[str, int] = {}
    out = []
    for vid in data.video_ids:
        out.append(f"{vid}#{seen.get(vid, 0)}")
        seen[vid] = seen.get(vid, 0) + 1
    return out


@task(name="embed-split", cache_policy=NO_CACHE, persist_result=False)
def embed(cache: str, run: str, split: Split, levels: list[Level]) -> dict[str, tuple[np.ndarray, list[str]]]:
    emb = embed_split(open_cache(cache, mode="r"), run, split)
    return {lvl: (emb.levels[lvl].video, item_ids(lvl, emb.levels[lvl])) for lvl in levels}


@task(name="index-level", cache_policy=NO_CACHE, persist_result=False)
def index_level(path: str, vectors: np.ndarray, ids: list[str], source: dict[str, Any], kind: str) -> dict[str, Any]:
    result = load_or_build(path, vectors, np.asarray(ids), source=source, kind=kind)  # type: ignore[arg-type]
    return {"level": source["level"], "path": path, "n": len(ids), "kind": result.index.kind,
            "rebuilt": result.rebuilt, "reason": result.reason}


@flow(name="build-index", log_prints=True)
def build_index(
    cache: str,
    run: str,
    levels: list[Level] = ["video", "operation"],  # noqa: B006 - Prefect parameters are copied per run
    splits: list[Split] = ["pretrain", "train", "test"],  # noqa: B006
    kind: Literal["flat", "ivf", "hnsw", "auto"] = "auto",
) -> list[dict[str, Any]]:
    """Build (or load, when up to date) RUN/index/<level>.faiss over the SPLITS videos of CACHE."""
    if not (Path(run) / "final").is_dir():
        raise ValueError(f"build-index: {run} is not a finished run folder (no final/ heads)")
    try:
        store = open_cache(cache, mode="r")
    except CacheError as exc:
        raise ValueError(f"build-index: invalid parameters: {exc}") from None
    parts = [embed(cache, run, s, list(levels)) for s in splits]
    results = []
    for lvl in levels:
        vectors = [p[lvl][0] for p in parts if len(p[lvl][1])]
        ids = [i for p in parts for i in p[lvl][1]]
        if not ids:
            print(f"build-index: no {lvl} items in splits {list(splits)}; skipped")
            continue
        source = {"level": lvl, "run": str(Path(run).resolve()), "cache_fingerprint_id": store.fingerprint_id,
                  "splits": list(splits)}
        results.append(index_level(str(Path(run) / "index" / f"{lvl}.faiss"), np.concatenate(vectors), ids,
                                   source, kind))
    create_table_artifact(results, key="build-index", description=f"FAISS indices of {run}")
    for r in results:
        print(f"{r['level']}: {r['n']} items, {r['kind']} -> {r['path']} ({'built' if r['rebuilt'] else 'loaded'}: {r['reason']})")
    return results
