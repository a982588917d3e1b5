"""The one atomic write: the old file survives a failed write, no temporary file is left, the new content
lands whole, and the data is fsynced before the rename and the folder after it."""

from __future__ import annotations

import os

import pytest

from cache_schema import atomic
from hierskp.files import atomic as files_atomic
from hierskp.ingest.manifest import write_manifest


class Boom(RuntimeError):
    pass


def _half_then_fail(tmp):
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write('{"half": ')
        fh.flush()
        raise Boom("serializer failed midway")


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "state.json"
    path.write_text('{"old": 1}')
    with pytest.raises(Boom):
        atomic.atomic_write(path, _half_then_fail)
    assert path.read_text() == '{"old": 1}'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_failed_first_write_creates_nothing(tmp_path):
    with pytest.raises(Boom):
        atomic.atomic_write(tmp_path / "new.json", _half_then_fail)
    assert list(tmp_path.iterdir()) == []


def test_the_new_content_replaces_the_old_whole(tmp_path):
    path = tmp_path / "state.json"
    path.write_text("x" * 10_000)
    assert atomic.atomic_write_text(path, "short") == path
    assert path.read_text() == "short"
    atomic.atomic_write_bytes(path, b"\x00\x01")
    assert path.read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_file_fsync_then_rename_then_folder_fsync(tmp_path, monkeypatch):
    events: list[tuple[str, str]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "fsync", fsync)
    monkeypatch.setattr(atomic.os, "replace", replace)
    path = tmp_path / "out.txt"
    atomic.atomic_write_text(path, "hello")
    assert [e[0] for e in events] == ["fsync", "replace", "fsync"]
    temp = events[0][1]
    assert os.path.dirname(temp) == str(tmp_path) and os.path.basename(temp).startswith(".out.txt.")
    assert temp.endswith(f".tmp{os.getpid()}")  # what the search folder's cleaner checks for a live writer
    assert events[1:] == [("replace", str(path)), ("fsync", str(tmp_path))]


def test_suffix_keeps_the_extension_for_format_sniffing_writers(tmp_path):
    seen = []
    atomic.atomic_write(tmp_path / "v.mp4", lambda tmp: (seen.append(tmp.name), tmp.write_bytes(b"1")), suffix=".mp4")
    assert seen[0].endswith(".mp4") and (tmp_path / "v.mp4").read_bytes() == b"1"


def test_one_implementation():
    assert files_atomic.atomic_write is atomic.atomic_write
    assert files_atomic.atomic_write_text is atomic.atomic_write_text


def test_a_manifest_whose_entry_fails_to_serialize_keeps_the_old_manifest(tmp_path):
    path = tmp_path / "manifest.jsonl"
    path.write_text('{"video_id": "a"}\n')
    with pytest.raises(TypeError):
        write_manifest(path, [{"video_id": "b"}, {"video_id": "c", "bad": object()}])
    assert path.read_text() == '{"video_id": "a"}\n'
    assert sorted(p.name for p in tmp_path.iterdir()) == ["manifest.jsonl"]
