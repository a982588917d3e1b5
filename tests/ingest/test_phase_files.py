"""Workflow label files: rows to segments, and every bad row named by file, line and value."""

from __future__ import annotations

import pytest

from hierskp.ingest.phase_files import (
    PhaseFileError,
    Segment,
    humanize,
    load_label_map,
    read_phase_rows,
    rows_to_segments,
)

from .conftest import write_labels


def test_runs_of_equal_phases_become_segments_at_the_row_rate(tmp_path):
    f = write_labels(
        tmp_path / "video01-phase.txt", ["Preparation"] * 50 + ["CalotTriangleDissection"] * 25 + ["Preparation"] * 5
    )
    rows = read_phase_rows(f)
    assert rows[0] == (0, "Preparation") and rows[-1] == (79, "Preparation")
    assert rows_to_segments(rows, 25.0) == [
        Segment(0.0, 2.0, "Preparation"),
        Segment(2.0, 3.0, "CalotTriangleDissection"),
        Segment(3.0, 3.2, "Preparation"),  # a phase that comes back is a new segment
    ]
    later = write_labels(tmp_path / "01.txt", [1, 1, 2], start=5)  # frames may start past 0
    assert rows_to_segments(read_phase_rows(later, {"1": "a", "2": "b"}), 1.0) == [
        Segment(5.0, 7.0, "a"),
        Segment(7.0, 8.0, "b"),
    ]


def test_a_constant_frame_step_is_a_subsampled_numbering(tmp_path):
    f = write_labels(tmp_path / "video05-phase.txt", [])
    f.write_text("Frame\tPhase\n" + "".join(f"{25 * i}\t{'A' if i < 3 else 'B'}\n" for i in range(5)))
    assert rows_to_segments(read_phase_rows(f), 25.0) == [Segment(0.0, 3.0, "A"), Segment(3.0, 5.0, "B")]
    f.write_text("Frame\tPhase\n0\tA\n25\tA\n40\tA\n")
    with pytest.raises(PhaseFileError, match=r":4: frame 40 after frame 25 \(a shorter step; frames go up by 25"):
        read_phase_rows(f)


def test_spaces_instead_of_a_tab_and_a_bom_are_read(tmp_path):
    f = tmp_path / "x.txt"
    f.write_text("\ufeffFrame Phase\n0 Preparation\n1   Preparation\n\n2\tClippingCutting\n", encoding="utf-8")
    assert [p for _, p in read_phase_rows(f)] == ["Preparation", "Preparation", "ClippingCutting"]


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "empty file"),
        ("\n \n", "empty file"),
        ("0\tPreparation\n1\tPreparation\n", r":1: missing header.*'0\\tPreparation'"),
        ("Frame\tPhase\n", "no rows after the header"),
        ("Frame\tPhase\n0\tPrep\nx1\tPrep\n", r":3: frame is not an integer \(value 'x1'\)"),
        ("Frame\tPhase\n0\tPrep\n1\tPrep\n3\tPrep\n", r":4: frame 3 after frame 1 \(a gap; frames go up by 1"),
        ("Frame\tPhase\n0\tPrep\n1\tPrep\n1\tPrep\n", r":4: frame 1 after frame 1 \(not increasing"),
        ("Frame\tPhase\n0\tPrep\n1\n", r":3: expected '<frame> <phase>', got '1'"),
        ("Frame\tPhase\n-1\tPrep\n", r":2: negative frame \(value -1\)"),
    ],
)
def test_bad_files_name_file_line_and_value(tmp_path, text, match):
    f = tmp_path / "video07-phase.txt"
    f.write_text(text)
    with pytest.raises(PhaseFileError, match=match) as err:
        read_phase_rows(f)
    assert str(f) in str(err.value)


def test_an_unknown_id_with_a_label_map_is_an_error(tmp_path):
    f = write_labels(tmp_path / "02.txt", [1, 1, 9, 2])
    with pytest.raises(PhaseFileError, match=r"02.txt:4: unknown phase id \(value '9'\); the label map has 1, 2"):
        read_phase_rows(f, {"1": "a", "2": "b"})


def test_label_maps_from_yaml_and_json(tmp_path):
    y = tmp_path / "m.yaml"
    y.write_text("1: Preparation\n2: Suturing\n")
    j = tmp_path / "m.json"
    j.write_text('{"1": "Preparation", "2": "Suturing"}')
    assert load_label_map(y) == load_label_map(j) == {"1": "Preparation", "2": "Suturing"}
    for text, match in (("- a\n", "non-empty mapping"), ("1: ''\n", "id 1: the name"), ("a: [b\n", "cannot read")):
        y.write_text(text)
        with pytest.raises(PhaseFileError, match=match):
            load_label_map(y)


def test_humanize():
    assert humanize("CalotTriangleDissection") == "calot triangle dissection"
    assert humanize("Dividing Ligament and Peritoneum") == "dividing ligament and peritoneum"
    assert humanize("skin_closure") == "skin closure" and humanize("TrocarPlacement") == "trocar placement"
    assert humanize("GallbladderRetraction") == "gallbladder retraction"
