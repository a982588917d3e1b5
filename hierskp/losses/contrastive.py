"""Contrastive losses shared by the video, operation and frame levels.

Every level reduces to InfoNCE over precomputed positive pairs (row i of ``a`` matches row i of
``b``): video vs. its abstract text, operation clip vs. its narration, operation embedding vs. the
mean of its frame narrations, ... so the functions stay generic. Procedure-order hard negatives
(see ``dtw_alignment.procedure_order_negatives``) enter as extra, per-query embeddings ``[N, K, E]``.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.losses._amp import fp32_math

__all__ = ["info_nce", "hard_negative_margin_loss", "masked_mean"]


@fp32_math
def info_nce(
    a: Tensor,
    b: Tensor,
    temperature: Tensor | float,
    keys: Tensor | None = None,
    hard_pairs: Tensor | None = None,
    boost: float = 1.0,
    hard: Tensor | None = None,
    hard_mask: Tensor | None = None,
    *,
    symmetric: bool = True,
    valid: Tensor | None = None,
) -> Tensor:
    """Symmetric InfoNCE over matched rows of ``a [N, E]`` and ``b [N, E]`` (both L2-normalised),
    logits ``a @ b.T / temperature``.

    * ``keys [N]`` (text ids): off-diagonal pairs with equal keys are false negatives (the same
      caption twice in a batch) and are dropped from both denominators;
    * ``hard_pairs [N, N]`` (e.g. same video / same procedure) count ``boost`` times in the
      denominators (``+ log(boost)`` on their logits);
    * ``hard [N, K, E]`` are extra a->b candidates per row (e.g. the steps in a wrong order),
      ``hard_mask [N, K]`` (True = use) allows a variable number per row; with ``hard_pairs``
      and ``boost > 1`` they are boosted too.

    * ``valid [N]`` (bool): only these rows take part, as if the others had been indexed away
      (``info_nce(a[valid], b[valid], ...)``) but without a data-dependent shape, so no host sync;
      0 when no row is valid.

    Returns the mean of the a->b and b->a cross-entropies (only a->b if not ``symmetric``).
    Logits are computed in fp32 under autocast (at temperature 0.01 they reach 100, a bf16 step 0.5).
    """
    if a.dim() != 2 or a.shape != b.shape:
        raise ValueError(f"a and b must both be [N, E], got {tuple(a.shape)} and {tuple(b.shape)}")
    logits = _pair_logits(a, b, temperature, keys, hard_pairs, boost, valid)
    target = torch.arange(a.shape[0], device=a.device)
    ab = _with_hard_negatives(a, logits, temperature, hard, hard_pairs, boost, hard_mask)
    return _cross_entropy(ab, logits, target, symmetric, valid)


def _pair_logits(
    a: Tensor,
    b: Tensor,
    temperature: Tensor | float,
    keys: Tensor | None,
    hard_pairs: Tensor | None,
    boost: float,
    valid: Tensor | None,
) -> Tensor:
    """``a @ b.T / temperature`` with false negatives and invalid rows out, hard pairs boosted."""
    n = a.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    logits = (a @ b.T) / temperature
    if keys is not None:
        logits = logits.masked_fill((keys[:, None] == keys[None, :]) & ~eye, float("-inf"))
    if hard_pairs is not None and boost > 1.0:
        logits = logits + (hard_pairs & ~eye).to(logits.dtype) * math.log(boost)
    if valid is not None:  # invalid rows and columns leave every denominator; their own diagonal stays finite
        logits = logits.masked_fill(~(valid[:, None] & valid[None, :]) & ~eye, float("-inf"))
    return logits


def _with_hard_negatives(
    a: Tensor,
    logits: Tensor,
    temperature: Tensor | float,
    hard: Tensor | None,
    hard_pairs: Tensor | None,
    boost: float,
    hard_mask: Tensor | None,
) -> Tensor:
    """The a->b logits with each row's extra candidates appended as columns (``logits`` when none)."""
    if hard is None or hard.shape[1] == 0:
        return logits
    if hard.dim() != 3 or hard.shape[0] != a.shape[0]:
        raise ValueError(f"hard must be [N, K, E], got {tuple(hard.shape)}")
    extra = torch.einsum("ne,nke->nk", a, hard) / temperature
    if hard_pairs is not None and boost > 1.0:
        extra = extra + math.log(boost)
    if hard_mask is not None:
        extra = extra.masked_fill(~hard_mask, float("-inf"))
    return torch.cat([logits, extra], dim=1)


def _cross_entropy(ab: Tensor, logits: Tensor, target: Tensor, symmetric: bool, valid: Tensor | None) -> Tensor:
    """Mean a->b cross-entropy (and b->a when ``symmetric``) over all rows, or over the ``valid`` ones."""
    if valid is None:
        loss = F.cross_entropy(ab, target)
        if symmetric:
            loss = 0.5 * (loss + F.cross_entropy(logits.T, target))
        return loss
    w = valid.to(ab.dtype)
    count = w.sum().clamp_min(1.0)
    loss = (F.cross_entropy(ab, target, reduction="none") * w).sum() / count
    if symmetric:
        loss = 0.5 * (loss + (F.cross_entropy(logits.T, target, reduction="none") * w).sum() / count)
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
