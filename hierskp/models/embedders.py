"""One interface over the trained heads and the frozen-feature baseline, as evaluation uses them.

Frozen baseline (no training): windows, segments and videos are mean-pooled backbone features,
texts are the cached sentence embeddings. When the two dimensions are equal (a paired encoder
such as CLIP) they are compared directly. Otherwise there is no shared space at all, and the
baseline is honest about it: both sides go through fixed, seeded random orthogonal projections
into min(Dv, Dt) dimensions, so cross-modal scores are at chance level by construction.
"""

from __future__ import annotations

from typing import Protocol

import torch
import torch.nn.functional as F

from hierskp.models.heads import HierSKPHeads


class Embedder(Protocol):
    method: str

    def clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...
    def video(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
    def video_clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...
    def text(self, t: torch.Tensor) -> torch.Tensor: ...
    def sequence(self, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


class HeadsEmbedder:
    method = "heads"

    def __init__(self, model: HierSKPHeads):
        self.model = model.eval()

    def clips(self, x, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_clips(x, mask)

    def video(self, x, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_video(x, mask)

    def video_clips(self, x, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_video_clips(x, mask)

    def text(self, t):  # type: ignore[no-untyped-def]
        return self.model.encode_text(t)

    def sequence(self, t, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_sequence(t, mask)


def _orthonormal(in_dim: int, out_dim: int, gen: torch.Generator) -> torch.Tensor:
    """[in_dim, out_dim] with orthonormal columns (out_dim <= in_dim): keeps within-modality cosines."""
    q, _ = torch.linalg.qr(torch.randn(in_dim, out_dim, generator=gen))
    return q


class FrozenEmbedder:
    """Mean pooling + identity (equal dims) or seeded random orthogonal projections (see module doc)."""

    method = "frozen_baseline"

    def __init__(self, vision_dim: int, text_dim: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        e = min(vision_dim, text_dim)
        same = vision_dim == text_dim
        self.pv = torch.eye(e) if same else _orthonormal(vision_dim, e, gen)
        self.pt = torch.eye(e) if same else _orthonormal(text_dim, e, gen)

    def clips(self, x, mask):  # type: ignore[no-untyped-def]
        return F.normalize(_masked_mean(x, mask) @ self.pv.to(x.device), dim=-1)

    def video(self, x, mask):  # type: ignore[no-untyped-def]
        b, n, c, d = x.shape
        flat = self.clips(x.reshape(b, n * c, d), mask.reshape(b, n * c))
        return flat, self.clips(x.reshape(b * n, c, d), mask.reshape(b * n, c)).reshape(b, n, -1)

    def video_clips(self, x, mask):  # type: ignore[no-untyped-def]
        return self.video(x, mask)[1]

    def text(self, t):  # type: ignore[no-untyped-def]
        return F.normalize(t @ self.pt.to(t.device), dim=-1)

    def sequence(self, t, mask):  # type: ignore[no-untyped-def]
        # a bag of steps, blind to order by construction; pooled and projected on the text side only
        # (through `clips` it took the vision projection too: a crash whenever vision was wider than text)
        return F.normalize(_masked_mean(t, mask) @ self.pt.to(t.device), dim=-1)


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """[B, L, D] rows averaged over the True positions of mask [B, L] (an empty row gives zeros)."""
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1)
