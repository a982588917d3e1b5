"""`make demo`: the whole HierSKP DAG on the embedded synthetic corpus, on this machine.

    python -m flows.demo --out demo_out [--videos 112] [--seed 0] [--anchors]

1. writes the demo corpus (`hierskp synth --preset demo`) to OUT/corpus (kept across reruns);
2. runs the `hierskp-pipeline` flow locally: extract -> train -> build-index -> evaluate.
   With no PREFECT_API_URL set, Prefect starts a temporary local server for the run
   (ephemeral mode; the first run on a machine spends ~20 s creating its database);
3. prints the report's path and the headline metrics, trained heads vs frozen features;
4. with --anchors (`make demo ANCHORS=1`): trains the HecVL-, PeskaVLP- and CLIP-style configurations
   (packaged hierskp/configs/*.yaml) on the same cache with the same seed and step budget, and prints a short form of the
   one-table comparison (`hierskp evaluate` of HierSKP and the anchors, OUT/report_anchors/report.md).
Rerunning skips the corpus and every already-extracted video, and trains a new run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from pathlib import Path

from hierskp.settings import apply_offline_defaults

apply_offline_defaults()  # before prefect/transformers read them
# the temporary server's first start creates its database (~20 s on 2 idle cores), and
# Prefect gives up after 20 s by default: a fresh, busy machine needs more
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")


def _stage(text: str) -> None:
    print(f"\n=== {text}", flush=True)


def make_corpus(out: Path, videos: int, seed: int) -> Path:
    manifest = out / "corpus" / "manifest.jsonl"
    if manifest.exists():  # written last by the generator: its presence means a complete corpus
        print(f"reusing {manifest}")
        return manifest
    from hierskp.synth import generate_corpus

    return Path(
        generate_corpus(
            out / "corpus",
            n_videos=videos,
            seed=seed,
            config="demo",
            workers=min(2, os.cpu_count() or 1),
            progress=True,
        )
    )


def metrics_table(metrics: dict[str, float]) -> str:
    """The headline registry's demo rows (`hierskp.eval.report.headline.DEMO`), heads vs frozen."""
    from hierskp.eval.report.headline import DEMO

    rows = [f"{'metric':30s} {'heads':>8s} {'frozen':>8s}"]
    for name in (m.name for m in DEMO):
        heads, frozen = metrics.get(f"heads/{name}"), metrics.get(f"frozen_baseline/{name}")
        if heads is not None or frozen is not None:
            rows.append(
                f"{name:30s} {heads if heads is not None else float('nan'):8.1f} "
                f"{frozen if frozen is not None else float('nan'):8.1f}"
            )
    return "\n".join(rows)


ANCHOR_NAMES = {"hecvl": "HecVL-style", "peskavlp": "PeskaVLP-style", "clip_single_level": "CLIP-style"}
SHORT = {  # headline metric (hierskp.eval.report.headline) -> short label
    "video/R@1": "video R@1",
    "twin_clip_dtw/acc": "twin",
    "time_shuffled_clip_dtw/acc": "shuffled",
    "mean_video_twin_clip_dtw/acc": "mean-video",
    "ZS frame Acc": "ZS frame acc",
    "LP frame Acc": "LP frame acc",
    "TAL ZS avg mAP": "ZS TAL mAP",
}


def _train_seconds(run_dir: Path) -> float:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return float(json.loads(lines[-1])["seconds"])


def compare_anchors(out: Path, cache: str, run: str, seed: int, max_steps: int | None) -> str:
    """Train each anchor configuration (reused when already finished), evaluate them beside the run."""
    from cache_schema import open_cache
    from flows.train import train_hierskp
    from hierskp.eval.report.build import evaluate_runs
    from hierskp.eval.report.headline import select
    from hierskp.experiments.ablation import ANCHORS
    from hierskp.runs.folder import is_finished

    runs = [Path(run)]
    for key, file in ANCHORS.items():
        folder = out / "anchors" / f"{key}_seed{seed}"
        if not is_finished(folder):
            shutil.rmtree(folder, ignore_errors=True)
            train_hierskp(
                cache=cache,
                out=str(folder),
                config=file,  # a packaged configuration, by name
                seed=seed,
                max_steps=max_steps,
                evaluate=False,
            )
        runs.append(folder)
    names = ["HierSKP", *ANCHOR_NAMES.values()]
    report = evaluate_runs(open_cache(cache, "r"), runs, out / "report_anchors", names=names, progress=True)
    base = _train_seconds(runs[0])
    columns = [m.column for m in select(*SHORT)]  # the report's summary columns of those metrics
    rows = [f"{'method':16s} " + " ".join(f"{c:>12s}" for c in SHORT.values()) + f" {'train (x HierSKP)':>18s}"]
    for name, folder in zip(["frozen baseline", *names], [None, *runs]):
        row = report["table"][name]["summary"]
        cost = "-" if folder is None else f"{_train_seconds(folder) / base:.2f}"
        cells = " ".join(f"{'-' if row[c] is None else f'{row[c]:.1f}':>12s}" for c in columns)
        rows.append(f"{name[:16]:16s} {cells} {cost:>18s}")
    return (
        "\n".join(rows) + f"\n(one seed; 3 seeds with intervals: README) report: {out / 'report_anchors' / 'report.md'}"
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description="Run the HierSKP pipeline on the embedded synthetic corpus.")
    ap.add_argument("--out", required=True, help="output folder (corpus, cache.zarr, runs/, report/)")
    ap.add_argument(
        "--videos", type=int, default=112, help="corpus size (default 112: 45 test videos, 22 of twin procedures)"
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-steps", type=int, default=None, help="cap training steps (default: the config's epochs)")
    ap.add_argument(
        "--anchors",
        action="store_true",
        help="also train the HecVL/PeskaVLP/CLIP-style configurations and print the comparison (default: off)",
    )
    args = ap.parse_args(argv)
    if args.videos < 6:
        ap.error("--videos must be >= 6 (train and test splits need a few videos each)")
    out = Path(args.out).resolve()
    t0 = time.perf_counter()
    _stage(f"1/2 synthetic corpus: {args.videos} videos (demo preset) in {out / 'corpus'}")
    manifest = make_corpus(out, args.videos, args.seed)
    _stage("2/2 hierskp-pipeline: extract -> train -> build-index -> evaluate (Prefect, local)")
    from flows.params import PipelineParams
    from flows.pipeline import hierskp_pipeline

    params = PipelineParams(
        manifest=str(manifest),
        cache=str(out / "cache.zarr"),
        runs=str(out / "runs"),
        max_steps=args.max_steps,
        seed=args.seed,
    )
    result = hierskp_pipeline(params, report=str(out / "report"))
    ev = result["evaluate"]
    _stage(f"done in {time.perf_counter() - t0:.0f}s")
    print(f"extracted: {result['extract']['done']} new, {result['extract']['skipped']} already cached")
    print(f"run:       {result['run']}")
    print(f"report:    {ev['report']}")
    print(f"\nheld-out ({ev['split']}) metrics, percent (R@1, step order, recognition accuracy, TAL average mAP):")
    print(metrics_table(ev["metrics"]))
    print(
        "twin: own step order vs a twin procedure's order of the same steps (chance 50); time_shuffled: original "
        "vs block-shuffled clips (chance 50); mean_video_twin: the twin test with the mean video, must stay near "
        "50; order_*: wrong orders of the query's own steps (passable from text alone). n and 95% intervals: "
        "report.md"
    )
    if args.anchors:
        _stage("anchors: HecVL-, PeskaVLP-, CLIP-style configurations on the same cache, seed and budget")
        print(compare_anchors(out, str(out / "cache.zarr"), result["run"], args.seed, args.max_steps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
