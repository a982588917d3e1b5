"""Manifest validation at the edge: every bad line is named with its field and value."""

from __future__ import annotations

import json

import pytest

from hierskp.ingest.activitynet import import_activitynet
from hierskp.ingest.manifest import ManifestError, load_manifest

from .conftest import GOOD_ROW as GOOD


def _write(tmp_path, rows):
    path = tmp_path / "manifest.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r) for r in rows) + "\n")
    return path


def test_good_manifest(tmp_path):
    m = load_manifest(_write(tmp_path, [GOOD, {**GOOD, "video_id": "v2"}]))
    assert [r.entry.video_id for r in m.rows] == ["v1", "v2"]
    assert m.video_path(m.rows[0]) == tmp_path / "videos/v1.mp4"
    assert m.rows[1].line == 2


@pytest.mark.parametrize(
    ("change", "needle"),
    [
        ({"operations": [{"start": 5, "end": 5, "label": "a", "text": "b"}]}, "operations[0]"),
        ({"operations": [{"start": -1, "end": 5, "label": "a", "text": "b"}]}, "operations[0].start"),
        ({"frames": [{"time": -0.5, "text": "b"}]}, "frames[0].time"),
        ({"split": "validation"}, "field split"),
        ({"video": "../../etc/passwd"}, "escapes the dataset folder"),
        ({"video": "/abs/path.mp4"}, "escapes the dataset folder"),
        ({"video_id": "a/b"}, "field video_id"),
        ({"text": ""}, "field text"),
    ],
)
def test_bad_field_is_named(tmp_path, change, needle):
    path = _write(tmp_path, [GOOD, {**GOOD, "video_id": "v2", **change}])
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    msg = str(info.value)
    assert str(path) in msg and "line 2" in msg and needle in msg and "value" in msg


def test_duplicates_and_bad_json_all_reported(tmp_path):
    path = _write(tmp_path, [GOOD, GOOD, "{not json"])
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    assert len(info.value.problems) == 2
    assert "duplicate" in info.value.problems[0] and "line 3" in info.value.problems[1]


def test_times_past_duration():
    from hierskp.ingest.manifest import VideoEntry

    entry = VideoEntry.model_validate({**GOOD, "operations": [{"start": 0, "end": 30, "label": "a", "text": "b"}]})
    problems = entry.times_past(duration=20.0, tolerance=0.5)
    assert problems and "operations[0].end" in problems[0] and "30" in problems[0]


def test_activitynet_import(tmp_path):
    (tmp_path / "videos").mkdir()
    (tmp_path / "videos" / "vidA.mp4").write_bytes(b"x")
    gt = {
        "database": {
            "vidA": {
                "subset": "validation",
                "annotations": [
                    {"segment": [5.0, 9.0], "label": "closure"},
                    {"segment": [0.0, 5.0], "label": "incision"},
                ],
            }
        }
    }
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    out = import_activitynet(tmp_path / "gt.json", tmp_path / "videos", tmp_path / "manifest.jsonl")
    m = load_manifest(out)
    e = m.rows[0].entry
    assert e.split == "test" and [o.label for o in e.operations] == ["incision", "closure"]
    assert m.video_path(m.rows[0]).exists()
    gt["database"]["vidA"]["subset"] = "weird"
    (tmp_path / "gt.json").write_text(json.dumps(gt))
    with pytest.raises(ManifestError, match="weird"):
        import_activitynet(tmp_path / "gt.json", tmp_path / "videos", tmp_path / "m2.jsonl")


def test_split_names_are_said_once_in_the_split_type():
    from typing import get_args

    from hierskp.cli import build_parser
    from hierskp.ingest.manifest import SPLITS, Split

    assert SPLITS == get_args(Split) == ("pretrain", "train", "val", "test")
    args = build_parser("manifest").parse_args(
        ["manifest", "from-cholec80", "labels", "--videos", "v", "--out", "m.jsonl", "--split", "val"]
    )
    assert args.split == "val"
