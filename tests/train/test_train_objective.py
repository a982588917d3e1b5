"""Each term of the HierSKP objective on a real batch of the tiny cache, and their weighted sum."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

import cache_schema as cs
from hierskp.dataset.batch import collate
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset
from hierskp.losses import info_nce
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train import load_config
from hierskp.train import objective as obj
from hierskp.train.state import item_spec


@pytest.fixture(scope="module")
def setup(tiny_cache):
    cfg = load_config(None, ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2"], cache=tiny_cache, out="o")
    store = cs.open_cache(tiny_cache)
    videos = catalog(store, ["pretrain"])[:4]
    ds = CacheVideoDataset(tiny_cache, videos, item_spec(cfg))
    batch = collate([ds[i] for i in range(len(videos))])
    torch.manual_seed(0)
    model = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), vision_dim=16, text_dim=24)).eval()
    return model, batch, cfg


@torch.no_grad()
def test_frame_and_operation_terms_are_info_nce_with_boosted_same_video_negatives(setup):
    model, b, _ = setup
    f, tn = model.encode_clips(b.windows, b.windows_mask), model.encode_text(b.t_narr)
    t = model.temperature("frame")
    plain = obj.frame_loss(f, tn, b, t, 1.0)
    torch.testing.assert_close(plain, info_nce(f, tn, t, b.narr_key))
    assert obj.frame_loss(f, tn, b, t, 4.0) > plain  # same-video narrations weigh more as negatives
    o, to = model.encode_clips(b.ops, b.ops_mask), model.encode_text(b.t_ops)
    t = model.temperature("operation")
    assert obj.operation_loss(o, to, b, t, 4.0) > obj.operation_loss(o, to, b, t, 1.0)


@torch.no_grad()
def test_operation_margin_is_a_hinge(setup):
    model, b, _ = setup
    o, to = model.encode_clips(b.ops, b.ops_mask), model.encode_text(b.t_ops)
    assert obj.operation_margin_loss(o, to, b, margin=-2.0) == 0  # cosines are in [-1, 1]: always met
    assert obj.operation_margin_loss(o, to, b, margin=2.0) > 1.0


@torch.no_grad()
def test_op_narration_pairs_an_operation_with_its_narrations(setup):
    model, b, _ = setup
    o, tn = model.encode_clips(b.ops, b.ops_mask), model.encode_text(b.t_narr)
    loss = obj.op_narration_loss(o, tn, b, model.temperature("operation"))
    assert loss is not None and torch.isfinite(loss)
    # the operation's own narrations as its video side: the positive is exact, the loss small
    agg = torch.zeros_like(o).index_add_(0, b.narr_op[b.narr_op >= 0], tn[b.narr_op >= 0])
    has = agg.norm(dim=-1) > 0
    aligned = torch.where(has[:, None], F.normalize(agg, dim=-1), o)
    assert obj.op_narration_loss(aligned, tn, b, torch.tensor(0.01)) < loss
    b_out = type(b)(**{**b.__dict__, "narr_op": torch.full_like(b.narr_op, -1)})
    assert obj.op_narration_loss(o, tn, b_out, model.temperature("operation")) == 0  # no such op: a zero term


@torch.no_grad()
def test_video_and_text_sequence_terms_reward_the_matched_pairs(setup):
    model, b, _ = setup
    tv = model.encode_text(b.t_video)
    t = torch.tensor(0.01)
    assert obj.video_loss(tv, tv, b, t, 1.0) < 1e-3
    keep = b.seq_mask.any(dim=1)
    s = model.encode_sequence(b.seq, b.seq_mask)
    matched = obj.text_sequence_loss(s, s, b, keep, t)
    assert matched < obj.text_sequence_loss(s.roll(1, 0), s, b, keep, t)  # rows paired with another video's


@torch.no_grad()
def test_wrong_orders_are_extra_negatives_of_the_video_sequence_term(setup):
    model, b, cfg = setup
    v_emb, _ = model.encode_video(b.video, b.video_clip_mask)
    s = model.encode_sequence(b.seq, b.seq_mask)
    keep = b.seq_mask.any(dim=1)
    hard, mask = obj.order_negatives(model, b, cfg.losses.hard_negatives, torch.Generator().manual_seed(0))
    assert hard is not None and hard.shape[:2] == mask.shape == (b.seq.shape[0], 1 + cfg.losses.hard_negatives.shuffles)
    t = model.temperature("sequence")
    without = obj.video_sequence_loss(v_emb, s, b, keep, t, 1.0, None, None)
    assert obj.video_sequence_loss(v_emb, s, b, keep, t, 1.0, hard, mask) > without
    assert obj.sequence_margin_loss(v_emb, s, b, keep, -2.0, hard, mask) == 0
    assert obj.sequence_margin_loss(v_emb, s, b, keep, 2.0, hard, mask) > 1.0


@torch.no_grad()
def test_dtw_term_prefers_the_true_order(setup):
    model, b, cfg = setup
    _, v_tok = model.encode_video(b.video, b.video_clip_mask)
    loss = obj.dtw_loss(model, v_tok, b, cfg.losses.dtw, torch.Generator().manual_seed(0))
    assert loss is not None and torch.isfinite(loss) and loss > 0
    empty = type(b)(**{**b.__dict__, "seq_mask": torch.zeros_like(b.seq_mask)})
    assert obj.dtw_loss(model, v_tok, empty, cfg.losses.dtw, None) == 0  # no steps: a zero term


def test_weighted_total_and_switches(setup):
    model, b, cfg = setup
    parts = {"a": torch.tensor(2.0), "b": torch.tensor(3.0)}
    assert obj.weighted_total(parts, {"a": 0.5, "b": 2.0}) == 7.0
    with pytest.raises(ValueError, match="no loss term"):
        obj.weighted_total({}, {})
    total, got = obj.compute_losses(model, b, cfg.losses, torch.Generator().manual_seed(0))
    assert {"frame", "operation", "video", "video_sequence", "text_sequence", "dtw"} <= set(got)
    off = cfg.losses.model_copy(update={"dtw": cfg.losses.dtw.model_copy(update={"enabled": False})})
    assert "dtw" not in obj.compute_losses(model, b, off, torch.Generator().manual_seed(0))[1]
    assert math.isfinite(float(total.detach()))
