"""Per-item outcomes -> a mean with its n and a 95% percentile-bootstrap interval.

Small held-out splits lie: every reported accuracy of the order evaluation carries how many items
it rests on and how far resampling those items moves it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def bootstrap_summary(
    outcomes: Sequence[float], n_boot: int = 2000, seed: int = 0, scale: float = 100.0
) -> dict[str, Any]:
    """{"acc": mean * scale, "n": len, "ci95": [lo, hi] * scale} over per-item outcomes (0/1 or a
    fraction per item); n = 0 gives NaNs. Resamples items with replacement, `n_boot` times."""
    x = np.asarray(outcomes, dtype=np.float64)
    if x.size == 0:
        return {"acc": float("nan"), "n": 0, "ci95": [float("nan"), float("nan")]}
    rng = np.random.default_rng(seed)
    means = x[rng.integers(0, x.size, size=(n_boot, x.size))].mean(axis=1)
    lo, hi = np.percentile(means, [2.5, 97.5])
    return {"acc": scale * float(x.mean()), "n": int(x.size), "ci95": [scale * float(lo), scale * float(hi)]}
