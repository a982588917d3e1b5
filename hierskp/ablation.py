"""Seeds x loss ablations on one cache, summarised as mean +- std of the held-out metrics.

python -m hierskp.ablation --cache demo.zarr --out runs/ablation --seeds 0 1 2
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from hierskp.eval.heldout import headline
from hierskp.experiment import train_and_evaluate
from hierskp.runs.folder import read_eval_result
from hierskp.train import load_config

VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no_dtw": ["losses.dtw.enabled=false"],
    "no_hard_negatives": ["losses.hard_negatives.enabled=false"],
    "no_cross_level": ["losses.contrastive.cross_level=false"],
}


def run_ablation(
    cache: str,
    out: str | Path,
    seeds: list[int],
    variants: dict[str, list[str]] | None = None,
    extra: list[str] | None = None,
) -> dict[str, Any]:
    variants = variants or VARIANTS
    out = Path(out)
    rows: dict[str, list[dict[str, float]]] = {}
    seconds: dict[str, list[float]] = {}
    for name, overrides in variants.items():
        for seed in seeds:
            run = out / f"{name}_seed{seed}"
            shutil.rmtree(run, ignore_errors=True)
            cfg = load_config(None, overrides + (extra or []), cache=cache, out=str(run), seed=seed, progress=False)
            t0 = time.perf_counter()
            train_and_evaluate(cfg)
            seconds.setdefault(name, []).append(time.perf_counter() - t0)
            rows.setdefault(name, []).append(headline(read_eval_result(run)))
    summary = {
        name: {k: [float(np.mean([r[k] for r in rs])), float(np.std([r[k] for r in rs]))] for k in rs[0]}
        for name, rs in rows.items()
    }
    result = {
        "cache": cache,
        "seeds": seeds,
        "variants": variants,
        "summary": summary,
        "runs": rows,
        "train_seconds": seconds,
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "ablation.json").write_text(json.dumps(result, indent=1))
    (out / "ablation.md").write_text(markdown(summary))
    return result


def markdown(summary: dict[str, dict[str, list[float]]]) -> str:
    """One row per metric, one column per variant (frozen baseline metrics from the first variant)."""
    names = list(summary)
    first = summary[names[0]]
    metrics = [k.split("/", 1)[1] for k in first if k.startswith("heads/")]
    lines = ["| metric | frozen baseline | " + " | ".join(names) + " |", "|---" * (len(names) + 2) + "|"]
    for m in metrics:
        base = first.get(f"frozen_baseline/{m}")
        cells = [f"{summary[n][f'heads/{m}'][0]:.1f} ± {summary[n][f'heads/{m}'][1]:.1f}" for n in names]
        lines.append(
            f"| {m} | " + (f"{base[0]:.1f} ± {base[1]:.1f}" if base else "-") + " | " + " | ".join(cells) + " |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    ap.add_argument("--set", action="append", dest="overrides", default=[])
    args = ap.parse_args()
    res = run_ablation(args.cache, args.out, args.seeds, {v: VARIANTS[v] for v in args.variants}, args.overrides)
    print(markdown(res["summary"]))


if __name__ == "__main__":
    main()
