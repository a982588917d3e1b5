"""A node dies mid-extraction: SIGKILL the worker and its flow-run process, rerun, and the cache
is complete and consistent (completion markers, not Prefect state, decide what is done)."""

from __future__ import annotations

import subprocess
import time

import pytest

from cache_schema import CacheError, open_cache, validate_cache

from .conftest import PREFECT, kill_tree, make_corpus, run, start_worker

N_VIDEOS = 10


def _statuses(cache: str) -> dict[str, str]:
    try:
        store = open_cache(cache, mode="r")
    except CacheError:
        return {}
    return {v: store.status(v) for v in store.video_ids(status=None)}


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_sigkilled_worker_then_rerun_completes_the_cache(deployed, prefect_api, tmp_path):
    manifest = make_corpus(tmp_path / "corpus", n_videos=N_VIDEOS, seed=5)
    cache = str(tmp_path / "cache.zarr")
    worker = start_worker(deployed, tmp_path / "worker.log")
    killed: list[int] = []
    try:
        # one video at a time, so the run is surely mid-way when the first video completes
        run(
            [
                *PREFECT,
                "deployment",
                "run",
                "extract-features/local",
                "--param",
                f"manifest={manifest}",
                "--param",
                f"cache={cache}",
                "--param",
                'runner={"max_workers": 1}',
            ],
            deployed.env(),
        )
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and "complete" not in _statuses(cache).values():
            time.sleep(0.1)
        killed = kill_tree(worker.pid)  # the worker and the flow-run process it started
    finally:
        if worker.poll() is None:
            kill_tree(worker.pid)
    before = _statuses(cache)
    print((tmp_path / "worker.log").read_text()[-3000:])
    assert len(killed) >= 2, f"expected the worker and its flow-run process, killed {killed}"
    done_before = sorted(v for v, s in before.items() if s == "complete")
    assert 1 <= len(done_before) < N_VIDEOS, f"the kill did not land mid-run: {before}"

    from flows.extract_features import extract_features  # the rerun, against the same server

    summary = extract_features(manifest=str(manifest), cache=cache)
    by_status = {s: sorted(o["video_id"] for o in summary["outcomes"] if o["status"] == s) for s in ("done", "skipped")}
    assert summary["failed"] == 0
    assert set(done_before) <= set(by_status["skipped"]), "videos completed before the kill are not redone"
    assert len(by_status["done"]) + len(by_status["skipped"]) == N_VIDEOS
    report = validate_cache(open_cache(cache, mode="r"))
    assert report.ok, report.problems
    assert report.counts() == {"complete": N_VIDEOS}
    validate = subprocess.run(
        [*PREFECT[:1], "-m", "hierskp", "cache", "validate", cache], capture_output=True, text=True
    )
    assert validate.returncode == 0, validate.stdout
