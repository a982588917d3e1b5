"""Seed tables of an ablation folder (`python -m hierskp.experiments.ablation ... --seeds 0 1 2 3 4`): mean and 95%
t-interval over seeds per variant, and paired differences against reference variants.

    python bench/twin_seeds.py --runs runs_la --cache la.zarr --ref full twin_levers --vs hecvl peskavlp \
        [--per-video] [--unseen unseen:cache_s9] --out twin_seeds.md

* Per variant and evaluation set (val, test, unseen:*): twin clip-DTW, the two controls (time-shuffled
  clip-DTW, mean-video twin clip-DTW: must sit at 50), order DTW, video R@1, train seconds; mean ± the 95%
  t-interval half-width over the seeds found (`hierskp.eval.report.groups.interval`).
* Seed-paired: for every seed both variants have, reference minus other, t-interval over seeds.
* `--per-video` (test split of --cache): every test twin's outcome (1 own order above the twin order,
  0 below, 0.5 tie; the canonical step texts and the clip-DTW scorer of `order_controls`) per run,
  averaged over a variant's seeds, then reference minus other per video with a 95% bootstrap over videos
  (the test-video sampling error the seed interval leaves out).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
import torch

from cache_schema import open_cache
from hierskp.dataset.procedure_orders import reorder_to, twin_orders
from hierskp.eval.metrics.intervals import bootstrap_summary
from hierskp.eval.metrics.retrieval import expected_first
from hierskp.eval.report.groups import interval
from hierskp.eval.tasks.embed import embed_split
from hierskp.eval.tasks.order_controls import _canonical_texts, _Scorer
from hierskp.eval.tasks.retrieval import annotated_orders
from hierskp.numfmt import mean_ci
from hierskp.runs.model import load_run

METRICS = (
    ("twin_clip_dtw/acc", "twin clip-DTW"),
    ("time_shuffled_clip_dtw/acc", "shuffled ctrl"),
    ("mean_video_twin_clip_dtw/acc", "mean-video ctrl"),
    ("order_dtw/acc", "order DTW (text-passable)"),
    ("video/R@1", "video R@1"),
)


def records(runs: Path) -> dict[str, dict[int, dict]]:
    out: dict[str, dict[int, dict]] = {}
    for p in sorted(runs.glob("*/ablation_metrics.json")):
        r = json.loads(p.read_text())
        out.setdefault(r["variant"], {})[r["seed"]] = {**r, "run": str(p.parent)}
    return out


def fmt(s: dict) -> str:
    if s["mean"] is None:
        return "-"
    return mean_ci(s["mean"], s["ci95"], decimals=1)


@torch.no_grad()
def per_video_twins(run: str, store, split: str) -> dict[str, float]:
    """video id -> twin outcome (canonical step texts, clip-DTW scorer), as `order_controls` scores it;
    kept in RUN/twin_per_video.json (keyed by the cache fingerprint and split) so a rerun reads it."""
    memo = Path(run) / "twin_per_video.json"
    key = f"{store.fingerprint_id}:{split}"
    if memo.exists() and key in (saved := json.loads(memo.read_text())):
        return saved[key]
    model = load_run(run)
    emb = embed_split(store, model, split)
    order = [o for o in emb.order if o.clip_features is not None]
    twins, canon = twin_orders(annotated_orders(store)), _canonical_texts(order)
    scorer = _Scorer(model.embedder, model.order_scorer)  # the run's own gamma / tau
    out = {}
    for o in order:
        twin = twins.get((o.procedure, tuple(o.labels)))
        if twin is None:
            continue
        seq = torch.stack([canon[lab] for lab in o.labels])
        perm = torch.from_numpy(reorder_to(o.labels, twin))
        sc = scorer.scores(scorer.embed_video(o.clip_features, o.clip_mask), [seq, seq[perm]])
        out[o.video_id] = expected_first(sc["clip_dtw"][0], sc["clip_dtw"][1:])  # the one tie rule
    memo.write_text(json.dumps({**(json.loads(memo.read_text()) if memo.exists() else {}), key: out}))
    return out


def pairs(refs: list[str], variants: list[str]) -> list[tuple[str, str]]:
    """(reference, other) for every reference against every variant, each pair of references once."""
    return [(r, o) for i, r in enumerate(refs) for o in variants if o != r and o not in refs[:i]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", required=True)
    ap.add_argument("--cache", help="the training cache (for --per-video)")
    ap.add_argument("--ref", nargs="+", default=["full"])
    ap.add_argument("--vs", nargs="+", default=["hecvl", "peskavlp"])
    ap.add_argument("--sets", nargs="+", default=None, help="evaluation sets (default: every one recorded)")
    ap.add_argument("--per-video", action="store_true")
    ap.add_argument("--out", required=True, help="markdown file (a .json beside it)")
    args = ap.parse_args()
    recs = records(Path(args.runs))
    variants = [v for v in [*args.ref, *args.vs] if v in recs] + [v for v in recs if v not in args.ref + args.vs]
    sets = args.sets or list(next(iter(next(iter(recs.values())).values()))["scores"])
    result: dict = {"seeds": {v: sorted(recs[v]) for v in variants}, "table": {}, "paired_seeds": {}}
    lines = [
        f"Seeds: {', '.join(f'{v} {sorted(recs[v])}' for v in variants)}. Mean and 95% t-interval over seeds (mean +- half-width)."
    ]
    for set_name in sets:
        lines += ["", f"#### {set_name}", "", "| variant | n | " + " | ".join(n for _, n in METRICS) + " | train s |"]
        lines.append("|---|---:|" + "---:|" * (len(METRICS) + 1))
        base = next(iter(recs[variants[0]].values()))["scores"][set_name]
        cells = [f"{base.get('frozen_baseline/' + m, float('nan')):.1f}" for m, _ in METRICS]
        lines.append("| frozen baseline | 1 | " + " | ".join(cells) + " | - |")
        for v in variants:
            stats = {
                m: interval([r["scores"][set_name].get("heads/" + m) for r in recs[v].values()]) for m, _ in METRICS
            }
            secs = interval([r["train_seconds"] for r in recs[v].values()])
            result["table"].setdefault(set_name, {})[v] = stats
            lines.append(
                f"| {v} | {len(recs[v])} | "
                + " | ".join(fmt(stats[m]) for m, _ in METRICS)
                + f" | {secs['mean']:.0f} |"
            )
        lines += ["", f"Seed-paired twin clip-DTW differences ({set_name}, reference minus other, same seed):", ""]
        for ref, other in pairs(args.ref, variants):
            seeds = sorted(set(recs.get(ref, {})) & set(recs[other]))
            d = [
                recs[ref][sd]["scores"][set_name]["heads/twin_clip_dtw/acc"]
                - recs[other][sd]["scores"][set_name]["heads/twin_clip_dtw/acc"]
                for sd in seeds
            ]
            if not d:
                continue
            s = interval(d)
            result["paired_seeds"].setdefault(set_name, {})[f"{ref}-{other}"] = {**s, "seeds": seeds}
            lo, hi = (s["mean"] - s["ci95"], s["mean"] + s["ci95"]) if s["ci95"] is not None else (None, None)
            rng = f" [{lo:+.1f}, {hi:+.1f}]" if lo is not None else ""
            lines.append(f"* {ref} − {other}: {s['mean']:+.1f}{rng} (n={len(d)} seeds)")
    if args.per_video:
        store = open_cache(args.cache, "r")
        outcomes = {v: [per_video_twins(r["run"], store, "test") for r in recs[v].values()] for v in variants}
        mean = {v: {vid: float(np.mean([o[vid] for o in outs])) for vid in outs[0]} for v, outs in outcomes.items()}
        result["per_video"] = mean
        lines += ["", "Per-video paired twin clip-DTW (test; each twin's outcome averaged over a variant's seeds):", ""]
        for ref, other in pairs(args.ref, variants):
            d = [mean[ref][vid] - mean[other][vid] for vid in mean[ref] if vid in mean[other]]
            s = bootstrap_summary(d)
            result.setdefault("paired_videos", {})[f"{ref}-{other}"] = s
            lines.append(
                f"* {ref} − {other}: {s['acc']:+.1f} [{s['ci95'][0]:+.1f}, {s['ci95'][1]:+.1f}] (n={s['n']} twins)"
            )
    Path(args.out).write_text("\n".join(lines) + "\n")
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=1, default=float))
    print("\n".join(lines))


if __name__ == "__main__":
    main()
