"""Cross-modal retrieval metrics (R@K, median and mean rank) from a similarity matrix.

Convention: rows are queries, columns are candidates. Ties count against the query: the
rank of a query is ``1 + number of non-relevant columns scoring >= its best relevant column``.
With one relevant column per row this is ``1 + #(other columns >= the true one)``, so a
constant similarity matrix gives every query the worst rank, never a lucky R@1.
Accuracies of a pairwise or first-of-k test (order, twins, controls) use `expected_first`: a tie
is a fair coin, so a scorer blind to the difference sits exactly at chance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

RECALL_KS: tuple[int, ...] = (1, 5, 10)
_CHUNK_ROWS = 1024  # bound the [chunk, Nc] boolean temporaries
TIE_TOLERANCE = 1e-6  # scores this close are a tie (float noise)


def expected_first(own: float, others: np.ndarray) -> float:
    """Success of "`own` scores above every one of `others`" with ties broken by a fair coin: 0 if
    another scores higher, else 1 / (1 + the number tied with it). Against one other: 1, 1/2 or 0."""
    diff = np.asarray(others, dtype=np.float64) - float(own)
    if (diff > TIE_TOLERANCE).any():
        return 0.0
    return 1.0 / (1 + int((np.abs(diff) <= TIE_TOLERANCE).sum()))


_BLOCK_CELLS = 1 << 21  # keyed ranks: similarity cells per block (8 MB of float32)


def _as_numpy(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):  # torch.Tensor without importing torch
        x = x.detach().cpu()
        if str(x.dtype) in ("torch.bfloat16", "torch.float16"):
            x = x.float()
        x = x.numpy()
    return np.asarray(x)


def _positives_mask(targets: Any, n_queries: int, n_candidates: int) -> np.ndarray:
    """Turn targets (None, int array [Nq] or bool mask [Nq, Nc]) into a bool mask."""
    if targets is None:
        if n_queries != n_candidates:
            raise ValueError(
                f"similarity is {n_queries}x{n_candidates}; the diagonal ground truth needs a "
                "square matrix (pass targets= for many-to-one)"
            )
        return np.eye(n_queries, dtype=bool)
    t = _as_numpy(targets)
    if t.ndim == 2:
        if t.shape != (n_queries, n_candidates):
            raise ValueError(f"targets mask shape {t.shape} != similarity shape {(n_queries, n_candidates)}")
        mask = t.astype(bool)
    elif t.ndim == 1:
        if t.shape[0] != n_queries or not np.issubdtype(t.dtype, np.integer):
            raise ValueError(f"targets must be {n_queries} integer column indices, got {t.dtype} {t.shape}")
        if t.size and (t.min() < 0 or t.max() >= n_candidates):
            raise ValueError(f"targets out of range [0, {n_candidates}): min {t.min()}, max {t.max()}")
        mask = np.zeros((n_queries, n_candidates), dtype=bool)
        mask[np.arange(n_queries), t] = True
    else:
        raise ValueError(f"targets must be 1-D indices or a 2-D mask, got ndim={t.ndim}")
    empty = np.flatnonzero(~mask.any(axis=1))
    if empty.size:
        raise ValueError(f"{empty.size} queries have no relevant column (first: row {empty[0]})")
    return mask


def retrieval_ranks(similarity: Any, targets: Any = None) -> np.ndarray:
    """1-based rank of each query's best relevant column, ties counted against the query.

    ``targets``: None (row i's answer is column i), int array [Nq] (row i's answer is
    column ``targets[i]``, e.g. several texts of one video), or bool mask [Nq, Nc]
    (several relevant columns; the best-scoring one counts).
    """
    sim = _as_numpy(similarity)
    if sim.ndim != 2 or sim.shape[0] == 0 or sim.shape[1] == 0:
        raise ValueError(f"similarity must be a non-empty 2-D matrix, got shape {sim.shape}")
    if not np.isfinite(sim).all():
        raise ValueError("similarity contains NaN or inf")
    pos = _positives_mask(targets, *sim.shape)
    ranks = np.empty(sim.shape[0], dtype=np.int64)
    for start in range(0, sim.shape[0], _CHUNK_ROWS):
        s = sim[start : start + _CHUNK_ROWS]
        p = pos[start : start + _CHUNK_ROWS]
        best = np.where(p, s, -np.inf).max(axis=1, keepdims=True)
        ranks[start : start + len(s)] = 1 + ((s >= best) & ~p).sum(axis=1)
    return ranks


def keyed_retrieval_ranks(
    queries: Any, candidates: Any, query_keys: Any, candidate_keys: Any, chunk: int | None = None
) -> np.ndarray:
    """`retrieval_ranks(queries @ candidates.T, query_keys[:, None] == candidate_keys[None, :])`, computed
    `chunk` query rows at a time (default: `_BLOCK_CELLS` cells): the [Nq, Nc] similarity and relevance are
    never held whole (a test split of 10,000 videos has ~10^5 narration frames), memory is chunk x Nc."""
    q, c = _as_numpy(queries), _as_numpy(candidates)
    chunk = chunk or max(1, min(_CHUNK_ROWS, _BLOCK_CELLS // max(1, len(c))))
    qk, ck = np.asarray(query_keys), np.asarray(candidate_keys)
    ranks = np.empty(len(q), dtype=np.int64)
    for start in range(0, len(q), chunk):
        block = q[start : start + chunk]
        ranks[start : start + len(block)] = retrieval_ranks(block @ c.T, qk[start : start + chunk, None] == ck[None, :])
    return ranks


def metrics_from_ranks(ranks: np.ndarray, ks: tuple[int, ...] = RECALL_KS) -> dict[str, float]:
    """R@K in percent, MedR and MeanR from 1-based ranks."""
    ranks = np.asarray(ranks)
    out = {f"R@{k}": float(100.0 * np.mean(ranks <= k)) for k in ks}
    out["MedR"] = float(np.median(ranks))
    out["MeanR"] = float(np.mean(ranks))
    return out


def retrieval_metrics(similarity: Any, targets: Any = None) -> dict[str, float]:
    """Keys "R@1", "R@5", "R@10" (percent), "MedR", "MeanR" for a [Nq, Nc] similarity.

    Accepts numpy arrays or torch tensors; see `retrieval_ranks` for ``targets``.
    """
    return metrics_from_ranks(retrieval_ranks(similarity, targets))


def bidirectional_retrieval_metrics(
    video_text_similarity: Any, text_to_video: Any = None
) -> dict[str, dict[str, float]]:
    """Video-to-text and text-to-video metrics from one [Nv, Nt] matrix (t2v uses its transpose).

    ``text_to_video`` (int array [Nt]) maps each text to its video for the many-to-one case
    (several captions per video); None means caption j belongs to video j (square matrix).
    For v2t a video is answered by its best-ranked caption.
    """
    sim = _as_numpy(video_text_similarity)
    if sim.ndim != 2:
        raise ValueError(f"similarity must be 2-D, got shape {sim.shape}")
    n_videos, n_texts = sim.shape
    if text_to_video is None:
        t2v_targets = None
        v2t_targets = None
    else:
        t2v_targets = _as_numpy(text_to_video)
        v2t_targets = _positives_mask(t2v_targets, n_texts, n_videos).T
    return {
        "v2t": retrieval_metrics(sim, v2t_targets),
        "t2v": retrieval_metrics(sim.T, t2v_targets),
    }
