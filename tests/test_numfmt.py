"""Numbers for people (artifacts, summaries): the cases the raw prints got wrong."""

from __future__ import annotations

import pytest

from hierskp.numfmt import mean_ci, num, rounded


@pytest.mark.parametrize(
    "value, text",
    [
        (0.9096106370000143, "0.91"),
        (49.99999999999999, "50"),
        (None, "n/a"),
        (float("nan"), "n/a"),
        (1234567.8, "1,234,568"),
        (12, "12"),
        (0.5, "0.5"),
        (0.0, "0"),
        (-0.03125, "-0.0312"),
        (1e-7, "1.00e-07"),
        (True, "True"),
    ],
)
def test_num(value, text):
    assert num(value) == text


def test_mean_ci_drops_a_missing_interval():
    assert mean_ci(61.234, 4.31, 12) == "61.2 ± 4.3 (n=12)"
    assert mean_ci(61.234, float("nan"), 1) == "61.2 (n=1)"
    assert mean_ci(None) == "n/a"


def test_rounded_walks_json_like_values():
    assert rounded({"a": [0.123456, 2], "b": "x"}) == {"a": ["0.123", 2], "b": "x"}
