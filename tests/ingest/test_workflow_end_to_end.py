"""Cholec80 and AutoLaparo label files -> `hierskp manifest from-*` -> `hierskp extract` -> `hierskp train`
-> `hierskp evaluate --prompts`: the report scores the imported phases per video (SurgVLP's protocol)."""

from __future__ import annotations

import json

import pytest

from hierskp.cli import main
from hierskp.ingest.workflow import AUTOLAPARO_PHASES

from .conftest import write_labels, write_video

CHOLEC80 = [
    "Preparation",
    "CalotTriangleDissection",
    "ClippingCutting",
    "GallbladderDissection",
    "GallbladderPackaging",
    "CleaningCoagulation",
    "GallbladderRetraction",
]
SECONDS = 3  # per phase
FPS = 5  # of the videos


def _order(n: int, rotate: int) -> list[int]:
    return list(range(rotate, n)) + list(range(rotate))


@pytest.mark.slow
def test_imported_phases_go_through_extract_train_and_evaluate(tmp_path, capsys):
    data = tmp_path / "data"
    for d in ("videos", "cholec80", "autolaparo"):
        (data / d).mkdir(parents=True)
    # Cholec80: one label row per video frame (the videos' 5 fps, read from the files); 1-40 train, 41-80 test
    for i, vid in enumerate(("video01", "video02", "video41", "video42")):
        phases = [p for p in _order(7, i % 2) for _ in range(SECONDS * FPS)]
        write_video(data / "videos" / f"{vid}.mp4", phases, fps=FPS)
        write_labels(data / "cholec80" / f"{vid}-phase.txt", [CHOLEC80[p] for p in phases])
    # AutoLaparo: one row per second, phase ids 1..7; 1-10 train, 15-21 test
    for i, vid in enumerate(("01", "02", "15", "16")):
        seconds = [p for p in _order(7, i % 2) for _ in range(SECONDS)]
        write_video(data / "videos" / f"{vid}.mp4", [p for p in seconds for _ in range(FPS)], fps=FPS)
        write_labels(data / "autolaparo" / f"{vid}.txt", [p + 1 for p in seconds])

    cache, run, rep = str(tmp_path / "cache.zarr"), tmp_path / "run", tmp_path / "report"
    for fmt in ("cholec80", "autolaparo"):
        manifest = data / f"{fmt}.jsonl"
        args = [str(data / fmt), "--videos", str(data / "videos"), "--out", str(manifest)]
        assert main(["manifest", f"from-{fmt}", *args]) == 0
        assert main(["extract", "--manifest", str(manifest), "--cache", cache, "--no-progress"]) == 0
    sets = ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2", "data.batch_videos=4", "max_steps=6"]
    assert (
        main(["train", "--cache", cache, "--out", str(run), "--no-progress", *[a for s in sets for a in ("--set", s)]])
        == 0
    )

    labels = sorted(set(CHOLEC80) | set(AUTOLAPARO_PHASES.values()))  # "Preparation" is in both
    prompts = tmp_path / "prompts.yaml"
    prompts.write_text("".join(f"{json.dumps(lab)}: [{json.dumps(lab.lower())}]\n" for lab in labels))
    capsys.readouterr()
    rc = main(
        ["evaluate", "--cache", cache, "--run", str(run), "--out", str(rep), "--prompts", str(prompts), "--no-progress"]
    )
    assert rc == 0, capsys.readouterr().out

    report = json.loads((rep / "report.json").read_text())
    assert report["prompts"]["source"] == str(prompts)
    for method in report["methods"]:
        rec = method["result"]["recognition"]
        assert rec["classes"] == labels and rec["n_videos"] == 4  # video41, video42, 15, 16
        assert rec["unseen_test_labels"] == []
        for mode in ("zero_shot", "linear_probe"):
            frame = rec[mode]["frame"]
            assert set(frame["per_video_accuracy"]) == {"video41", "video42", "15", "16"}
            for key in ("video_accuracy", "video_macro_f1"):
                assert 0.0 <= frame[key] <= 1.0
    md = (rep / "report.md").read_text()
    assert (
        "Operation recognition, per-video mean" in md
        and "ZS frame F1" in md
        and f"Zero-shot class prompts: {prompts}" in md
    )
