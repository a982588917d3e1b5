"""End-to-end training on a tiny cache: the run folder, falling losses, config and cache guards."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest
import torch

import cache_schema as cs
from hierskp.cli import main
from hierskp.eval.tasks.embed import embed_split
from hierskp.runs.folder import RunCacheMismatch
from hierskp.runs.model import frozen_baseline, load_run
from hierskp.train import load_config, train
from hierskp.train.runlog import read_metrics
from tests.fixtures.synthetic_cache import make_synthetic_cache

from .conftest import FAST


def test_run_folder_and_falling_loss(trained_run):
    run = trained_run
    for name in (
        "config.json",
        "metrics.jsonl",
        "loss_curve.png",
        "final/heads.safetensors",
        "final/config.json",
        "eval.json",
        "checkpoints/step_00000030.safetensors",
        "checkpoints/step_00000030.json",
    ):
        assert (run / name).is_file(), name
    assert len(list((run / "checkpoints").glob("*.json"))) == 3  # keep_checkpoints
    rows = read_metrics(run / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 31))
    for level in ("frame", "operation", "video", "video_sequence", "dtw"):
        assert f"loss/{level}" in rows[0]
    total = np.array([r["loss/total"] for r in rows])
    assert total[-5:].mean() < 0.8 * total[:5].mean()
    ev = json.loads((run / "eval.json").read_text())
    assert set(ev["heads"]) >= {"video", "operation", "frame", "order"} and ev["split"] == "test"
    assert json.loads((run / "config.json").read_text())["cache_fingerprint_id"] == "synthetic-v1"


def test_trained_heads_beat_the_frozen_baseline(trained_run):
    ev = json.loads((trained_run / "eval.json").read_text())
    for level in ("operation", "frame"):
        assert ev["heads"][level]["mean_R@5"] > ev["frozen_baseline"][level]["mean_R@5"], level


def test_embed_split_api(trained_run, tiny_cache):
    store = cs.open_cache(tiny_cache)
    emb = embed_split(store, load_run(trained_run), "test")
    base = embed_split(store, frozen_baseline(store), "test")
    assert emb.method == "heads" and base.method == "frozen_baseline"
    for lvl in ("video", "operation", "frame"):
        d = emb.levels[lvl]
        assert d.video.shape == d.text.shape == (len(d.video_ids), 32)
        assert len(d.texts) == len(d.labels) == len(d.times) == len(base.levels[lvl].video_ids)
        np.testing.assert_allclose(np.linalg.norm(d.video, axis=1), 1.0, rtol=1e-5)
    assert set(emb.levels["video"].video_ids) == {
        v for v in store.video_ids() if store.read_video(v).annotations["split"] == "test"
    }


def test_other_cache_fingerprint_is_refused(trained_run, tmp_path, capsys):
    other = make_synthetic_cache(
        tmp_path / "other.zarr", n_videos=6, vision_dim=16, text_dim=24, fingerprint_id="another-backbone"
    )
    with pytest.raises(RunCacheMismatch, match="another-backbone"):
        embed_split(other, load_run(trained_run), "test")
    assert main(["train", "--cache", other.url, "--out", str(trained_run), "--resume", "--no-progress"]) == 2
    assert "synthetic-v1" in capsys.readouterr().out


def test_existing_run_needs_resume(trained_run, tiny_cache):
    with pytest.raises(FileExistsError, match="--resume"):
        train(load_config(None, FAST, cache=tiny_cache, out=str(trained_run), progress=False))


def test_config_overrides_are_validated(tmp_path):
    yml = tmp_path / "cfg.yaml"
    yml.write_text("epochs: 3\nlosses:\n  dtw: {weight: 0.25}\nmodel: {embed_dim: 64}\n")
    cfg = load_config(yml, ["losses.dtw.weight=0.5"], cache="c", out="o", seed=None)
    assert cfg.epochs == 3 and cfg.losses.dtw.weight == 0.5 and cfg.model.embed_dim == 64 and cfg.seed == 0
    cfg = load_config(
        None, ["losses.dtw.enabled=false", "losses.contrastive.levels=[video, frame]", "seed=7"], cache="c", out="o"
    )
    assert not cfg.losses.dtw.enabled and cfg.losses.contrastive.levels == ["video", "frame"] and cfg.seed == 7
    with pytest.raises(ValueError, match="no_such"):
        load_config(None, ["losses.no_such=1"], cache="c", out="o")
    with pytest.raises(ValueError):
        load_config(None, ["losses.contrastive.levels=[pixel]"], cache="c", out="o")


def test_no_pickle_no_video_no_backbone_in_a_run(tiny_cache, tmp_path, monkeypatch):
    def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
        raise AssertionError("pickle/torch.save used")

    import hierskp.backbones
    import hierskp.video

    monkeypatch.setattr(torch, "save", refuse)
    monkeypatch.setattr(pickle, "dump", refuse)
    # stage 2 never decodes a video nor runs a backbone
    monkeypatch.setattr(hierskp.backbones, "load_vision_encoder", refuse)
    monkeypatch.setattr(hierskp.backbones, "load_text_encoder", refuse)
    monkeypatch.setattr(hierskp.video, "iter_frame_batches", refuse)
    cfg = load_config(
        None,
        FAST + ["max_steps=6", "evaluate=false", "losses.dtw.enabled=false", "losses.contrastive.levels=[operation]"],
        cache=tiny_cache,
        out=str(tmp_path / "r"),
        progress=False,
    )
    run = train(cfg)
    assert (run / "final/heads.safetensors").is_file() and not (run / "eval.json").exists()
