"""1-D NMS, soft-NMS and per-frame scores -> detections."""

from __future__ import annotations

import numpy as np
import pytest

from hierskp.eval.metrics.detection import Annotation as A
from hierskp.eval.metrics.detection import Detection as D
from hierskp.eval.metrics.detection import detection_map
from hierskp.eval.tasks.proposals import frame_scores_to_detections, nms_1d, nms_detections, soft_nms_1d


def test_nms_1d():
    segs = np.array([[0, 10], [1, 10], [20, 30], [0, 5]], dtype=float)
    scores = np.array([0.9, 0.95, 0.5, 0.8])
    # [1,10] wins; [0,10] overlaps it at .9 -> dropped; [0,5] overlaps at 4/10 -> kept
    assert nms_1d(segs, scores, 0.5).tolist() == [1, 3, 2]
    assert nms_1d(segs, scores, 0.3).tolist() == [1, 2]
    assert nms_1d(segs, scores, 0.5, top_k=1).tolist() == [1]
    assert nms_1d(np.zeros((0, 2)), np.zeros(0)).tolist() == []


def test_soft_nms_decays_overlaps_only():
    segs = np.array([[0, 10], [0, 10], [50, 60]], dtype=float)
    idx, sc = soft_nms_1d(segs, np.array([0.9, 0.8, 0.7]), sigma=0.5)
    assert idx.tolist() == [0, 2, 1]
    assert sc.tolist() == pytest.approx([0.9, 0.7, 0.8 * np.exp(-1 / 0.5)])
    idx2, _ = soft_nms_1d(segs, np.array([0.9, 0.8, 0.7]), sigma=0.5, min_score=0.2)
    assert idx2.tolist() == [0, 2]


def test_frame_scores_to_detections_threshold_and_argmax():
    t = np.arange(10, dtype=float) + 0.5  # frame centres, 1 s apart
    scores = np.zeros((10, 3))
    scores[:, 0] = 1.0  # background everywhere...
    scores[2:5, 1] = [0.6, 0.9, 0.6]  # class 1 in frames 2-4
    scores[2:5, 0] = 0.0
    scores[7:9, 2] = 0.75
    scores[7:9, 0] = 0.1
    # threshold 0.8 adds the single-frame core [3, 4] of "cut" (tIoU 1/3 with [2, 5])
    dets = frame_scores_to_detections(scores, t, ["bg", "cut", "clip"], thresholds=(0.5, 0.8), background=0)
    assert dets == [
        D(3.0, 4.0, "cut", pytest.approx(0.9)),
        D(7.0, 9.0, "clip", pytest.approx(0.75)),
        D(2.0, 5.0, "cut", pytest.approx(0.7)),
    ]
    assert all(type(d.start) is float and type(d.score) is float for d in dets)
    strict = frame_scores_to_detections(
        scores, t, ["bg", "cut", "clip"], thresholds=(0.5, 0.8), background=0, nms_iou=0.3
    )
    assert [d.label for d in strict] == ["cut", "clip"]
    single = frame_scores_to_detections(scores, t, ["bg", "cut", "clip"], background=0, min_frames=3)
    assert single == [D(2.0, 5.0, "cut", pytest.approx(0.7))]
    am = frame_scores_to_detections(scores, t, ["bg", "cut", "clip"], mode="argmax", background=0)
    assert {(d.label, d.start, d.end) for d in am} == {("cut", 2.0, 5.0), ("clip", 7.0, 9.0)}
    gt = {"v": [A(2.0, 5.0, "cut"), A(7.0, 9.0, "clip")]}
    assert detection_map(gt, {"v": am}).average_mAP == 1.0
    with pytest.raises(ValueError, match="do not agree"):
        frame_scores_to_detections(scores, t[:-1], ["bg", "cut", "clip"])


def test_nms_detections_is_per_class():
    dets = [D(0, 10, "a", 0.9), D(0, 10, "b", 0.8), D(1, 10, "a", 0.7)]
    assert nms_detections(dets, 0.5) == [D(0, 10, "a", 0.9), D(0, 10, "b", 0.8)]
    soft = nms_detections(dets, soft=True)
    assert len(soft) == 3 and soft[-1].score < 0.7
