"""Temporal aggregation of short sequences (frame windows, operation segments, whole videos, step texts).

Positions are added before self-attention so that the pooled vector can depend on *order*: a bag
of operations is not enough to tell two procedures that share an operation set apart.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import nn

PositionKind = Literal["learned", "sinusoidal", "none"]  # none: order-blind (permutation-equivariant)


def sinusoidal_positions(max_len: int, dim: int) -> torch.Tensor:
    """The fixed [max_len, dim] table of Vaswani et al.; extrapolates to unseen lengths gracefully."""
    pos = torch.arange(max_len, dtype=torch.float32)[:, None]
    div = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(max_len, dim)
    table[:, 0::2] = torch.sin(pos * div)
    table[:, 1::2] = torch.cos(pos * div)[:, : dim // 2]
    return table


def safe_mask(mask: torch.Tensor) -> torch.Tensor:
    """Unmask position 0 of all-padding rows: attention over nothing is NaN, callers drop those rows.

    Branch-free (no ``bool(...)`` on the mask): on a GPU the forward never waits for the device.
    """
    empty = ~mask.any(dim=1, keepdim=True)
    first = torch.arange(mask.shape[1], device=mask.device) == 0
    return mask | (empty & first)


class AttentionPool(nn.Module):
    """A learned scorer weights the valid positions; unlike mean pooling it can ignore transitions."""

    def __init__(self, dim: int):
        super().__init__()
        self.score = nn.Linear(dim, 1)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        logits = self.score(x).squeeze(-1).masked_fill(~mask, float("-inf"))
        weights = torch.softmax(logits, dim=-1)
        return torch.einsum("bl,bld->bd", weights, x)


class TemporalAggregator(nn.Module):
    """Positions + a small pre-norm transformer + attention pooling over a [B, L, dim] sequence.

    Returns the pooled [B, dim] vector and the contextualised [B, L, dim] tokens (used for DTW).
    Sequences longer than `max_len` must be pooled to it by the caller (the dataset does).
    """

    def __init__(
        self, dim: int, layers: int, heads: int, max_len: int, dropout: float = 0.1, positions: PositionKind = "learned"
    ):
        super().__init__()
        self.max_len = max_len
        if positions == "learned":
            self.pos = nn.Parameter(torch.randn(max_len, dim) * 0.02)
        elif positions == "none":
            self.register_buffer("pos", torch.zeros(max_len, dim), persistent=False)
        else:
            self.register_buffer("pos", sinusoidal_positions(max_len, dim), persistent=False)
        layer = nn.TransformerEncoderLayer(
            dim, heads, dim_feedforward=2 * dim, dropout=dropout, batch_first=True, norm_first=True, activation="gelu"
        )
        self.encoder = nn.TransformerEncoder(layer, layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(dim)
        self.pool = AttentionPool(dim)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        length = x.shape[1]
        if length > self.max_len:
            raise ValueError(f"sequence of {length} positions exceeds max_len {self.max_len}")
        mask = safe_mask(mask)
        h = self.encoder(x + self.pos[:length], src_key_padding_mask=~mask)
        h = self.norm(h)
        return self.pool(h, mask), h
