"""FAISS indices over a run's embeddings, per level and side, kept in RUN/index/ and never stale.

    build_run_indices(store, load_run(run_dir), levels, splits) -> [{level, side, path, n, kind, rebuilt, reason}]

Files: RUN/index/<splits joined by "+">/<level>.<side>.faiss (+ .ids.npy, .json sidecar), so
indices over different split sets never overwrite each other. The "video" side holds one row per
item (ids from `item_ids`: "<video>", "<video>#<k>" for operation k, "<video>@<f>" for narration f)
and answers text->video queries; the "text" side holds each distinct text once (id: the first item
carrying it) and answers video->text queries. `hierskp.index.store.load_or_build` fingerprints the
embeddings and ids together with the run's heads checksum, the cache fingerprint, the splits, level
and side, so a retrained run, another cache or another split set rebuilds, and an unchanged one loads.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hierskp.dataset.cache import CacheStore
from hierskp.eval.tasks.embed import LEVELS, LevelData, LevelEmbeddings, embed_split
from hierskp.index.store import EmbeddingIndex, IndexKind, load_index, load_or_build, search
from hierskp.runs.folder import INDEX_DIR
from hierskp.runs.model import RunModel

SIDES: tuple[str, ...] = ("video", "text")
_SUFFIX = {"video": "", "operation": "#", "frame": "@"}


def item_ids(level: str, data: LevelData) -> list[str]:
    """Unique ids of a level's items: the video id, "<vid>#<k>" (k-th operation), "<vid>@<f>" (f-th narration)."""
    if level == "video":
        return list(data.video_ids)
    seen: dict[str, int] = {}
    out = []
    for vid in data.video_ids:
        out.append(f"{vid}{_SUFFIX[level]}{seen.get(vid, 0)}")
        seen[vid] = seen.get(vid, 0) + 1
    return out


def side_rows(level: str, data: LevelData, side: str) -> tuple[np.ndarray, list[str]]:
    """(embeddings, ids) of one side: every item (video side) or each distinct text once (text side)."""
    ids = item_ids(level, data)
    if side == "video":
        return data.video, ids
    _, first = np.unique(np.asarray(data.texts), return_index=True)
    first = np.sort(first)
    return data.text[first], [ids[i] for i in first]


def index_path(root: str | Path, splits: Sequence[str], level: str, side: str) -> Path:
    return Path(root) / "+".join(splits) / f"{level}.{side}.faiss"


def build_run_indices(
    store: CacheStore,
    model: RunModel,
    levels: Sequence[str] = LEVELS,
    splits: Sequence[str] = ("test",),
    kind: IndexKind = "auto",
    embeddings: Sequence[LevelEmbeddings] | None = None,
    index_dir: str | Path | None = None,
) -> list[dict[str, Any]]:
    """Load or (re)build the indices of `levels` over the `splits` videos; one dict per index.

    `embeddings` (one `embed_split` result per split, in order) skips re-embedding; `index_dir`
    defaults to RUN/index (required for the frozen baseline, which has no run folder).
    """
    if index_dir is None:
        if model.run_dir is None:
            raise ValueError("build_run_indices: the frozen baseline has no run folder; pass index_dir")
        index_dir = model.run_dir / INDEX_DIR
    parts = list(embeddings) if embeddings is not None else [embed_split(store, model, s) for s in splits]
    checksum = model.heads_sha256()
    results = []
    for level in levels:
        datas = [p.levels[level] for p in parts if len(p.levels[level].video_ids)]
        if not datas:
            continue
        merged = LevelData(
            np.concatenate([d.video for d in datas]),
            np.concatenate([d.text for d in datas]),
            [v for d in datas for v in d.video_ids],
            [t for d in datas for t in d.texts],
            [x for d in datas for x in d.labels],
            np.concatenate([d.times for d in datas]),
        )
        for side in SIDES:
            vectors, ids = side_rows(level, merged, side)
            source = {
                "level": level,
                "side": side,
                "heads_sha256": checksum,
                "splits": list(splits),
                "cache_fingerprint_id": store.fingerprint_id,
            }
            path = index_path(index_dir, splits, level, side)
            res = load_or_build(path, vectors, np.asarray(ids), source=source, kind=kind)
            results.append(
                {
                    "level": level,
                    "side": side,
                    "path": str(path),
                    "n": len(ids),
                    "kind": res.index.kind,
                    "rebuilt": res.rebuilt,
                    "reason": res.reason,
                }
            )
    return results


def index_agreement(
    store: CacheStore,
    model: RunModel,
    emb: LevelEmbeddings,
    split: str,
    index_dir: str | Path,
    k: int = 10,
    max_queries: int = 2000,
) -> dict[str, Any]:
    """Top-k through the saved indices vs exact search, per level and direction, over at most
    `max_queries` (seeded sample) queries. `agreement`: share of the index's hits scoring at least the
    exact k-th score (tied candidates are interchangeable); `overlap`: plain top-k set overlap."""
    built = build_run_indices(store, model, LEVELS, [split], "auto", [emb], index_dir)
    out: dict[str, Any] = {"indices": built}
    for level in LEVELS:
        data = emb.levels[level]
        if len(data.video_ids) < 2:
            continue
        for direction, q_side, c_side in (("t2v", "text", "video"), ("v2t", "video", "text")):
            queries, _ = side_rows(level, data, q_side)
            if len(queries) > max_queries:
                queries = queries[np.sort(np.random.default_rng(0).choice(len(queries), max_queries, replace=False))]
            corpus, _ = side_rows(level, data, c_side)
            ei = load_index(index_path(index_dir, [split], level, c_side))
            kk = min(k, len(corpus))
            exact = queries @ corpus.T
            top = np.argsort(-exact, axis=1, kind="stable")[:, :kk]
            _, pos = search(ei, queries, kk)
            kth = np.take_along_axis(exact, top[:, -1:], axis=1)
            hit_scores = np.take_along_axis(exact, np.maximum(pos, 0), axis=1)
            out[f"{level}/{direction}"] = {
                "k": kk,
                "kind": ei.kind,
                "n_queries": len(queries),
                "agreement": float(np.mean((hit_scores >= kth - 1e-5) & (pos >= 0))),
                "overlap": float(np.mean([len(set(a) & set(b)) / kk for a, b in zip(pos, top)])),
            }
    return out


@torch.no_grad()
def search_text(
    model: RunModel,
    store: CacheStore,
    query_text_embeddings: np.ndarray,
    level: str = "video",
    k: int = 10,
    splits: Sequence[str] = ("test",),
) -> tuple[np.ndarray, np.ndarray]:
    """Text->video search: cached-backbone text embeddings [Nq, Dt] go through the run's text head,
    then the (loaded, or rebuilt when stale) video-side index. Returns (scores [Nq, k], ids [Nq, k])."""
    if model.run_dir is None:
        raise ValueError("search_text: the frozen baseline has no run folder to keep indices in")
    build_run_indices(store, model, [level], splits)
    ei: EmbeddingIndex = load_index(index_path(model.run_dir / INDEX_DIR, splits, level, "video"))
    q = model.embedder.text(torch.as_tensor(np.asarray(query_text_embeddings, dtype=np.float32))).float().numpy()
    scores, pos = search(ei, q, k)
    ids = np.where(pos >= 0, ei.ids[np.maximum(pos, 0)], "")
    return scores, ids
