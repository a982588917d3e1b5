"""Issue 20, classes 3, 8 and 9: reserved ids, case collisions, operation order, files, leakage, confinement."""

from __future__ import annotations

import json

import pytest

from hierskp.ingest.manifest import ManifestError, ManifestPathError, load_manifest

from .conftest import hierskp_cli

GOOD = {"video_id": "v1", "video": "videos/v1.mp4", "split": "train", "procedure": "p", "text": "t"}


def _write(root, rows) -> str:
    (root / "videos").mkdir(parents=True, exist_ok=True)
    path = root / "manifest.jsonl"
    path.write_text("".join(json.dumps({**GOOD, **r}) + "\n" for r in rows))
    return str(path)


def _problems(path, **kw) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifest(path, **kw)
    return info.value.problems


@pytest.mark.parametrize("vid", ["zarr.json", "ZARR.JSON", "videos", "nul", "COM1"])
def test_names_the_store_uses_are_never_ids(tmp_path, vid):
    (problem,) = _problems(_write(tmp_path, [{"video_id": vid}]))
    assert problem.startswith("line 1: field video_id:") and "uses or reserves for itself" in problem


def test_ids_that_differ_only_in_case_are_refused(tmp_path):
    (problem,) = _problems(_write(tmp_path, [{"video_id": "Case01"}, {"video_id": "case01", "video": "videos/b.mp4"}]))
    assert problem.startswith("line 2: field video_id: 'case01' differs only in case from 'Case01' (line 1)")


def test_operations_in_time_order_and_no_overlap_unless_allowed(tmp_path):
    op = {"label": "a", "text": "a"}
    path = _write(
        tmp_path,
        [
            {"video_id": "order", "operations": [{**op, "start": 10, "end": 20}, {**op, "start": 0, "end": 5}]},
            {"video_id": "overlap", "operations": [{**op, "start": 0, "end": 10}, {**op, "start": 5, "end": 15}]},
        ],
    )
    order, overlap = _problems(path)
    assert order.startswith("line 1: field operations[1].start: value 0 is before operations[0].start 10")
    assert overlap.startswith("line 2: field operations[1].start: value 5 overlaps operations[0] (0-10)")
    assert "--allow-overlapping-operations" in overlap
    assert len(_problems(path, allow_overlap=True)) == 1  # overlaps allowed; the order still counts


def test_validate_checks_the_files_and_names_leakage(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.mp4").write_bytes(b"outside")
    path = _write(
        data,
        [
            {"video_id": "tr", "video": "videos/a.mp4"},
            {"video_id": "te", "video": "videos/copy.mp4", "split": "test"},  # the same bytes, another name
            {"video_id": "missing", "video": "videos/none.mp4"},
            {"video_id": "folder", "video": "videos/sub"},
            {"video_id": "link", "video": "videos/link.mp4"},
            {"video_id": "again", "video": "videos/a.mp4", "split": "test"},  # the same file
        ],
    )
    (data / "videos" / "a.mp4").write_bytes(b"same video bytes")
    (data / "videos" / "copy.mp4").write_bytes(b"same video bytes")
    (data / "videos" / "sub").mkdir()
    (data / "videos" / "link.mp4").symlink_to(outside / "x.mp4")
    res = hierskp_cli("manifest", "validate", path)
    assert res.returncode == 1, res.stdout
    out = res.stdout
    assert "line 3: field video: file not found" in out and "line 4: field video: not a regular file" in out
    assert "line 5: field video: 'videos/link.mp4' resolves to" in out
    assert (
        "line 6: field video: 'again' (test) is the same file as 'tr' (train) on line 1: leakage across splits" in out
    )
    assert "'te' (test) is a file with the same content as 'tr' (train) on line 1: leakage across splits" in out


def test_a_line_cannot_widen_the_operators_confinement(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "x.mp4").write_bytes(b"v")
    m = load_manifest(_write(data, [{"video": str(outside / "x.mp4"), "allow_outside": True}]))
    with pytest.raises(ManifestPathError, match="only the operator can allow"):
        m.resolved_video_path(m.rows[0])
    assert m.resolved_video_path(m.rows[0], allow_outside=True) == (outside / "x.mp4").resolve()
