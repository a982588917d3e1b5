"""Flow `evaluate`: held-out metrics of a run (heads vs the frozen-feature baseline) -> report.

    prefect deployment run hierskp-pipeline/local ...   (evaluate runs as its last subflow)

Scoring is `hierskp.train.evaluate.evaluate_run` (it writes RUN/eval.json); this flow adds
the report files (REPORT/report.md, REPORT/metrics.json) and the Prefect artifacts.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE

from cache_schema import CacheError, open_cache
from hierskp.train.evaluate import evaluate_run, headline

METHODS = ("heads", "frozen_baseline")


def metric_rows(metrics: dict[str, float]) -> list[dict[str, Any]]:
    """[{metric, heads, frozen_baseline}] from headline()'s flat "method/metric" keys."""
    names = sorted({k.split("/", 1)[1] for k in metrics})
    return [{"metric": n, **{m: round(metrics[f"{m}/{n}"], 2) if f"{m}/{n}" in metrics else None for m in METHODS}}
            for n in names]


@task(name="score-run", cache_policy=NO_CACHE, persist_result=False)
def score_run(cache: str, run: str, split: str) -> dict[str, Any]:
    return evaluate_run(open_cache(cache, mode="r"), run, split=split)


@task(name="write-report", cache_policy=NO_CACHE)
def write_report(result: dict[str, Any], run: str, out: str) -> str:
    """Markdown + JSON, each written to a temp name and renamed (a reader never sees half a report)."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    metrics = headline(result)
    rows = metric_rows(metrics)
    lines = [f"# HierSKP evaluation: {Path(run).name}", "",
             f"Split `{result['split']}`, cache fingerprint `{result['cache_fingerprint_id']}`, run `{run}`.",
             "Retrieval R@1 in percent (mean of video->text and text->video); order = step-order retrieval.", "",
             "| metric | heads | frozen baseline |", "|---|---:|---:|"]
    lines += [f"| {r['metric']} | {r['heads']} | {r['frozen_baseline']} |" for r in rows]
    for name, text in (("report.md", "\n".join(lines) + "\n"),
                       ("metrics.json", json.dumps({"run": run, "metrics": metrics, "result": result}, indent=1))):
        tmp = folder / f".{name}.tmp"
        tmp.write_text(text)
        os.replace(tmp, folder / name)
    return str(folder / "report.md")


@flow(name="evaluate", log_prints=True)
def evaluate(cache: str, run: str, out: str | None = None, split: str = "test") -> dict[str, Any]:
    """Score RUN on the SPLIT videos of CACHE; the report goes to OUT (default RUN/report)."""
    if not (Path(run) / "final").is_dir():
        raise ValueError(f"evaluate: {run} is not a finished run folder (no final/ heads)")
    try:
        n = len(open_cache(cache, mode="r").video_ids())
    except CacheError as exc:
        raise ValueError(f"evaluate: invalid parameters: {exc}") from None
    if split not in ("pretrain", "train", "test"):
        raise ValueError(f"evaluate: split must be pretrain, train or test, got {split!r}")
    print(f"evaluating {run} on the {split!r} videos of {cache} ({n} complete videos in the cache)")
    result = score_run(cache, run, split)
    report = write_report(result, run, out or str(Path(run) / "report"))
    metrics = headline(result)
    create_table_artifact(metric_rows(metrics), key="evaluate-metrics", description=f"held-out ({split}) metrics")
    create_markdown_artifact(Path(report).read_text(), key="evaluate-report", description=report)
    print(f"report: {report}")
    return {"report": report, "run": run, "split": split, "metrics": metrics}
