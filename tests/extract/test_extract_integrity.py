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


def test_flipped_values_and_a_broken_stream_are_named_and_the_named_repair_works(corpus_copy, tmp_path):
    """Issue 20, class 2: damage only the checksums see (same size, decodable) and damage that breaks the
    compressed stream: validate names video, array and chunk; train names the repair; that command repairs."""
    import re

    import zarr

    from cache_schema import layout as L

    cache, manifest = tmp_path / "cache.zarr", corpus_copy / "manifest.jsonl"
    assert run_cli("extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress").returncode == 0
    store = cs.open_cache(str(cache))
    flipped, broken, *_ = store.video_ids()
    before = {v: store.read_video(v).features[:] for v in store.video_ids()}
    arr = zarr.open_group(str(cache / "videos" / flipped), mode="a")[L.FEATURES]
    arr[0, 0] = float(arr[0, 0]) + 1.0  # a valid chunk of other values: only the checksum tells
    chunk = cache / "videos" / broken / "frames/features/c/0/0"
    data = bytearray(chunk.read_bytes())
    data[12:20] = bytes(b ^ 0xFF for b in data[12:20])  # same size; the zstd stream no longer decodes
    chunk.write_bytes(bytes(data))

    res = run_cli("cache", "validate", str(cache))
    assert res.returncode == 1 and "Traceback" not in res.stderr, res.stdout + res.stderr
    assert f"PROBLEM {flipped}: array frames/features: values checksum" in res.stdout
    assert f"PROBLEM {broken}: array frames/features: chunk 0 (rows 0.." in res.stdout and "Zstd" in res.stdout
    fix = f"hierskp extract --manifest {manifest.resolve()} --cache {cache} --verify deep"
    assert f"repair with: {fix}" in res.stdout, res.stdout

    res = run_cli("train", "--cache", str(cache), "--out", str(tmp_path / "run"), "--no-progress")
    assert res.returncode == 2, res.stdout + res.stderr
    repair = re.search(r"repair with `(hierskp extract [^`]+)`", res.stdout).group(1)
    assert repair.startswith(fix)
    res = run_cli(*repair.split()[1:], "--no-progress")  # exactly the command the refusal names
    assert res.returncode == 0 and "2 done" in res.stdout, res.stdout + res.stderr
    assert run_cli("cache", "validate", str(cache)).returncode == 0
    store = cs.open_cache(str(cache))
    for v, feats in before.items():
        np.testing.assert_array_equal(store.read_video(v).features[:], feats)
