"""Numbers for people (artifacts, summaries): the cases the raw prints got wrong."""

from __future__ import annotations

import pytest

from hierskp.numfmt import fixed, mean_ci, num, rounded


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


def test_fixed_decimals_for_percent_tables():
    assert mean_ci(61.234, 4.31, decimals=1) == "61.2 ± 4.3"
    assert mean_ci(3.0, None, decimals=1) == "3.0"
    assert mean_ci(2.04, 0.55, 7, decimals=1, signed=True) == "+2.0 ± 0.6 (n=7)"
    assert mean_ci(-2.0, float("nan"), 1, decimals=1, signed=True) == "-2.0 (n=1)"  # no "± nan"
    assert fixed(812.4, 0) == "812" and fixed(float("nan")) == "n/a"


def test_no_hand_formatted_plus_minus_outside_numfmt():
    """numfmt is the one formatter: no f-string elsewhere in the library or the benches writes a ±."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    found = []
    for path in [*root.glob("hierskp/**/*.py"), *root.glob("bench/*.py"), *root.glob("flows/*.py")]:
        if path.name == "numfmt.py":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.JoinedStr) and any(
                isinstance(v, ast.Constant) and "±" in str(v.value) for v in node.values
            ):
                found.append(f"{path.relative_to(root)}:{node.lineno}")
    assert found == []
