"""Training refuses bad input: damaged caches, non-finite losses, bad configs, bad checkpoints, two writers."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
import zarr
from pydantic import ValidationError
from safetensors.torch import load_file, save_file

import cache_schema as cs
from cache_schema import layout as L
from hierskp.runs.lock import RunFolderBusy, run_lock
from hierskp.train import load_config, train
from hierskp.train.checkpoint import list_checkpoints
from hierskp.train.guards import NonFiniteError
from tests.fixtures.synthetic_cache import write_ramp_cache

from .conftest import FAST


@pytest.fixture()
def cache(tiny_cache, tmp_path):
    dst = tmp_path / "cache.zarr"
    shutil.copytree(tiny_cache, dst)
    return dst


def _cfg(cache, out, *extra: str):
    return load_config(
        None, FAST + ["max_steps=6", "evaluate=false", *extra], cache=str(cache), out=str(out), progress=False
    )


def _nothing_written(out) -> bool:
    return not (out / "config.json").exists() and not (out / "final").exists()


def _video(cache, i: int = 2) -> zarr.Group:
    vid = cs.open_cache(str(cache)).video_ids()[i]
    return zarr.open_group(str(cache / "videos" / vid), mode="a")


def test_nan_features_are_refused_before_anything_is_written(cache, tmp_path):
    _video(cache)[L.FEATURES][3, 0] = np.nan
    with pytest.raises(cs.CorruptVideoError, match=r"values checksum"):
        train(_cfg(cache, tmp_path / "run"))
    assert _nothing_written(tmp_path / "run")


def test_nan_loss_stops_naming_step_and_term(cache, tmp_path):
    g = _video(cache)
    g[L.FEATURES][:] = np.nan  # checked cheaply only (shapes, chunks): the loss guard catches it
    with pytest.raises(NonFiniteError, match=r"^step 1: non-finite loss \(loss term '[a-z_/]+' = nan"):
        train(_cfg(cache, tmp_path / "run", "verify_cache=cheap", "data.batch_videos=16"))
    assert not (tmp_path / "run" / "final").exists()


def test_resized_timestamps_and_foreign_fingerprint_are_refused(cache, tmp_path):
    _video(cache, 1)[L.TIMESTAMPS].resize((2,))
    g = _video(cache, 3)
    g.attrs[L.PROVENANCE] = {**g.attrs[L.PROVENANCE], "fingerprint_id": "another-backbone"}
    with pytest.raises(cs.CorruptVideoError) as info:
        train(_cfg(cache, tmp_path / "run", "verify_cache=cheap"))
    assert "frames/timestamps: shape [2]" in str(info.value) and "'another-backbone'" in str(info.value)
    assert _nothing_written(tmp_path / "run")


@pytest.mark.parametrize(
    "override, field",
    [
        ("optim.lr=inf", "optim.lr"),
        ("optim.lr=.nan", "optim.lr"),
        ("optim.lr=0", "optim.lr"),
        ("seed=-1", "seed"),
        ("model.hidden_dim=1000000", "model.hidden_dim"),
        ("model.heads=3", "divisible"),
        ("data.batch_videos=100000", "data.batch_videos"),
    ],
)
def test_config_ranges_are_checked(cache, tmp_path, override, field):
    with pytest.raises(ValidationError, match=field.replace(".", r"\.")):
        _cfg(cache, tmp_path / "run", override)
    assert not (tmp_path / "run").exists()


def test_resume_falls_back_to_the_last_good_checkpoint(cache, tmp_path):
    out = tmp_path / "run"
    train(_cfg(cache, out, "checkpoint_every=2", "keep_checkpoints=3"))
    ckpts = list_checkpoints(out / "checkpoints")
    assert [c.stem for c in ckpts] == ["step_00000002", "step_00000004", "step_00000006"]
    # newest: NaN weights (re-saved, checksum stale); the one before: NaN with a matching checksum
    for ckpt, fix_sha in ((ckpts[2], False), (ckpts[1], True)):
        tensors = load_file(str(ckpt.with_suffix(".safetensors")))
        name = next(k for k in tensors if k.startswith("model/"))
        tensors[name] = torch.full_like(tensors[name], float("nan"))
        save_file(tensors, str(ckpt.with_suffix(".safetensors")))
        if fix_sha:
            from hierskp.train.guards import file_sha256

            meta = json.loads(ckpt.read_text())
            ckpt.write_text(json.dumps({**meta, "safetensors_sha256": file_sha256(ckpt.with_suffix(".safetensors"))}))
    shutil.rmtree(out / "final")
    train(_cfg(cache, out), resume=True)  # resumes from step 2 and still ends at step 6
    steps = [json.loads(line)["step"] for line in (out / "metrics.jsonl").read_text().splitlines()]
    assert steps == [1, 2, 3, 4, 5, 6]
    assert (out / "final").is_dir()
    for ckpt in list_checkpoints(out / "checkpoints"):
        ckpt.with_suffix(".safetensors").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="no usable checkpoint"):
        train(_cfg(cache, out), resume=True)


def test_one_writer_per_run_folder(cache, tmp_path):
    out = tmp_path / "run"
    train(_cfg(cache, out, "max_steps=2"))
    with run_lock(out, fresh=False):  # another process holds the folder (a second open file: flock conflicts)
        with pytest.raises(RunFolderBusy, match="another training process"):
            train(_cfg(cache, out, "max_steps=2"), resume=True)
    # released: resumes normally (with the run's own settings: another max_steps is refused, issue 20)
    train(_cfg(cache, out, "max_steps=2"), resume=True)


def test_failed_start_leaves_nothing_that_blocks_a_corrected_rerun(cache, tmp_path):
    one = write_ramp_cache(tmp_path / "one.zarr")  # a single video: training cannot start on it
    out = tmp_path / "run"
    with pytest.raises(ValueError, match="need >= 2"):
        train(load_config(None, FAST + ["max_steps=2", "data.train_splits=[test]"], cache=one.url, out=str(out)))
    assert not (out / "config.json").exists() and not (out / "metrics.jsonl").exists()
    train(_cfg(cache, out, "max_steps=2"))  # the corrected command, same --out
    assert (out / "final").is_dir()
