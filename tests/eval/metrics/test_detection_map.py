"""Detection mAP vs an independent straightforward implementation, plus hand-computed cases."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hierskp.eval.metrics.detection import Annotation as A
from hierskp.eval.metrics.detection import Detection as D
from hierskp.eval.metrics.detection import detection_map, interpolated_ap, segment_tiou
from hierskp.eval.metrics.detection_io import (
    DetectionFormatError,
    read_ground_truth,
    read_predictions,
    write_ground_truth,
    write_predictions,
)


def tiou(a: tuple[float, float], b: tuple[float, float]) -> float:
    inter = max(0.0, min(a[1], b[1]) - max(a[0], b[0]))
    union = (a[1] - a[0]) + (b[1] - b[0]) - inter
    return inter / union if union > 0 else 0.0


def reference_ap(gt, preds, label, thr, extra_fp=True):
    """Loop-by-loop AP for one class at one threshold."""
    gts = [(v, (a.start, a.end)) for v, anns in gt.items() for a in anns if a.label == label]
    cand = [
        (d.score, i, v, (d.start, d.end))
        for i, (v, d) in enumerate((v, d) for v, ds in preds.items() for d in ds)
        if d.label == label and (extra_fp or v in gt)
    ]
    cand.sort(key=lambda c: (-c[0], c[1]))
    used: set[int] = set()
    flags = []
    for _, _, v, seg in cand:
        best, best_j = -1.0, None
        for j, (gv, gseg) in enumerate(gts):
            if gv == v and j not in used and tiou(seg, gseg) >= thr and tiou(seg, gseg) > best:
                best, best_j = tiou(seg, gseg), j
        flags.append(best_j is not None)
        if best_j is not None:
            used.add(best_j)
    if not gts or not flags:
        return 0.0
    tp = np.cumsum(flags)
    precision = tp / np.arange(1, len(flags) + 1)
    ap, prev_recall = 0.0, 0.0
    for i, hit in enumerate(flags):
        if hit:
            recall = tp[i] / len(gts)
            ap += (recall - prev_recall) * precision[i:].max()
            prev_recall = recall
    return ap


def random_case(rng):
    labels = ["cut", "suture", "clip", "burn"]
    gt = {}
    for v in range(6):
        anns = []
        for _ in range(rng.integers(0, 5)):
            s = float(rng.uniform(0, 100))
            anns.append(A(s, s + float(rng.uniform(1, 20)), str(rng.choice(labels[:3]))))
        gt[f"v{v}"] = anns
    preds = {}
    for v in range(8):  # v6, v7 are not in GT
        dets = []
        for _ in range(rng.integers(0, 12)):
            s = float(rng.uniform(0, 100))
            dets.append(D(s, s + float(rng.uniform(1, 20)), str(rng.choice(labels)), float(rng.uniform())))
        if f"v{v}" in gt and gt[f"v{v}"] and rng.uniform() < 0.7:  # near-hits and duplicates
            a = gt[f"v{v}"][0]
            for _ in range(2):
                jit = rng.normal(0, 1.5, 2)
                dets.append(D(a.start + jit[0], a.end + abs(jit[1]) + 0.1, a.label, float(rng.uniform())))
        preds[f"v{v}"] = dets
    return gt, preds


@pytest.mark.parametrize("seed", range(25))
@pytest.mark.parametrize("extra", ["fp", "ignore"])
def test_matches_reference_on_random_cases(seed, extra):
    gt, preds = random_case(np.random.default_rng(seed))
    if not any(gt.values()):
        pytest.skip("no GT drawn")
    thr = (0.1, 0.3, 0.5, 0.7)
    res = detection_map(gt, preds, thr, extra_videos=extra)
    classes = sorted({a.label for anns in gt.values() for a in anns})
    assert res.classes == classes
    for c, label in enumerate(classes):
        for t, th in enumerate(thr):
            assert res.ap[t, c] == pytest.approx(reference_ap(gt, preds, label, th, extra == "fp"), abs=1e-12)
    want_map = [np.mean([reference_ap(gt, preds, c, th, extra == "fp") for c in classes]) for th in thr]
    assert res.mAP == pytest.approx(want_map)
    assert res.average_mAP == pytest.approx(np.mean(want_map))


def test_duplicate_detection_is_false_positive():
    gt = {"v": [A(0, 10, "a"), A(20, 30, "a")]}
    preds = {"v": [D(0, 10, "a", 0.9), D(1, 10, "a", 0.8), D(20, 30, "a", 0.7)]}
    # TP, FP (A already taken), TP -> P = [1, .5, .667], R = [.5, .5, 1]
    assert detection_map(gt, preds, [0.5]).average_mAP == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_overlap_threshold_and_best_tiou_matching():
    gt = {"v": [A(0, 10, "a")]}
    res = detection_map(gt, {"v": [D(5, 15, "a", 1.0)]})  # tIoU = 5/15
    assert res.summary() == pytest.approx(
        {"mAP@0.3": 1.0, "mAP@0.4": 0.0, "mAP@0.5": 0.0, "mAP@0.6": 0.0, "mAP@0.7": 0.0, "average_mAP": 0.2}
    )
    # the first prediction must take B (tIoU .85), not A (.16), leaving A for the second
    gt2 = {"v": [A(0, 10, "a"), A(8, 20, "a")]}
    preds2 = {"v": [D(7, 19, "a", 0.9), D(0, 9, "a", 0.8)]}
    assert detection_map(gt2, preds2, [0.1, 0.5]).mAP.tolist() == [1.0, 1.0]


def test_empty_classes_unknown_labels_and_missing_videos():
    gt = {"v1": [A(0, 10, "a"), A(0, 10, "b")], "v2": [A(5, 9, "a")], "v3": []}
    preds = {"v1": [D(0, 10, "a", 0.9), D(0, 10, "zzz", 0.99)]}
    res = detection_map(gt, preds, [0.5])
    # a: 1 of 2 GT found at precision 1 -> .5 ; b: GT but no predictions -> 0
    assert res.per_class == {"a": [0.5], "b": [0.0]}
    assert res.average_mAP == pytest.approx(0.25)
    assert res.n_unknown_label == 1 and res.n_ground_truth == 3
    with pytest.raises(ValueError, match="zzz"):
        detection_map(gt, preds, [0.5], unknown_labels="error")
    # a prediction on v3 (in GT, no actions) is an FP in both modes
    res3 = detection_map(gt, {"v3": [D(0, 1, "a", 1.0)], "v1": [D(0, 10, "a", 0.5)]}, [0.5], extra_videos="ignore")
    assert res3.per_class["a"] == [pytest.approx(0.25)]  # P=[0,.5], R=[0,.5]
    with pytest.raises(ValueError, match="no annotations"):
        detection_map({"v": []}, preds)


def test_predictions_for_videos_not_in_gt():
    gt = {"v": [A(0, 10, "a")]}
    preds = {"v": [D(0, 10, "a", 0.5)], "other": [D(0, 10, "a", 0.9)]}
    fp = detection_map(gt, preds, [0.5])  # ActivityNet: an FP ranked first
    assert fp.average_mAP == pytest.approx(0.5) and fp.n_extra_video == 1
    assert detection_map(gt, preds, [0.5], extra_videos="ignore").average_mAP == 1.0


def test_primitives():
    assert segment_tiou((0, 10), np.array([[5, 15], [20, 30], [0, 10]])).tolist() == [1 / 3, 0.0, 1.0]
    assert segment_tiou((3, 3), np.array([[3, 3]])).tolist() == [0.0]
    assert interpolated_ap(np.array([1.0, 0.5, 2 / 3]), np.array([0.5, 0.5, 1.0])) == pytest.approx(5 / 6)
    assert interpolated_ap(np.array([]), np.array([])) == 0.0


def test_json_roundtrip_subset_and_errors(tmp_path):
    gt = {"a": [A(0, 5, "x")], "b": [A(1, 2, "y")]}
    write_ground_truth(tmp_path / "gt.json", gt, subset={"a": "test", "b": "train"})
    assert read_ground_truth(tmp_path / "gt.json", subset="test") == {"a": [A(0, 5, "x")]}
    assert read_ground_truth(tmp_path / "gt.json") == gt
    with pytest.raises(DetectionFormatError, match="no video has subset 'val'"):
        read_ground_truth(tmp_path / "gt.json", subset="val")
    preds = {"a": [D(0, 5, "x", 0.5)]}
    write_predictions(tmp_path / "p.json", preds)
    assert read_predictions(tmp_path / "p.json") == preds

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"results": {"vid7": [{"segment": [3, 1], "label": "x", "score": 1}]}}))
    with pytest.raises(DetectionFormatError) as err:
        read_predictions(bad)
    assert str(bad) in str(err.value) and "results['vid7'][0].segment" in str(err.value)
    assert "[3, 1]" in str(err.value)
    bad.write_text(json.dumps({"results": {"v": [{"segment": [0, 1], "label": "x", "score": None}]}}))
    with pytest.raises(DetectionFormatError, match=r"\.score: expected a finite number, got null"):
        read_predictions(bad)
    bad.write_text(json.dumps({"database": {"v": {"annotations": [{"segment": [0, "1"], "label": "x"}]}}}))
    with pytest.raises(DetectionFormatError, match=r"annotations\[0\]\.segment"):
        read_ground_truth(bad)
    with pytest.raises(DetectionFormatError, match=r"database\['v'\]\.subset"):
        read_ground_truth(bad, subset="test")
    bad.write_text("{not json")
    with pytest.raises(DetectionFormatError, match="not valid JSON"):
        read_ground_truth(bad)
