"""Cost of each twin-order lever (issue 23): training time per epoch and peak memory with
`losses.twin_order.negatives`, `losses.twin_order.dtw_hinge` and both, against the default objective
(both off), measured in one run.

    python bench/bench_twin_terms.py --cache cache.zarr [--repeats 3] [--out bench/out/twin_terms.json]

Each measurement is a fresh process (so peak RSS is its own) running one warm-up step and one epoch of
real training steps on one thread (wall and CPU seconds), with the twin orders mined from the training annotations as
training does; the variants alternate, and the ratios are of the medians.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

from bench_order_terms import epoch  # the same epoch timer; it mines twin orders when asked

VARIANTS = {
    "default": [],
    "twin_negatives": ["losses.twin_order.negatives=true"],
    "twin_dtw_hinge": ["losses.twin_order.dtw_hinge=true"],
    "twin_levers": ["losses.twin_order.negatives=true", "losses.twin_order.dtw_hinge=true"],
}


def measure(cache: str, overrides: list[str]) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--cache", cache, "--child", json.dumps(overrides)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child is not None:
        print(json.dumps(epoch(args.cache, json.loads(args.child))))
        return
    runs: dict[str, list[dict[str, float]]] = {name: [] for name in VARIANTS}
    for _ in range(args.repeats):
        for name, ov in VARIANTS.items():
            runs[name].append(measure(args.cache, ov))
            print(name, runs[name][-1], flush=True)

    def med(name: str, key: str) -> float:
        vals = sorted(r[key] for r in runs[name])
        return vals[len(vals) // 2]

    result = {
        "cache": args.cache,
        "runs": runs,
        "epoch_seconds": {n: med(n, "epoch_seconds") for n in runs},
        "epoch_cpu_seconds": {n: med(n, "epoch_cpu_seconds") for n in runs},
        "peak_rss_mb": {n: med(n, "peak_rss_mb") for n in runs},
        "epoch_ratio_vs_default": {n: med(n, "epoch_seconds") / med("default", "epoch_seconds") for n in runs},
        # CPU time of the training process: on a shared, loaded box far less noisy than wall time
        "epoch_cpu_ratio_vs_default": {
            n: med(n, "epoch_cpu_seconds") / med("default", "epoch_cpu_seconds") for n in runs
        },
        "rss_ratio_vs_default": {n: med(n, "peak_rss_mb") / med("default", "peak_rss_mb") for n in runs},
    }
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
