"""FAISS retrieval index vs numpy brute force: query throughput, recall@10, build time.

    python bench/bench_faiss.py             # 1e5 and 1e6 vectors, writes bench/out/faiss.json
    python bench/bench_faiss.py --quick     # 2e4 and 1e5 vectors, fewer queries, prints only

Corpus: clustered unit vectors (Gaussian mixture on the sphere, `tests.fixtures.clustered`),
dim 256, float32. Queries are fresh draws from the same mixture (not in the corpus).
The index is `build_index(x, kind=LARGE_CORPUS_KIND)` at its defaults (nlist ~ 4*sqrt(N),
nprobe tuned for recall@10 >= 0.99 on held-out corpus rows); build time includes k-means
training, adding and tuning. Brute force is what one would write without FAISS: normalised
matmul over query batches, ``argpartition`` top-10, then sort of those 10. Exact FAISS
``IndexFlatIP`` is reported too. Searches run interleaved over several rounds (index, brute,
flat, index, ...) so background load hits all alike; we report medians and the median of
the per-round ratios. Queries are searched as one batch (offline evaluation) and one at a
time (interactive use, the index only: brute force one at a time is not a sensible baseline).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hierskp.index.store import LARGE_CORPUS_KIND, build_index, search  # noqa: E402
from tests.fixtures.clustered import clustered_embeddings  # noqa: E402

K = 10


def brute_force_topk(x: np.ndarray, q: np.ndarray, k: int = K, batch: int = 256) -> np.ndarray:
    """Exact top-k by inner product: matmul per query batch + argpartition + sort of k."""
    qn = q / np.linalg.norm(q, axis=1, keepdims=True)
    out = np.empty((len(q), k), dtype=np.int64)
    for s in range(0, len(q), batch):
        sims = qn[s : s + batch] @ x.T
        part = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        order = np.argsort(-np.take_along_axis(sims, part, axis=1), axis=1)
        out[s : s + batch] = np.take_along_axis(part, order, axis=1)
    return out


def recall(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / K for a, e in zip(approx, exact)]))


def timed(fn, *args):  # noqa: ANN001, ANN201
    t = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - t, out


def bench_size(
    n: int, dim: int, clusters: int, noise: float, n_queries: int, rounds: int, n_single: int, hnsw: bool
) -> dict:
    x, centers = clustered_embeddings(n, dim, clusters, noise=noise, seed=0)
    q, _ = clustered_embeddings(n_queries, dim, clusters, noise=noise, seed=1, centers=centers)
    row: dict = {
        "n": n,
        "dim": dim,
        "clusters": clusters,
        "noise": noise,
        "n_queries": n_queries,
        "kind": LARGE_CORPUS_KIND,
    }
    build_s, ei = timed(build_index, x, None, LARGE_CORPUS_KIND)
    row.update(
        build_s=build_s,
        params={k: v for k, v in ei.params.items() if k != "recall_curve"},
        recall_curve=ei.params.get("recall_curve"),
    )
    flat = faiss.IndexFlatIP(dim)
    flat.add(x)
    exact = brute_force_topk(x, q)
    t_idx, t_bf, t_flat = [], [], []
    for _ in range(rounds):
        dt, (_, pos) = timed(search, ei, q, K)
        t_idx.append(dt)
        dt, bf = timed(brute_force_topk, x, q)
        t_bf.append(dt)
        dt, _ = timed(flat.search, q, K)
        t_flat.append(dt)
    row["recall_at_10"] = recall(pos, exact)
    row["brute_force_agrees_with_flat"] = recall(bf, flat.search(q, K)[1])
    row["qps_index"] = n_queries / statistics.median(t_idx)
    row["qps_numpy_brute"] = n_queries / statistics.median(t_bf)
    row["qps_faiss_flat"] = n_queries / statistics.median(t_flat)
    row["speedup_vs_numpy"] = statistics.median(b / i for b, i in zip(t_bf, t_idx))
    row["speedup_vs_flat"] = statistics.median(f / i for f, i in zip(t_flat, t_idx))
    singles = [timed(search, ei, q[i : i + 1], K)[0] for i in range(n_single)]
    row["single_query_ms_median"] = 1e3 * statistics.median(singles)
    if hnsw:
        hb, hi = timed(build_index, x, None, "hnsw")
        ht = [timed(search, hi, q, K)[0] for _ in range(rounds)]
        row["hnsw"] = {
            "build_s": hb,
            "ef_search": hi.params["ef_search"],
            "recall_at_10": recall(search(hi, q, K)[1], exact),
            "qps": n_queries / statistics.median(ht),
        }
    return row


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="2e4 and 1e5 vectors, 500 queries, 2 rounds")
    ap.add_argument("--sizes", type=float, nargs="+", default=None)
    ap.add_argument("--dim", type=int, default=256)
    ap.add_argument("--clusters", type=int, default=1000)
    ap.add_argument("--noise", type=float, default=1.0)
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--rounds", type=int, default=None)
    ap.add_argument(
        "--hnsw-max-n",
        type=float,
        default=1e5,
        help="also build HNSW for sizes up to this (its build is slow on few cores)",
    )
    ap.add_argument("--out", default=None, help="JSON results path (default bench/out/faiss.json unless --quick)")
    args = ap.parse_args()
    sizes = [int(s) for s in (args.sizes or ([2e4, 1e5] if args.quick else [1e5, 1e6]))]
    n_queries = args.queries or (500 if args.quick else 2000)
    rounds = args.rounds or (2 if args.quick else 3)
    machine = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "faiss": faiss.__version__,
        "numpy": np.__version__,
        "faiss_threads": faiss.omp_get_max_threads(),
        "gpus": faiss.get_num_gpus(),
        "loadavg_start": os.getloadavg(),
    }
    results = []
    for n in sizes:
        row = bench_size(
            n,
            args.dim,
            args.clusters,
            args.noise,
            n_queries,
            rounds,
            n_single=200,
            hnsw=n <= args.hnsw_max_n and not args.quick,
        )
        row["loadavg_after"] = os.getloadavg()
        results.append(row)
        print(json.dumps(row), flush=True)
    out = args.out or (None if args.quick else str(Path(__file__).parent / "out" / "faiss.json"))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"argv": sys.argv, "machine": machine, "results": results}, indent=1))
    print("\n| N | build s | nlist/nprobe | recall@10 | index q/s | numpy q/s | flat q/s | vs numpy | 1-query ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in results:
        p = r["params"]
        print(
            f"| {r['n']:.0e} | {r['build_s']:.1f} | {p.get('nlist')}/{p.get('nprobe')} | {r['recall_at_10']:.4f} "
            f"| {r['qps_index']:.0f} | {r['qps_numpy_brute']:.0f} | {r['qps_faiss_flat']:.0f} "
            f"| {r['speedup_vs_numpy']:.1f}x | {r['single_query_ms_median']:.2f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
