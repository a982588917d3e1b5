"""Contrastive losses shared by the video, operation and frame levels.

Every level reduces to InfoNCE over precomputed positive pairs (row b of ``a`` matches row b of
``b``): video vs. its abstract text, operation clip vs. its narration, operation embedding vs. the
mean of its frame narrations (use :func:`masked_mean`), ... so the functions stay generic.
Procedure-order hard negatives (see ``dtw_alignment.procedure_order_negatives``) enter as extra,
per-query text embeddings ``[B, K, D]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.losses._amp import fp32_math

__all__ = ["info_nce", "hard_negative_margin_loss", "masked_mean", "logit_scale_init"]


def logit_scale_init(temperature: float = 0.07) -> Tensor:
    """Initial value of a learnable ``logit_scale = log(1 / temperature)`` (CLIP convention)."""
    return torch.tensor(math.log(1.0 / temperature))


def _scale(logit_scale: Tensor | float, max_scale: float) -> Tensor:
    """``exp(logit_scale)`` clamped so that a runaway temperature cannot blow up the logits."""
    return torch.as_tensor(logit_scale).exp().clamp(max=max_scale)


@fp32_math
def info_nce(
    a: Tensor,
    b: Tensor,
    logit_scale: Tensor | float,
    *,
    hard_negatives: Tensor | None = None,
    hard_negative_mask: Tensor | None = None,
    keys: Tensor | None = None,
    symmetric: bool = True,
    normalize: bool = True,
    max_scale: float = 100.0,
) -> Tensor:
    """Symmetric InfoNCE between matched rows of ``a [B, D]`` (queries, e.g. video) and ``b [B, D]``.

    ``logit_scale`` is the log inverse temperature (a learnable scalar tensor, as in CLIP); logits are
    ``exp(logit_scale) * cos``. ``hard_negatives [B, K, D]`` are extra candidates for the a->b
    direction only (each query b sees its own K, e.g. step texts in a wrong order);
    ``hard_negative_mask [B, K]`` (True = use) supports a variable number per query.
    ``keys [B]`` (e.g. text ids): off-diagonal pairs with equal keys are false negatives (the same
    caption twice in a batch) and are dropped from both denominators.
    Returns the mean of the a->b and b->a cross-entropies (only a->b if not ``symmetric``).
    Logits are computed in fp32 under autocast (at temperature 0.01 they reach 100, a bf16 step 0.5).
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError("a and b must both be [B, D]")
    if normalize:
        a, b = F.normalize(a, dim=-1), F.normalize(b, dim=-1)
    scale = _scale(logit_scale, max_scale).to(a.dtype)
    logits = scale * (a @ b.T)
    target = torch.arange(a.shape[0], device=a.device)
    if keys is not None:
        dup = (keys[:, None] == keys[None, :]) & (target[:, None] != target[None, :])
        logits = logits.masked_fill(dup, float("-inf"))
    ab_logits = logits
    if hard_negatives is not None:
        if hard_negatives.dim() != 3 or hard_negatives.shape[0] != a.shape[0]:
            raise ValueError("hard_negatives must be [B, K, D]")
        hn = F.normalize(hard_negatives, dim=-1) if normalize else hard_negatives
        hard = scale * torch.einsum("bd,bkd->bk", a, hn)
        if hard_negative_mask is not None:
            hard = hard.masked_fill(~hard_negative_mask.bool(), float("-inf"))
        ab_logits = torch.cat([logits, hard], dim=1)
    loss = F.cross_entropy(ab_logits, target)
    if symmetric:
        loss = 0.5 * (loss + F.cross_entropy(logits.T, target))
    return loss


@fp32_math
def hard_negative_margin_loss(
    anchor: Tensor,
    positive: Tensor,
    hard_negatives: Tensor,
    margin: float = 0.2,
    hard_negative_mask: Tensor | None = None,
) -> Tensor:
    """Mean of ``relu(margin - cos(anchor, positive) + cos(anchor, hard_negative))``.

    A ranking term that is not diluted by the in-batch negatives: it pushes each query's own
    wrongly-ordered texts at least ``margin`` below its true text. Shapes: ``[B, D]``, ``[B, D]``,
    ``[B, K, D]``; the mean runs over the valid (b, k) pairs (0 if there are none).
    """
    a = F.normalize(anchor, dim=-1)
    pos = (a * F.normalize(positive, dim=-1)).sum(-1, keepdim=True)
    neg = torch.einsum("bd,bkd->bk", a, F.normalize(hard_negatives, dim=-1))
    hinge = F.relu(margin - pos + neg)
    if hard_negative_mask is None:
        return hinge.mean()
    m = hard_negative_mask.to(hinge.dtype)
    return (hinge * m).sum() / m.sum().clamp_min(1.0)


def masked_mean(x: Tensor, lengths: Tensor | None = None, mask: Tensor | None = None) -> Tensor:
    """Mean over axis 1 of ``x [B, L, D]`` restricted to valid positions (by lengths or mask [B, L]).

    E.g. the mean of an operation's frame-narration embeddings, the positive of that operation in
    the cross-level InfoNCE.
    """
    if mask is None:
        if lengths is None:
            return x.mean(1)
        mask = torch.arange(x.shape[1], device=x.device)[None, :] < lengths.to(x.device)[:, None]
    w = mask.to(x.dtype).unsqueeze(-1)
    return (x * w).sum(1) / w.sum(1).clamp_min(1.0)
