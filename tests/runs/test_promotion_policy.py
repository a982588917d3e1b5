"""`PromotionPolicy` over the headline registry: exactly the registry's promotion metrics decide, and
the decision names the metric that refused the candidate (plain library code, real run registry)."""

from __future__ import annotations

import json

import pytest

from hierskp.eval.report.headline import HEADLINE, PROMOTION
from hierskp.runs.metric import Metric
from hierskp.runs.promotion import PromotionPolicy, RunRegistry, compare_metrics


def _values(base: float = 60.0, **changed: float) -> dict[str, float]:
    """A run's value for every headline metric (display units), some changed: {"twin_dtw/acc": 40.0}."""
    out = {m.name: base for m in HEADLINE}
    out.update({k.replace("__", "/"): v for k, v in changed.items()})
    return out


def test_promotion_metrics_are_the_registry_with_a_direction():
    names = [m.name for m in PROMOTION]
    assert names == [m.name for m in HEADLINE if m.path[0] == "retrieval" and m.higher_is_better is not None]
    assert "video/R@1" in names and "twin_clip_dtw/acc" in names and "time_shuffled_clip_dtw/acc" in names
    assert not [n for n in names if n.startswith("mean_video_twin")]  # controls have no better direction
    with pytest.raises(ValueError, match="mean_video_twin_clip_dtw/acc"):
        PromotionPolicy(HEADLINE)
    with pytest.raises(ValueError, match="tolerance"):
        PromotionPolicy(PROMOTION, tolerance=-1.0)


def test_a_control_moving_to_chance_no_longer_refuses_the_candidate():
    """The old rule (every metric both sides report, higher is better: what retrain compared after its
    "heads/" filter) refused a candidate whose mean-video control fell from 58 toward its chance of 50."""
    incumbent = _values(mean_video_twin_clip_dtw__acc=58.0)
    candidate = _values(mean_video_twin_clip_dtw__acc=50.0)
    old_promote, old_reason = compare_metrics(candidate, incumbent)
    assert not old_promote and "mean_video_twin_clip_dtw/acc 50.0000 vs 58.0000" in old_reason
    verdict = PromotionPolicy(PROMOTION).judge(candidate, incumbent)
    assert verdict.promote and verdict.decided_by is None
    assert f"not worse on {len(PROMOTION)} metric(s)" in verdict.reason


def test_exactly_the_registry_metrics_are_compared_and_the_deciding_one_is_named():
    policy = PromotionPolicy(PROMOTION)
    # worse on keys outside the policy (a recognition column, an unknown name): not compared
    outside = {"ZS frame Acc": 10.0, "heads/video/R@1": 0.0, "something_else": -5.0}
    verdict = policy.judge({**_values(), **outside}, _values(base=60.0))
    assert verdict.promote and "ZS frame Acc" not in verdict.reason and "something_else" not in verdict.reason
    assert all(m.name in verdict.reason for m in PROMOTION)
    # worse on two registry metrics: refused, decided by the first in registry order, both named
    verdict = policy.judge(_values(twin_dtw__acc=40.0, order_dtw__acc=30.0), _values())
    assert not verdict.promote and verdict.decided_by == "order_dtw/acc"
    assert "order_dtw/acc 30.0000 vs 60.0000" in verdict.reason and "twin_dtw/acc 40.0000 vs 60.0000" in verdict.reason
    # within tolerance is not worse
    assert policy.__class__(PROMOTION, tolerance=25.0).judge(_values(twin_dtw__acc=40.0), _values()).promote


def test_missing_values_keep_the_safe_side():
    policy = PromotionPolicy(PROMOTION)
    no_video = {k: v for k, v in _values().items() if k != "video/R@1"}
    refused = policy.judge(no_video, _values())  # the candidate lacks what the current run has
    assert not refused.promote and refused.decided_by == "video/R@1"
    assert policy.judge(_values(), no_video).promote  # the current run lacks it: not compared
    both = policy.judge(no_video | {"video/R@1": float("nan")}, no_video)  # the held-out set cannot measure it
    assert both.promote and "measured by neither run: video/R@1" in both.reason
    assert not policy.judge({}, {}).promote  # nothing measured at all: keep current


def test_registry_records_the_deciding_metric(tmp_path):
    reg = RunRegistry(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    policy = PromotionPolicy(PROMOTION)
    assert reg.decide("a", _values(), None, policy=policy).promote
    d = reg.decide("b", _values(twin_clip_dtw__acc=20.0), _values(), policy=policy)
    assert not d.promote and d.decided_by == "twin_clip_dtw/acc" and reg.current() == "a"
    assert json.loads((tmp_path / "b" / "decision.json").read_text())["decided_by"] == "twin_clip_dtw/acc"
    assert reg.decisions()[-1]["decided_by"] == "twin_clip_dtw/acc"


def test_metric_reads_its_path_in_display_units():
    m = Metric("ZS frame Acc", ("recognition", "zero_shot", "frame", "video_accuracy"), scale=100.0)
    assert m.value({"recognition": {"zero_shot": {"frame": {"video_accuracy": 0.25}}}}) == 25.0
    skipped = {"recognition": {"zero_shot": {"frame": {"skipped": "no probe"}}}}
    assert not m.holds(skipped) and m.value(skipped) is None
    null = {"recognition": {"zero_shot": {"frame": {"video_accuracy": None}}}}  # NaN in a strict-JSON file
    assert m.holds(null) and m.value(null) is None
