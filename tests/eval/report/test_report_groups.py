"""Seed groups of the report: grouping by config, names, intervals against scipy, verdicts."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from hierskp.eval.report.groups import comparison_lines, group_name, group_table, interval, paired_lines, seed_groups


@pytest.mark.parametrize("n", [2, 3, 5, 11, 30])
def test_interval_is_the_student_t_interval(n):
    v = np.random.default_rng(n).normal(50, 5, n)
    got = interval(list(v))
    lo, hi = stats.t.interval(0.95, n - 1, loc=v.mean(), scale=stats.sem(v))
    assert got["n"] == n and got["mean"] == pytest.approx(v.mean())
    assert got["std"] == pytest.approx(v.std(ddof=1))
    assert got["ci95"] == pytest.approx((hi - lo) / 2, rel=1e-3)


def test_interval_small_and_missing():
    assert interval([]) == {"mean": None, "std": None, "ci95": None, "n": 0}
    assert interval([3.0, None, float("nan")]) == {"mean": 3.0, "std": None, "ci95": None, "n": 1}


def test_seed_groups_group_only_seed_differences():
    configs = [{}, {"lr": 1, "seed": 0}, {"lr": 1, "seed": 1}, {"lr": 2, "seed": 0}, {"lr": 1, "seed": 2}]
    names = ["frozen", "HierSKP", "seed=1", "lr=2", "seed=2"]
    display = ["frozen", "HierSKP", "HierSKP (run_s1)", "lr=2", "HierSKP (run_s2)"]
    assert seed_groups(configs, names, display) == [
        ("frozen", ["frozen"]),
        ("HierSKP", ["HierSKP", "seed=1", "seed=2"]),
        ("lr=2", ["lr=2"]),
    ]


@pytest.mark.parametrize(
    ("members", "expected"),
    [
        (["full_s0", "full_s1"], "full"),
        (["HecVL seed 0", "HecVL seed=1"], "HecVL"),
        (["a", "a (run2)"], "a"),
        (["x", "y"], "x (+1 seeds)"),
        (["s0", "s1"], "s0"),
    ],
)
def test_group_name(members, expected):
    assert group_name(members) == expected


def test_group_table_and_verdicts():
    table = {
        "a0": {"summary": {"acc": 90.0}},
        "a1": {"summary": {"acc": 92.0}},
        "a2": {"summary": {"acc": 91.0}},
        "b0": {"summary": {"acc": 60.0}},
        "b1": {"summary": {"acc": 61.0}},
        "c0": {"summary": {"acc": 91.5}},
        "c1": {"summary": {"acc": 80.0}},
    }
    groups = [("a", ["a0", "a1", "a2"]), ("b", ["b0", "b1"]), ("c", ["c0", "c1"])]
    gt = group_table(table, groups)
    assert gt["a"]["summary"]["acc"]["mean"] == pytest.approx(91.0) and gt["a"]["summary"]["acc"]["n"] == 3
    lines = comparison_lines(gt, "a", ["b", "c"], ["acc"])
    assert lines[0] == "* a vs b: acc +30.5 (ahead)"
    assert lines[1].endswith("(within the intervals)")  # c's interval is wide (2 seeds far apart)
    assert comparison_lines(gt, "b", ["a"], ["acc"])[0].endswith("(behind)")


def _method(name, zs, lp):
    rec = {"zero_shot": {"frame": {"per_video_accuracy": zs}}, "linear_probe": {"frame": {"per_video_accuracy": lp}}}
    return {"name": name, "result": {"recognition": rec}}


def test_paired_lines_average_seeds_per_video_then_difference():
    methods = [
        _method("a0", {"v1": 0.8, "v2": 0.6, "v3": 0.5}, {"v1": 0.5}),
        _method("a1", {"v1": 0.6, "v2": 0.6}, {"v1": 0.7}),  # v3 not scored by every seed: left out
        _method("b0", {"v1": 0.5, "v2": 0.4, "v3": 0.1}, {"v1": 0.6}),
    ]
    lines = paired_lines(methods, [("a", ["a0", "a1"]), ("b", ["b0"])], "a")
    assert len(lines) == 1 and lines[0].startswith(
        "* a − b: ZS frame Acc +20.0 [+20.0, +20.0]"
    )  # (0.7-0.5 + 0.6-0.4) / 2
    assert "(n=2 videos)" in lines[0] and "LP frame Acc +0.0 [+0.0, +0.0] (n=1 videos)" in lines[0]
