"""SIGKILL an extraction at random moments: a rerun completes it and nothing partial reads as complete."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

import cache_schema as cs

from .conftest import run_cli


@pytest.mark.slow
def test_sigkill_then_rerun(corpus_copy, tmp_path):
    cache = str(tmp_path / "cache.zarr")
    manifest = str(corpus_copy / "manifest.jsonl")
    cmd = [
        sys.executable,
        "-m",
        "hierskp",
        "extract",
        "--manifest",
        manifest,
        "--cache",
        cache,
        "--no-progress",
        "--batch-size",
        "4",
    ]
    rng = random.Random(int(os.environ.get("HIERSKP_KILL_SEED", "7")))
    killed_with_partial = 0
    for _attempt in range(3):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        # wait until the first video group appears (the model is loaded), then kill at a random moment
        deadline = time.time() + 120
        while time.time() < deadline and proc.poll() is None:
            if os.path.isdir(os.path.join(cache, "videos")) and os.listdir(os.path.join(cache, "videos")):
                break
            time.sleep(0.02)
        time.sleep(rng.uniform(0.0, 1.5))
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
        proc.wait()
        if not os.path.isdir(cache):
            continue
        store = cs.open_cache(cache)
        for vid in store.video_ids(status=None):
            rec = store.read_video(vid, allow_partial=True)
            if store.status(vid) == "complete":  # whatever reads as complete really is
                assert cs.validate_video(store, vid).problems == []
            else:
                killed_with_partial += 1
                assert vid not in store.video_ids()
                assert rec.completion is None
    proc = run_cli("extract", "--manifest", manifest, "--cache", cache, "--no-progress")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    store = cs.open_cache(cache)
    assert len(store.video_ids()) == 4 and store.video_ids(status="partial") == []
    assert run_cli("cache", "validate", cache).returncode == 0
