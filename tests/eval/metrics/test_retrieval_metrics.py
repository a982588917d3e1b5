"""retrieval_metrics against an independent brute-force ranking, with many ties."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierskp.eval.metrics.retrieval import (
    bidirectional_retrieval_metrics,
    retrieval_metrics,
    retrieval_ranks,
)


def brute_force(sim: np.ndarray, positives: list[set[int]]) -> dict[str, float]:
    ranks = []
    for i, row in enumerate(sim):
        best = max(row[j] for j in positives[i])
        worse_or_tied = sum(1 for j, v in enumerate(row) if j not in positives[i] and v >= best)
        ranks.append(1 + worse_or_tied)
    ranks_sorted = sorted(ranks)
    n = len(ranks)
    med = ranks_sorted[n // 2] if n % 2 else (ranks_sorted[n // 2 - 1] + ranks_sorted[n // 2]) / 2
    out = {f"R@{k}": 100.0 * sum(r <= k for r in ranks) / n for k in (1, 5, 10)}
    out.update(MedR=float(med), MeanR=sum(ranks) / n)
    return out


@pytest.mark.parametrize("seed", range(8))
def test_matches_brute_force_with_ties(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 60))
    sim = rng.integers(-3, 4, size=(n, n)).astype(np.float32)  # integer values: many ties
    got = retrieval_metrics(sim)
    want = brute_force(sim, [{i} for i in range(n)])
    assert got.keys() == want.keys()
    for key in want:
        assert got[key] == pytest.approx(want[key]), key


def test_many_to_one_and_mask_match_brute_force() -> None:
    rng = np.random.default_rng(42)
    n_videos, n_texts = 17, 50
    text_to_video = rng.integers(0, n_videos, n_texts)
    text_to_video[:n_videos] = np.arange(n_videos)  # every video has a caption
    sim = rng.integers(0, 5, size=(n_videos, n_texts)).astype(np.float64)
    both = bidirectional_retrieval_metrics(sim, text_to_video)
    want_t2v = brute_force(sim.T, [{int(v)} for v in text_to_video])
    want_v2t = brute_force(sim, [set(np.flatnonzero(text_to_video == v).tolist()) for v in range(n_videos)])
    for key in want_t2v:
        assert both["t2v"][key] == pytest.approx(want_t2v[key])
        assert both["v2t"][key] == pytest.approx(want_v2t[key])


def test_ties_count_against_query_and_torch_input() -> None:
    const = torch.ones(6, 6)
    assert retrieval_ranks(const).tolist() == [6] * 6
    m = retrieval_metrics(const)
    assert m["R@1"] == 0.0 and m["R@5"] == 0.0 and m["R@10"] == 100.0 and m["MedR"] == 6.0
    perfect = retrieval_metrics(torch.eye(4, dtype=torch.bfloat16) * 3)
    assert perfect == {"R@1": 100.0, "R@5": 100.0, "R@10": 100.0, "MedR": 1.0, "MeanR": 1.0}
    square = bidirectional_retrieval_metrics(np.eye(3))
    assert square["t2v"]["R@1"] == square["v2t"]["R@1"] == 100.0


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="square"):
        retrieval_metrics(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="NaN"):
        retrieval_metrics(np.array([[np.nan]]))
    with pytest.raises(ValueError, match="out of range"):
        retrieval_metrics(np.zeros((2, 3)), targets=np.array([0, 3]))
    with pytest.raises(ValueError, match="no relevant"):
        retrieval_metrics(np.zeros((2, 2)), targets=np.zeros((2, 2), dtype=bool))
