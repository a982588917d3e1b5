"""Flow `evaluate`: held-out metrics of a run (heads vs the frozen-feature baseline) -> report.

    prefect deployment run hierskp-pipeline/local ...   (evaluate runs as its last subflow)

Scoring and the report are `hierskp.eval.report.build.evaluate_runs`; this flow writes RUN/eval.json
(what `retrain` compares) and the Prefect artifacts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE

from cache_schema import CacheError, open_cache
from flows.artifacts import publish
from flows.failures import fails_with_reason
from hierskp.eval.report.build import as_run_eval, evaluate_runs, headline_metrics
from hierskp.ingest.manifest import SPLITS
from hierskp.numfmt import rounded
from hierskp.runs.folder import write_eval_result


@task(name="evaluate-run", cache_policy=NO_CACHE, persist_result=False)
def evaluate_run(cache: str, run: str, out: str, split: str) -> dict[str, Any]:
    """The report (report.md/json, plots, detection JSON) plus RUN/eval.json, which retrain compares."""
    report = evaluate_runs(open_cache(cache, mode="r"), [Path(run)], Path(out), split=split, progress=False)
    write_eval_result(run, as_run_eval(report))
    return report


@flow(name="evaluate", log_prints=True)
@fails_with_reason
def evaluate(cache: str, run: str, out: str | None = None, split: str = "test") -> dict[str, Any]:
    """Score RUN on the SPLIT videos of CACHE; the report goes to OUT (default RUN/report)."""
    if not (Path(run) / "final").is_dir():
        raise ValueError(f"evaluate: {run} is not a finished run folder (no final/ heads)")
    try:
        n = len(open_cache(cache, mode="r").video_ids())
    except CacheError as exc:
        raise ValueError(f"evaluate: invalid parameters: {exc}") from None
    if split not in SPLITS:
        raise ValueError(f"evaluate: split must be one of {', '.join(SPLITS)}, got {split!r}")
    print(f"evaluating {run} on the {split!r} videos of {cache} ({n} complete videos in the cache)")
    folder = out or str(Path(run) / "report")
    report = evaluate_run(cache, run, folder, split)
    metrics = headline_metrics(report)
    publish(
        "table",
        [{"method": name, **rounded(table["summary"])} for name, table in report["table"].items()],
        key="evaluate-metrics",
        description=f"held-out ({split}) metrics",
    )
    report_md = Path(folder) / "report.md"
    publish("markdown", report_md.read_text(), key="evaluate-report", description=str(report_md))
    print(f"report: {report_md}")
    return {"report": str(report_md), "run": run, "split": split, "metrics": metrics}
