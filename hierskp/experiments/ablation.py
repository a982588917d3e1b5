"""Seeds x loss ablations, scored on the training cache's val and test splits and on unseen corpora,
summarised as mean +- std over seeds of the held-out metrics (order controls included).

python -m hierskp.experiments.ablation --cache demo.zarr --out runs/ablation --seeds 0 1 2 [--unseen other.zarr]
python -m hierskp.experiments.ablation ... --variants full hecvl peskavlp clip_single_level   # the anchors (hierskp/configs/*.yaml)

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
import yaml

from hierskp.configs import ABLATION_VARIANTS
from hierskp.dataset.cache import open_cache
from hierskp.eval.report.headline import ABLATION
from hierskp.eval.tasks.retrieval import headline, split_metrics
from hierskp.files import strict_json
from hierskp.numfmt import fixed, mean_ci
from hierskp.runs.model import frozen_baseline, load_run
from hierskp.train import load_config, train


def load_variants(path: Path = ABLATION_VARIANTS) -> dict[str, list[str]]:
    """The loss ablations (name -> `--set` overrides) of a YAML file, each checked once against the
    training configuration: a typo fails here, naming the file, the variant and the override."""
    try:
        tree = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise ValueError(f"{path}: not valid YAML: {exc}") from exc
    if not isinstance(tree, dict) or not tree:
        raise ValueError(f"{path}: expected a mapping of variant name -> list of key=value overrides")
    for name, overrides in tree.items():
        where = f"{path}: variant {name!r}"
        if not isinstance(overrides, list) or not all(isinstance(o, str) for o in overrides):
            raise ValueError(f"{where}: expected a list of key=value strings, got {overrides!r}")
        if name in ANCHORS:
            raise ValueError(f"{where}: the name of a packaged anchor configuration")
        try:
            load_config(None, overrides, cache="CACHE", out="RUN")
        except ValueError as exc:  # pydantic's ValidationError included
            raise ValueError(f"{where}: {overrides} is not a valid training configuration: {exc}") from exc
    return {str(k): list(v) for k, v in tree.items()}


# the anchors as packaged training configurations (hierskp/configs/, same heads, same step budget), by name
ANCHORS: dict[str, str] = {"hecvl": "hecvl", "peskavlp": "peskavlp", "clip_single_level": "clip"}
VARIANTS: dict[str, list[str]] = load_variants()
TABLE_METRICS = tuple(m.name for m in ABLATION)  # the table rows: the headline registry view
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
            baselines[name] = split_metrics(store, frozen_baseline(store), split).to_dict()
        heads = split_metrics(store, load_run(run), split).to_dict()
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
                cells.append(mean_ci(v[0], v[1], decimals=1) if v else "-")
            lines.append(f"| {m} | " + (fixed(base[0]) if base else "-") + " | " + " | ".join(cells) + " |")
    secs = " | ".join(fixed(summary[n]["train_seconds"]["mean"][0], 0) for n in names)
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
