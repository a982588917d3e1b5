"""`hierskp search` on a cache: precision@k of label queries over moments, and a repeated query's cost.

    python bench/bench_search.py --run RUN --cache CACHE [--split test] [-k 5] [--rounds 3] [--cli]

Quality (moment hits distinct, as `search` returns them by default; `--overlapping` lifts that): each
operation label of the searched videos is a query (underscores -> spaces: "skin closure");
a moment hit is relevant if at least half of its window lies inside a ground-truth segment of that
label in that video (`--min-overlap`). P@k per label and its mean, against two controls on the same
windows: chance (a random ranking's expected P@k: 1000 random rankings under the same distinct-hits rule;
with --overlapping, the share of relevant windows) and the frozen
baseline (mean-pooled backbone features vs the raw sentence embeddings, through the baseline's fixed
projections: vision 256-d and text 384-d share no space, so it sits at chance by construction).
Operation level too: a hit (an annotated operation) is relevant if it carries the query's label.

Cost, over every complete video of the cache (the CLI's default): a fresh index folder per round; the
first search builds the moment index (embeds every window),
a second library over the same folder loads it (embeds nothing). `--cli` also times two `hierskp search`
processes (start-up, model and text-encoder loading included). Writes bench/out/search.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

import hierskp
from cache_schema import open_cache
from hierskp.dataset.catalog import catalog
from hierskp.numfmt import mean_ci
from hierskp.runs.model import frozen_baseline
from hierskp.search import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S
from hierskp.search.library import Hit, SearchLibrary, distinct_hits
from hierskp.search.rows import embed_rows


def overlap_share(window: tuple[float, float], segments: np.ndarray) -> float:
    """Largest share of the window inside any one of the segments [K, 2]."""
    if not len(segments):
        return 0.0
    a, b = window
    inter = np.clip(np.minimum(b, segments[:, 1]) - np.maximum(a, segments[:, 0]), 0, None)
    return float(inter.max() / (b - a))


def relevant(hit_vid: str, window: tuple[float, float], label: str, gt: dict, min_overlap: float) -> bool:
    return overlap_share(window, gt.get((hit_vid, label), np.zeros((0, 2)))) >= min_overlap


def random_distinct_top(rows, k: int, n_draws: int = 1000, seed: int = 0) -> np.ndarray:
    """[n_draws, k] row indices: the top k of random rankings after the distinct-hits rule (Monte Carlo)."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_draws):
        kept: list[int] = []
        for j in rng.permutation(len(rows.video_ids)):
            a, b = rows.times[j]
            if not any(
                rows.video_ids[o] == rows.video_ids[j] and min(b, rows.times[o][1]) - max(a, rows.times[o][0]) > 1e-9
                for o in kept
            ):
                kept.append(int(j))
                if len(kept) == k:
                    break
        out.append(kept)
    return np.asarray(out)


def quality(lib: SearchLibrary, store, splits: list[str], k: int, min_overlap: float, distinct: bool = True) -> dict:
    videos = catalog(store, splits)
    gt: dict[tuple[str, str], np.ndarray] = {}
    for v in videos:
        for (a, b), lab in zip(v.op_times.tolist(), v.op_labels):
            gt[(v.video_id, lab)] = np.vstack([gt.get((v.video_id, lab), np.zeros((0, 2))), [[a, b]]])
    labels = sorted({lab for v in videos for lab in v.op_labels})
    rows = embed_rows(store, frozen_baseline(store), [v.video_id for v in videos], "moment", lib.window_s, lib.stride_s)
    model = lib.model
    raw = model.text_encoder().encode([lab.replace("_", " ") for lab in labels]).float()
    frozen_q = frozen_baseline(store).embedder.text(raw).numpy()
    frozen_sim = frozen_q @ rows.vectors.T
    frozen_order = np.argsort(-frozen_sim, axis=1, kind="stable")
    op_labels = {
        (v.video_id, round(a, 6), round(b, 6)): lab
        for v in videos
        for (a, b), lab in zip(v.op_times.tolist(), v.op_labels)
    }
    random_top = random_distinct_top(rows, k) if distinct else None
    out = {}
    for i, lab in enumerate(labels):
        query = lab.replace("_", " ")
        hits = lib.search(query, k=k, level="moment", distinct=distinct)
        rel = [relevant(h.video_id, (h.start, h.end), lab, gt, min_overlap) for h in hits]
        ranked = [Hit(rows.video_ids[j], *rows.times[j].tolist(), float(frozen_sim[i, j])) for j in frozen_order[i]]
        frozen = [
            relevant(h.video_id, (h.start, h.end), lab, gt, min_overlap)
            for h in (distinct_hits(ranked) if distinct else ranked)[:k]
        ]
        is_rel = np.array(
            [relevant(v, tuple(t), lab, gt, min_overlap) for v, t in zip(rows.video_ids, rows.times.tolist())]
        )
        chance = is_rel[random_top].mean() if distinct else is_rel.mean()  # expected P@k of a random ranking
        ops = lib.search(query, k=k, level="operation")
        op_rel = [op_labels.get((h.video_id, round(h.start, 6), round(h.end, 6))) == lab for h in ops]
        op_chance = sum(lab == x for x in op_labels.values()) / len(op_labels)
        out[query] = {
            "P@k": 100 * float(np.mean(rel)),
            "frozen_P@k": 100 * float(np.mean(frozen)),
            "chance_P@k": 100 * float(chance),
            "op_P@k": 100 * float(np.mean(op_rel)),
            "op_chance_P@k": 100 * op_chance,
        }
    cols = ("P@k", "frozen_P@k", "chance_P@k", "op_P@k", "op_chance_P@k")
    mean = {c: float(np.mean([r[c] for r in out.values()])) for c in cols}
    return {"n_videos": len(videos), "n_windows": len(rows.video_ids), "per_label": out, "mean": mean}


def timing(model, store, splits: list[str] | None, rounds: int, query: str, **opts) -> dict:
    first, second = [], []
    for _ in range(rounds):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            a = SearchLibrary(model, store, splits=splits, index_dir=tmp, **opts)
            hits = a.search(query, k=5)
            first.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            b = SearchLibrary(model, store, splits=splits, index_dir=tmp, **opts)
            assert b.search(query, k=5) == hits
            second.append(time.perf_counter() - t0)
            assert a.info["moment"].rebuilt and not b.info["moment"].rebuilt and b.embedded_rows == 0
    ratios = [s / f for f, s in zip(first, second)]
    return {
        "rounds": rounds,
        "first_s": statistics.median(first),
        "second_s": statistics.median(second),
        "ratio": statistics.median(ratios),
        "speedup": statistics.median(f / s for f, s in zip(first, second)),
        "n_windows": a.info["moment"].n,
    }


def cli_timing(run: str, cache: str, splits: list[str], query: str) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "hierskp", "search", "--run", run, "--cache", cache, "--index-dir", tmp, "--json"]
        cmd += [x for s in splits for x in ("--split", s)] + [query]
        times = []
        for _ in range(2):
            t0 = time.perf_counter()
            subprocess.run(cmd, check=True, capture_output=True)
            times.append(time.perf_counter() - t0)
    return {"first_s": times[0], "second_s": times[1], "ratio": times[1] / times[0]}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--run", action="append", required=True, help="run folder (repeatable: seeds; timing uses the first)"
    )
    ap.add_argument("--cache", required=True)
    ap.add_argument("--split", action="append", default=None, help="searched split(s) (default: test)")
    ap.add_argument("-k", type=int, default=5)
    ap.add_argument("--window", type=float, default=DEFAULT_WINDOW_S)
    ap.add_argument("--stride", type=float, default=DEFAULT_STRIDE_S)
    ap.add_argument("--min-overlap", type=float, default=0.5)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--cli", action="store_true")
    ap.add_argument("--overlapping", action="store_true", help="moment hits may overlap (search(distinct=False))")
    ap.add_argument("--out", default=str(Path(__file__).parent / "out" / "search.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    splits = args.split or ["test"]
    store, model = open_cache(args.cache), hierskp.load_model(args.run[0])
    model.embed_texts(["warm up"])  # the text encoder loads once, outside the timings
    opts = {"window_s": args.window, "stride_s": args.stride}
    result: dict = {"runs": args.run, "splits": splits, "k": args.k, "min_overlap": args.min_overlap, **opts}
    result["timing"] = timing(model, store, None, args.rounds, "skin closure", **opts)  # the whole cache
    if args.cli:
        result["cli"] = cli_timing(args.run[0], args.cache, [], "skin closure")
    per_run = []
    for run in args.run:
        m = hierskp.load_model(run, text_encoder=model.text_encoder())
        with tempfile.TemporaryDirectory() as tmp:
            per_run.append(
                quality(
                    SearchLibrary(m, store, splits=splits, index_dir=tmp, **opts),
                    store,
                    splits,
                    args.k,
                    args.min_overlap,
                    not args.overlapping,
                )
            )
    result["quality"] = per_run
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    cols = ("P@k", "frozen_P@k", "chance_P@k", "op_P@k", "op_chance_P@k")
    print(
        f"{per_run[0]['n_videos']} videos, {per_run[0]['n_windows']} windows, {len(per_run)} run(s): mean (std over runs)"
    )
    print(f"| query | HierSKP P@{args.k} | frozen | chance | operation P@{args.k} | op chance |")
    print("|---|---:|---:|---:|---:|---:|")
    names = list(per_run[0]["per_label"]) + ["**mean**"]
    for name in names:
        vals = [q["mean"] if name == "**mean**" else q["per_label"][name] for q in per_run]
        cells = []
        for c in cols:
            xs = [v[c] for v in vals]
            sd = statistics.pstdev(xs) if len(xs) > 1 and c in ("P@k", "op_P@k") else None
            cells.append(mean_ci(statistics.mean(xs), sd, decimals=1))
        print(f"| {name} | " + " | ".join(cells) + " |")
    print(json.dumps({k: v for k, v in result.items() if k != "quality"}, indent=1))


if __name__ == "__main__":
    main()
