"""Video-side order terms: wrong clip orders of the video itself, scored against its true steps."""

from __future__ import annotations

import dataclasses

import pytest
import torch

import cache_schema as cs
from hierskp.dataset.batch import collate
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train import load_config
from hierskp.train.objective import compute_losses
from hierskp.train.order_terms import block_shuffle_orders, video_order_loss
from hierskp.train.state import item_spec


def test_block_shuffles_permute_only_the_valid_prefix_and_never_keep_the_order():
    lengths = torch.tensor([8, 5, 2, 13])
    perms = block_shuffle_orders(
        lengths, blocks=4, shuffles=6, reverse=True, generator=torch.Generator().manual_seed(0), max_len=16
    )
    assert perms.shape == (7, 4, 16)
    assert perms[0, 0, :8].tolist() == list(range(7, -1, -1))  # the reversal first
    for k in range(7):
        for b, n in enumerate(lengths.tolist()):
            p = perms[k, b].tolist()
            assert sorted(p[:n]) == list(range(n)) and p[n:] == list(range(n, 16))
            assert p[:n] != list(range(n))
    # a block shuffle keeps each block contiguous: 13 clips in 4 blocks have at most 3 breaks
    # (or, when the drawn block order was the identity, the reversal)
    for k in range(1, 7):
        p = perms[k, 3, :13]
        assert int(((p[1:] - p[:-1]) != 1).sum()) <= 3 or p.tolist() == list(range(12, -1, -1))


@pytest.fixture(scope="module")
def setup(tiny_cache):
    cfg = load_config(None, ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2"], cache=tiny_cache, out="o")
    store = cs.open_cache(tiny_cache)
    videos = catalog(store, ["pretrain"])[:4]
    ds = CacheVideoDataset(tiny_cache, videos, item_spec(cfg))
    batch = collate([ds[i] for i in range(len(videos))])
    torch.manual_seed(0)
    model = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), vision_dim=16, text_dim=24))
    return model, batch, cfg


def test_video_order_loss_trains_the_video_aggregator_and_skips_videos_without_steps(setup):
    model, b, cfg = setup
    seq, valid, _ = model.video_inputs(b.video, b.video_clip_mask)
    v_emb, v_tok = model.aggregate_video(seq, valid)
    s = model.encode_sequence(b.seq, b.seq_mask)
    vo, dtw = cfg.losses.video_order, cfg.losses.dtw
    loss = video_order_loss(model, b, seq, valid, v_emb, v_tok, s, vo, dtw, torch.Generator().manual_seed(0))
    assert torch.isfinite(loss) and float(loss) > 0
    model.zero_grad()
    loss.backward()
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for p in model.video_agg.parameters())
    # a batch whose videos have no steps: the term is an exact zero, not an error
    no_steps = dataclasses.replace(b, seq_mask=torch.zeros_like(b.seq_mask))
    with torch.no_grad():
        z = video_order_loss(model, no_steps, seq, valid, v_emb, v_tok, s, vo, dtw, None)
    assert float(z) == 0.0


def test_the_objective_reports_each_order_term_and_each_switch_removes_it(setup):
    model, b, cfg = setup
    _, parts = compute_losses(model, b, cfg.losses, torch.Generator().manual_seed(0))
    assert {"dtw", "clip_dtw", "video_order"} <= set(parts)
    off = cfg.losses.model_copy(
        update={
            "video_order": cfg.losses.video_order.model_copy(update={"enabled": False}),
            "dtw": cfg.losses.dtw.model_copy(update={"inputs": "tokens"}),
        }
    )
    _, parts = compute_losses(model, b, off, torch.Generator().manual_seed(0))
    assert "dtw" in parts and "clip_dtw" not in parts and "video_order" not in parts
