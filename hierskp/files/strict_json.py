"""JSON that every parser accepts: no bare NaN or Infinity (a missing or undefined number is null).

`dumps(obj, **kw)` is `json.dumps` with ``allow_nan=False`` after turning non-finite floats into None
and numpy scalars and arrays into Python numbers and lists; every file and line hierskp writes for
other tools (eval.json, report.json, decisions.jsonl, metrics.jsonl, ...) goes through it.
"""

from __future__ import annotations

import json
import math
from typing import Any


def clean(obj: Any) -> Any:
    """`obj` with non-finite floats as None, numpy values as Python ones, tuples as lists."""
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [clean(v) for v in obj]
    if hasattr(obj, "tolist") and type(obj).__module__ == "numpy":
        return clean(obj.tolist())
    return obj


def dumps(obj: Any, **kwargs: Any) -> str:
    return json.dumps(clean(obj), allow_nan=False, **kwargs)
