"""Shared stage-2 fixtures: a hand-built cache with known rows, a small structured cache, one trained run."""

from __future__ import annotations

import numpy as np
import pytest

import cache_schema as cs
from hierskp.train import load_config, train
from hierskp.train.synthetic import make_synthetic_cache

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


def write_ramp_cache(path, n_frames: int = 600, dim: int = 8, fingerprint_id: str = "ramp") -> cs.CacheStore:
    """One video whose feature row i is the constant i (exact in float16), 1 frame per second at t = i."""
    store = cs.open_cache(str(path), "a", fingerprint_id=fingerprint_id)
    ops = [(10.0, 20.0, "a"), (20.0, 50.5, "b"), (590.0, 600.0, "c")]
    narr = [15.2, 300.0, 599.9]
    ann = {
        "video_id": "ramp",
        "split": "test",
        "procedure": "p",
        "text": "the ramp video",
        "operations": [{"start": s, "end": e, "label": lab, "text": f"op {lab}"} for s, e, lab in ops],
        "frames": [{"time": t, "text": f"narration at {t}"} for t in narr],
    }
    w = store.begin_video("ramp", {}, ann)
    rows = np.repeat(np.arange(n_frames, dtype=np.float32)[:, None], dim, axis=1)
    w.append_frames(rows, np.arange(n_frames, dtype=np.float64))
    rng = np.random.default_rng(0)
    w.write_texts(rng.normal(size=(1, 6)), rng.normal(size=(3, 6)), rng.normal(size=(3, 6)))
    w.write_annotation_arrays(np.array([[s, e] for s, e, _ in ops]), np.array(narr))
    w.finalize()
    return store


@pytest.fixture(scope="session")
def tiny_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cache") / "tiny.zarr"
    make_synthetic_cache(path, n_videos=20, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 6))
    return str(path)


@pytest.fixture(scope="session")
def trained_run(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "run"
    cfg = load_config(None, FAST + ["max_steps=30"], cache=tiny_cache, out=str(out), progress=False)
    return train(cfg)
