"""Twin discrimination and the video-side controls: found from the annotations, at chance without a video."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierskp.eval.metrics.intervals import bootstrap_summary
from hierskp.eval.metrics.retrieval import TIE_TOLERANCE, expected_first
from hierskp.eval.tasks.embed import embed_split
from hierskp.eval.tasks.order import order_retrieval
from hierskp.eval.tasks.order_controls import block_shuffle, order_controls, reorder_to, twin_orders
from hierskp.eval.tasks.retrieval import annotated_orders, headline, split_metrics
from hierskp.runs.model import frozen_baseline
from tests.fixtures.synthetic_cache import make_synthetic_cache


def test_twins_are_other_procedures_with_the_same_labels_in_another_order():
    videos = [
        ("thyro", ("a", "b", "c", "d")),
        ("para", ("a", "c", "b", "d")),
        ("para", ("a", "c", "b", "d")),
        ("thyro", ("a", "b", "c")),  # another multiset: no twin
        ("loose", ("a", "b", "c", "d")),  # same order as thyro: not a twin of it
        ("loose", ("a", "d", "c", "b")),
    ]
    twins = twin_orders(videos)
    assert twins[("para", ("a", "c", "b", "d"))] == ("a", "b", "c", "d")
    assert twins[("thyro", ("a", "b", "c", "d"))] == ("a", "c", "b", "d")  # most frequent other order
    assert ("thyro", ("a", "b", "c")) not in twins
    assert twins[("loose", ("a", "d", "c", "b"))] in {("a", "b", "c", "d"), ("a", "c", "b", "d")}


def test_reorder_keeps_repeated_labels_in_order_and_block_shuffle_moves_clips():
    labels = ["x", "y", "x", "z"]
    p = reorder_to(labels, ["y", "x", "z", "x"])
    assert [labels[i] for i in p] == ["y", "x", "z", "x"] and p.tolist() == [1, 0, 3, 2]
    rng = np.random.default_rng(0)
    for n in (2, 3, 7, 32):
        perm = block_shuffle(n, rng)
        assert sorted(perm.tolist()) == list(range(n)) and perm.tolist() != list(range(n))


def test_bootstrap_summary_reports_n_and_an_interval_around_the_mean():
    s = bootstrap_summary([1, 0, 1, 1, 0, 1, 1, 1])
    assert s["n"] == 8 and s["acc"] == pytest.approx(75.0)
    assert s["ci95"][0] < 75.0 < s["ci95"][1]
    assert bootstrap_summary([1.0] * 5)["ci95"] == [100.0, 100.0]
    assert bootstrap_summary([])["n"] == 0


@pytest.fixture(scope="module")
def twin_cache(tmp_path_factory):
    return make_synthetic_cache(tmp_path_factory.mktemp("twins") / "c.zarr", n_videos=40, seed=3, op_frames=(3, 6))


class _ConstantVideo:
    """A frozen-baseline embedder whose video side ignores the features: a metric on it must be at chance."""

    def __init__(self, inner):
        self.inner, self.method = inner, "constant"

    def video(self, x, mask):
        emb, tok = self.inner.video(torch.ones_like(x), mask)
        return emb, tok

    def video_clips(self, x, mask):
        return self.inner.video_clips(torch.ones_like(x), mask)

    def text(self, t):
        return self.inner.text(t)

    def sequence(self, t, mask):
        return self.inner.sequence(t, mask)


def test_controls_on_a_real_cache_carry_n_and_a_blind_video_side_is_at_chance(twin_cache):
    base = frozen_baseline(twin_cache)
    emb = embed_split(twin_cache, base, "test")
    orders = annotated_orders(twin_cache)
    oc = order_controls(base.embedder, emb, orders)
    assert oc.n_videos == len(emb.order) and oc.twin_procedures
    assert oc.to_dict()["twin"] is oc.twin  # the JSON form carries the same numbers
    n_twin = oc.twin["canonical"]["dtw"]["n"]
    assert n_twin >= 2
    # the frozen global scorer is a bag of steps: every twin comparison is a tie, i.e. chance
    assert oc.twin["canonical"]["global"]["acc"] == pytest.approx(50.0)
    # the mean video is one query for all: with the same neutral texts for both twins, the
    # twin test cannot be passed (every row of one multiset flips the same comparison)
    blind = order_controls(_ConstantVideo(base.embedder), emb, orders)
    for scorer in ("clip_dtw", "dtw", "global"):
        assert abs(blind.twin["canonical"][scorer]["acc"] - 50.0) <= 100.0 / n_twin + 1e-9
        assert blind.time_shuffled[scorer]["acc"] == pytest.approx(50.0)  # shuffling nothing changes nothing


def test_split_metrics_and_headline_carry_the_controls(twin_cache):
    m = split_metrics(twin_cache, frozen_baseline(twin_cache), "test").to_dict()
    assert m["order_controls"]["mean_video_twin"]["canonical"]["dtw"]["chance"] == 50.0
    flat = headline({"heads": m, "frozen_baseline": m})
    for key in ("twin_dtw", "twin_own_text_global", "mean_video_twin_dtw", "time_shuffled_dtw"):
        assert f"heads/{key}/acc" in flat


def test_one_tie_rule_a_fair_coin():
    assert expected_first(1.0, np.array([0.0, 0.5])) == 1.0
    assert expected_first(1.0, np.array([2.0, 0.5])) == 0.0
    assert expected_first(1.0, np.array([1.0 + TIE_TOLERANCE / 2])) == 0.5  # float noise is a tie
    assert expected_first(1.0, np.array([1.0, 1.0, 0.0])) == pytest.approx(1 / 3)  # first of 3 tied: 1/3
    assert expected_first(1.0, np.array([])) == 1.0


def test_order_retrieval_counts_ties_as_the_controls_do(twin_cache):
    base = frozen_baseline(twin_cache)
    emb = embed_split(twin_cache, base, "test")
    res = order_retrieval(base.embedder, emb).to_dict()
    # the frozen sequence embedding is a bag of steps: every wrong order ties with the true one, so
    # its pairwise accuracy is a coin flip and its order accuracy 1 / (1 + wrong orders) per video
    assert res["global"]["pairwise_accuracy"] == pytest.approx(50.0)
    assert 100.0 / res["n_wrong_orders"] / 2 < res["global"]["order_accuracy"] <= 50.0
