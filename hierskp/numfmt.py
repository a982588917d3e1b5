"""Numbers for people: the one formatter of artifacts, summaries and CLI tables.

`num(0.9096106370000143) == "0.91"`, `num(49.99999999999999) == "50"`, `num(None) == "n/a"`,
`num(1234567.8) == "1,234,568"`; `mean_ci(61.2, 4.31, 12) == "61.2 ± 4.3 (n=12)"`, and with n=1 or
no interval just the mean and n; `mean_ci(61.23, 4.31, decimals=1) == "61.2 ± 4.3"` and
`fixed(3.0) == "3.0"` for columns with a fixed number of decimals. Every ± the library prints comes from here.
"""

from __future__ import annotations

import math
from typing import Any


def num(x: Any, digits: int = 3) -> str:
    """`digits` significant digits, no exponent for ordinary magnitudes; "n/a" for None or NaN."""
    if x is None or isinstance(x, bool):
        return "n/a" if x is None else str(x)
    if isinstance(x, int):
        return f"{x:,}"
    if not isinstance(x, float):
        return str(x)
    if math.isnan(x):
        return "n/a"
    if math.isinf(x) or x == 0:
        return "0" if x == 0 else ("inf" if x > 0 else "-inf")
    magnitude = math.floor(math.log10(abs(x)))
    if magnitude >= digits - 1:
        return f"{x:,.0f}"
    if magnitude < -4:
        return f"{x:.{digits - 1}e}"
    text = f"{x:.{digits - 1 - magnitude}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def fixed(x: Any, decimals: int = 1, signed: bool = False) -> str:
    """A fixed number of decimals (table columns that line up: percentages, seconds); "n/a" for None or NaN."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    return f"{float(x):{'+' if signed else ''}.{decimals}f}"


def mean_ci(
    mean: Any,
    half_width: Any = None,
    n: int | None = None,
    digits: int = 3,
    decimals: int | None = None,
    signed: bool = False,
) -> str:
    """ "mean ± half-width (n=N)"; the interval is left out when it is missing or NaN (e.g. n=1). With
    `decimals`, both numbers have that many decimals (`signed`: the mean carries its sign) instead of
    `digits` significant digits: the report's and the ablation's percent tables."""
    text = num(mean, digits) if decimals is None else fixed(mean, decimals, signed)
    if half_width is not None and not (isinstance(half_width, float) and math.isnan(half_width)):
        text += f" ± {num(half_width, 2) if decimals is None else fixed(half_width, decimals)}"
    return f"{text} (n={n})" if n is not None else text


def rounded(obj: Any, digits: int = 3) -> Any:
    """A copy of a JSON-like value with every float as `num` shows it (for table artifacts)."""
    if isinstance(obj, float):
        return num(obj, digits)
    if isinstance(obj, dict):
        return {k: rounded(v, digits) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [rounded(v, digits) for v in obj]
    return obj
