"""Twin-order levers: twin orders mined from the training annotations, used as text negatives and in
the label-aware clip-DTW hinge; both off by default (the objective unchanged)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

import cache_schema as cs
from hierskp.dataset.batch import collate, twin_table
from hierskp.dataset.catalog import catalog, text_key
from hierskp.dataset.items import CacheVideoDataset
from hierskp.losses import gather_steps
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train import load_config, train
from hierskp.train.objective import compute_losses, order_negatives
from hierskp.train.order_terms import twin_dtw_loss
from hierskp.train.state import item_spec

SMALL = ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2"]


@pytest.fixture(scope="module")
def setup(tiny_cache):
    cfg = load_config(None, SMALL, cache=tiny_cache, out="o")
    videos = catalog(cs.open_cache(tiny_cache), ["pretrain", "train"])
    twins = twin_table(videos)
    ds = CacheVideoDataset(tiny_cache, videos[:6], item_spec(cfg))
    batch = collate([ds[i] for i in range(6)], twins=twins)
    torch.manual_seed(0)
    model = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), vision_dim=16, text_dim=24))
    return model, batch, cfg, videos


def test_twin_orders_are_mined_from_the_training_annotations_and_reorder_the_steps(setup):
    _, b, _, videos = setup
    assert b.seq_twin is not None and b.seq_twin_mask is not None and int(b.seq_twin_mask.sum()) >= 4
    orders = {(e.procedure, tuple(text_key(op) for op in e.op_labels)) for e in videos}
    other = {"alpha": "beta", "beta": "alpha", "gamma": "delta", "delta": "gamma"}
    for row, entry in enumerate(videos[:6]):
        n, own = len(entry.op_labels), b.seq_label_keys[row, : len(entry.op_labels)].tolist()
        got = gather_steps(b.seq_label_keys, b.seq_twin)[row, :n].tolist()
        if bool(b.seq_twin_mask[row]):  # the same steps in an order the twin procedure's videos show
            assert sorted(got) == sorted(own) and got != own and (other[entry.procedure], tuple(got)) in orders
        else:
            assert got == own
    # a procedure with no twin in the training annotations gets none
    assert twin_table([e for e in videos if e.procedure == "alpha"]) == {}


def test_twin_dtw_hinge_trains_the_clip_path_and_is_zero_without_twins(setup):
    model, b, cfg, _ = setup
    _, valid, clips = model.video_inputs(b.video, b.video_clip_mask)
    tw = cfg.losses.twin_order
    loss = twin_dtw_loss(model, clips, b, valid, tw, cfg.losses.dtw)
    assert torch.isfinite(loss) and float(loss.detach()) > 0
    model.zero_grad()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.text_proj.parameters())
    import dataclasses

    none = dataclasses.replace(b, seq_twin_mask=torch.zeros_like(b.seq_twin_mask))
    with torch.no_grad():
        assert float(twin_dtw_loss(model, clips, none, valid, tw, cfg.losses.dtw)) == 0.0


def test_each_lever_is_switchable_and_off_by_default(setup):
    model, b, cfg, _ = setup
    hn = cfg.losses.hard_negatives
    model.eval()  # no dropout: the shared negatives must come out the same
    plain, _ = order_negatives(model, b, hn, torch.Generator().manual_seed(0))
    with_twin, mask = order_negatives(model, b, hn, torch.Generator().manual_seed(0), twin=True)
    assert with_twin.shape[1] == plain.shape[1] + 1 and torch.equal(mask[:, -1], b.seq_twin_mask)
    assert torch.allclose(with_twin[:, :-1], plain)
    model.train()
    _, parts = compute_losses(model, b, cfg.losses, torch.Generator().manual_seed(0))
    assert "twin_dtw" not in parts
    on = load_config(
        None, [*SMALL, "losses.twin_order.negatives=true", "losses.twin_order.dtw_hinge=true"], cache="c", out="o"
    )
    _, parts_on = compute_losses(model, b, on.losses, torch.Generator().manual_seed(0))
    assert "twin_dtw" in parts_on and float(parts_on["video_sequence"]) != float(parts["video_sequence"])


def test_training_with_both_levers_logs_the_twin_term(tiny_cache, tmp_path: Path):
    over = [*SMALL, "max_steps=4", "data.batch_videos=4", "losses.twin_order.negatives=true"]
    over.append("losses.twin_order.dtw_hinge=true")
    run = train(load_config(None, over, cache=tiny_cache, out=str(tmp_path / "run"), progress=False, evaluate=False))
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert any("loss/twin_dtw" in r for r in rows)
