"""Training's catalog (frame rows and strings of every video) is derived once per video metadata: a second
start-up reads no video's arrays, yet a re-extracted or re-annotated video is derived again."""

from __future__ import annotations

from dataclasses import astuple

import numpy as np

import cache_schema as cs
from hierskp.dataset.catalog import catalog
from tests.cache_schema.test_verified import _redo
from tests.fixtures.synthetic_cache import add_extra_captions, make_synthetic_cache


def _counting(store):
    calls, read = [], store.read_video
    store.read_video = lambda vid, **kw: calls.append(vid) or read(vid, **kw)
    return calls


def _same(a, b) -> bool:
    return len(a) == len(b) and all(
        all(np.array_equal(x, y) if isinstance(x, np.ndarray) else x == y for x, y in zip(astuple(u), astuple(v)))
        and all(
            type(x) is type(y) and getattr(x, "dtype", None) == getattr(y, "dtype", None)
            for x, y in zip(astuple(u), astuple(v))
        )
        for u, v in zip(a, b)
    )


def _start(url: str, splits=("pretrain", "train")):
    store = cs.open_cache(url)
    cs.require_valid(store, deep=False)  # what training does first
    calls = _counting(store)
    return catalog(store, None if splits is None else list(splits)), calls


def test_second_catalog_reads_no_video_and_agrees(tmp_path):
    url = add_extra_captions(make_synthetic_cache(tmp_path / "c.zarr", n_videos=6, vision_dim=8, op_frames=(2, 4))).url
    first, calls = _start(url)
    assert calls and first[0].has_alts
    again, calls = _start(url)
    assert calls == [] and _same(first, again)
    test_split, calls = _start(url, ["test"])  # another split: from the same record
    assert calls == [] and [v.split for v in test_split] == ["test"]


def test_reextracted_and_reannotated_videos_are_derived_again(tmp_path):
    url = make_synthetic_cache(tmp_path / "c.zarr", n_videos=5, vision_dim=8, op_frames=(2, 4)).url
    first, _ = _start(url, None)
    vid = first[1].video_id
    store = cs.open_cache(url, "a")
    rec = store.read_video(vid)
    times = rec.timestamps()
    _redo(url, vid, 1.0)  # same frames, re-extracted: a new marker
    w = cs.open_cache(url, "a").read_video(vid)
    w.group["frames/timestamps"][:] = times * 3.0  # new timestamps...
    _redo(url, vid, 1.0)  # ...recorded by the next re-extraction's marker
    again, calls = _start(url, None)
    assert calls == [vid]
    assert not np.array_equal(again[1].op_rows, first[1].op_rows)
    assert _same([v for v in again if v.video_id != vid], [v for v in first if v.video_id != vid])
    upd = cs.open_cache(url, "a")
    ann = upd.read_video(vid).annotations
    ann["operations"][0]["text"] = "a new caption"
    old = upd.read_video(vid)
    texts, arrays = (
        (old.text_video(), old.text_operations(), old.text_narrations()),
        (old.segments(), old.narration_times()),
    )
    w = upd.begin_annotation_update(vid, {}, ann)
    w.write_texts(*texts)
    w.write_annotation_arrays(*arrays)
    w.finalize()
    third, calls = _start(url, None)
    assert calls == [vid] and third[1].op_texts[0] == "a new caption"
