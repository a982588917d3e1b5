"""Readers and writers for ActivityNet-style detection JSON, with precise validation errors.

Ground truth: ``{"database": {vid: {"subset": str, "annotations": [{"segment": [s, e],
"label": str}, ...]}}}``. Predictions: ``{"results": {vid: [{"segment": [s, e], "label": str,
"score": float}, ...]}}``. Other keys ("version", "taxonomy", "external_data", per-video
"duration", ...) are allowed and ignored. Videos listed with no annotations are kept: they
are evaluated videos without actions, so predictions on them are false positives.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from typing import Any

from hierskp.eval.metrics.detection import Annotation, Detection
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write_text


class DetectionFormatError(ValueError):
    """A detection/GT file is malformed; the message names the file, the field and the value."""


def _short(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _fail(source: str, where: str, expected: str, value: Any) -> DetectionFormatError:
    return DetectionFormatError(f"{source}: {where}: expected {expected}, got {_short(value)}")


def _keys(data: Any) -> Any:
    """What to show for a wrong top level: its keys, or its JSON type."""
    return {"keys": sorted(data)} if isinstance(data, dict) else type(data).__name__


def _number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _segment(source: str, where: str, seg: Any) -> tuple[float, float]:
    if not (isinstance(seg, (list, tuple)) and len(seg) == 2 and all(_number(v) for v in seg)):
        raise _fail(source, where, "[start, end] with two finite numbers", seg)
    start, end = float(seg[0]), float(seg[1])
    if end < start:
        raise _fail(source, where, "start <= end", seg)
    return start, end


def _label(source: str, where: str, label: Any) -> str:
    if not isinstance(label, str) or not label:
        raise _fail(source, where, "a non-empty string label", label)
    return label


def _load(path: str | os.PathLike[str]) -> Any:
    try:
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)
    except json.JSONDecodeError as exc:
        raise DetectionFormatError(f"{path}: not valid JSON: {exc}") from exc


def parse_ground_truth(
    data: Any, source: str = "<ground truth>", subset: str | None = None
) -> dict[str, list[Annotation]]:
    """Validate an ActivityNet GT object; keep only videos of ``subset`` when given."""
    if not isinstance(data, dict) or not isinstance(data.get("database"), dict):
        raise _fail(source, "top level", 'an object with a "database" object', _keys(data))
    out: dict[str, list[Annotation]] = {}
    subsets_seen: set[str] = set()
    for vid, entry in data["database"].items():
        where = f"database[{vid!r}]"
        if not isinstance(entry, dict):
            raise _fail(source, where, "an object", entry)
        if subset is not None:
            if not isinstance(entry.get("subset"), str):
                raise _fail(source, f"{where}.subset", "a string (needed for the subset filter)", entry.get("subset"))
            subsets_seen.add(entry["subset"])
            if entry["subset"] != subset:
                continue
        anns = entry.get("annotations")
        if not isinstance(anns, list):
            raise _fail(source, f"{where}.annotations", "a list", anns)
        items = []
        for i, ann in enumerate(anns):
            w = f"{where}.annotations[{i}]"
            if not isinstance(ann, dict):
                raise _fail(source, w, "an object", ann)
            start, end = _segment(source, f"{w}.segment", ann.get("segment"))
            items.append(Annotation(start, end, _label(source, f"{w}.label", ann.get("label"))))
        out[vid] = items
    if subset is not None and not out:
        raise DetectionFormatError(
            f"{source}: no video has subset {subset!r} (subsets present: {sorted(subsets_seen)})"
        )
    return out


def parse_predictions(data: Any, source: str = "<predictions>") -> dict[str, list[Detection]]:
    """Validate an ActivityNet predictions object."""
    if not isinstance(data, dict) or not isinstance(data.get("results"), dict):
        raise _fail(source, "top level", 'an object with a "results" object', _keys(data))
    out: dict[str, list[Detection]] = {}
    for vid, dets in data["results"].items():
        where = f"results[{vid!r}]"
        if not isinstance(dets, list):
            raise _fail(source, where, "a list of detections", dets)
        items = []
        for i, det in enumerate(dets):
            w = f"{where}[{i}]"
            if not isinstance(det, dict):
                raise _fail(source, w, "an object", det)
            start, end = _segment(source, f"{w}.segment", det.get("segment"))
            label = _label(source, f"{w}.label", det.get("label"))
            score = det.get("score")
            if not _number(score):
                raise _fail(source, f"{w}.score", "a finite number", score)
            items.append(Detection(start, end, label, float(score)))
        out[vid] = items
    return out


def read_ground_truth(path: str | os.PathLike[str], subset: str | None = None) -> dict[str, list[Annotation]]:
    return parse_ground_truth(_load(path), str(path), subset)


def read_predictions(path: str | os.PathLike[str]) -> dict[str, list[Detection]]:
    return parse_predictions(_load(path), str(path))


def _atomic_write_json(path: str | os.PathLike[str], obj: Any) -> None:
    atomic_write_text(path, strict_json.dumps(obj, indent=1))


def write_ground_truth(
    path: str | os.PathLike[str],
    ground_truth: Mapping[str, Sequence[Annotation]],
    subset: str | Mapping[str, str] = "test",
) -> None:
    """Write GT; ``subset`` is one name for all videos or a per-video mapping."""
    db = {}
    for vid, anns in ground_truth.items():
        sub = subset if isinstance(subset, str) else subset[vid]
        db[vid] = {"subset": sub, "annotations": [{"segment": [a.start, a.end], "label": a.label} for a in anns]}
    _atomic_write_json(path, {"version": "hierskp", "database": db})


def write_predictions(
    path: str | os.PathLike[str],
    predictions: Mapping[str, Sequence[Detection]],
    external_data: Mapping[str, Any] | None = None,
) -> None:
    results = {
        vid: [{"segment": [d.start, d.end], "label": d.label, "score": d.score} for d in dets]
        for vid, dets in predictions.items()
    }
    _atomic_write_json(path, {"version": "hierskp", "results": results, "external_data": dict(external_data or {})})
