"""The frozen baseline at every realistic pair of feature sizes (vision wider than, narrower than and equal
to the text width). Reproduces the crash of `hierskp evaluate` on 768-d vision + 384-d MiniLM texts:
`FrozenEmbedder.sequence` sent the projected texts through the vision projection."""

from __future__ import annotations

import pytest
import torch

from hierskp.models.embedders import FrozenEmbedder

# (vision, text): DINOv2-B/SigLIP-B/ViT-B + MiniLM, DINOv2-L + MiniLM, CLIP-B/16 both towers, embedded + MiniLM
PAIRS = [(768, 384), (1024, 384), (512, 512), (256, 384), (512, 768)]


@pytest.mark.parametrize(("dv", "dt"), PAIRS)
def test_every_frozen_side_lands_in_one_space(dv, dt):
    emb = FrozenEmbedder(dv, dt)
    gen = torch.Generator().manual_seed(0)
    frames = torch.randn(2, 5, dv, generator=gen)
    steps = torch.randn(2, 4, dt, generator=gen)
    mask_f = torch.ones(2, 5, dtype=torch.bool)
    mask_s = torch.tensor([[True] * 4, [True, True, False, False]])
    e = min(dv, dt)
    clips = emb.clips(frames, mask_f)
    texts = emb.text(steps[:, 0])
    seq = emb.sequence(steps, mask_s)
    video, per_clip = emb.video(frames[:, None].expand(2, 3, 5, dv), mask_f[:, None].expand(2, 3, 5))
    for out in (clips, texts, seq, video):
        assert out.shape == (2, e)
        torch.testing.assert_close(out.norm(dim=-1), torch.ones(2))
    assert per_clip.shape == (2, 3, e)
    # text-side pieces agree with each other: a one-step sequence is that step's text embedding (256/384
    # used to pass one extra vision rotation here, so sequences and texts were silently incomparable)
    torch.testing.assert_close(emb.sequence(steps[:, :1], mask_s[:, :1]), texts)
    # a bag of steps: the sequence is the normalised mean of its (masked) step texts in the shared space
    expected = torch.nn.functional.normalize(steps[1, :2].mean(0) @ emb.pt, dim=-1)
    torch.testing.assert_close(seq[1], expected)
    torch.testing.assert_close(emb.sequence(steps.flip(1), mask_s)[0], seq[0])  # blind to order by construction
