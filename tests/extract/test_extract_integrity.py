"""A features chunk deleted after completion: validate names the video, train refuses, extract repairs."""

from __future__ import annotations

import numpy as np

import cache_schema as cs

from .conftest import run_cli

FAST = ["model.hidden_dim=32", "model.embed_dim=32", "model.heads=2", "data.batch_videos=2", "max_steps=2"]


def test_deleted_features_chunk_is_refused_then_repaired(corpus_copy, tmp_path):
    cache, manifest = tmp_path / "cache.zarr", corpus_copy / "manifest.jsonl"
    res = run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress")
    assert res.returncode == 0, res.stdout + res.stderr
    store = cs.open_cache(str(cache))
    vid = store.video_ids()[1]
    before = {v: store.read_video(v).features[:] for v in store.video_ids()}
    (cache / "videos" / vid / "frames/features/c/0/0").unlink()

    res = run_cli("cache", "validate", str(cache))
    assert res.returncode == 1 and f"PROBLEM {vid}: array frames/features" in res.stdout, res.stdout
    assert "Traceback" not in res.stderr

    run = tmp_path / "run"
    args = ["train", "--cache", str(cache), "--out", str(run), "--no-progress", *sum((["--set", s] for s in FAST), [])]
    res = run_cli(*args)
    assert res.returncode == 2 and vid in res.stdout and "chunk" in res.stdout, res.stdout + res.stderr
    assert not (run / "final").exists() and not (run / "config.json").exists()

    res = run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress")
    assert res.returncode == 0 and "1 done, 3 skipped" in res.stdout, res.stdout
    assert run_cli("cache", "validate", str(cache)).returncode == 0
    store = cs.open_cache(str(cache))
    for v, feats in before.items():
        np.testing.assert_array_equal(store.read_video(v).features[:], feats)
    res = run_cli(*args)  # the corrected cache trains, in the same --out (the refused start left nothing)
    assert res.returncode == 0 and (run / "final").is_dir(), res.stdout + res.stderr


def test_garbage_group_metadata_is_named_and_extract_repairs(corpus_copy, tmp_path):
    cache, manifest = tmp_path / "cache.zarr", corpus_copy / "manifest.jsonl"
    assert run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress").returncode == 0
    vid = cs.open_cache(str(cache)).video_ids()[0]
    (cache / "videos" / vid / "zarr.json").write_text("\x00garbage")
    for cmd in (["cache", "validate", str(cache)], ["cache", "ls", str(cache)], ["cache", "show", str(cache), vid]):
        res = run_cli(*cmd)
        assert "Traceback" not in res.stderr, res.stderr
    res = run_cli("cache", "validate", str(cache))
    assert res.returncode == 1 and f"PROBLEM {vid}: group metadata (zarr.json) is unreadable" in res.stdout
    (cache / "videos" / vid / "zarr.json").unlink()  # and a deleted one
    res = run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress")
    assert res.returncode == 0 and "1 done" in res.stdout, res.stdout
    assert run_cli("cache", "validate", str(cache), "--manifest", str(manifest)).returncode == 0
