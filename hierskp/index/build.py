"""FAISS inner-product indices over L2-normalised float32 embeddings, tuned and cached.

* ``kind="flat"`` (default): exact ``IndexFlatIP``.
* ``kind="ivf"``: ``IndexIVFFlat`` with nlist ~ 4*sqrt(N), k-means trained on a sample;
  nprobe is the smallest power of two whose measured recall@10 against exact search reaches
  ``target_recall`` (default 0.99). ``LARGE_CORPUS_KIND`` (see bench/faiss.md for why).
* ``kind="hnsw"``: ``IndexHNSWFlat`` (inner product); efSearch tuned the same way.
* ``kind="auto"``: flat below ``AUTO_FLAT_MAX`` vectors, else ``LARGE_CORPUS_KIND``, and
  back to flat when the tuned IVF must scan more than ``MAX_IVF_SCAN`` of the lists (weakly
  clustered data or far-off queries: then IVF is no faster than exact search, bench/faiss.md).

Tuning queries are ``tune_queries`` when given (pass real text queries for cross-modal use:
they may sit farther from the corpus than corpus rows do), otherwise a seeded sample of up
to ``n_tune`` corpus rows held out of the index until tuning is done (genuinely unseen).

With a GPU build and a visible GPU, flat/IVF indices are copied to the GPU after building
on CPU (CPU fallback on any error), on one shared resource set, when large enough (``faiss_gpu``);
HNSW stays on CPU. Persistence: `hierskp.index.store`.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import faiss
import numpy as np

from hierskp.index import gpu as faiss_gpu

log = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf", "hnsw", "auto"]
LARGE_CORPUS_KIND: Literal["ivf", "hnsw"] = "ivf"
AUTO_FLAT_MAX = 100_000
MAX_IVF_SCAN = 0.25  # nprobe/nlist above which "auto" prefers exact search
RECALL_K = 10
GPU_MAX_NPROBE = 2048  # GPU IVF limit on nprobe (and on k)


def l2_normalize(x: Any) -> np.ndarray:
    """Float32 C-contiguous row-normalised copy; all-zero rows stay zero."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().float().numpy()
    a = np.array(x, dtype=np.float32, order="C", copy=True)
    if a.ndim != 2 or a.shape[0] == 0:
        raise ValueError(f"embeddings must be a non-empty [N, D] matrix, got shape {a.shape}")
    if not np.isfinite(a).all():
        raise ValueError("embeddings contain NaN or inf")
    a /= np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
    return a


@dataclass
class EmbeddingIndex:
    index: Any  # faiss.Index, on CPU or GPU
    ids: np.ndarray  # caller ids; search returns row positions into this array
    kind: str
    params: dict[str, Any]
    fingerprint: str = ""
    on_gpu: bool = False
    _gpu_res: Any = field(default=None, repr=False)  # keeps StandardGpuResources alive

    def ids_of(self, positions: np.ndarray) -> np.ndarray:
        """Map row positions from `search` to ids (positions must be >= 0)."""
        return self.ids[positions]


def _recall_at_k(approx: np.ndarray, exact: np.ndarray, k: int) -> np.ndarray:
    """Per-query recall@k of approx against exact neighbour lists."""
    return np.array([len(set(a[:k]) & set(e[:k])) / k for a, e in zip(approx, exact)])


def _add_rows(index: Any, xb: np.ndarray, rows: np.ndarray, chunk: int = 65_536) -> None:
    """Add xb[rows] under their row numbers as labels (chunked: no full-size copy)."""
    for start in range(0, len(rows), chunk):
        r = rows[start : start + chunk]
        index.add_with_ids(xb[r], r.astype(np.int64))


def _add_and_tune(
    index: Any,
    set_param: Any,
    candidates: Sequence[int],
    xb: np.ndarray,
    tune_queries: Any,
    n_tune: int,
    seed: int,
    target: float,
) -> tuple[int, float, dict[str, float]]:
    """Add all rows to ``index`` and return (setting, recall@10, recall curve).

    The setting is the smallest candidate whose recall@10 against exact search reaches
    ``target``, judged by the one-sided 95% lower confidence bound of the mean over the
    tuning queries so that it holds on fresh queries; else the largest candidate. Without
    ``tune_queries``, a seeded sample of rows is held out: they are added only after tuning,
    so during tuning they are genuinely unseen queries from the corpus distribution.
    """
    n = len(xb)
    rows = np.arange(n)
    if tune_queries is None:
        held = np.sort(np.random.default_rng(seed).choice(n, size=max(1, min(n_tune, n // 5)), replace=False))
        rest = np.setdiff1d(rows, held)
        queries = xb[held]
    else:
        held, rest, queries = rows[:0], rows, l2_normalize(tune_queries)
    _add_rows(index, xb, rest)
    k = min(RECALL_K, len(rest))
    _, exact = faiss.knn(queries, xb[rest] if len(held) else xb, k, metric=faiss.METRIC_INNER_PRODUCT)
    exact = rest[exact]
    curve: dict[str, float] = {}
    chosen, chosen_recall = candidates[-1], float("nan")
    for value in candidates:
        set_param(index, value)
        per_query = _recall_at_k(index.search(queries, k)[1], exact, k)
        curve[str(value)] = chosen_recall = float(per_query.mean())
        sem = float(per_query.std(ddof=1) / np.sqrt(len(per_query))) if len(per_query) > 1 else 0.0
        if chosen_recall - 1.645 * sem >= target:
            chosen = value
            break
    else:
        log.warning("recall@%d target %.3f not reached; using %d (recall %.4f)", k, target, chosen, chosen_recall)
    set_param(index, chosen)
    _add_rows(index, xb, held)
    return chosen, chosen_recall, curve


def set_nprobe(index: Any, value: int) -> None:
    faiss.extract_index_ivf(index).nprobe = int(value)


def set_ef_search(index: Any, value: int) -> None:
    """efSearch of an HNSW index, possibly wrapped in an IndexIDMap."""
    inner = faiss.downcast_index(index.index) if isinstance(index, faiss.IndexIDMap) else index
    inner.hnsw.efSearch = int(value)


def default_nlist(n: int) -> int:
    """~4*sqrt(N), capped so every list has >= 39 training points (faiss' k-means minimum)."""
    return max(1, min(int(round(4 * math.sqrt(n))), n // 39))


def _powers_of_two(limit: int, start: int = 1) -> list[int]:
    out, v = [], start
    while v < limit:
        out.append(v)
        v *= 2
    return out + [limit]


def build_index(
    embeddings: Any,
    ids: Any = None,
    kind: IndexKind = "flat",
    *,
    target_recall: float = 0.99,
    tune_queries: Any = None,
    n_tune: int = 1000,
    seed: int = 0,
    use_gpu: bool | None = None,
    nlist: int | None = None,
    hnsw_m: int = 32,
    ef_construction: int = 80,
) -> EmbeddingIndex:
    """Build (and for ivf/hnsw tune) an inner-product index over normalised ``embeddings``.

    ``ids`` default to row numbers. ``use_gpu=None`` means "if a GPU build sees a GPU".
    """
    xb = l2_normalize(embeddings)
    n, d = xb.shape
    ids_arr = np.arange(n, dtype=np.int64) if ids is None else normalize_ids(ids, n)
    auto = kind == "auto"
    if auto:
        kind = "flat" if n < AUTO_FLAT_MAX else LARGE_CORPUS_KIND
    params: dict[str, Any] = {"target_recall": target_recall}
    if kind == "flat":
        index = faiss.IndexFlatIP(d)
        index.add(xb)
    elif kind == "ivf":
        index, kind, params = _build_ivf(xb, nlist or default_nlist(n), seed, tune_queries, n_tune, params, auto)
    elif kind == "hnsw":
        hnsw = faiss.IndexHNSWFlat(d, hnsw_m, faiss.METRIC_INNER_PRODUCT)
        hnsw.hnsw.efConstruction = ef_construction
        index = faiss.IndexIDMap(hnsw)  # faiss' wrapper keeps a reference to hnsw
        best, rec, curve = _add_and_tune(
            index, set_ef_search, _powers_of_two(4096, 16), xb, tune_queries, n_tune, seed, target_recall
        )
        params.update(
            hnsw_m=hnsw_m, ef_construction=ef_construction, ef_search=best, tuned_recall_at_10=rec, recall_curve=curve
        )
    else:
        raise ValueError(f"kind must be 'flat', 'ivf', 'hnsw' or 'auto', got {kind!r}")
    return to_device(EmbeddingIndex(index, ids_arr, kind, params), use_gpu)


def _build_ivf(
    xb: np.ndarray, nl: int, seed: int, tune_queries: Any, n_tune: int, params: dict[str, Any], auto: bool
) -> tuple[Any, IndexKind, dict[str, Any]]:
    """IVF trained on a sample, nprobe tuned to the target recall; with `auto`, flat when IVF would
    scan about as much as exact search."""
    (n, d), target_recall = xb.shape, params["target_recall"]
    kind: IndexKind = "ivf"
    index = faiss.IndexIVFFlat(faiss.IndexFlatIP(d), d, nl, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    train = xb if n <= 50 * nl else xb[np.sort(rng.choice(n, size=50 * nl, replace=False))]
    index.cp.seed = seed
    index.train(train)
    best, rec, curve = _add_and_tune(
        index, set_nprobe, _powers_of_two(nl), xb, tune_queries, n_tune, seed, target_recall
    )
    params.update(nlist=nl, nprobe=best, scan_fraction=best / nl, tuned_recall_at_10=rec, recall_curve=curve)
    if best / nl > MAX_IVF_SCAN:
        log.warning(
            "IVF needs nprobe=%d of %d lists for recall %.2f: about as slow as exact search%s",
            best,
            nl,
            target_recall,
            "; using flat" if auto else "",
        )
        if auto:
            index = faiss.IndexFlatIP(d)
            index.add(xb)
            kind, params = "flat", {"target_recall": target_recall, "auto_rejected_ivf": params}
    return index, kind, params


def normalize_ids(ids: Any, n: int) -> np.ndarray:
    """ids as an int64 or unicode array of length n (never an object array)."""
    arr = np.asarray(ids)
    if arr.dtype.kind in "iu":
        arr = arr.astype(np.int64)
    elif arr.dtype.kind in "OU":
        if arr.dtype.kind == "O" and not all(isinstance(v, str) for v in arr.ravel()):
            raise ValueError("ids must be all integers or all strings")
        arr = arr.astype(str)
    else:
        raise ValueError(f"ids must be integers or strings, got dtype {arr.dtype}")
    if arr.shape != (n,):
        raise ValueError(f"ids shape {arr.shape} != ({n},)")
    return arr


def gpu_available() -> bool:
    return faiss_gpu.gpu_count() > 0


def to_device(ei: EmbeddingIndex, use_gpu: bool | None = None) -> EmbeddingIndex:
    """Copy a CPU flat/IVF index to the GPU when asked, or when auto and large enough (``faiss_gpu``)."""
    gpu = None if ei.on_gpu or ei.kind == "hnsw" else faiss_gpu.choose_gpu(ei.index.ntotal, use_gpu)
    if gpu is None:
        return ei
    if ei.params.get("nprobe", 0) > GPU_MAX_NPROBE:
        log.warning("nprobe %s exceeds the GPU limit; keeping the index on CPU", ei.params["nprobe"])
        return ei
    try:
        res = faiss_gpu.shared_resources(gpu)
        gpu_index = faiss.index_cpu_to_gpu(res, gpu, ei.index)
        if "nprobe" in ei.params:
            faiss.GpuParameterSpace().set_index_parameter(gpu_index, "nprobe", ei.params["nprobe"])
    except Exception as exc:  # noqa: BLE001 - any GPU problem means: stay on CPU
        log.warning("GPU index unavailable (%s); using CPU", exc)
        return ei
    return EmbeddingIndex(gpu_index, ei.ids, ei.kind, ei.params, ei.fingerprint, True, res)


def cpu_index(ei: EmbeddingIndex) -> Any:
    return faiss.index_gpu_to_cpu(ei.index) if ei.on_gpu else ei.index


def search(index: EmbeddingIndex, queries: Any, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Top-k (scores [Nq, k] float32 cosine, positions [Nq, k] int64) for normalised queries.

    Positions index the embeddings the index was built from (`EmbeddingIndex.ids_of` maps
    them to ids); slots FAISS could not fill hold position -1 and score -inf.
    """
    q = l2_normalize(queries)
    if q.shape[1] != index.index.d:
        raise ValueError(f"query dim {q.shape[1]} != index dim {index.index.d}")
    k = int(k)
    if k < 1 or (index.on_gpu and k > GPU_MAX_NPROBE):
        raise ValueError(f"k must be >= 1{f' and <= {GPU_MAX_NPROBE} on GPU' if index.on_gpu else ''}, got {k}")
    scores, pos = index.index.search(q, min(k, index.index.ntotal))
    if pos.shape[1] < k:
        pad = k - pos.shape[1]
        scores = np.pad(scores, ((0, 0), (0, pad)), constant_values=-np.inf)
        pos = np.pad(pos, ((0, 0), (0, pad)), constant_values=-1)
    scores = np.where(pos < 0, -np.inf, scores).astype(np.float32)
    return scores, pos.astype(np.int64)
