"""Temporal action localization mAP under the ActivityNet detection protocol.

Follows ActivityNet's ``Evaluation/eval_detection.py``:

* per class, predictions are sorted by score (descending; ties keep input order) and
  each one is matched, independently at every tIoU threshold, to the unmatched ground
  truth (GT) segment of the same video with the highest tIoU, provided that tIoU >= the
  threshold; otherwise it is a false positive. A second detection of an already matched
  GT segment is therefore a false positive.
* AP is the VOC-2011 interpolated area (``interpolated_prec_rec``); recall is over all
  GT of the class, so GT in videos without any prediction are misses.
* mAP at a threshold is the mean over the classes that have GT; ``average_mAP`` is
  the mean over thresholds. A GT class without predictions has AP 0.

Two cases ActivityNet does not ignore, made explicit here:

* predictions for a video absent from the (subset-filtered) GT: ActivityNet keeps them
  and they count as false positives of their class. ``extra_videos="fp"`` (default)
  reproduces that; ``"ignore"`` drops them. They are counted in the result either way.
* predictions whose label has no GT: ActivityNet raises ``KeyError``. They cannot change
  any averaged class, so ``unknown_labels="ignore"`` (default) drops and counts them;
  ``"error"`` raises.

Among GT segments with exactly equal tIoU the first in file order is taken (ActivityNet's
reversed argsort may pick another); this can only matter when tIoUs tie exactly.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

DEFAULT_TIOU: tuple[float, ...] = (0.3, 0.4, 0.5, 0.6, 0.7)


@dataclass(frozen=True)
class Annotation:
    start: float
    end: float
    label: str


@dataclass(frozen=True)
class Detection:
    start: float
    end: float
    label: str
    score: float


GroundTruth = Mapping[str, Sequence[Annotation]]
Predictions = Mapping[str, Sequence[Detection]]


def segment_tiou(segment: Sequence[float], candidates: np.ndarray) -> np.ndarray:
    """tIoU of one [start, end] against candidates [N, 2]; 0 where the union is empty."""
    cand = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    inter = (np.minimum(segment[1], cand[:, 1]) - np.maximum(segment[0], cand[:, 0])).clip(0)
    union = (cand[:, 1] - cand[:, 0]) + (segment[1] - segment[0]) - inter
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def interpolated_ap(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-2011 interpolated AP: area under the precision envelope at each recall step."""
    mprec = np.concatenate([[0.0], np.asarray(precision, dtype=np.float64), [0.0]])
    mrec = np.concatenate([[0.0], np.asarray(recall, dtype=np.float64), [1.0]])
    mprec = np.maximum.accumulate(mprec[::-1])[::-1]
    steps = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[steps] - mrec[steps - 1]) * mprec[steps]))


def average_precision_detection(
    gt: Mapping[str, np.ndarray],
    predictions: Sequence[tuple[str, float, float, float]],
    tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
) -> np.ndarray:
    """AP at each threshold for ONE class.

    ``gt`` maps video -> [n, 2] GT segments of this class; ``predictions`` are
    (video, start, end, score) of this class. Returns an array [len(tiou_thresholds)].
    """
    thr = np.asarray(tiou_thresholds, dtype=np.float64)
    n_pos = sum(len(v) for v in gt.values())
    ap = np.zeros(len(thr))
    if n_pos == 0 or len(predictions) == 0:
        return ap
    order = np.argsort(-np.asarray([p[3] for p in predictions], dtype=np.float64), kind="stable")
    locked = {vid: np.zeros((len(thr), len(segs)), dtype=bool) for vid, segs in gt.items()}
    tp = np.zeros((len(thr), len(order)))
    for rank, idx in enumerate(order):
        vid, start, end, _ = predictions[idx]
        segs = gt.get(vid)
        if segs is None or len(segs) == 0:
            continue  # no GT of this class in the video: FP at every threshold
        tiou = segment_tiou((start, end), segs)
        for t, threshold in enumerate(thr):
            free = (tiou >= threshold) & ~locked[vid][t]
            if free.any():
                best = int(np.argmax(np.where(free, tiou, -1.0)))
                locked[vid][t, best] = True
                tp[t, rank] = 1.0
    tp_cum = np.cumsum(tp, axis=1)
    fp_cum = np.cumsum(1.0 - tp, axis=1)
    recall = tp_cum / n_pos
    precision = tp_cum / (tp_cum + fp_cum)
    for t in range(len(thr)):
        ap[t] = interpolated_ap(precision[t], recall[t])
    return ap


@dataclass
class DetectionResult:
    tiou_thresholds: list[float]
    classes: list[str]
    ap: np.ndarray  # [n_thresholds, n_classes]
    n_ground_truth: int = 0
    n_predictions: int = 0
    n_unknown_label: int = 0  # predictions whose label has no GT (dropped)
    n_extra_video: int = 0  # predictions for videos absent from GT (FP or dropped)
    extra_videos: str = "fp"
    per_class: dict[str, list[float]] = field(default_factory=dict)

    @property
    def mAP(self) -> np.ndarray:
        return self.ap.mean(axis=1)

    @property
    def average_mAP(self) -> float:
        return float(self.mAP.mean())

    def summary(self) -> dict[str, float]:
        """``{"mAP@0.3": ..., ..., "average_mAP": ...}`` with values in [0, 1]."""
        out = {f"mAP@{t:g}": float(m) for t, m in zip(self.tiou_thresholds, self.mAP)}
        out["average_mAP"] = self.average_mAP
        return out


def detection_map(
    ground_truth: GroundTruth,
    predictions: Predictions,
    tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
    extra_videos: Literal["fp", "ignore"] = "fp",
    unknown_labels: Literal["ignore", "error"] = "ignore",
) -> DetectionResult:
    """ActivityNet detection mAP; see the module docstring for the exact protocol."""
    if extra_videos not in ("fp", "ignore") or unknown_labels not in ("ignore", "error"):
        raise ValueError(f"bad option extra_videos={extra_videos!r} unknown_labels={unknown_labels!r}")
    thr = [float(t) for t in tiou_thresholds]
    if not thr or any(not 0.0 < t <= 1.0 for t in thr):
        raise ValueError(f"tIoU thresholds must be in (0, 1], got {thr}")
    gt_by_class: dict[str, dict[str, list[tuple[float, float]]]] = defaultdict(lambda: defaultdict(list))
    n_gt = 0
    for vid, anns in ground_truth.items():
        for a in anns:
            gt_by_class[a.label][vid].append((a.start, a.end))
            n_gt += 1
    classes = sorted(gt_by_class)
    if not classes:
        raise ValueError("ground truth has no annotations: mAP is undefined")
    preds_by_class: dict[str, list[tuple[str, float, float, float]]] = defaultdict(list)
    n_pred = n_unknown = n_extra = 0
    for vid, dets in predictions.items():
        in_gt = vid in ground_truth
        for d in dets:
            n_pred += 1
            if d.label not in gt_by_class:
                n_unknown += 1
                if unknown_labels == "error":
                    raise ValueError(f"prediction label {d.label!r} (video {vid!r}) has no ground truth")
                continue
            if not in_gt:
                n_extra += 1
                if extra_videos == "ignore":
                    continue
            preds_by_class[d.label].append((vid, d.start, d.end, d.score))
    ap = np.zeros((len(thr), len(classes)))
    for c, label in enumerate(classes):
        gt_c = {vid: np.asarray(segs, dtype=np.float64) for vid, segs in gt_by_class[label].items()}
        ap[:, c] = average_precision_detection(gt_c, preds_by_class.get(label, []), thr)
    return DetectionResult(
        tiou_thresholds=thr,
        classes=classes,
        ap=ap,
        n_ground_truth=n_gt,
        n_predictions=n_pred,
        n_unknown_label=n_unknown,
        n_extra_video=n_extra,
        extra_videos=extra_videos,
        per_class={label: ap[:, c].tolist() for c, label in enumerate(classes)},
    )
