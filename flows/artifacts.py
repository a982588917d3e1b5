"""Artifacts on the run the user launched.

Prefect attaches an artifact to the flow run that creates it, so artifacts created inside a
subflow (`extract-videos` under `extract-features`, every stage under `hierskp-pipeline`) would
not show on the run the user started. `publish` and `Progress` put them on the launched (root)
run instead, so the run page the user opened holds every stage's outcome, summary and progress.
"""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from prefect import get_client
from prefect.artifacts import MarkdownArtifact, ProgressArtifact, TableArtifact, update_progress_artifact
from prefect.context import FlowRunContext


def launched_run_id() -> UUID | None:
    """The root of the current flow run's subflow chain (itself when it is not a subflow)."""
    ctx = FlowRunContext.get()
    if ctx is None or ctx.flow_run is None:
        return None
    run = ctx.flow_run
    if not run.parent_task_run_id:
        return run.id
    with get_client(sync_client=True) as client:
        while run.parent_task_run_id:
            parent_task = client.read_task_run(run.parent_task_run_id)
            run = client.read_flow_run(parent_task.flow_run_id)
    return run.id


def publish(kind: Literal["markdown", "table"], data: Any, key: str, description: str | None = None) -> UUID | None:
    """A markdown (str) or table (list of row dicts) artifact on the launched run."""
    run_id = launched_run_id()
    if kind == "markdown":
        artifact = MarkdownArtifact(markdown=data, key=key, description=description, flow_run_id=run_id)
    else:
        artifact = TableArtifact(table=data, key=key, description=description, flow_run_id=run_id)
    return artifact.create().id


class Progress:
    """A progress bar (0-100) on the launched run, updated in place."""

    def __init__(self, key: str, description: str | None = None):
        run_id = launched_run_id()
        self.id = ProgressArtifact(progress=0.0, key=key, description=description, flow_run_id=run_id).create().id

    def update(self, percent: float) -> None:
        update_progress_artifact(self.id, min(100.0, max(0.0, float(percent))))
