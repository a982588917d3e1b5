"""The shared GPU: flows that need it hold the global concurrency limit `gpu` (flows/gpu.py), so two
launched at once run one after the other, on a real Prefect server with the limit created as
deploy/README.md does."""

from __future__ import annotations

import contextvars
from concurrent.futures import ThreadPoolExecutor

import pytest

from .conftest import PREFECT, REPO, run

FAST = ["model.hidden_dim=32", "model.embed_dim=32", "model.heads=2", "data.batch_videos=4"]


def _written(run_dir) -> tuple[float, float]:  # noqa: ANN001
    return (run_dir / "config.json").stat().st_mtime, (run_dir / "final" / "heads.safetensors").stat().st_mtime


def _slot_times(flow_run_id) -> tuple[float, float]:  # noqa: ANN001
    """(held, released) timestamps of the GPU slot, from the run's logs on the server."""
    from prefect import get_client
    from prefect.client.schemas.filters import LogFilter, LogFilterFlowRunId
    from prefect.logging.handlers import APILogWorker

    APILogWorker.instance().drain()
    with get_client(sync_client=True) as client:
        logs = client.read_logs(log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[flow_run_id])))
    times = {log.message.split()[2]: log.timestamp.timestamp() for log in logs if log.message.startswith("GPU slot:")}
    return times["holding"], times["released"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_two_trainings_share_the_gpu_one_after_the_other(prefect_api, tiny_cache, tmp_path):
    from prefect import get_client

    from flows.train import train_hierskp

    readme = (REPO / "deploy" / "README.md").read_text().splitlines()
    create = next(line for line in readme if line.startswith("prefect gcl create gpu"))  # as users copy it
    run([*PREFECT, *create.split()[1:]], prefect_api.env())
    try:
        with ThreadPoolExecutor(2) as pool:
            futures = [
                pool.submit(
                    contextvars.copy_context().run,  # this session's server settings, in each thread
                    train_hierskp,
                    cache=tiny_cache,
                    out=str(tmp_path / f"run{i}"),
                    overrides=FAST,
                    max_steps=30,
                    evaluate=False,
                    return_state=True,
                )
                for i in range(2)
            ]
            states = [f.result() for f in futures]
        assert all(s.is_completed() for s in states)
        # each training's span on disk: its config is written first, its final heads last
        spans = sorted(_written(tmp_path / f"run{i}") for i in range(2))
        assert spans[0][1] <= spans[1][0], f"the two trainings ran at once: {spans}"
        # the task runs of `train-heads` are children of each flow run; the slot is logged on them
        with get_client(sync_client=True) as client:
            from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterId

            tasks = client.read_task_runs(
                flow_run_filter=FlowRunFilter(id=FlowRunFilterId(any_=[s.state_details.flow_run_id for s in states]))
            )
        first, second = sorted(_slot_times(t.flow_run_id) for t in tasks if t.name.startswith("train-heads"))
        assert first[1] <= second[0], f"the two trainings held the GPU at once: {first} {second}"
        limit = client_limit()
        assert limit.limit == 1 and limit.active_slots == 0  # both released
    finally:
        with get_client(sync_client=True) as client:
            client.delete_global_concurrency_limit_by_name("gpu")


def client_limit():  # type: ignore[no-untyped-def]
    from prefect import get_client

    with get_client(sync_client=True) as client:
        return client.read_global_concurrency_limit_by_name("gpu")
