"""Run registry and promotion rule (plain library code, no Prefect)."""

from __future__ import annotations

import json

import pytest

from hierskp.runs.promotion import RunRegistry, compare_metrics


def test_compare_metrics_not_worse_rule():
    assert compare_metrics({"r1": 50.0}, None)[0]
    ok, reason = compare_metrics({"r1": 50.0, "acc": 70.0}, {"r1": 50.0, "acc": 69.0})
    assert ok and "not worse on 2" in reason
    ok, reason = compare_metrics({"r1": 49.0, "acc": 90.0}, {"r1": 50.0, "acc": 69.0})
    assert not ok and "r1 49.0000 vs 50.0000" in reason
    assert compare_metrics({"r1": 49.5}, {"r1": 50.0}, tolerance=1.0)[0]
    assert not compare_metrics({"loss": 2.0}, {"loss": 1.0}, lower_is_better={"loss"})[0]
    assert not compare_metrics({"r1": float("nan")}, {"r1": 1.0})[0]
    assert not compare_metrics({"a": 1.0}, {"b": 1.0})[0]  # nothing comparable: keep current


def test_registry_promotes_records_and_points_atomically(tmp_path):
    reg = RunRegistry(tmp_path / "runs")
    assert reg.current() is None
    first = reg.new_run_id()
    reg.run_dir(first).mkdir(parents=True)
    d1 = reg.decide(first, {"r1": 40.0}, None)
    assert d1.promote and reg.current() == first
    second = reg.new_run_id()
    reg.run_dir(second).mkdir()
    d2 = reg.decide(second, {"r1": 30.0}, {"r1": 40.0})
    assert not d2.promote and reg.current() == first and "worse" in d2.reason
    assert json.loads((reg.run_dir(second) / "decision.json").read_text())["reason"] == d2.reason
    skip = reg.skip("nothing new")
    assert skip.candidate is None and skip.incumbent == first
    assert [d["candidate"] for d in reg.decisions()] == [first, second, None]
    assert (tmp_path / "runs" / "current").read_text() == first + "\n"
    assert not list((tmp_path / "runs").glob(".*tmp"))  # no temp file left behind
    with pytest.raises(ValueError):
        reg.run_dir("../escape")


def test_unscorable_current_run_is_replaced_with_the_reason(tmp_path):
    reg = RunRegistry(tmp_path)
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
    reg.decide("a", {"r1": 1.0}, None)
    d = reg.decide("b", {"r1": 0.5}, None)  # current "a" could not be evaluated
    assert d.promote and "could not be evaluated" in d.reason and reg.current() == "b"


def test_retrain_promotes_on_exactly_the_registry_metrics():
    from flows.retrain import promotion_policy
    from hierskp.eval.report.headline import PROMOTION

    policy = promotion_policy(tolerance=0.5)
    assert policy.metrics == PROMOTION and policy.tolerance == 0.5
