"""Procedure-aware DTW alignment loss (PeskaVLP-style) and the DTW order scorer.

A video's ordered segment embeddings should align cheaply, under soft-DTW, with its step texts in
the true order and expensively with the same steps in a wrong order (reversed or shuffled).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, NamedTuple

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.losses.costs import pairwise_cost
from hierskp.losses.orders import NEGATIVE_KINDS, procedure_order_negatives
from hierskp.losses.soft_dtw import soft_dtw

__all__ = ["DEFAULT_ORDER_SCORER", "DTWAlignmentLoss", "OrderScorer", "dtw_alignment_loss", "dtw_order_scores"]


class OrderScorer(NamedTuple):
    """The soft-DTW smoothing γ and the cost's softmax temperature τ, as training's `losses.dtw` sets
    them; evaluation scores a run with its own (`RunModel.order_scorer`)."""

    gamma: float = 0.1
    temperature: float = 0.1


DEFAULT_ORDER_SCORER = OrderScorer()  # the one default: training's, and the frozen baseline's (no run config)


class DTWAlignmentLoss(NamedTuple):
    loss: Tensor  # alignment + order_weight * order
    alignment: Tensor  # mean soft-DTW cost in the true order
    order: Tensor  # mean hinge against the wrong orders


def dtw_alignment_loss(
    v: Tensor,
    t: Tensor,
    v_lengths: Tensor | None = None,
    t_lengths: Tensor | None = None,
    *,
    gamma: float = DEFAULT_ORDER_SCORER.gamma,
    temperature: float | Tensor = DEFAULT_ORDER_SCORER.temperature,
    margin: float | Tensor = 0.1,
    order_weight: float = 0.5,
    kinds: Sequence[str] = NEGATIVE_KINDS,
    generator: torch.Generator | None = None,
    softmax_over: Literal["y", "x"] = "y",
    weights: Tensor | None = None,
    check_lengths: bool = True,
) -> DTWAlignmentLoss:
    """``mean(sdtw(v, t)) + order_weight * mean(relu(sdtw(v, t) - sdtw(v, perm(t)) + margin))``.

    ``v [B, N, D]``: a video's ordered segment/clip embeddings; ``t [B, M, D]``: its ordered step
    texts. Cost is ``-log softmax(cos / temperature)`` over the text axis (``softmax_over="x"``
    normalises over the video axis instead, as PeskaVLP's released code does). Because that cost
    is equivariant to reordering the text axis, the wrong-order costs are column gathers of the
    true-order cost: all K + 1 soft-DTW problems run as one batch. The hinge is averaged over
    pairs that have a wrong order (``t_lengths >= 2``); ``kinds=()`` disables it.
    ``weights [B]`` (0/1) keeps only some pairs in both means without indexing (no host sync; the
    other pairs still need valid lengths); ``check_lengths=False`` skips soft-DTW's host-side check
    of CPU lengths (for callers whose lengths are valid by construction).
    """
    bsz, n, _ = v.shape
    m = t.shape[1]
    cost = pairwise_cost(
        v,
        t,
        "neg_log_softmax_cosine",
        temperature=temperature,
        x_lengths=v_lengths,
        y_lengths=t_lengths,
        softmax_over=softmax_over,
    )
    tl = torch.full((bsz,), m, device=v.device) if t_lengths is None else t_lengths.to(v.device)
    perms = procedure_order_negatives(tl, kinds, generator, max_len=m) if kinds else None
    k = 0 if perms is None else perms.shape[0]
    if perms is not None:
        cols = perms[:, :, None, :].expand(k, bsz, n, m)
        neg_cost = cost.unsqueeze(0).expand(k, -1, -1, -1).gather(3, cols)
        cost = torch.cat([cost.unsqueeze(0), neg_cost]).reshape((k + 1) * bsz, n, m)
    rep = lambda lens: None if lens is None else lens.repeat(k + 1)  # noqa: E731
    sd = soft_dtw(cost, gamma, rep(v_lengths), rep(t_lengths), check_lengths=check_lengths).view(k + 1, bsz)
    pos, neg = sd[0], sd[1:]
    if weights is None:
        alignment = pos.mean()
        has_neg = (tl >= 2).to(pos.dtype)
    else:
        w = weights.to(pos.dtype)
        alignment = (pos * w).sum() / w.sum().clamp_min(1.0)
        has_neg = (tl >= 2).to(pos.dtype) * w
    hinge = F.relu(pos.unsqueeze(0) - neg + margin) * has_neg
    order = hinge.sum() / (has_neg.sum() * k).clamp_min(1.0)
    return DTWAlignmentLoss(alignment + order_weight * order, alignment, order)


@torch.no_grad()
def dtw_order_scores(tokens: Tensor, tok_len: int, steps: Sequence[Tensor], gamma: float, temperature: float) -> Tensor:
    """-softDTW/len between one video's first `tok_len` [L, E] positions and each [K_c, E] step
    sequence, on the -log softmax cosine cost used in training: higher = the video follows those steps."""
    kmax = max(s.shape[0] for s in steps)
    t = torch.zeros(len(steps), kmax, tokens.shape[-1])
    for i, s in enumerate(steps):
        t[i, : s.shape[0]] = s
    tl = torch.tensor([s.shape[0] for s in steps])
    v = tokens[:tok_len].expand(len(steps), -1, -1)
    vl = torch.full((len(steps),), tok_len)
    cost = pairwise_cost(v, t, "neg_log_softmax_cosine", temperature=temperature, x_lengths=vl, y_lengths=tl)
    return -soft_dtw(cost, gamma, vl, tl) / tok_len
