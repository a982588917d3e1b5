"""Issue 20, class 7: `--resume` with another cache or other settings is refused naming the difference;
a safe change is applied and said."""

from __future__ import annotations

import logging
import shutil

import pytest

from hierskp.train import load_config, train
from hierskp.train.resume_check import ResumeMismatch
from tests.fixtures.synthetic_cache import make_synthetic_cache


def _cfg(cache, out, *extra):
    return load_config(None, [*extra], cache=str(cache), out=str(out), progress=False)


def test_resume_refuses_another_cache_and_changed_settings(finished_run, tiny_cache, tmp_path, caplog):
    other = make_synthetic_cache(tmp_path / "b.zarr", n_videos=3, vision_dim=16, text_dim=24, op_frames=(3, 6))
    with pytest.raises(ResumeMismatch, match=r"--resume with --cache .*b\.zarr, but the run was trained on"):
        train(_cfg(other.url, finished_run), resume=True)
    with pytest.raises(
        ResumeMismatch, match=r"losses\.dtw\.enabled: run has True, given False; optim\.lr: run has 0\.001, given 0\.5"
    ):
        train(_cfg(tiny_cache, finished_run, "optim.lr=0.5", "losses.dtw.enabled=false"), resume=True)
    moved = shutil.copytree(tiny_cache, tmp_path / "moved.zarr")  # the same cache elsewhere: accepted
    with caplog.at_level(logging.WARNING):
        train(_cfg(moved, finished_run, "log_every=3"), resume=True)
    said = caplog.text
    assert "applied log_every=3" in said and "now at" in said
    train(_cfg(tiny_cache, finished_run), resume=True)  # no options: never trips on the run's FAST settings
