"""Procedure orders mined from the cached annotations: another procedure's plausible order of the same steps.

* `twin_orders`: (procedure, label order) -> the twin order (the twin test of evaluation; the twin-order
  text negatives of training, from the training annotations only);
* `reorder_to`: the permutation that puts a video's steps in a given label order.

Wrong orders made by permutation (reversed, shuffled) are `hierskp.losses.orders`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Sequence

import numpy as np


def twin_orders(
    videos: Iterable[tuple[Hashable, Sequence[Hashable]]],
) -> dict[tuple[Hashable, tuple], tuple]:
    """(procedure, label order) -> the twin label order: the most frequent order among the OTHER
    procedures' videos with the same label multiset and a different order (ties: the smallest).
    `videos`: (procedure, labels) of every annotated video (all splits)."""
    by_multiset: dict[tuple, Counter] = defaultdict(Counter)
    pairs = [(p, tuple(labels)) for p, labels in videos]
    for proc, labels in pairs:
        if len(labels) >= 2:
            by_multiset[tuple(sorted(labels))][(proc, labels)] += 1
    out: dict[tuple[Hashable, tuple], tuple] = {}
    for proc, labels in set(pairs):
        counts: Counter = Counter()
        for (p, other), c in by_multiset.get(tuple(sorted(labels)), {}).items():
            if p != proc and other != labels:
                counts[other] += c
        if counts:
            best = max(counts.values())
            out[(proc, labels)] = min(o for o, c in counts.items() if c == best)
    return out


def reorder_to(labels: Sequence[Hashable], target: Sequence[Hashable]) -> np.ndarray:
    """The permutation p with labels[p] == target, taking repeated labels in their original order."""
    pos: dict[Hashable, list[int]] = defaultdict(list)
    for i, lab in enumerate(labels):
        pos[lab].append(i)
    return np.array([pos[lab].pop(0) for lab in target], dtype=np.int64)
