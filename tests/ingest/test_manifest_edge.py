"""Edge input: bad bytes, huge numbers, deep nesting, unknown keys, empty files, symlinks out of the folder."""

from __future__ import annotations

import json

import pytest

from hierskp.ingest.manifest import ManifestError, ManifestPathError, load_manifest

GOOD = {"video_id": "v1", "video": "videos/v1.mp4", "split": "train", "procedure": "p", "text": "t"}


def _write(tmp_path, lines: list[bytes]):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _problems(path) -> list[str]:
    with pytest.raises(ManifestError) as info:
        load_manifest(path)
    return info.value.problems


def test_non_utf8_line_is_named(tmp_path):
    bad = (
        json.dumps({**GOOD, "video_id": "v2", "text": "caf\u00e9"}, ensure_ascii=False)
        .encode()
        .replace(b"\xc3\xa9", b"\xe9")
    )
    problems = _problems(_write(tmp_path, [json.dumps(GOOD).encode(), bad]))
    assert len(problems) == 1 and problems[0].startswith("line 2: not valid UTF-8 (byte 0xe9 at column"), problems


@pytest.mark.parametrize(
    "value, needle",
    [("1" * 5000, "line 1: not valid JSON (Exceeds the limit"), ("1" * 5000 + ".5", "line 1: field operations")],
)
def test_huge_numbers_are_named(tmp_path, value, needle):
    line = json.dumps({**GOOD, "operations": [{"start": 0, "end": 1, "label": "a", "text": "b"}]})
    line = line.replace('"end": 1', f'"end": {value}')
    problems = _problems(_write(tmp_path, [line.encode()]))
    assert problems[0].startswith(needle), problems


def test_deep_nesting_is_named(tmp_path):
    line = json.dumps(GOOD)[:-1] + ', "frames": ' + "[" * 100_000 + "]" * 100_000 + "}"
    assert _problems(_write(tmp_path, [line.encode()])) == ["line 1: not valid JSON (nested too deeply)"]


def test_unknown_key_is_an_error_with_did_you_mean(tmp_path):
    frame = {k: v for k, v in GOOD.items()}
    frame["frame"] = [{"time": 1.0, "text": "x"}]
    op = {**GOOD, "video_id": "v2", "operations": [{"start": 0, "end": 1, "label": "a", "txt": "b"}]}
    problems = _problems(_write(tmp_path, [json.dumps(frame).encode(), json.dumps(op).encode()]))
    assert problems[0].startswith("line 1: field frame: unknown key") and "did you mean 'frames'?" in problems[0]
    unknown = [p for p in problems if p.startswith("line 2: field operations[0].txt: unknown key")]
    assert unknown and "did you mean 'text'?" in unknown[0], problems


@pytest.mark.parametrize("content", [b"", b"\n\n  \n"])
def test_empty_manifest_is_an_error(tmp_path, content):
    path = tmp_path / "manifest.jsonl"
    path.write_bytes(content)
    assert _problems(path) == ["the manifest lists no videos (empty file)"]


def test_symlink_out_of_the_dataset_is_refused_unless_allowed(tmp_path):
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "v1.mp4").write_bytes(b"x")
    data = tmp_path / "data"
    (data / "videos").mkdir(parents=True)
    (data / "videos/v1.mp4").symlink_to(outside / "v1.mp4")
    (data / "videos/inside.mp4").write_bytes(b"y")
    (data / "videos/v3.mp4").symlink_to(data / "videos/inside.mp4")  # a link inside the folder is fine
    lines = [
        GOOD,
        {**GOOD, "video_id": "v2", "allow_outside": True},
        {**GOOD, "video_id": "v3", "video": "videos/v3.mp4"},
    ]
    manifest = data / "manifest.jsonl"
    manifest.write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    m = load_manifest(manifest)
    with pytest.raises(ManifestPathError, match=r"manifest.jsonl:1 .*'videos/v1.mp4' resolves to .*elsewhere/v1.mp4"):
        m.resolved_video_path(m.rows[0])
    assert m.resolved_video_path(m.rows[0], allow_outside=True) == (outside / "v1.mp4").resolve()
    with pytest.raises(ManifestPathError, match="only the operator can allow"):  # a line cannot widen it (issue 20)
        m.resolved_video_path(m.rows[1])
    assert m.resolved_video_path(m.rows[1], allow_outside=True) == (outside / "v1.mp4").resolve()
    assert m.resolved_video_path(m.rows[2]) == (data / "videos/inside.mp4").resolve()
    assert "allow_outside" not in m.rows[1].entry.annotations()


def test_absolute_path_needs_allow_outside(tmp_path):
    problems = _problems(_write(tmp_path, [json.dumps({**GOOD, "video": "/abs/v.mp4"}).encode()]))
    assert "escapes the dataset folder" in problems[0]
    ok = _write(tmp_path, [json.dumps({**GOOD, "video": "/abs/v.mp4", "allow_outside": True}).encode()])
    assert load_manifest(ok).rows[0].entry.video == "/abs/v.mp4"
