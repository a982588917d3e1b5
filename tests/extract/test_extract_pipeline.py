"""Stage 1 end to end on real videos, real backbones and a real Zarr store."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
import zarr

import cache_schema as cs
from hierskp.extract import ExtractConfig, extract_manifest
from hierskp.ingest.manifest import load_manifest

from .conftest import run_cli


def test_extract_validate_and_skip(corpus_copy, tmp_path):
    cache = tmp_path / "cache.zarr"
    cfg = ExtractConfig(manifest=corpus_copy / "manifest.jsonl", cache=str(cache))
    t0 = time.perf_counter()
    first = extract_manifest(cfg, progress=False)
    first_s = time.perf_counter() - t0
    assert first.ok and len(first.ids("done")) == 4, first.render()

    store = cs.open_cache(str(cache))
    assert cs.validate_cache(store).ok
    consolidated = zarr.open_group(str(cache), mode="r", use_consolidated=True)  # refreshed at the end of the run
    assert sorted(consolidated["videos"].group_keys()) == store.video_ids()
    manifest = load_manifest(corpus_copy / "manifest.jsonl")
    for row in manifest.rows:
        rec = store.read_video(row.entry.video_id)
        duration = rec.provenance["duration_s"]
        assert abs(rec.n_frames - duration * 1.0) <= 1.0
        assert np.all(np.diff(rec.timestamps()) > 0)
        assert rec.text_operations().shape[0] == len(row.entry.operations)
        assert rec.text_narrations().shape[0] == len(row.entry.frames)
        assert rec.provenance["source"]["sha256"]
        assert rec.annotations["video_id"] == row.entry.video_id

    t0 = time.perf_counter()
    second = extract_manifest(cfg, progress=False)
    second_s = time.perf_counter() - t0
    assert len(second.ids("skipped")) == 4 and not second.ids("done")
    assert second_s < first_s  # no decoding, no model call: only hashes and metadata reads


def test_text_edit_keeps_frames_and_content_change_redoes(corpus_copy, tmp_path):
    cache = str(tmp_path / "cache.zarr")
    manifest = corpus_copy / "manifest.jsonl"
    cfg = ExtractConfig(manifest=manifest, cache=cache)
    assert extract_manifest(cfg, progress=False).ok
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    vid = rows[0]["video_id"]
    before = cs.open_cache(cache).read_video(vid)
    feats, old_text = before.features[:], before.text_video()
    rows[0]["text"] += " (revised)"
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")

    again = extract_manifest(cfg, progress=False)
    assert again.ids("done") == [vid] and again.outcomes[0].frames_reused
    after = cs.open_cache(cache).read_video(vid)
    np.testing.assert_array_equal(after.features[:], feats)  # frames kept, not re-decoded
    assert not np.allclose(after.text_video(), old_text)
    assert after.annotations["text"].endswith("(revised)")
    assert cs.validate_cache(cs.open_cache(cache)).ok

    video = corpus_copy / rows[1]["video"]
    video.write_bytes(video.read_bytes())  # same bytes, new mtime: the hash decides, still up to date
    assert extract_manifest(cfg, progress=False).ids("done") == []
    other = corpus_copy / rows[2]["video"]
    video.write_bytes(other.read_bytes())  # new content: redone from the video
    redo = extract_manifest(cfg, progress=False)
    assert redo.ids("done") == [rows[1]["video_id"]]
    assert not next(o for o in redo.outcomes if o.video_id == rows[1]["video_id"]).frames_reused


def test_bad_files_fail_alone(corpus_copy, tmp_path):
    manifest = corpus_copy / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    template = rows[0]
    (corpus_copy / "videos" / "corrupt.mp4").write_bytes(np.random.default_rng(0).bytes(50_000))
    (corpus_copy / "videos" / "empty.mp4").write_bytes(b"")
    bad = [
        {**template, "video_id": "corrupt", "video": "videos/corrupt.mp4"},
        {**template, "video_id": "empty", "video": "videos/empty.mp4"},
        {**template, "video_id": "missing", "video": "videos/missing.mp4"},
    ]
    manifest.write_text("\n".join(json.dumps(r) for r in bad[:2] + rows + bad[2:]) + "\n")
    cache = str(tmp_path / "cache.zarr")
    proc = run_cli("extract", "--manifest", str(manifest), "--cache", cache, "--no-progress")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    for vid, path in (("corrupt", "corrupt.mp4"), ("empty", "empty.mp4"), ("missing", "missing.mp4")):
        line = next(line for line in proc.stdout.splitlines() if line.strip().startswith(f"FAILED {vid}:"))
        assert path in line and f"'{vid}'" in line
    store = cs.open_cache(cache)
    assert store.video_ids() == sorted(r["video_id"] for r in rows)
    assert cs.validate_cache(store).ok
    assert run_cli("cache", "validate", cache).returncode == 0


def test_annotation_past_duration_is_named(corpus_copy, tmp_path):
    manifest = corpus_copy / "manifest.jsonl"
    rows = [json.loads(line) for line in manifest.read_text().splitlines()]
    rows[1]["operations"][-1]["end"] = 999.0
    manifest.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    summary = extract_manifest(ExtractConfig(manifest=manifest, cache=str(tmp_path / "c.zarr")), progress=False)
    assert summary.ids("failed") == [rows[1]["video_id"]]
    err = summary.as_dict()["errors"][rows[1]["video_id"]]
    assert "manifest.jsonl:2" in err and "operations[" in err and "999" in err


def test_other_backbone_refused(corpus_copy, tmp_path, embedded_twin):
    cache = str(tmp_path / "cache.zarr")
    manifest = corpus_copy / "manifest.jsonl"
    assert (
        run_cli(
            "extract",
            "--manifest",
            str(manifest),
            "--cache",
            cache,
            "--no-progress",
            "--video-id",
            load_manifest(manifest).rows[0].entry.video_id,
        ).returncode
        == 0
    )
    proc = run_cli(
        "extract", "--manifest", str(manifest), "--cache", cache, "--backbone", str(embedded_twin), "--no-progress"
    )
    assert proc.returncode == 2 and "fingerprint" in proc.stderr


def test_cache_cli_inspect_and_export(corpus_copy, tmp_path):
    cache = str(tmp_path / "cache.zarr")
    assert extract_manifest(ExtractConfig(manifest=corpus_copy / "manifest.jsonl", cache=cache), progress=False).ok
    ls = run_cli("cache", "ls", cache)
    assert ls.returncode == 0 and ls.stdout.count("complete") == 4
    show = run_cli("cache", "show", cache)
    assert json.loads(show.stdout)["videos"]["complete"] == 4
    for fmt in ("npy", "hdf5"):
        out = tmp_path / f"export_{fmt}"
        assert run_cli("cache", "export", cache, "--format", fmt, "--out", str(out)).returncode == 0
        ann = json.loads((out / "annotations.json").read_text())
        assert len(ann["database"]) == 4
    vid = cs.open_cache(cache).video_ids()[0]
    exported = np.load(tmp_path / "export_npy" / f"{vid}.npy")
    np.testing.assert_array_equal(exported, cs.open_cache(cache).read_video(vid).features[:].astype(np.float32))
    import h5py

    store = cs.open_cache(cache)
    np.testing.assert_array_equal(
        np.load(tmp_path / "export_npy" / "timestamps" / f"{vid}.npy"), store.read_video(vid).timestamps()
    )
    with h5py.File(tmp_path / "export_hdf5" / "features.h5") as h5:
        np.testing.assert_array_equal(h5[vid][:], exported)
        assert h5.attrs["fingerprint_id"] == store.fingerprint_id and h5.attrs["fps"] == 1.0
        assert h5.attrs["backbone"] == store.info["backbone"]["model"]
    assert ann["provenance"]["fingerprint_id"] == store.fingerprint_id

    png = tmp_path / "plot" / f"{vid}.png"
    plotted = run_cli("cache", "plot", cache, vid, "--out", str(png))
    assert plotted.returncode == 0, plotted.stdout + plotted.stderr
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert run_cli("cache", "plot", cache, "no-such-video", "--out", str(png)).returncode == 2


def test_unknown_video_id_is_an_error(corpus_copy, tmp_path):
    from hierskp.ingest.manifest import ManifestError

    cfg = ExtractConfig(manifest=corpus_copy / "manifest.jsonl", cache=str(tmp_path / "c.zarr"), video_ids=("nope",))
    with pytest.raises(ManifestError, match="nope"):
        extract_manifest(cfg, progress=False)
