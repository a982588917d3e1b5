"""`hierskp search` and `hierskp.search_library`: moments, videos and operations of a real (tiny) cache
found by text through a trained run; the index is built once, loaded after, rebuilt when stale."""

from __future__ import annotations

import hashlib
import json
import shutil

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

import cache_schema as cs
import hierskp
from hierskp.cli import main
from hierskp.dataset.catalog import catalog
from hierskp.eval.tasks.embed import embed_split
from hierskp.runs.model import load_run
from hierskp.search import SEARCH_LEVELS
from hierskp.search.library import EmptyLibrary, SearchLibrary
from hierskp.search.rows import embed_rows, moment_windows, window_rows
from hierskp.train import load_config, train
from tests.fixtures.synthetic_cache import make_synthetic_cache

FAST = ["model.hidden_dim=32", "model.embed_dim=32", "model.heads=2", "data.batch_videos=4", "max_steps=8"]


@pytest.fixture(scope="module")
def lib(tmp_path_factory):
    """(cache path, run folder, text encoder): 6 videos whose texts the bundled MiniLM embedded."""
    from hierskp.backbones import load_text_encoder

    enc = load_text_encoder("default", device="cpu")
    root = tmp_path_factory.mktemp("search")
    store = make_synthetic_cache(root / "c.zarr", n_videos=6, seed=0, vision_dim=16, op_frames=(3, 6), text_encoder=enc)
    cfg = load_config(None, FAST + ["evaluate=false"], cache=store.url, out=str(root / "run"), progress=False)
    return store.url, train(cfg), enc


def _cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["search", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_moment_windows_cover_the_video():
    np.testing.assert_allclose(moment_windows(np.arange(20.0), 8, 4), [[0, 8], [4, 12], [8, 16], [12, 20]])
    tail = moment_windows(np.arange(22.0), 8, 4)  # the last window ends at the video's end
    assert tail[-1].tolist() == [14.0, 22.0] and len(tail) == 5
    assert moment_windows(np.arange(5.0) * 0.5, 8, 4).tolist() == [[0.0, 2.5]]  # shorter than a window
    assert window_rows(np.arange(20.0), tail[:2]).tolist() == [[0, 8], [4, 12]]
    with pytest.raises(ValueError, match="> 0"):
        moment_windows(np.arange(5.0), 8, 0)


def test_rows_are_the_public_api_embeddings(lib):
    url, run, enc = lib
    store, model = cs.open_cache(url), hierskp.load_model(run, text_encoder=enc)
    (vid, *_) = store.video_ids()
    feats = store.read_video(vid).features
    ts = store.read_video(vid).timestamps()
    moments = embed_rows(store, model.run, [vid], "moment", 4.0, 2.0)
    ((a, b),) = window_rows(ts, moments.times[1:2])
    np.testing.assert_allclose(moments.vectors[1], model.embed_segment(feats[a:b]), atol=1e-5)
    video = embed_rows(store, model.run, [vid], "video")
    np.testing.assert_allclose(video.vectors[0], model.embed_video(feats), atol=1e-5)
    assert video.times[0].tolist() == [0.0, float(len(ts))]  # 1 fps: the span of its frames
    test = [v.video_id for v in catalog(store, ["test"])]
    ops = embed_rows(store, model.run, test, "operation")
    ref = embed_split(store, load_run(run), "test").levels["operation"]
    np.testing.assert_allclose(ops.vectors, ref.video, atol=1e-5)
    np.testing.assert_allclose(ops.times, ref.times)


@pytest.mark.parametrize("level", ["moment", "video", "operation"])
def test_cli_json_hits_at_every_level(lib, capsys, tmp_path, level):
    url, run, _ = lib
    code, out, err = _cli(capsys, "--run", str(run), "--cache", url, "--level", level, "-k", "4", "--json",
                          "--index-dir", str(tmp_path), "the", "surgeon", "performs", "closure")  # fmt: skip
    assert code == 0, err
    hits = json.loads(out)
    assert len(hits) == 4 and all(set(h) == {"video_id", "start", "end", "score"} for h in hits)
    assert [h["score"] for h in hits] == sorted((h["score"] for h in hits), reverse=True)
    store = cs.open_cache(url)
    assert {h["video_id"] for h in hits} <= set(store.video_ids())
    assert all(0 <= h["start"] < h["end"] for h in hits)
    if level == "moment":
        assert all(h["end"] - h["start"] == pytest.approx(4.0) for h in hits)  # the default window
        for i, a in enumerate(hits):  # k distinct moments: none overlaps another of its video
            assert all(
                b["video_id"] != a["video_id"] or b["start"] >= a["end"] or b["end"] <= a["start"] for b in hits[:i]
            )
    if level == "operation":
        for h in hits:
            segs = store.read_video(h["video_id"]).segments().tolist()
            assert [h["start"], h["end"]] in segs
    if level == "video":
        assert len({h["video_id"] for h in hits}) == 4
    assert "rebuilt" in err
    code, table, err = _cli(capsys, "--run", str(run), "--cache", url, "--level", level, "-k", "2",
                            "--index-dir", str(tmp_path), "closure")  # fmt: skip
    assert code == 0 and "loaded" in err and len(table.strip().splitlines()) == 3


def test_repeat_loads_and_any_change_rebuilds(lib, tmp_path):
    url, run, enc = lib
    model, store = hierskp.load_model(run, text_encoder=enc), cs.open_cache(url)
    first = hierskp.search_library(model, store, index_dir=tmp_path)
    hits = first.search("skin incision", k=5)
    n = first.info["moment"].n
    assert first.info["moment"].rebuilt and first.embedded_rows == n > 10
    again = SearchLibrary(model, store, index_dir=tmp_path)  # a new library: loads, embeds nothing
    assert again.search("skin incision", k=5) == hits
    assert not again.info["moment"].rebuilt and again.embedded_rows == 0
    assert again.search("closure", k=3, level="moment") and again.embedded_rows == 0  # same index in memory
    every = again.search("closure", k=n, distinct=False)  # all windows, overlapping ones included
    assert len(every) == n and len({(h.video_id, h.start) for h in every}) == n
    apart = again.search("closure", k=n)
    assert len(store.video_ids()) <= len(apart) < n and apart[0] == every[0]
    # other options, another run, other videos: each rebuilds
    wider = SearchLibrary(model, store, window_s=12.0, index_dir=tmp_path)
    wider.search("skin incision", k=5)
    assert wider.info["moment"].rebuilt and 0 < wider.embedded_rows < n
    copy = shutil.copytree(run, tmp_path / "run2")
    heads = copy / "final" / "heads.safetensors"
    save_file({k: v + 0.01 if v.is_floating_point() else v for k, v in load_file(str(heads)).items()}, str(heads))
    meta = json.loads((heads.parent / "config.json").read_text())  # new heads record their own checksum
    meta["heads_sha256"] = hashlib.sha256(heads.read_bytes()).hexdigest()
    (heads.parent / "config.json").write_text(json.dumps(meta))
    other_run = SearchLibrary(hierskp.load_model(copy, text_encoder=enc), store, index_dir=tmp_path)
    other_run.search("skin incision", k=5)
    assert other_run.info["moment"].rebuilt and "fingerprint" in other_run.info["moment"].reason
    fewer = cs.open_cache(str(shutil.copytree(url, tmp_path / "c.zarr")), "a")
    fewer.delete_video(fewer.video_ids()[0])
    smaller = SearchLibrary(model, fewer, index_dir=tmp_path)
    smaller.search("skin incision", k=5)
    assert smaller.info["moment"].rebuilt and smaller.info["moment"].n < n
    restricted = SearchLibrary(model, store, splits=["test"], index_dir=tmp_path)
    assert {h.video_id for h in restricted.search("closure", k=50)} == {v.video_id for v in catalog(store, ["test"])}


def test_clear_errors(lib, capsys, tmp_path):
    url, run, enc = lib
    code, _, err = _cli(capsys, "--run", str(tmp_path / "nope"), "--cache", url, "closure")
    assert code == 2 and "not a finished run folder" in err
    code, _, err = _cli(capsys, "--run", str(run), "--cache", str(tmp_path / "none.zarr"), "closure")
    assert code == 2 and "no cache there" in err
    code, _, err = _cli(capsys, "--run", str(run), "--cache", url, "--split", "val", "--index-dir", str(tmp_path), "x")
    assert code == 2 and "no complete video to search in split(s) val" in err
    with pytest.raises(SystemExit):
        main(["search", "--run", str(run), "--cache", url, "--level", "frame", "closure"])
    assert "invalid choice: 'frame'" in capsys.readouterr().err
    library = SearchLibrary(hierskp.load_model(run, text_encoder=enc), cs.open_cache(url), index_dir=tmp_path)
    with pytest.raises(ValueError, match="unknown search level 'frame'"):
        library.search("closure", level="frame")
    with pytest.raises(ValueError, match="k must be >= 1"):
        library.search("closure", k=0)
    empty = cs.open_cache(str(tmp_path / "empty.zarr"), "a", fingerprint_id=cs.open_cache(url).fingerprint_id)
    with pytest.raises(EmptyLibrary, match="no complete video"):
        SearchLibrary(library.model, empty, index_dir=tmp_path).search("closure")


def test_a_cache_of_another_backbone_is_refused(lib, capsys, tmp_path):
    url, run, _ = lib
    cs.open_cache(str(tmp_path / "other.zarr"), "a", fingerprint_id="another-backbone")
    code, _, err = _cli(capsys, "--run", str(run), "--cache", str(tmp_path / "other.zarr"), "closure")
    assert code == 2 and "another-backbone" in err and "Traceback" not in err


def _counting_inspect(store):
    """Count the store's per-video inspections (the cheap check) while keeping them real."""
    calls, inspect = [], store.inspect
    store.inspect = lambda vid: calls.append(vid) or inspect(vid)
    return calls


def test_an_unchanged_cache_loads_without_inspecting_videos(lib, tmp_path):
    url, run, enc = lib
    model = hierskp.load_model(run, text_encoder=enc)
    url = str(shutil.copytree(url, tmp_path / "c.zarr"))
    built = SearchLibrary(model, cs.open_cache(url), index_dir=tmp_path / "ix")
    hits = built.search("skin incision", k=3)
    store = cs.open_cache(url)
    calls = _counting_inspect(store)
    again = SearchLibrary(model, store, index_dir=tmp_path / "ix")
    assert again.search("skin incision", k=3) == hits and not again.info["moment"].rebuilt
    assert calls == []  # no video inspected (the hits' videos get the light `verified.intact` check)
    # a video added by a writer moves the generation: every video is inspected and the index rebuilt
    writer = cs.open_cache(url, "a")
    old = writer.read_video(writer.video_ids()[0])
    w = writer.begin_video("added", {}, old.annotations)
    w.append_frames(old.features[:], old.timestamps())
    w.write_texts(old.text_video(), old.text_operations(), old.text_narrations())
    w.write_annotation_arrays(old.segments(), old.narration_times())
    w.finalize()
    calls.clear()
    grown = SearchLibrary(model, store, index_dir=tmp_path / "ix")
    grown.search("skin incision", k=3)
    assert grown.info["moment"].rebuilt and grown.info["moment"].n > again.info["moment"].n
    assert "added" in calls and len(set(calls)) >= len(store.video_ids())


def test_reextracted_and_damaged_videos_are_still_caught(lib, tmp_path):
    url, run, enc = lib
    model = hierskp.load_model(run, text_encoder=enc)
    url = str(shutil.copytree(url, tmp_path / "c.zarr"))
    ix = tmp_path / "ix"
    top = SearchLibrary(model, cs.open_cache(url), index_dir=ix).search("skin incision", k=1)[0]
    # re-extracted with other features (through the writer, so the log moves): rebuilt, new scores
    writer = cs.open_cache(url, "a")
    old = writer.read_video(top.video_id)
    ann, feats, times = old.annotations, -np.asarray(old.features[:], np.float32), old.timestamps()
    texts, arrays = (
        (old.text_video(), old.text_operations(), old.text_narrations()),
        (old.segments(), old.narration_times()),
    )
    w = writer.begin_video(top.video_id, {}, ann)  # removes the old group first
    w.append_frames(feats, times)
    w.write_texts(*texts)
    w.write_annotation_arrays(*arrays)
    w.finalize()
    redone = SearchLibrary(model, cs.open_cache(url), index_dir=ix)
    after = redone.search("skin incision", k=50, distinct=False)
    assert redone.info["moment"].rebuilt and top not in after
    # a chunk deleted by hand (no writer, no log record) in the video of the best hit
    best = after[0].video_id
    (tmp_path / "c.zarr" / "videos" / best / "frames" / "features" / "c" / "0" / "0").unlink()
    damaged = SearchLibrary(model, cs.open_cache(url), index_dir=ix)
    hits = damaged.search("skin incision", k=50)
    assert damaged.info["moment"].rebuilt and best not in {h.video_id for h in hits}
    assert best not in {h.video_id for h in SearchLibrary(model, cs.open_cache(url), index_dir=ix).search("x", k=50)}


def _files(root):
    """Every file under `root` with its modification time: what a command wrote there shows as a change."""
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def test_index_build_builds_exactly_what_search_loads(lib, capsys, tmp_path):
    """`hierskp index build`, then `hierskp search` at every level: nothing embedded, nothing written."""
    url, run, enc = lib
    built, fresh = shutil.copytree(run, tmp_path / "built"), shutil.copytree(run, tmp_path / "fresh")
    assert main(["index", "build", "--run", str(built), "--cache", url]) == 0
    out = capsys.readouterr().out
    assert all(f"{level}:" in out for level in SEARCH_LEVELS) and "built" in out, out
    before = _files(built)
    assert before != _files(fresh) and all(p.startswith("index/search/all/") for p in set(before) - set(_files(fresh)))
    for level in SEARCH_LEVELS:
        code, hits, err = _cli(capsys, "--run", str(built), "--cache", url, "--level", level, "--json", "closure")
        assert code == 0 and json.loads(hits) and "loaded" in err, err
    searched = hierskp.search_library(hierskp.load_model(built, text_encoder=enc), url)
    for level in SEARCH_LEVELS:
        assert searched.search("closure", k=3, level=level) and not searched.info[level].rebuilt
    assert searched.embedded_rows == 0
    assert _files(built) == before  # same files, same mtimes: the search wrote nothing under the run
    # exactly the indices search uses: searching a run without a build writes the same files
    for level in SEARCH_LEVELS:
        assert _cli(capsys, "--run", str(fresh), "--cache", url, "--level", level, "closure")[0] == 0
    assert set(_files(fresh)) == set(before)
    # a second build loads every index: nothing rebuilt, nothing rewritten
    assert main(["index", "build", "--run", str(built), "--cache", url, "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert [i["level"] for i in again] == list(SEARCH_LEVELS) and not any(i["rebuilt"] for i in again)
    assert _files(built) == before


def test_index_build_lists_a_level_without_rows_and_refuses_an_empty_cache(lib, capsys, tmp_path):
    url, run, _ = lib
    bare = cs.open_cache(str(shutil.copytree(url, tmp_path / "c.zarr")), "a")
    for vid in bare.video_ids():  # the same videos, re-extracted without their operations
        old = bare.read_video(vid)
        frames, times, ann = np.asarray(old.features[:]), old.timestamps(), {**old.annotations, "operations": []}
        texts = (old.text_video(), old.text_operations()[:0], old.text_narrations())
        arrays = (old.segments()[:0], old.narration_times())
        w = bare.begin_video(vid, {}, ann)  # removes the old group first
        w.append_frames(frames, times)
        w.write_texts(*texts)
        w.write_annotation_arrays(*arrays)
        w.finalize()
    args = ["index", "build", "--run", str(run), "--cache", bare.url, "--index-dir", str(tmp_path / "ix"), "--json"]
    assert main(args) == 0
    built = {i["level"]: i for i in json.loads(capsys.readouterr().out)}
    assert built["moment"]["n"] > 0 and built["operation"]["n"] == 0 and built["operation"]["path"] == ""
    assert "nothing to index" in built["operation"]["reason"] and not list((tmp_path / "ix").rglob("operation*"))
    empty = cs.open_cache(str(tmp_path / "empty.zarr"), "a", fingerprint_id=bare.fingerprint_id)
    assert main(["index", "build", "--run", str(run), "--cache", empty.url, "--index-dir", str(tmp_path / "ix")]) == 2
    assert "no complete video to search" in capsys.readouterr().err
