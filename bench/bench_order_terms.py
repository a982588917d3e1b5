"""Cost of the video-side order terms: training time per epoch and peak memory with the new
objective (defaults: token + clip DTW, video-order negatives) against the objective before them
(`losses.dtw.inputs=tokens`, `losses.video_order.enabled=false`), measured in one run.

    python bench/bench_order_terms.py --cache demo.zarr [--repeats 3] [--out bench/out/order_terms.json]

Each measurement is a fresh process (so peak RSS is its own) running one warm-up step and one epoch
of real training steps on one thread; the two objectives alternate, and the ratio is of the medians.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

BEFORE = ["losses.dtw.inputs=tokens", "losses.video_order.enabled=false"]


def epoch(cache: str, overrides: list[str]) -> dict[str, float]:
    """One warm-up step, then one epoch: wall and CPU seconds of the epoch and the process's peak RSS.
    Twin orders are mined from the training annotations, as training does, when the config asks for them
    (bench_twin_terms.py times those levers with this function)."""
    import torch

    from cache_schema import open_cache
    from hierskp.dataset.batch import collate, twin_table
    from hierskp.dataset.catalog import catalog
    from hierskp.dataset.items import CacheVideoDataset
    from hierskp.models.heads import HeadsConfig, HierSKPHeads
    from hierskp.train import load_config
    from hierskp.train.objective import compute_losses
    from hierskp.train.sampling import StepBatchSampler, steps_per_epoch
    from hierskp.train.state import item_spec, param_groups

    torch.set_num_threads(1)
    torch.manual_seed(0)
    cfg = load_config(None, overrides, cache=cache, out="-")
    store = open_cache(cache)
    index = catalog(store, cfg.data.train_splits)
    first = store.read_video(index[0].video_id)
    dims = {"vision_dim": int(first.features.shape[1]), "text_dim": int(first.text_video().shape[-1])}
    model = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), **dims))
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    ds = CacheVideoDataset(cache, index, item_spec(cfg))
    tw = cfg.losses.twin_order
    twins = twin_table(index) if tw.negatives or tw.dtw_hinge else None
    spe = steps_per_epoch(len(index), cfg.data.batch_videos)
    batches = list(StepBatchSampler([e.procedure for e in index], cfg.data.batch_videos, 0, spe + 1))
    gen = torch.Generator().manual_seed(0)

    def step(keys) -> None:  # type: ignore[no-untyped-def]
        loss, _ = compute_losses(model, collate([ds[k] for k in keys], twins=twins), cfg.losses, gen)
        opt.zero_grad()
        loss.backward()
        opt.step()

    step(batches[0])
    t0, c0 = time.perf_counter(), time.process_time()
    for keys in batches[1:]:
        step(keys)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "epoch_seconds": wall,
        "epoch_cpu_seconds": cpu,
        "peak_rss_mb": rss_mb,
        "steps": spe,
        "twins": len(twins or {}),
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
    runs: dict[str, list[dict[str, float]]] = {"before": [], "new": []}
    for _ in range(args.repeats):
        for name, ov in (("before", BEFORE), ("new", [])):
            runs[name].append(measure(args.cache, ov))
            print(name, runs[name][-1], flush=True)

    def med(name: str, key: str) -> float:
        vals = sorted(r[key] for r in runs[name])
        return vals[len(vals) // 2]

    result = {
        "cache": args.cache,
        "runs": runs,
        "epoch_seconds": {n: med(n, "epoch_seconds") for n in runs},
        "peak_rss_mb": {n: med(n, "peak_rss_mb") for n in runs},
        "epoch_ratio_new_vs_before": med("new", "epoch_seconds") / med("before", "epoch_seconds"),
        "rss_ratio_new_vs_before": med("new", "peak_rss_mb") / med("before", "peak_rss_mb"),
    }
    print(json.dumps({k: v for k, v in result.items() if k != "runs"}, indent=1))
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
