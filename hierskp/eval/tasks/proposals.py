"""Turning per-frame class scores into temporal detections, and 1-D (soft-)NMS."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Literal

import numpy as np

from hierskp.eval.metrics.detection import Detection, segment_tiou


def nms_1d(
    segments: np.ndarray, scores: np.ndarray, iou_threshold: float = 0.5, top_k: int | None = None
) -> np.ndarray:
    """Hard NMS: indices of kept segments, best score first (ties keep input order).

    A segment is dropped when its tIoU with an already kept one is > ``iou_threshold``.
    """
    segs = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    order = np.argsort(-np.asarray(scores, dtype=np.float64), kind="stable")
    keep: list[int] = []
    while order.size and (top_k is None or len(keep) < top_k):
        i = int(order[0])
        keep.append(i)
        rest = order[1:]
        order = rest[segment_tiou(segs[i], segs[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def soft_nms_1d(
    segments: np.ndarray,
    scores: np.ndarray,
    sigma: float = 0.5,
    min_score: float = 1e-3,
    top_k: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Gaussian soft-NMS: (indices, rescored scores), in selection order.

    Each pick decays the others by ``exp(-tIoU^2 / sigma)``; candidates whose score falls
    below ``min_score`` are dropped.
    """
    if sigma <= 0:
        raise ValueError(f"sigma must be > 0, got {sigma}")
    segs = np.asarray(segments, dtype=np.float64).reshape(-1, 2)
    live = np.asarray(scores, dtype=np.float64).copy()
    remaining = np.arange(len(segs))
    idx_out: list[int] = []
    score_out: list[float] = []
    while remaining.size and (top_k is None or len(idx_out) < top_k):
        j = int(np.argmax(live[remaining]))  # first max: ties keep input order
        i = int(remaining[j])
        idx_out.append(i)
        score_out.append(float(live[i]))
        remaining = np.delete(remaining, j)
        if remaining.size:
            live[remaining] *= np.exp(-(segment_tiou(segs[i], segs[remaining]) ** 2) / sigma)
            remaining = remaining[live[remaining] >= min_score]
    return np.asarray(idx_out, dtype=np.int64), np.asarray(score_out)


def nms_detections(
    detections: Sequence[Detection],
    iou_threshold: float = 0.5,
    soft: bool = False,
    sigma: float = 0.5,
    top_k: int | None = None,
) -> list[Detection]:
    """Per-class NMS over one video's detections; output sorted by score."""
    by_label: dict[str, list[Detection]] = defaultdict(list)
    for d in detections:
        by_label[d.label].append(d)
    out: list[Detection] = []
    for label, dets in by_label.items():
        segs = np.array([(d.start, d.end) for d in dets]).reshape(-1, 2)
        scores = np.array([d.score for d in dets])
        if soft:
            idx, new = soft_nms_1d(segs, scores, sigma=sigma, top_k=top_k)
        else:
            idx = nms_1d(segs, scores, iou_threshold, top_k)
            new = scores[idx]
        out += [Detection(dets[i].start, dets[i].end, label, float(s)) for i, s in zip(idx, new)]
    out.sort(key=lambda d: -d.score)
    return out[:top_k] if top_k is not None else out


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """Inclusive [first, last] index pairs of the True runs of a 1-D mask."""
    padded = np.concatenate([[False], mask, [False]]).astype(np.int8)
    edges = np.flatnonzero(np.diff(padded))
    return [(int(a), int(b) - 1) for a, b in zip(edges[::2], edges[1::2])]


def frame_scores_to_detections(
    scores: np.ndarray,
    timestamps: np.ndarray,
    labels: Sequence[str],
    *,
    mode: Literal["threshold", "argmax"] = "threshold",
    thresholds: Sequence[float] = (0.5,),
    background: int | None = None,
    frame_duration: float | None = None,
    min_frames: int = 1,
    nms_iou: float | None = 0.5,
    soft_nms: bool = False,
) -> list[Detection]:
    """Group per-frame class scores [T, C] into scored segments for one video.

    Frame i is taken to cover ``[t_i - d/2, t_i + d/2]`` with ``d = frame_duration``
    (default: median spacing of ``timestamps``); starts are clipped at 0.

    * ``mode="threshold"``: for every class and every threshold, each maximal run of frames
      with score >= threshold becomes a segment (several thresholds give a multi-scale pool).
    * ``mode="argmax"``: each maximal run of frames whose argmax is the class.

    A segment's score is the class's mean frame score over the run. Class ``background``
    is never output. Runs shorter than ``min_frames`` are dropped; duplicates are merged;
    then per-class NMS (hard, or soft with ``soft_nms``) unless ``nms_iou`` is None.
    """
    s = np.asarray(scores, dtype=np.float64)
    ts = np.asarray(timestamps, dtype=np.float64)
    if s.ndim != 2 or ts.shape != (s.shape[0],) or s.shape[1] != len(labels):
        raise ValueError(f"scores {s.shape}, timestamps {ts.shape}, {len(labels)} labels do not agree")
    if s.shape[0] == 0:
        return []
    if frame_duration is None:
        frame_duration = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
    if not np.isfinite(s).all() or not np.isfinite(ts).all() or frame_duration < 0:
        raise ValueError("scores/timestamps must be finite and frame_duration >= 0")
    if mode not in ("threshold", "argmax"):
        raise ValueError(f"mode must be 'threshold' or 'argmax', got {mode!r}")
    half = frame_duration / 2.0
    argmax = s.argmax(axis=1) if mode == "argmax" else None
    out: list[Detection] = []
    for c, label in enumerate(labels):
        if c == background:
            continue
        masks = [argmax == c] if argmax is not None else [s[:, c] >= t for t in thresholds]
        runs = sorted({r for m in masks for r in _runs(m) if r[1] - r[0] + 1 >= min_frames})
        for a, b in runs:
            start = max(0.0, float(ts[a]) - half)
            out.append(Detection(start, float(ts[b]) + half, label, float(s[a : b + 1, c].mean())))
    if nms_iou is not None or soft_nms:
        out = nms_detections(out, iou_threshold=nms_iou if nms_iou is not None else 1.0, soft=soft_nms)
    else:
        out.sort(key=lambda d: -d.score)
    return out
