"""`hierskp eval detection|retrieval` end to end, through a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hierskp", "eval", *map(str, args)], capture_output=True, text=True, timeout=120
    )


def test_detection_cli(tmp_path):
    gt = {
        "version": "x",
        "database": {
            "v1": {
                "subset": "test",
                "annotations": [{"segment": [0, 10], "label": "cut"}, {"segment": [20, 30], "label": "clip"}],
            },
            "v2": {"subset": "test", "annotations": [{"segment": [5, 15], "label": "cut"}]},
            "v9": {"subset": "train", "annotations": [{"segment": [0, 3], "label": "burn"}]},
        },
    }
    preds = {
        "results": {
            "v1": [
                {"segment": [5, 15], "label": "cut", "score": 0.9},  # tIoU 1/3 with [0, 10]
                {"segment": [20, 30], "label": "clip", "score": 0.8},
            ],
            "v9": [{"segment": [0, 3], "label": "cut", "score": 0.1}],
        }
    }  # train video: extra
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    (tmp_path / "pred.json").write_text(json.dumps(preds))

    out = run_cli(
        "detection", "--ground-truth", tmp_path / "gt.json", "--predictions", tmp_path / "pred.json", "--subset", "test"
    )
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    # clip: AP 1 at every tIoU; cut: 1 of 2 GT at 0.3 (P=1 then an FP at .1) -> .5, else 0
    assert list(res) == ["mAP@0.3", "mAP@0.4", "mAP@0.5", "mAP@0.6", "mAP@0.7", "average_mAP"]
    assert res["mAP@0.3"] == 0.75 and res["mAP@0.5"] == 0.5
    assert abs(res["average_mAP"] - 0.55) < 1e-12
    assert "1 predictions are for videos not in the ground truth subset" in out.stderr

    out = run_cli(
        "detection",
        "--ground-truth",
        tmp_path / "gt.json",
        "--predictions",
        tmp_path / "pred.json",
        "--tiou",
        "0.25",
        "0.5",
        "--per-class",
    )
    res = json.loads(out.stdout)
    assert set(res) == {"mAP@0.25", "mAP@0.5", "average_mAP", "per_class_AP"}
    assert res["per_class_AP"]["burn"] == {"0.25": 0.0, "0.5": 0.0}
    assert all(0.0 <= v <= 1.0 for k, v in res.items() if k != "per_class_AP")


def test_detection_cli_bad_input_names_file_field_value(tmp_path):
    (tmp_path / "gt.json").write_text(
        json.dumps({"database": {"v1": {"subset": "test", "annotations": [{"segment": [0, 10], "label": "cut"}]}}})
    )
    bad = tmp_path / "pred.json"
    bad.write_text(json.dumps({"results": {"v1": [{"segment": [0, 10], "label": "cut", "score": "high"}]}}))
    out = run_cli("detection", "--ground-truth", tmp_path / "gt.json", "--predictions", bad)
    assert out.returncode == 2 and out.stdout == ""
    assert str(bad) in out.stderr and "results['v1'][0].score" in out.stderr and "'high'" in out.stderr
    assert "Traceback" not in out.stderr
    out = run_cli("detection", "--ground-truth", tmp_path / "missing.json", "--predictions", bad)
    assert out.returncode == 2 and "missing.json" in out.stderr


def test_retrieval_cli(tmp_path):
    sim = np.array([[3, 1, 0], [3, 3, 0], [0, 1, 2]], dtype=np.float32)
    np.save(tmp_path / "s.npy", sim)
    out = run_cli("retrieval", "--similarity", tmp_path / "s.npy")
    assert out.returncode == 0, out.stderr
    res = json.loads(out.stdout)
    assert res == pytest.approx({"R@1": 200 / 3, "R@5": 100.0, "R@10": 100.0, "MedR": 1.0, "MeanR": 4 / 3})
    out = run_cli("retrieval", "--similarity", tmp_path / "s.npy", "--both")
    assert set(json.loads(out.stdout)) == {"v2t", "t2v"}
