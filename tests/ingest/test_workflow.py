"""Cholec80 / AutoLaparo / M2CAI16 label files + real videos -> a valid manifest (and the CLI's errors)."""

from __future__ import annotations

import json

import pytest

from hierskp.cli import main
from hierskp.ingest.manifest import ManifestError, load_manifest
from hierskp.ingest.workflow import workflow_to_entries

from .conftest import write_labels, write_video

CHOLEC = ["Preparation"] * 10 + ["CalotTriangleDissection"] * 15 + ["ClippingCutting"] * 5


@pytest.fixture()
def cholec(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "phase").mkdir()
    write_video(tmp_path / "videos" / "video03.mp4", [0] * 30, fps=10)  # 3 s at 10 fps
    write_video(tmp_path / "videos" / "video52.mp4", [0] * 30, fps=10)
    write_labels(tmp_path / "phase" / "video03-phase.txt", CHOLEC)
    write_labels(tmp_path / "phase" / "video52-phase.txt", CHOLEC[::-1])
    return tmp_path


def test_cholec80_rows_are_frames_at_the_videos_own_rate(cholec):
    entries = workflow_to_entries("cholec80", [cholec / "phase"], cholec / "videos", cholec)
    assert [e.video_id for e in entries] == ["video03", "video52"]
    first = entries[0]
    assert first.split == "train" and entries[1].split == "test"  # official: 1-40 train, 41-80 test
    assert first.procedure == "cholecystectomy" and first.video == "videos/video03.mp4"
    assert [(o.start, o.end, o.label, o.text) for o in first.operations] == [
        (0.0, 1.0, "Preparation", "preparation"),  # 10 rows at the video's 10 fps
        (1.0, 2.5, "CalotTriangleDissection", "calot triangle dissection"),
        (2.5, 3.0, "ClippingCutting", "clipping cutting"),
    ]
    assert first.text == "cholecystectomy: preparation, calot triangle dissection, clipping cutting"
    assert first.frames == ()
    at_25 = workflow_to_entries("cholec80", [cholec / "phase"], cholec / "videos", cholec, fps=25, split="test")
    assert at_25[0].operations[0].end == pytest.approx(0.4) and {e.split for e in at_25} == {"test"}


def test_autolaparo_ids_per_second_with_the_builtin_map_and_a_users_map(tmp_path):
    write_video(tmp_path / "12.mp4", [0] * 5, fps=1)
    write_labels(tmp_path / "label_12.txt", [1, 1, 2, 7, 7])
    (e,) = workflow_to_entries("autolaparo", [tmp_path / "label_12.txt"], tmp_path, tmp_path)
    assert e.video_id == "12" and e.split == "val" and e.procedure == "hysterectomy"
    assert [(o.start, o.end, o.label) for o in e.operations] == [
        (0.0, 2.0, "Preparation"),
        (2.0, 3.0, "Dividing Ligament and Peritoneum"),
        (3.0, 5.0, "Washing"),
    ]
    assert e.operations[1].text == "dividing ligament and peritoneum"
    m = tmp_path / "map.json"
    m.write_text(json.dumps({"1": "prep", "2": "dissection", "7": "wash"}))
    (u,) = workflow_to_entries("autolaparo", [tmp_path / "label_12.txt"], tmp_path, tmp_path, label_map=m)
    assert [o.label for o in u.operations] == ["prep", "dissection", "wash"]
    write_labels(tmp_path / "label_12.txt", [1, 8])
    with pytest.raises(ManifestError, match=r"label_12.txt:3: unknown phase id \(value '8'\)"):
        workflow_to_entries("autolaparo", [tmp_path / "label_12.txt"], tmp_path, tmp_path)


def test_m2cai16_per_frame_or_per_second(tmp_path):
    write_video(tmp_path / "test_workflow_video_01.mp4", [0] * 8, fps=4)
    write_labels(tmp_path / "test_workflow_video_01.txt", ["TrocarPlacement"] * 4 + ["Preparation"] * 4)
    (e,) = workflow_to_entries("m2cai16", [tmp_path], tmp_path, tmp_path)
    assert e.split == "test" and [o.end for o in e.operations] == [1.0, 2.0]
    write_labels(tmp_path / "test_workflow_video_01.txt", ["TrocarPlacement", "Preparation"])
    (s,) = workflow_to_entries("m2cai16", [tmp_path], tmp_path, tmp_path, fps=1)
    assert [o.end for o in s.operations] == [1.0, 2.0]


def test_cli_writes_a_manifest_that_validates(cholec, capsys):
    out = cholec / "manifest.jsonl"
    assert (
        main(
            ["manifest", "from-cholec80", str(cholec / "phase"), "--videos", str(cholec / "videos"), "--out", str(out)]
        )
        == 0
    )
    assert "2 video(s)" in capsys.readouterr().out
    assert [r.entry.video_id for r in load_manifest(out).rows] == ["video03", "video52"]


def test_cli_names_every_problem_and_writes_nothing(cholec, capsys):
    write_labels(cholec / "phase" / "video09-phase.txt", CHOLEC)  # no video09
    (cholec / "phase" / "video04-phase.txt").write_text(
        "Frame\tPhase\n0\tPreparation\n1\tPreparation\n3\tPreparation\n"
    )
    write_video(cholec / "videos" / "video04.mp4", [0] * 3, fps=10)
    out = cholec / "manifest.jsonl"
    rc = main(
        ["manifest", "from-cholec80", str(cholec / "phase"), "--videos", str(cholec / "videos"), "--out", str(out)]
    )
    text = capsys.readouterr().out
    assert rc == 1 and not out.exists()
    assert "video09-phase.txt: no video file video09{.mp4" in text
    assert "video04-phase.txt:4: frame 3 after frame 1 (a gap" in text
    rc = main(["manifest", "from-cholec80", str(cholec / "nothing"), "--videos", str(cholec), "--out", str(out)])
    assert rc == 1 and "no such file or folder" in capsys.readouterr().out


def test_labels_past_the_video_fail_that_video_at_extraction_not_silently(cholec):
    entries = workflow_to_entries("cholec80", [cholec / "phase"], cholec / "videos", cholec, fps=5)
    assert entries[0].operations[-1].end == 6.0  # 30 rows at 5 fps: twice the 3 s video
    assert entries[0].times_past(3.0, 0.5) == [
        "field operations[1].end: value 5 is past the video's duration 3.000s",
        "field operations[2].end: value 6 is past the video's duration 3.000s",
    ]


def test_cli_refuses_a_bad_label_map_and_a_bad_fps(tmp_path, capsys):
    write_video(tmp_path / "01.mp4", [0] * 3, fps=1)
    write_labels(tmp_path / "01.txt", [1, 2, 2])
    bad = tmp_path / "map.yaml"
    bad.write_text("1: Preparation\n2: [not, a, name]\n")
    base = [
        "manifest",
        "from-autolaparo",
        str(tmp_path / "01.txt"),
        "--videos",
        str(tmp_path),
        "--out",
        str(tmp_path / "m.jsonl"),
    ]
    assert main([*base, "--label-map", str(bad)]) == 1
    assert f"{bad}: id 2: the name must be a non-empty string" in capsys.readouterr().out
    assert main([*base, "--fps", "0"]) == 2 and "fps must be > 0" in capsys.readouterr().out
    assert main([*base, "--split", "pretrain", "--procedure", "laparoscopic hysterectomy"]) == 0
    (row,) = load_manifest(tmp_path / "m.jsonl").rows
    assert row.entry.split == "pretrain" and row.entry.text.startswith(
        "laparoscopic hysterectomy: preparation, dividing"
    )
