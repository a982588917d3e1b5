"""Warm start vs from scratch: training time until a candidate reaches the promoted run's held-out metrics.

    python bench/bench_warm_start.py --cache CACHE [--promoted-steps 120] [--budgets 10 20 40 80 120] [--out DIR]

The promoted run P trains `--promoted-steps` from scratch (seed 0). Then candidates (seed 1) train for each
step budget, once warm-started from P (`init_from=P`) and once from scratch; each is scored on the held-out
split as `retrain` scores (heads/* headline metrics) and judged by the promotion rule
(`hierskp.runs.promotion.compare_metrics`: not worse than P on every metric, at tolerance 0 and `--tolerance`).
Training verifies the cache cheaply (`verify_cache=cheap`: the deep re-read costs both starts alike). Reported: per budget, the training wall time and the decision; per start, the first budget that reaches P.
Writes OUT/warm_start.json.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def scored(store, run: Path, split: str) -> dict[str, float]:  # type: ignore[no-untyped-def]
    from hierskp.eval.tasks.retrieval import headline, split_metrics
    from hierskp.runs.model import load_method

    heads = split_metrics(store, load_method(store, run), split).to_dict()
    return {k: v for k, v in headline({"heads": heads, "frozen_baseline": heads}).items() if k.startswith("heads/")}


def trained(cache: str, out: Path, steps: int, seed: int, init: Path | None) -> float:
    from hierskp.train import load_config, train

    sets = [f"max_steps={steps}", "evaluate=false", f"seed={seed}", "checkpoint_every=100000", "verify_cache=cheap"]
    if init is not None:
        sets.append(f"init_from={init}")
    t0 = time.perf_counter()
    train(load_config(None, sets, cache=cache, out=str(out), progress=False))
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--promoted-steps", type=int, default=120)
    ap.add_argument("--budgets", type=int, nargs="+", default=[10, 20, 40, 80, 120])
    ap.add_argument("--split", default="test")
    ap.add_argument("--tolerance", type=float, default=2.0)
    ap.add_argument("--out", default=str(REPO / "bench" / "out" / "warm_start"))
    args = ap.parse_args()
    from cache_schema import open_cache
    from hierskp.runs.promotion import compare_metrics

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    store = open_cache(args.cache, "r")
    promoted = out / "promoted"
    p_seconds = (
        trained(args.cache, promoted, args.promoted_steps, 0, None) if not (promoted / "final").is_dir() else None
    )
    target = scored(store, promoted, args.split)
    print(
        f"promoted: {args.promoted_steps} steps ({p_seconds and round(p_seconds, 1)} s): {json.dumps(target)}",
        flush=True,
    )
    rows = []
    for start in ("warm", "scratch"):
        for steps in args.budgets:
            run = out / f"{start}_{steps}"
            seconds = trained(args.cache, run, steps, 1, promoted if start == "warm" else None)
            metrics = scored(store, run, args.split)
            strict, _ = compare_metrics(metrics, target)
            loose, why = compare_metrics(metrics, target, tolerance=args.tolerance)
            rows.append({"start": start, "steps": steps, "train_s": round(seconds, 2), "reaches": strict,
                         f"reaches_tol{args.tolerance:g}": loose, "why": why, "metrics": metrics})  # fmt: skip
            print(
                f"{start:8s} {steps:4d} steps {seconds:6.1f} s  reaches: {strict} (tol {args.tolerance:g}: {loose})",
                flush=True,
            )
    summary = {}
    for start in ("warm", "scratch"):
        for key in ("reaches", f"reaches_tol{args.tolerance:g}"):
            first = next((r for r in rows if r["start"] == start and r[key]), None)
            summary[f"{start}/{key}"] = {"steps": first["steps"], "train_s": first["train_s"]} if first else None
    print(json.dumps(summary, indent=1))
    (out / "warm_start.json").write_text(json.dumps({"promoted": target, "rows": rows, "summary": summary}, indent=1))


if __name__ == "__main__":
    main()
