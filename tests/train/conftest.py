"""Shared stage-2 fixtures: the fast training overrides and one trained (and evaluated) run on `tiny_cache`."""

from __future__ import annotations

import pytest

from hierskp.experiments.train_and_evaluate import train_and_evaluate
from hierskp.train import load_config

FAST = [
    "model.hidden_dim=32",
    "model.embed_dim=32",
    "model.heads=2",
    "model.max_video_len=16",
    "model.max_clip_len=8",
    "data.batch_videos=4",
    "optim.warmup_steps=3",
    "checkpoint_every=5",
]


@pytest.fixture(scope="session")
def trained_run(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    cfg = load_config(None, FAST + ["max_steps=30"], cache=tiny_cache, out=str(out), progress=False)
    return train_and_evaluate(cfg)
