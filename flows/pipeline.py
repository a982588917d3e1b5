"""Flow `hierskp-pipeline`: extract -> train -> build-index -> evaluate, each a subflow.

    prefect deployment run hierskp-pipeline/local --param params='{"manifest": "M", "cache": "C"}' --watch

Every stage is idempotent on its own terms (extraction skips up-to-date videos through the
cache markers, indices are fingerprinted), so rerunning a failed pipeline redoes only what is
missing, except training, which always writes a new run folder under RUNS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from prefect import flow

from flows.artifacts import publish
from flows.build_index import build_index
from flows.evaluate import evaluate
from flows.extract_features import extract_features
from flows.failures import fails_with_reason
from flows.params import PipelineParams
from flows.train import train_hierskp
from hierskp.runs.promotion import RunRegistry


@flow(name="hierskp-pipeline", log_prints=True)
@fails_with_reason
def hierskp_pipeline(params: PipelineParams, report: str | None = None) -> dict[str, Any]:
    """Returns {extract, run, index, evaluate}; the new run is NOT promoted (that is `retrain`'s job).
    `report`: the report folder (default: RUN/report)."""
    extracted = extract_features(**params.extract_kwargs())
    registry = RunRegistry(params.runs)
    run_dir = train_hierskp(**params.train_kwargs(str(registry.run_dir(registry.new_run_id()))))
    cache = params.cache
    indices = build_index(cache=cache, run=run_dir)
    evaluated = evaluate(cache=cache, run=run_dir, out=report or str(Path(run_dir) / "report"))
    index_list = ", ".join(f"{i['level']} ({i['n']} items)" for i in indices)
    publish(
        "markdown",
        f"# hierskp-pipeline\n\n* extract: {extracted['done']} done, {extracted['skipped']} skipped\n"
        f"* run: `{run_dir}`\n* indices: {index_list}\n"
        f"* report: `{evaluated['report']}`",
        key="pipeline-summary",
        description="pipeline run",
    )
    return {
        "extract": {k: v for k, v in extracted.items() if k != "outcomes"},
        "run": run_dir,
        "index": indices,
        "evaluate": evaluated,
    }
