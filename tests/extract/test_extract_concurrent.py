"""Several writers on one manifest and one new cache: every video complete once, by one writer."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import cache_schema as cs
from hierskp.extract import ExtractConfig, extract_manifest

from .conftest import run_cli

TRIALS = 5


def _worker(rank: int, manifest: str, rounds: list[tuple[str, int]], barrier, results) -> None:  # type: ignore[no-untyped-def]
    """A real separate process (spawned): loads the encoders once, then extracts into each round's
    cache when its rank is below that round's number of writers; all start together (barrier)."""
    from cache_schema.claims import owner_name

    for cache, writers in rounds:
        barrier.wait(timeout=300)
        if rank < writers:
            cfg = ExtractConfig(manifest=manifest, cache=cache, torch_threads=1, isolate_decoder=False)
            summary = extract_manifest(cfg, progress=False)
            results.put((cache, owner_name(), summary.as_dict(), summary.ids("done")))


@pytest.mark.slow
def test_two_and_three_concurrent_extracts(corpus_copy, tmp_path):
    src = (corpus_copy / "manifest.jsonl").read_text().splitlines()
    manifest = corpus_copy / "three.jsonl"
    manifest.write_text("\n".join(src[:3]) + "\n")
    solo = str(tmp_path / "solo.zarr")
    rounds = [(solo, 1)] + [(str(tmp_path / f"c{n}_{t}.zarr"), n) for n in (2, 3) for t in range(TRIALS)]
    ctx = mp.get_context("spawn")
    barrier, queue = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(r, str(manifest), rounds, barrier, queue)) for r in range(3)]
    for p in procs:
        p.start()
    results: list[tuple] = []
    deadline = time.monotonic() + 600
    while len(results) < sum(n for _, n in rounds):
        try:
            results.append(queue.get(timeout=1))
        except Exception:  # noqa: BLE001 - queue.Empty: check the workers are alive
            dead = [p.exitcode for p in procs if p.exitcode not in (None, 0)]
            if dead or time.monotonic() > deadline:
                for p in procs:
                    p.kill()
                pytest.fail(f"a writer process died (exit codes {dead}) after {len(results)} result(s)")
    for p in procs:
        p.join(60)
        assert p.exitcode == 0

    ref = cs.open_cache(solo)
    reference = {v: ref.read_video(v).features[:] for v in ref.video_ids()}
    assert len(reference) == 3
    for cache, n in rounds[1:]:
        store = cs.open_cache(cache)
        assert cs.validate_cache(store).ok, cs.validate_cache(store).problems
        assert store.video_ids() == sorted(reference)
        mine = [r for r in results if r[0] == cache]
        assert len(mine) == n
        done_by: dict[str, str] = {}
        for _, owner, summary, done in mine:
            assert summary["failed"] == 0 and summary["done"] + summary["skipped"] == 3, summary
            for vid in done:  # a process reports "done" only for a video it left complete itself
                assert vid not in done_by
                done_by[vid] = owner
                assert store.read_video(vid).completion["writer"] == owner
        assert sorted(done_by) == sorted(reference)
        for vid, feats in reference.items():
            np.testing.assert_array_equal(store.read_video(vid).features[:], feats)


@pytest.mark.slow
def test_killed_writers_lease_expires_and_another_takes_over(corpus_copy, tmp_path):
    cache = tmp_path / "cache.zarr"
    args = ["extract", "--manifest", str(corpus_copy / "manifest.jsonl"), "--cache", str(cache), "--no-progress"]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    first = subprocess.Popen([sys.executable, "-m", "hierskp", *args, "--lease-s", "3"], env=env)
    deadline = time.monotonic() + 120
    while not list((cache / "_claims").glob("*/00000001")) and time.monotonic() < deadline:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)
    first.wait()
    held = [p.parent.name for p in (cache / "_claims").glob("*/00000001")]
    claimed_and_not_done = [v for v in held if cs.open_cache(str(cache)).status(v) != "complete"]
    assert claimed_and_not_done, "the writer was killed after it finished: nothing to take over"
    t0 = time.monotonic()
    res = run_cli(*args, "--lease-s", "3")
    assert res.returncode == 0, res.stdout + res.stderr
    store = cs.open_cache(str(cache))
    assert cs.validate_cache(store).ok and len(store.video_ids()) == 4
    for vid in claimed_and_not_done:
        assert (cache / "_claims" / vid / "00000002").exists()  # taken over: a second generation
    assert time.monotonic() - t0 < 90
