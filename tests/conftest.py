"""Shared fixtures. Everything runs offline: no hub downloads, no analytics."""

from __future__ import annotations

import signal
import sys
from pathlib import Path

import pytest

# shared fixtures live in tests/fixtures (`from tests.fixtures.synthetic_cache import ...`)
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hierskp.settings import apply_offline_defaults  # noqa: E402 - light: os only

apply_offline_defaults()

# A test run started as a background job without job control (`bash .ci/run &`, `nohup`) inherits SIGINT as
# *ignored*, and an ignored signal stays ignored across exec: every Ctrl-C a test sends to a `hierskp train`, a
# Prefect worker or a server was then dropped (reproduced: a train so started lost its SIGINT and
# /proc showed SIGINT ignored; given the default, 8 of 8 exited 130. Prefect's worker re-sends its first
# SIGINT to itself under the inherited ignore, so it needed the second, SIGKILL). A handled SIGINT is reset to
# the default in every child, as a terminal's foreground job has it, whoever started the run.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


def pytest_collection_modifyitems(config, items):
    """Tests marked `gpu` need CUDA: skipped on machines without one (CI has none)."""
    import pytest
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    """20 synthetic videos (vision 16, text 24), shared by the stage-2 and evaluation tests."""
    from tests.fixtures.synthetic_cache import make_synthetic_cache

    path = tmp_path_factory.mktemp("cache") / "tiny.zarr"
    make_synthetic_cache(path, n_videos=20, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 6))
    return str(path)
