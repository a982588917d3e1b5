"""The heads: order is representable, padding is ignored, temperatures are clamped, weights round-trip."""

from __future__ import annotations

import math

import pytest
import torch

from hierskp.models import HeadsConfig, HierSKPHeads, TemporalAggregator, load_heads, save_heads

CFG = HeadsConfig(
    vision_dim=6, text_dim=5, hidden_dim=16, embed_dim=8, heads=2, max_clip_len=6, max_video_len=6, dropout=0.0
)


@pytest.mark.parametrize("positions", ["learned", "sinusoidal"])
def test_aggregator_sees_order_and_ignores_padding(positions):
    torch.manual_seed(0)
    agg = TemporalAggregator(16, layers=1, heads=2, max_len=8, dropout=0.0, positions=positions).eval()
    if positions == "learned":
        torch.nn.init.normal_(agg.pos, std=1.0)
    x = torch.randn(1, 5, 16)
    full = torch.ones(1, 5, dtype=torch.bool)
    pooled, tokens = agg(x, full)
    reversed_pooled, _ = agg(x.flip(1), full)
    assert not torch.allclose(pooled, reversed_pooled, atol=1e-4)
    padded = torch.cat([x, torch.randn(1, 3, 16) * 100], dim=1)
    mask = torch.tensor([[True] * 5 + [False] * 3])
    pooled_padded, tokens_padded = agg(padded, mask)
    torch.testing.assert_close(pooled_padded, pooled, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(tokens_padded[:, :5], tokens, atol=1e-5, rtol=1e-5)
    empty, _ = agg(torch.randn(2, 3, 16), torch.zeros(2, 3, dtype=torch.bool))
    assert torch.isfinite(empty).all()
    with pytest.raises(ValueError, match="max_len"):
        agg(torch.randn(1, 9, 16), torch.ones(1, 9, dtype=torch.bool))


def test_encoders_shapes_norms_and_sequence_order():
    torch.manual_seed(0)
    m = HierSKPHeads(CFG).eval()
    mask = torch.ones(3, 4, dtype=torch.bool)
    clips = m.encode_clips(torch.randn(3, 4, 6), mask)
    video_mask = torch.ones(3, 4, 2, dtype=torch.bool)
    video_mask[0, 3] = False  # a shorter video: its last clip is padding
    video, tokens = m.encode_video(torch.randn(3, 4, 2, 6), video_mask)
    text = m.encode_text(torch.randn(3, 5))
    steps = torch.randn(2, 4, 5)
    seq = m.encode_sequence(steps, torch.ones(2, 4, dtype=torch.bool))
    for t, shape in ((clips, (3, 8)), (video, (3, 8)), (tokens, (3, 4, 8)), (text, (3, 8)), (seq, (2, 8))):
        assert t.shape == shape
        torch.testing.assert_close(t.norm(dim=-1), torch.ones(shape[:-1]))
    shuffled = m.encode_sequence(steps[:, [2, 0, 3, 1]], torch.ones(2, 4, dtype=torch.bool))
    assert (seq - shuffled).abs().max() > 1e-4  # a bag of steps would give the same vector


def test_temperature_is_log_parameterised_and_clamped():
    m = HierSKPHeads(CFG)
    assert m.temperature("video").item() == pytest.approx(CFG.init_temperature)
    with torch.no_grad():
        m.log_temperature["video"].fill_(math.log(1e-6))
        m.log_temperature["frame"].fill_(math.log(1e3))
    assert m.temperature("video").item() == pytest.approx(CFG.min_temperature)
    assert m.temperature("frame").item() == pytest.approx(CFG.max_temperature)


def test_save_and_load_heads(tmp_path):
    torch.manual_seed(0)
    m = HierSKPHeads(CFG).eval()
    save_heads(m, tmp_path / "final", extra={"cache_fingerprint_id": "fp"})
    loaded, meta = load_heads(tmp_path / "final")
    assert meta["cache_fingerprint_id"] == "fp" and loaded.cfg == CFG
    x, mask = torch.randn(2, 3, 2, 6), torch.ones(2, 3, 2, dtype=torch.bool)
    torch.testing.assert_close(loaded.encode_video(x, mask)[0], m.encode_video(x, mask)[0], rtol=0, atol=0)


def test_safe_mask_is_branch_free_with_the_old_outputs():
    from hierskp.models.temporal import safe_mask

    g = torch.Generator().manual_seed(0)
    mask = torch.rand(64, 7, generator=g) > 0.8  # many all-padding rows
    mask[0] = False
    expected = mask.clone()  # the former in-place version
    empty = ~mask.any(dim=1)
    expected[empty, 0] = True
    got = safe_mask(mask)
    assert torch.equal(got, expected) and got.dtype == torch.bool and not torch.equal(got, mask)
    assert torch.equal(safe_mask(torch.ones(2, 3, dtype=torch.bool)), torch.ones(2, 3, dtype=torch.bool))
    # shape-only (meta) tensors cannot be read back: a data-dependent branch would raise here
    assert safe_mask(torch.zeros(3, 4, dtype=torch.bool, device="meta")).shape == (3, 4)


@pytest.mark.gpu
def test_heads_step_on_cuda_bf16_close_to_cpu_fp32():
    torch.manual_seed(0)
    cpu = HierSKPHeads(CFG).eval()
    gpu = HierSKPHeads(CFG).eval()
    gpu.load_state_dict(cpu.state_dict())
    gpu = gpu.cuda()
    x, mask = torch.randn(3, 4, 6), torch.ones(3, 4, dtype=torch.bool)
    mask[1, 2:] = False
    ref = cpu.encode_clips(x, mask)
    with torch.autocast("cuda", dtype=torch.bfloat16):
        out = gpu.encode_clips(x.cuda(), mask.cuda())
    out.float().sum().backward()
    assert ((out.float().cpu() - ref).norm(dim=-1)).max() < 5e-2
    assert all(torch.isfinite(p.grad).all() for p in gpu.parameters() if p.grad is not None)
