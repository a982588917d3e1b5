"""Data order as a pure function of (seed, epoch): a resumed run replays exactly the same batches.

Each item also gets its own seed from (seed, epoch, video), so random choices made inside a
DataLoader worker (window jitter, narration subsets) do not depend on which worker made them.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np
from torch.utils.data import Sampler


def item_seed(seed: int, epoch: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, epoch, index]).generate_state(1)[0])


def step_seed(seed: int, step: int) -> int:
    """Seed of the per-step generator (wrong-order permutations): a pure function of the step."""
    return int(np.random.SeedSequence([seed, step, 0x5EED]).generate_state(1)[0])


def steps_per_epoch(n_items: int, batch_size: int) -> int:
    """Partial batches are dropped (tiny batches make poor contrastive denominators) unless there
    are fewer items than one batch."""
    return max(1, n_items // batch_size)


def epoch_batches(
    groups: Sequence[str], batch_size: int, seed: int, epoch: int, procedure_batches: bool = True
) -> list[list[int]]:
    """Batches of item indices for one epoch. With `procedure_batches`, videos of one procedure
    type come in adjacent pairs, so every batch holds same-procedure hard negatives."""
    rng = np.random.default_rng([seed, epoch])
    n = len(groups)
    if procedure_batches:
        chunks: list[list[int]] = []
        for g in sorted(set(groups)):
            members = [i for i in range(n) if groups[i] == g]
            members = [members[j] for j in rng.permutation(len(members))]
            chunks += [members[j : j + 2] for j in range(0, len(members), 2)]
        order = [i for c in (chunks[j] for j in rng.permutation(len(chunks))) for i in c]
    else:
        order = [int(i) for i in rng.permutation(n)]
    size = min(batch_size, n)
    return [order[k * size : (k + 1) * size] for k in range(steps_per_epoch(n, batch_size))]


class StepBatchSampler(Sampler[list[tuple[int, int]]]):
    """Yields the batches of global steps [start_step, total_steps): (item index, item seed) lists."""

    def __init__(
        self,
        groups: Sequence[str],
        batch_size: int,
        seed: int,
        total_steps: int,
        start_step: int = 0,
        procedure_batches: bool = True,
    ):
        self.groups, self.batch_size, self.seed = list(groups), batch_size, seed
        self.total_steps, self.start_step, self.procedure_batches = total_steps, start_step, procedure_batches
        self.steps_per_epoch = steps_per_epoch(len(self.groups), batch_size)

    def __len__(self) -> int:
        return max(0, self.total_steps - self.start_step)

    def __iter__(self) -> Iterator[list[tuple[int, int]]]:
        cached: tuple[int, list[list[int]]] | None = None
        for step in range(self.start_step, self.total_steps):
            epoch, k = divmod(step, self.steps_per_epoch)
            if cached is None or cached[0] != epoch:
                cached = (epoch, epoch_batches(self.groups, self.batch_size, self.seed, epoch, self.procedure_batches))
            yield [(i, item_seed(self.seed, epoch, i)) for i in cached[1][k]]
