"""Where mapped extraction tasks run: threads in the flow process, or a Dask cluster.

The task runner's width is the concurrency limit of ONE flow run, and the right one for
extraction: encoders are loaded once per process and shared by its threads (torch and the
decoders release the GIL), so `max_workers` threads bound both memory and CPU/GPU contention.
A limit across flow runs (e.g. one GPU shared by a scheduled and a manual run) is a
server-side tag concurrency limit on the tag `EXTRACT_TAG` that the tasks carry; it needs
a Prefect server, so it is opt-in: `prefect concurrency-limit create hierskp-extract 2`.
"""

from __future__ import annotations

from typing import Any

from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from pydantic import BaseModel, ConfigDict, Field, model_validator

EXTRACT_TAG = "hierskp-extract"
LOCAL_DASK = "local"


class RunnerOptions(BaseModel):
    """`dask_address`: None = threads in this process; "local" = a temporary LocalCluster
    (`dask_cluster_kwargs` passed to it); anything else = a running scheduler, e.g.
    "tcp://10.0.0.5:8786", whose workers must see the manifest's videos and the cache URL."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_workers: int = Field(
        default=2, ge=1, le=256, description="videos extracted at once (threads, or LocalCluster worker processes)"
    )
    dask_address: str | None = Field(
        default=None,
        min_length=1,
        description="unset: threads in the flow process; 'local': a temporary Dask LocalCluster; "
        "'tcp://host:8786': a running Dask scheduler",
    )
    dask_cluster_kwargs: dict[str, Any] | None = Field(
        default=None, description="extra LocalCluster arguments (only with dask_address='local')"
    )

    @model_validator(mode="after")
    def _kwargs_only_for_local(self) -> RunnerOptions:
        if self.dask_cluster_kwargs and self.dask_address != LOCAL_DASK:
            raise ValueError(f"dask_cluster_kwargs only applies with dask_address={LOCAL_DASK!r}")
        return self

    def describe(self) -> str:
        if self.dask_address is None:
            return f"threads (max_workers={self.max_workers})"
        if self.dask_address == LOCAL_DASK:
            return f"Dask LocalCluster {self.cluster_kwargs()}"
        return f"Dask cluster at {self.dask_address}"

    def cluster_kwargs(self) -> dict[str, Any]:
        # one thread per worker process: each process holds one copy of the encoders
        # the dashboard binds to loopback unless asked otherwise
        return {
            "n_workers": self.max_workers,
            "threads_per_worker": 1,
            "dashboard_address": "127.0.0.1:8787",
            **(self.dask_cluster_kwargs or {}),
        }

    def build(self, api_url: str | None = None) -> TaskRunner:
        """`api_url`: the Prefect API the flow talks to. LocalCluster worker processes get it
        explicitly: in ephemeral mode (no PREFECT_API_URL) each would otherwise start its own
        temporary server and record its task runs there. Remote Dask workers need
        PREFECT_API_URL in their own environment."""
        if self.dask_address is None:
            return ThreadPoolTaskRunner(max_workers=self.max_workers)
        from prefect_dask import DaskTaskRunner  # imported only when asked for

        if self.dask_address == LOCAL_DASK:
            kwargs = self.cluster_kwargs()
            if api_url and kwargs.get("processes", True):
                kwargs["env"] = {"PREFECT_API_URL": api_url, **kwargs.get("env", {})}
            return DaskTaskRunner(cluster_kwargs=kwargs)
        return DaskTaskRunner(address=self.dask_address)
