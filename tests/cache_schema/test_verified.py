"""Training's start-up check (`require_valid` -> `cache_schema.verified`): each video is read once per
completion marker, yet a chunk deleted by hand or a re-extracted video is still caught."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cache_schema as cs
from tests.fixtures.synthetic_cache import make_synthetic_cache


def _counting(store):
    calls, inspect = [], store.inspect
    store.inspect = lambda vid: calls.append(vid) or inspect(vid)
    return calls


def _redo(url: str, vid: str, scale: float) -> None:
    store = cs.open_cache(url, "a")
    old = store.read_video(vid)
    ann, feats, times = old.annotations, np.asarray(old.features[:], np.float32) * scale, old.timestamps()
    texts, arrays = (
        (old.text_video(), old.text_operations(), old.text_narrations()),
        (old.segments(), old.narration_times()),
    )
    w = store.begin_video(vid, {}, ann)
    w.append_frames(feats, times)
    w.write_texts(*texts)
    w.write_annotation_arrays(*arrays)
    w.finalize()


@pytest.mark.parametrize("deep", [False, True])
def test_each_video_is_checked_once_per_marker(tmp_path, deep):
    url = make_synthetic_cache(tmp_path / "c.zarr", n_videos=6, vision_dim=8, op_frames=(2, 4)).url
    first = cs.open_cache(url)
    calls = _counting(first)
    ids = cs.require_valid(first, deep=deep)
    assert len(ids) == 6 and sorted(set(calls)) == ids
    again = cs.open_cache(url)
    calls = _counting(again)
    assert cs.require_valid(again, deep=deep) == ids and calls == []  # nothing changed: no video opened
    assert again.video_ids() == ids and calls == []  # and the catalog's listing trusts that check
    _redo(url, ids[2], 2.0)  # re-extracted: only it is read again
    third = cs.open_cache(url)
    calls = _counting(third)
    assert cs.require_valid(third, deep=deep) == ids and set(calls) == {ids[2]}


def test_damage_after_verification_is_still_refused(tmp_path):
    url = make_synthetic_cache(tmp_path / "c.zarr", n_videos=4, vision_dim=8, op_frames=(2, 4)).url
    ids = cs.require_valid(cs.open_cache(url), deep=True)
    chunk = tmp_path / "c.zarr" / "videos" / ids[1] / "text" / "operations" / "c" / "0" / "0"
    chunk.unlink()  # by hand: no writer, no log record; only the listing shows it
    with pytest.raises(cs.CorruptVideoError, match=ids[1]):
        cs.require_valid(cs.open_cache(url), deep=False)
    meta = tmp_path / "c.zarr" / "videos" / ids[3] / "annotations" / "segments" / "zarr.json"
    cs.open_cache(url, "a").delete_video(ids[1])  # the damaged one removed by a writer
    meta.unlink()
    with pytest.raises(cs.CorruptVideoError, match=ids[3]):
        cs.require_valid(cs.open_cache(url), deep=False)


def test_values_changed_in_place_are_caught_by_a_deep_check_of_a_new_cache(tmp_path):
    """A deep check passed once is not repeated for the same marker; `hierskp cache validate` still
    re-reads everything (validate_cache never uses the record)."""
    store = make_synthetic_cache(tmp_path / "c.zarr", n_videos=3, vision_dim=8, op_frames=(2, 4))
    ids = cs.require_valid(cs.open_cache(store.url), deep=True)
    writer = cs.open_cache(store.url, "a")
    writer.read_video(ids[0]).features[0] = np.full(8, 7.0)  # silent bit rot stand-in
    assert not cs.validate_cache(cs.open_cache(store.url), deep=True).ok


def test_ls_and_show_list_no_chunk_and_still_see_writers(tmp_path, monkeypatch, capsys):
    """`cache ls`/`show` at 10,000 videos must not list 200,000 chunk files (15-23 CPU-s here): they read the
    record and the commit log; a video a writer changed is read again, one damaged by hand is `validate`'s."""
    from cache_schema import rawstore
    from hierskp.cli import main

    url = make_synthetic_cache(tmp_path / "c.zarr", n_videos=5, vision_dim=8, op_frames=(2, 4)).url
    ids = cs.require_valid(cs.open_cache(url), deep=False)  # a first reader records every video
    listed, walk = [], rawstore._walk
    monkeypatch.setattr(rawstore, "_walk", lambda folder: listed.append(folder.name) or walk(folder))
    assert main(["cache", "ls", url]) == 0 and capsys.readouterr().out.count(" complete ") == 5
    assert main(["cache", "show", url]) == 0 and json.loads(capsys.readouterr().out)["videos"]["complete"] == 5
    assert listed == []
    _redo(url, ids[2], 2.0)  # a writer re-extracted it: its keys alone are listed
    cs.open_cache(url, "a").delete_video(ids[4])  # and removed another
    assert main(["cache", "ls", url]) == 0
    out = capsys.readouterr().out
    assert listed == [ids[2]] and out.count(" complete ") == 4 and ids[4] not in out
    chunk = tmp_path / "c.zarr" / "videos" / ids[1] / "text" / "operations" / "c" / "0" / "0"
    chunk.unlink()  # by hand: ls shows the recorded status, validate lists every chunk and finds it
    assert main(["cache", "validate", "--shallow", url]) == 1 and f"PROBLEM {ids[1]}" in capsys.readouterr().out


def test_a_fresh_record_lists_no_folder_and_a_record_without_key_sets_still_reads(tmp_path, monkeypatch):
    """Start-up at 10,000 videos walked 180,000 chunk files (~11 CPU-s here): with the record fresh, each
    recorded key is stat'ed instead (~1 CPU-s) and no folder is listed; a record written before key sets
    lists each video once, then records them; a key deleted by hand still sends its video to be read."""
    from cache_schema import rawstore

    url = make_synthetic_cache(tmp_path / "c.zarr", n_videos=4, vision_dim=8, op_frames=(2, 4)).url
    ids = cs.require_valid(cs.open_cache(url), deep=False)
    walked, walk = [], rawstore._walk
    monkeypatch.setattr(rawstore, "_walk", lambda folder: walked.append(folder.name) or walk(folder))
    assert cs.require_valid(cs.open_cache(url), deep=False) == ids and walked == []
    record = tmp_path / "c.zarr" / "_commits" / "verified.json"
    old = json.loads(record.read_text())
    assert len(old["key_sets"]) == 1 and all(v["keys"] in old["key_sets"] for v in old["videos"].values())
    older = {"format": old["format"], "generation": old["generation"], "videos": old["videos"]}
    for entry in older["videos"].values():
        del entry["keys"]
    record.write_text(json.dumps(older))  # as written before key sets
    assert cs.require_valid(cs.open_cache(url), deep=False) == ids and sorted(walked) == ids
    walked.clear()
    assert cs.require_valid(cs.open_cache(url), deep=False) == ids and walked == []
    (tmp_path / "c.zarr" / "videos" / ids[2] / "frames" / "timestamps" / "zarr.json").unlink()  # by hand
    with pytest.raises(cs.CorruptVideoError, match=ids[2]):
        cs.require_valid(cs.open_cache(url), deep=False)
    assert walked == [ids[2]]
