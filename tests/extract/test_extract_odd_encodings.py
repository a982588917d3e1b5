"""MPEG-TS with a 10 s clock offset ends complete; a hanging decoder fails its video alone, in time."""

from __future__ import annotations

import json
import os
import shutil
import sys
import time
from pathlib import Path

import pytest

import cache_schema as cs
from hierskp.synth.encode import encode_video, make_index_frame

from .conftest import run_cli


def _add(manifest: Path, vid: str, rel: str, duration: float) -> None:
    entry = {"video_id": vid, "video": rel, "split": "train", "procedure": "p", "text": "an odd file"}
    entry["operations"] = [{"start": 0.0, "end": duration / 2, "label": "a", "text": "first half"}]
    with manifest.open("a") as fh:
        fh.write(json.dumps(entry) + "\n")


@pytest.mark.slow
def test_mpegts_offset_complete_and_hanging_video_fails_alone(corpus_copy, tmp_path, monkeypatch):
    manifest = corpus_copy / "manifest.jsonl"
    # an OR recorder's file: MPEG-TS, H.264 + AAC, clock starting at 10 s, 12 s long
    frames = (make_index_frame(i, 320, 240) for i in range(12 * 25))
    encode_video(
        corpus_copy / "videos/or_rec.ts", frames, fps=25, audio=True, container_options={"output_ts_offset": "10"}
    )
    _add(manifest, "or_rec", "videos/or_rec.ts", 12.0)
    first = json.loads(manifest.read_text().splitlines()[0])
    shutil.copy(corpus_copy / first["video"], corpus_copy / "videos/hang.mp4")
    _add(manifest, "hangs", "videos/hang.mp4", 4.0)

    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(Path(__file__).parents[1] / "video"), *sys.path]))
    monkeypatch.setenv("HIERSKP_DECODE_FACTORY", "hang_double:never_returns")
    cache = tmp_path / "cache.zarr"
    t0 = time.monotonic()
    res = run_cli(
        "extract", "--manifest", str(manifest), "--cache", str(cache), "--no-progress", "--stall-timeout-s", "1"
    )
    elapsed = time.monotonic() - t0
    assert res.returncode == 1, res.stdout + res.stderr
    assert "5 done, 0 skipped, 1 failed" in res.stdout, res.stdout
    assert "FAILED hangs:" in res.stdout and "decoding stalled: no decoded frame for 4 s" in res.stdout
    store = cs.open_cache(str(cache))
    rec = store.read_video("or_rec")
    assert abs(rec.n_frames - 12.0 * 1.0) <= 1 and rec.timestamps()[0] == 0.0
    assert rec.completion["decoder"] == "pyav" and "mpegts" in rec.completion["fallback_reason"]
    assert store.status("hangs") == "absent" and len(store.video_ids()) == 5
    assert elapsed < 120, elapsed  # the batch went on: the hung video cost 2 x 4 s of open timeout
