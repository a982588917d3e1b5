"""Wrong step orders: the procedure-order negatives of training and of the order metrics, in one place.

* `procedure_order_negatives` (training, batched on the device, from a torch generator) and
  `label_changing_orders`, which keeps only those that change the order of operation labels;
* `distinct_wrong_orders` (evaluation, per sequence, from a numpy generator): the reversed order
  plus shuffles, deduplicated on labels. It draws its own stream so that the reported order
  metrics do not depend on the training code's draws.

Both follow one rule: a permutation that leaves the label sequence unchanged (repeated labels) is
no wrong order.

Another procedure's plausible order of the same steps, mined from annotations (twins), is
`hierskp.dataset.procedure_orders`.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor

__all__ = [
    "NEGATIVE_KINDS",
    "distinct_wrong_orders",
    "gather_steps",
    "label_changing_orders",
    "negative_kinds",
    "procedure_order_negatives",
]

NEGATIVE_KINDS = ("reverse", "shuffle")


def procedure_order_negatives(
    lengths: Tensor,
    kinds: Sequence[str] = NEGATIVE_KINDS,
    generator: torch.Generator | None = None,
    max_len: int | None = None,
) -> Tensor:
    """Index tensors ``[K, B, L]`` that reorder each sequence's valid prefix (K = len(kinds)).

    Row ``[k, b]`` permutes ``range(lengths[b])`` and keeps padding positions in place, so
    ``gather_steps(t, idx[k])`` is a wrong-order copy of ``t``. ``"reverse"`` flips the prefix;
    ``"shuffle"`` draws a random order that is never the identity when ``lengths[b] >= 2``.
    Sequences of length 1 have no wrong order: their rows are the identity.
    """
    lengths = lengths.long()
    bsz = lengths.shape[0]
    size = int(lengths.max()) if max_len is None else max_len
    dev = lengths.device
    pos = torch.arange(size, device=dev).expand(bsz, size)
    valid = pos < lengths[:, None]
    out = []
    for kind in kinds:
        if kind == "reverse":
            idx = torch.where(valid, lengths[:, None] - 1 - pos, pos)
        elif kind == "shuffle":
            gen_dev = dev if generator is None else generator.device
            keys = torch.rand((bsz, size), generator=generator, device=gen_dev).to(dev)
            keys = torch.where(valid, keys, 2.0 + pos)  # padding sorts last, in order
            idx = keys.argsort(dim=1)
            # Identity draws (likely for short prefixes) become a cyclic shift by one.
            same = (idx == pos).all(dim=1, keepdim=True) & (lengths[:, None] >= 2)
            shift = torch.where(valid, (pos + 1) % lengths.clamp_min(1)[:, None], pos)
            idx = torch.where(same, shift, idx)
        else:
            raise ValueError(f"unknown negative kind {kind!r}; expected one of {NEGATIVE_KINDS}")
        out.append(idx)
    return torch.stack(out)


def gather_steps(t: Tensor, idx: Tensor) -> Tensor:
    """Reorder ``t [B, L, ...]`` along axis 1 with ``idx [B, L]`` (as from `procedure_order_negatives`)."""
    return t.gather(1, idx.view(*idx.shape, *([1] * (t.dim() - 2))).expand_as(t))


def negative_kinds(reverse: bool, shuffles: int) -> list[str]:
    """The `kinds` argument of `procedure_order_negatives`: the reversal (optional) and `shuffles` shuffles."""
    return (["reverse"] if reverse else []) + ["shuffle"] * shuffles


def label_changing_orders(
    lengths: Tensor,
    label_keys: Tensor,
    kinds: Sequence[str],
    generator: torch.Generator | None,
    max_len: int | None = None,
) -> tuple[Tensor, Tensor]:
    """Permutations [Kn, B, L] of each step sequence (`procedure_order_negatives`) and a [B, Kn] mask
    of those that really change the order of the operation labels `label_keys [B, L]`."""
    perms = procedure_order_negatives(lengths, kinds, generator, max_len=max_len)  # generator on lengths' device
    differs = torch.stack([(gather_steps(label_keys, p) != label_keys).any(dim=1) for p in perms], dim=1)
    return perms, differs & (lengths >= 2)[:, None]


def distinct_wrong_orders(labels: Sequence[str], n_shuffles: int, rng: np.random.Generator) -> list[np.ndarray]:
    """The reversed order plus up to `n_shuffles` random ones, all with a label order different
    from the true one and from each other (short sequences have fewer)."""
    k = len(labels)
    seen = {tuple(labels)}
    out = []
    candidates = [np.arange(k)[::-1].copy()] + [rng.permutation(k) for _ in range(20 * max(1, n_shuffles))]
    for perm in candidates:
        key = tuple(labels[i] for i in perm)
        if key not in seen:
            seen.add(key)
            out.append(perm)
        if len(out) == 1 + n_shuffles:
            break
    return out
