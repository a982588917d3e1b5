"""The shared GPU as a Prefect global concurrency limit.

Extraction's encoding (the `extract-videos` subflow), training (`train-heads`) and so the nightly
`retrain` (its extraction and training) each hold one slot of the limit named `gpu`
(`HIERSKP_GPU_LIMIT` to use another name) while they work, so with `prefect gcl create gpu --limit 1`
(deploy/README.md) at most one of them uses the GPU at a time; the others wait their turn.
Without the limit on the server, Prefect logs that it does not exist and nothing waits.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager

from prefect.concurrency.sync import concurrency
from prefect.exceptions import MissingContextError
from prefect.logging import get_run_logger

DEFAULT_LIMIT = "gpu"


def gpu_limit_name() -> str:
    return os.environ.get("HIERSKP_GPU_LIMIT", DEFAULT_LIMIT)


@contextmanager
def gpu_slot() -> Iterator[None]:
    """Hold one slot of the GPU limit for the duration of the block (waits for a free slot); the run's
    log says when the slot was asked for, held and released."""
    try:
        log: logging.Logger | logging.LoggerAdapter = get_run_logger()
    except MissingContextError:
        log = logging.getLogger(__name__)
    name = gpu_limit_name()
    log.info("GPU slot: waiting for concurrency limit %r", name)
    with concurrency(name, occupy=1, strict=False):
        log.info("GPU slot: holding %r", name)
        try:
            yield
        finally:
            log.info("GPU slot: released %r", name)
