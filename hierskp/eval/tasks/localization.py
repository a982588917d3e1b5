"""Temporal action localization (TAL) of operations, scored with the ActivityNet protocol.

Two detectors over the same per-frame embeddings (`hierskp.eval.tasks.dense`):

* "zero_shot": softmax over classes of the cosine between each frame and the class prompts
  (`recognition_task.class_prompts`), at a temperature calibrated on the train split's labelled
  frames (minimum NLL on a log grid: the learned training temperature sharpens in-batch
  contrast, not class posteriors, and the frozen baseline has none), so both methods are
  compared at their best-calibrated posteriors;
* "probe": a small localization head fitted on the train split's cached features, a per-frame
  multinomial logistic regression on the embeddings (`fit_frame_probe`).

Both then smooth the posteriors over time (boundary smoothing: a centred moving average of
`smooth_frames` frames) and turn them into proposals with `frame_scores_to_detections`: argmax
runs plus runs above several thresholds (a multi-scale pool), merged by per-class NMS. mAP at
tIoU `DEFAULT_TIOU` and their average via `detection_map`; ground truth and predictions are also
written as ActivityNet JSON so `hierskp eval detection` reproduces the numbers from the files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.eval.metrics.classification import zero_shot_scores
from hierskp.eval.metrics.detection import DEFAULT_TIOU, Annotation, Detection, detection_map
from hierskp.eval.metrics.detection_io import write_ground_truth, write_predictions
from hierskp.eval.tasks.dense import DenseSplit
from hierskp.eval.tasks.frame_probe import LinearProbe, fit_frame_probe
from hierskp.eval.tasks.proposals import frame_scores_to_detections, nms_detections
from hierskp.eval.tasks.recognition import TaskInputs

TEMPERATURE_GRID = np.geomspace(0.003, 1.0, 49)
THRESHOLDS: tuple[float, ...] = (0.3, 0.5, 0.7)


def ground_truth(store: CacheStore, split: str) -> dict[str, list[Annotation]]:
    """Annotated operations of every complete `split` video, from the cache annotations."""
    return {
        e.video_id: [Annotation(float(s), float(t), lab) for (s, t), lab in zip(e.op_times, e.op_labels)]
        for e in catalog(store, [split])
    }


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    p = np.exp(z)
    return p / p.sum(axis=1, keepdims=True)


def calibrate_temperature(
    train: DenseSplit, classes: Sequence[str], prompts: np.ndarray, grid: np.ndarray = TEMPERATURE_GRID
) -> float:
    """Temperature of minimum NLL of the true class over the train split's labelled frames."""
    x, y, _ = train.stacked()
    known = np.isin(y, np.asarray(classes))
    if not known.any():
        raise ValueError("no labelled train frame of a known class: cannot calibrate a temperature")
    cos = zero_shot_scores(x[known], prompts)
    target = np.searchsorted(np.asarray(classes), y[known])
    nll = [-np.log(softmax(cos / t)[np.arange(len(target)), target] + 1e-12).mean() for t in grid]
    return float(grid[int(np.argmin(nll))])


def smooth(probs: np.ndarray, frames: int) -> np.ndarray:
    """Centred moving average over time (edges averaged over the frames that exist)."""
    if frames <= 1 or len(probs) < 2:
        return probs
    kernel = np.ones(frames)
    num = np.stack([np.convolve(probs[:, c], kernel, mode="same") for c in range(probs.shape[1])], axis=1)
    den = np.convolve(np.ones(len(probs)), kernel, mode="same")[:, None]
    return num / den


def propose(
    probs: np.ndarray,
    timestamps: np.ndarray,
    classes: Sequence[str],
    thresholds: Sequence[float] = THRESHOLDS,
    nms_iou: float = 0.5,
    top_k: int | None = 100,
) -> list[Detection]:
    """Argmax runs + threshold runs of [T, C] posteriors, scored by mean posterior, then per-class NMS."""
    dets = frame_scores_to_detections(probs, timestamps, list(classes), mode="argmax", nms_iou=None)
    dets += frame_scores_to_detections(
        probs, timestamps, list(classes), mode="threshold", thresholds=thresholds, nms_iou=None
    )
    return nms_detections(dets, iou_threshold=nms_iou, top_k=top_k)


def detect(
    test: DenseSplit, posteriors: list[np.ndarray], classes: Sequence[str], smooth_frames: int = 5, **kwargs: Any
) -> dict[str, list[Detection]]:
    """Detections per video of `test` from per-frame posteriors [T, C] over `classes`. A sample is the
    instant it was decoded at, so a run of frames covers half a step beyond its first and last one."""
    return {
        vid: propose(smooth(p, smooth_frames), ts, classes, **kwargs)
        for vid, p, ts in zip(test.video_ids, posteriors, test.timestamps)
    }


def localization_eval(
    store: CacheStore,
    inputs: TaskInputs,
    split: str = "test",
    out_dir: str | Path | None = None,
    name: str = "method",
    probe: LinearProbe | None = None,
    smooth_frames: int = 5,
    tiou_thresholds: Sequence[float] = DEFAULT_TIOU,
) -> dict[str, Any]:
    """mAP (fractions in [0, 1]) of the zero-shot and probe detectors on `split`.

    With `out_dir`, writes out_dir/ground_truth.json (subset = split) and
    out_dir/<name>.<detector>.json; the result records those paths.
    """
    gt = ground_truth(store, split)
    if not any(gt.values()):
        return {"skipped": f"no annotated operation in the {split!r} videos"}
    try:
        calibrated: float | None = calibrate_temperature(inputs.train, inputs.classes, inputs.prompts)
    except ValueError:  # no labelled train frame: the run's own temperature, else 1
        calibrated = None
    temperature = calibrated or inputs.temperature or 1.0
    zs = [softmax(zero_shot_scores(e, inputs.prompts) / temperature) for e in inputs.test.embeddings]
    probe = probe or fit_frame_probe(inputs.train)
    detectors = [("zero_shot", zs, list(inputs.classes))]
    if probe is not None:  # columns: probe.classes
        detectors.append(("probe", [softmax(probe.logits(e)) for e in inputs.test.probe_inputs()], list(probe.classes)))
    out: dict[str, Any] = {
        "temperature": {"calibrated": calibrated, "used": temperature, "learned": inputs.temperature},
        "smooth_frames": smooth_frames,
        "n_videos": len(gt),
        "n_ground_truth": sum(len(v) for v in gt.values()),
    }
    folder = Path(out_dir) if out_dir is not None else None
    if folder is not None:
        folder.mkdir(parents=True, exist_ok=True)
        write_ground_truth(folder / "ground_truth.json", gt, subset=split)
        out["ground_truth_file"] = str(folder / "ground_truth.json")
    for detector, posteriors, classes in detectors:
        preds = detect(inputs.test, posteriors, classes, smooth_frames)
        res = detection_map(gt, preds, tiou_thresholds)
        out[detector] = {**res.summary(), "n_predictions": res.n_predictions}
        if folder is not None:
            path = folder / f"{name}.{detector}.json"
            write_predictions(path, preds, {"method": name, "detector": detector, "split": split})
            out[detector]["predictions_file"] = str(path)
    return out
