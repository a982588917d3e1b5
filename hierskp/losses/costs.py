"""Pairwise cost matrices ``[B, N, M]`` between two batches of sequences, for soft-DTW."""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.losses._amp import fp32_backward, fp32_forward, fp32_math

__all__ = ["pairwise_cost", "sequence_mask"]

CostKind = Literal["sqeuclidean", "cosine", "neg_log_softmax_cosine"]


class _SqEuclidean(torch.autograd.Function):
    """``|x_i - y_j|^2`` via one batched GEMM, with a GEMM-only backward.

    Autograd through ``x.pow(2).sum(-1)`` materialises several ``[B, N, D]`` temporaries in
    backward and was the largest cost of the soft-DTW benchmark; the closed form
    ``dx_i = 2 * (sum_j G_ij) x_i - 2 * (G y)_i`` needs two GEMMs and two scalings.
    The clamp at 0 only hides round-off, so backward uses the exact (unclamped) gradient.
    Under autocast both passes run in fp32 (a bf16 GEMM's output crashed the fp32 backward).
    """

    @staticmethod
    @fp32_forward
    def forward(ctx, x: Tensor, y: Tensor) -> Tensor:  # type: ignore[override]
        ctx.save_for_backward(x, y)
        xx = torch.linalg.vecdot(x, x).unsqueeze(-1)
        yy = torch.linalg.vecdot(y, y).unsqueeze(-2)
        return torch.baddbmm(xx + yy, x, y.transpose(1, 2), alpha=-2.0).clamp_min_(0.0)

    @staticmethod
    @fp32_backward
    def backward(ctx, grad: Tensor):  # type: ignore[override]
        x, y = ctx.saved_tensors
        gx = gy = None
        if ctx.needs_input_grad[0]:
            gx = torch.baddbmm(x * (2.0 * grad.sum(2, keepdim=True)), grad, y, alpha=-2.0)
        if ctx.needs_input_grad[1]:
            gy = torch.baddbmm(y * (2.0 * grad.sum(1).unsqueeze(-1)), grad.transpose(1, 2), x, alpha=-2.0)
        return gx, gy


def sequence_mask(lengths: Tensor | None, size: int, batch: int, device: torch.device) -> Tensor:
    """``[B, size]`` bool mask of valid positions (all True when ``lengths`` is None)."""
    pos = torch.arange(size, device=device)
    if lengths is None:
        return pos.expand(batch, size) >= 0
    return pos[None, :] < torch.as_tensor(lengths, device=device)[:, None]


@fp32_math
def pairwise_cost(
    x: Tensor,
    y: Tensor,
    kind: CostKind = "sqeuclidean",
    *,
    temperature: float | Tensor = 0.1,
    x_lengths: Tensor | None = None,
    y_lengths: Tensor | None = None,
    softmax_over: Literal["y", "x"] = "y",
) -> Tensor:
    """Cost between every element of ``x [B, N, D]`` and ``y [B, M, D]``, shape ``[B, N, M]``.

    * ``sqeuclidean``: ``|x_i - y_j|^2`` (the classic soft-DTW cost).
    * ``cosine``: ``1 - cos(x_i, y_j)``.
    * ``neg_log_softmax_cosine``: ``-log softmax(cos / temperature)`` over ``y`` (default, each
      video element picks among the steps) or ``x`` -- the PeskaVLP / Hadji et al. cost, which makes
      costs comparable across sequences. Padded elements are excluded from the softmax.
    Cells past the lengths are set to 0 (they are ignored by :func:`soft_dtw` anyway).
    Computed in fp32 (float64 stays float64) under autocast and for half inputs: the DP needs it.
    """
    if x.dim() != 3 or y.dim() != 3 or x.shape[0] != y.shape[0] or x.shape[2] != y.shape[2]:
        raise ValueError("expected x [B, N, D] and y [B, M, D]")
    if kind == "sqeuclidean":
        cost = _SqEuclidean.apply(x, y)
    elif kind in ("cosine", "neg_log_softmax_cosine"):
        sim = torch.bmm(F.normalize(x, dim=-1), F.normalize(y, dim=-1).transpose(1, 2))
        if kind == "cosine":
            cost = 1.0 - sim
        else:
            dim = 2 if softmax_over == "y" else 1
            lengths = y_lengths if softmax_over == "y" else x_lengths
            logits = sim / temperature
            if lengths is not None:
                keep = sequence_mask(lengths, sim.shape[dim], sim.shape[0], sim.device)
                logits = logits.masked_fill(~keep.unsqueeze(3 - dim), float("-inf"))
            cost = -torch.log_softmax(logits, dim=dim)
    else:
        raise ValueError(f"unknown cost kind {kind!r}")
    if x_lengths is not None or y_lengths is not None:
        bsz, n, m = cost.shape
        valid = (
            sequence_mask(x_lengths, n, bsz, cost.device)[:, :, None]
            & sequence_mask(y_lengths, m, bsz, cost.device)[:, None, :]
        )
        cost = cost.masked_fill(~valid, 0.0)
    return cost
