"""Evaluation's retrieval ranks over a level's distinct texts are computed in row blocks: the same ranks
as the whole [items, texts] matrix, with memory bounded by one block (no N x N matrix over the split)."""

from __future__ import annotations

import tracemalloc

import numpy as np

from hierskp.eval.metrics.retrieval import keyed_retrieval_ranks, retrieval_ranks
from hierskp.eval.report.build import level_ranks
from hierskp.eval.tasks.embed import LevelData, level_retrieval_metrics


def _level(n: int, n_texts: int, seed: int = 0, dim: int = 16) -> LevelData:
    rng = np.random.default_rng(seed)
    # halves: every dot product is exact in float32 whatever the summation order, and ties are many
    video = (rng.integers(-3, 4, size=(n, dim)) / 2).astype(np.float32)
    keys = [f"t{k}" for k in rng.integers(0, n_texts, size=n)]
    text = (rng.integers(-3, 4, size=(n, dim)) / 2).astype(np.float32)
    return LevelData(video, text, [f"v{i}" for i in range(n)], keys, keys, np.zeros((n, 2)))


def test_blocked_ranks_equal_the_whole_matrix():
    lv = _level(700, 90)
    uniq, first, inv = np.unique(np.asarray(lv.texts), return_index=True, return_inverse=True)
    sim = lv.video @ lv.text[first].T
    rel = inv[:, None] == np.arange(len(uniq))[None, :]
    for chunk in (1, 7, 64, 5000):
        v2t = keyed_retrieval_ranks(lv.video, lv.text[first], inv, np.arange(len(uniq)), chunk=chunk)
        t2v = keyed_retrieval_ranks(lv.text[first], lv.video, np.arange(len(uniq)), inv, chunk=chunk)
        assert np.array_equal(v2t, retrieval_ranks(sim, rel)) and np.array_equal(t2v, retrieval_ranks(sim.T, rel.T))
    got = level_ranks(lv)
    assert np.array_equal(got["v2t"], retrieval_ranks(sim, rel)) and np.array_equal(
        got["t2v"], retrieval_ranks(sim.T, rel.T)
    )


def test_memory_is_bounded_by_a_block():
    lv = _level(5000, 12000, dim=4)  # the whole matrix: 5000 x ~4,200 texts, float32 + bool: ~105 MB
    tracemalloc.start()
    level_retrieval_metrics(lv)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50e6, f"peak {peak / 1e6:.0f} MB"
