"""Seeds x loss ablations, scored on the training cache's val and test splits and on unseen corpora,
summarised as mean +- std over seeds of the held-out metrics (order controls included).

python -m hierskp.ablation --cache demo.zarr --out runs/ablation --seeds 0 1 2 [--unseen other.zarr]
python -m hierskp.ablation ... --variants full hecvl peskavlp clip_single_level   # the anchors (hierskp/configs/*.yaml)

Every run is trained once (`RUN/`), then scored per evaluation set into `RUN/ablation_metrics.json`;
`ablation.json` / `ablation.md` in OUT gather all runs found there, so variants can be trained by
several processes (`--variants a b` in one, `--variants c d` in another) and summarised with
`--summarize`. Choose defaults on `val`; `test` and the unseen corpora are for reporting.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from cache_schema import open_cache
from hierskp import strict_json
from hierskp.eval.heldout import headline, split_metrics
from hierskp.runs.model import frozen_baseline, load_run
from hierskp.train import load_config, train

VARIANTS: dict[str, list[str]] = {
    "full": [],
    "no_dtw": ["losses.dtw.enabled=false"],
    "no_hard_negatives": ["losses.hard_negatives.enabled=false"],
    "no_video_order": ["losses.video_order.enabled=false"],
    "token_dtw_only": ["losses.dtw.inputs=tokens", "losses.video_order.enabled=false"],  # the objective before
    "no_order_terms": [
        "losses.dtw.enabled=false",
        "losses.hard_negatives.enabled=false",
        "losses.video_order.enabled=false",
    ],
    "no_operation_level": ["losses.contrastive.levels=[frame,video]"],
    "no_cross_level": ["losses.contrastive.cross_level=false"],
    "single_caption": ["data.captions=primary"],  # only the primary `text`, not its `texts` (issue 10, part 4)
    # issue 23: twin orders (another procedure's order of the same steps) mined from the training annotations
    "twin_negatives": ["losses.twin_order.negatives=true"],
    "twin_dtw_hinge": ["losses.twin_order.dtw_hinge=true"],
    "twin_levers": ["losses.twin_order.negatives=true", "losses.twin_order.dtw_hinge=true"],
}
# the anchors as packaged training configurations (hierskp/configs/, same heads, same step budget), by name
ANCHORS: dict[str, str] = {"hecvl": "hecvl", "peskavlp": "peskavlp", "clip_single_level": "clip"}
TABLE_METRICS = (
    "twin_clip_dtw/acc",
    "twin_dtw/acc",
    "twin_global/acc",
    "time_shuffled_clip_dtw/acc",
    "mean_video_twin_clip_dtw/acc",
    "order_dtw/acc",
    "order_global/acc",
    "video/R@1",
    "operation/R@1",
    "frame/R@1",
)
METRICS_FILE = "ablation_metrics.json"


def eval_sets(cache: str, unseen: list[str]) -> list[tuple[str, str, str]]:
    """(name, cache, split): the training cache's val and test splits, then each unseen cache's test split."""
    sets = [("val", cache, "val"), ("test", cache, "test")]
    return sets + [(f"unseen:{Path(u).stem}", u, "test") for u in unseen]


def score_run(run: Path, sets: list[tuple[str, str, str]], baselines: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`headline` of the run (and of the frozen baseline) on every evaluation set."""
    out: dict[str, Any] = {}
    for name, cache, split in sets:
        store = open_cache(cache, "r")
        if name not in baselines:
            baselines[name] = split_metrics(store, frozen_baseline(store), split)
        heads = split_metrics(store, load_run(run), split)
        out[name] = headline({"heads": heads, "frozen_baseline": baselines[name]})
    return out


def run_ablation(
    cache: str,
    out: str | Path,
    seeds: list[int],
    variants: dict[str, list[str]] | None = None,
    extra: list[str] | None = None,
    unseen: list[str] | None = None,
) -> dict[str, Any]:
    variants = variants or VARIANTS
    out = Path(out)
    sets = eval_sets(cache, unseen or [])
    baselines: dict[str, dict[str, Any]] = {}
    for name, overrides in variants.items():
        for seed in seeds:
            run = out / f"{name}_seed{seed}"
            shutil.rmtree(run, ignore_errors=True)
            path = ANCHORS.get(name)  # a packaged configuration, by name (load_config looks it up)
            cfg = load_config(path, overrides + (extra or []), cache=cache, out=str(run), seed=seed, progress=False)
            t0 = time.perf_counter()
            train(cfg.model_copy(update={"evaluate": False}))
            seconds = time.perf_counter() - t0
            scores = score_run(run, sets, baselines)
            record = {
                "variant": name,
                "seed": seed,
                "config": path,  # the packaged configuration's name (None: the defaults)
                "overrides": overrides,
                "train_seconds": seconds,
                "scores": scores,
            }
            (run / METRICS_FILE).write_text(strict_json.dumps(record, indent=1))
            print(
                f"{name} seed {seed}: {seconds:.0f} s, test twin (clip-dtw) {scores['test'].get('heads/twin_clip_dtw/acc')}"
            )
    return summarize(out)


def summarize(out: str | Path) -> dict[str, Any]:
    """Gather every run's `ablation_metrics.json` under OUT into ablation.json and ablation.md."""
    out = Path(out)
    records = [json.loads(p.read_text()) for p in sorted(out.glob(f"*/{METRICS_FILE}"))]
    if not records:
        raise ValueError(f"{out}: no run with {METRICS_FILE} found")
    known = [*VARIANTS, *ANCHORS]
    records.sort(key=lambda r: (known.index(r["variant"]) if r["variant"] in known else len(known), r["seed"]))
    by_variant: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        by_variant.setdefault(r["variant"], []).append(r)
    summary: dict[str, dict[str, dict[str, list[float]]]] = {}
    for variant, recs in by_variant.items():
        summary[variant] = {}
        for set_name in recs[0]["scores"]:
            keys = recs[0]["scores"][set_name]
            summary[variant][set_name] = {
                k: [float(np.mean(v := [_value(r["scores"][set_name][k]) for r in recs])), float(np.std(v))]
                for k in keys
            }
        summary[variant]["train_seconds"] = {"mean": [float(np.mean([r["train_seconds"] for r in recs])), 0.0]}
    result = {
        "variants": {v: recs[0]["overrides"] for v, recs in by_variant.items()},
        "seeds": {v: sorted(r["seed"] for r in recs) for v, recs in by_variant.items()},
        "summary": summary,
    }
    (out / "ablation.json").write_text(strict_json.dumps(result, indent=1))
    (out / "ablation.md").write_text(markdown(summary, result["seeds"]))
    return result


def _value(x: Any) -> float:
    """A metric as read back from strict JSON: a missing value (null, NaN when written) is NaN again."""
    return float("nan") if x is None else float(x)


def markdown(summary: dict[str, dict[str, dict[str, list[float]]]], seeds: dict[str, list[int]]) -> str:
    """Per evaluation set: one row per metric, one column per variant, mean ± std over seeds."""
    names = list(summary)
    sets = [s for s in summary[names[0]] if s != "train_seconds"]
    lines = [f"Seeds: {', '.join(f'{n} {seeds[n]}' for n in names)}. Percent; chance of twin/shuffled/mean-video = 50."]
    for set_name in sets:
        first = summary[names[0]][set_name]
        lines += ["", f"### {set_name}", "", "| metric | frozen baseline | " + " | ".join(names) + " |"]
        lines.append("|---" * (len(names) + 2) + "|")
        for m in TABLE_METRICS:
            base = first.get(f"frozen_baseline/{m}")
            cells = []
            for n in names:
                v = summary[n].get(set_name, {}).get(f"heads/{m}")
                cells.append(f"{v[0]:.1f} ± {v[1]:.1f}" if v else "-")
            lines.append(f"| {m} | " + (f"{base[0]:.1f}" if base else "-") + " | " + " | ".join(cells) + " |")
    secs = " | ".join(f"{summary[n]['train_seconds']['mean'][0]:.0f}" for n in names)
    lines += ["", "| train seconds | - | " + secs + " |"]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", help="the training cache (val and test splits are scored)")
    ap.add_argument("--out", required=True)
    ap.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    ap.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=[*VARIANTS, *ANCHORS])
    ap.add_argument("--unseen", action="append", default=[], help="another cache, same backbone (its test split)")
    ap.add_argument("--set", action="append", dest="overrides", default=[])
    ap.add_argument("--summarize", action="store_true", help="only gather the runs already in --out")
    args = ap.parse_args()
    if args.summarize:
        res = summarize(args.out)
    else:
        if not args.cache:
            ap.error("--cache is required unless --summarize")
        variants = {v: VARIANTS.get(v, []) for v in args.variants}
        res = run_ablation(args.cache, args.out, args.seeds, variants, args.overrides, args.unseen)
    print(markdown(res["summary"], res["seeds"]))


if __name__ == "__main__":
    main()
