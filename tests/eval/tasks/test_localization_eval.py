"""Temporal action localization: GT from the cache, written ActivityNet files reproduce the mAP
through `hierskp eval detection`, and perfect posteriors localize perfectly."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from hierskp.eval.metrics.detection import detection_map
from hierskp.eval.metrics.detection_io import read_ground_truth, read_predictions
from hierskp.eval.tasks.dense import DenseSplit
from hierskp.eval.tasks.localization import calibrate_temperature, detect, ground_truth, localization_eval, smooth
from hierskp.eval.tasks.recognition import recognition_eval, task_inputs
from hierskp.runs.model import frozen_baseline
from tests.fixtures.synthetic_cache import make_synthetic_cache


@pytest.fixture(scope="module")
def frozen_inputs(tmp_path_factory):
    path = tmp_path_factory.mktemp("loc") / "c.zarr"
    store = make_synthetic_cache(path, n_videos=15, seed=1, vision_dim=16, text_dim=24, op_frames=(4, 8))
    return store, task_inputs(store, frozen_baseline(store), "test", progress=False)


def test_written_files_reproduce_the_map_through_the_cli(frozen_inputs, tmp_path):
    store, inputs = frozen_inputs
    res = localization_eval(store, inputs, "test", tmp_path, name="frozen")
    gt_file = tmp_path / "ground_truth.json"
    assert res["ground_truth_file"] == str(gt_file)
    gt = read_ground_truth(gt_file, subset="test")
    assert gt == ground_truth(store, "test") and set(gt) == {"syn0004", "syn0009", "syn0014"}
    for detector in ("zero_shot", "probe"):
        pred_file = tmp_path / f"frozen.{detector}.json"
        assert res[detector]["predictions_file"] == str(pred_file)
        out = subprocess.run(
            [
                sys.executable,
                "-m",
                "hierskp",
                "eval",
                "detection",
                "--ground-truth",
                str(gt_file),
                "--predictions",
                str(pred_file),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert out.returncode == 0, out.stderr
        cli = json.loads(out.stdout)
        assert list(cli) == ["mAP@0.3", "mAP@0.4", "mAP@0.5", "mAP@0.6", "mAP@0.7", "average_mAP"]
        for key, value in cli.items():
            assert value == pytest.approx(res[detector][key], abs=1e-12), (detector, key)
        assert detection_map(gt, read_predictions(pred_file)).average_mAP == pytest.approx(res[detector]["average_mAP"])
    # the frozen baseline's frames and prompts share no space: zero-shot is near chance, the probe is not
    assert res["probe"]["average_mAP"] > res["zero_shot"]["average_mAP"]
    assert res["temperature"]["learned"] is None and res["temperature"]["calibrated"] > 0


def test_perfect_posteriors_localize_perfectly(frozen_inputs):
    store, inputs = frozen_inputs
    classes = inputs.classes
    onehot = [np.eye(len(classes))[np.searchsorted(classes, lab)] for lab in inputs.test.labels]
    preds = detect(inputs.test, onehot, classes, smooth_frames=1)
    res = detection_map(ground_truth(store, "test"), preds)
    # synthetic operations span whole seconds [t, t + n) sampled at t, t+1, ...: centred frames give
    # [t - .5, t + n - .5], a tIoU of at least 3.5 / 4.5 for the shortest (4 s) operations
    assert res.summary()["mAP@0.7"] == 1.0 and res.average_mAP == 1.0


def test_smoothing_and_calibration():
    p = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 0.0]])
    s = smooth(p, 3)
    np.testing.assert_allclose(s.sum(axis=1), 1.0)
    np.testing.assert_allclose(s[1], [2 / 3, 1 / 3])
    np.testing.assert_allclose(s[0], [0.5, 0.5])  # edges average the frames that exist
    emb = np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.2, 1.0]], dtype=np.float32)
    dense = DenseSplit(["v"], [emb], [np.arange(4.0)], [np.array(["a", "a", "b", "b"])])
    prompts = np.eye(2, dtype=np.float32)
    sharp = calibrate_temperature(dense, ["a", "b"], prompts)
    noisy = DenseSplit(["v"], [emb], [np.arange(4.0)], [np.array(["a", "b", "b", "a"])])
    assert sharp < calibrate_temperature(noisy, ["a", "b"], prompts)  # wrong labels want flat posteriors


def test_recognition_eval_keys(frozen_inputs):
    _, inputs = frozen_inputs
    metrics, preds = recognition_eval(inputs)
    for mode in ("zero_shot", "linear_probe"):
        for unit in ("frame", "segment"):
            m = metrics[mode][unit]
            assert {"accuracy", "macro_f1", "video_accuracy", "video_macro_f1"} <= set(m)
            assert all(0.0 <= m[k] <= 1.0 for k in ("accuracy", "macro_f1", "video_accuracy", "video_macro_f1"))
        assert [len(p) for p in preds[mode]] == [len(e) for e in inputs.test.embeddings]
    assert metrics["linear_probe"]["frame"]["accuracy"] > metrics["zero_shot"]["frame"]["accuracy"]
    assert metrics["n_segments"] == len(inputs.seg_test.labels) and metrics["unseen_test_labels"] == []
