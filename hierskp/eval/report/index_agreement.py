"""The report's check that a FAISS index of a split's embeddings finds what exact search finds.

    index_agreement(emb) -> {"video/t2v": {k, kind, n_queries, n_corpus, agreement, overlap}, ...}

The report's retrieval metrics are plain matrix products over a split's paired rows (both directions,
equal texts equally relevant: `hierskp.eval.tasks.retrieval.split_metrics`), not a library search, so they use
no index. This check measures what an index would change: per level and direction, the split's rows
go into an index built in memory by the index layer (`hierskp.index.build.build_index`, kind
"auto", as `hierskp search` builds its own), and its top-k is compared with exact search. Nothing is
written: the one index set on disk is the search's (RUN/index/search/, `hierskp index build`).
The "video" side holds one row per item and answers text->video queries; the "text" side holds each
distinct text once and answers video->text queries.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from hierskp.eval.tasks.embed import LEVELS, LevelData, LevelEmbeddings
from hierskp.index.build import build_index, search

SIDES: tuple[str, ...] = ("video", "text")


def side_rows(data: LevelData, side: str) -> np.ndarray:
    """The embeddings of one side: every item (video side) or each distinct text once, in first-seen order."""
    if side == "video":
        return data.video
    _, first = np.unique(np.asarray(data.texts), return_index=True)
    return data.text[np.sort(first)]


def index_agreement(emb: LevelEmbeddings, k: int = 10, max_queries: int = 2000) -> dict[str, Any]:
    """Top-k through an in-memory index vs exact search, per level and direction, over at most
    `max_queries` (seeded sample) queries. `agreement`: share of the index's hits scoring at least the
    exact k-th score (tied candidates are interchangeable); `overlap`: plain top-k set overlap."""
    out: dict[str, Any] = {}
    for level in LEVELS:
        data = emb.levels[level]
        if len(data.video_ids) < 2:
            continue
        for direction, q_side, c_side in (("t2v", "text", "video"), ("v2t", "video", "text")):
            queries = side_rows(data, q_side)
            if len(queries) > max_queries:
                queries = queries[np.sort(np.random.default_rng(0).choice(len(queries), max_queries, replace=False))]
            corpus = side_rows(data, c_side)
            ei = build_index(corpus, None, "auto")
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
                "n_corpus": len(corpus),
                "agreement": float(np.mean((hit_scores >= kth - 1e-5) & (pos >= 0))),
                "overlap": float(np.mean([len(set(a) & set(b)) / kk for a, b in zip(pos, top)])),
            }
    return out
