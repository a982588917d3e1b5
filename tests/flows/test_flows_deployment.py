"""The real thing: `prefect deployment run extract-features/local --watch` served by a process
worker, against a `prefect server start` on 127.0.0.1, deployed from deploy/prefect.yaml."""

from __future__ import annotations

import subprocess
import sys

import pytest

from .conftest import PREFECT, REPO, assert_same_features, run, start_worker, stop


@pytest.fixture(scope="module")
def worker_log(deployed, tmp_path_factory):
    """One process worker for this module, stopped with SIGINT (before the server stops)."""
    log = tmp_path_factory.mktemp("worker") / "worker.log"
    worker = start_worker(deployed, log)
    yield log
    stop(worker)


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_extract_deployment_runs_on_a_process_worker(deployed, worker_log, flow_corpus, reference_cache, tmp_path):
    cache = tmp_path / "cache.zarr"
    try:
        out = run(
            [
                *PREFECT,
                "deployment",
                "run",
                "extract-features/local",
                "--param",
                f"manifest={flow_corpus}",
                "--param",
                f"cache={cache}",
                "--watch",
                "--watch-interval",
                "1",
                "--watch-timeout",
                "300",
            ],
            deployed.env(),
            timeout=330,
        )
    except (AssertionError, subprocess.TimeoutExpired):
        print(worker_log.read_text()[-6000:])
        raise
    assert "Completed" in out.stdout, out.stdout[-3000:]
    validate = subprocess.run(
        [sys.executable, "-m", "hierskp", "cache", "validate", str(cache)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=120,
    )
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "3 complete, 0 partial" in validate.stdout
    assert_same_features(str(cache), reference_cache["cache"])  # worker process == in-process extraction


@pytest.mark.slow
def test_deployment_rejects_a_bad_parameter_fast(deployed, worker_log, tmp_path):
    """A missing manifest fails the flow run before any model loads, with the reason in the logs."""
    proc = subprocess.run(
        [
            *PREFECT,
            "deployment",
            "run",
            "extract-features/local",
            "--param",
            f"manifest={tmp_path}/none.jsonl",
            "--param",
            f"cache={tmp_path}/c.zarr",
            "--watch",
            "--watch-interval",
            "1",
            "--watch-timeout",
            "120",
        ],
        env=deployed.env(),
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=150,
    )
    assert "Failed" in proc.stdout, proc.stdout[-3000:]
    assert "manifest file not found" in worker_log.read_text()
    assert not (tmp_path / "c.zarr").exists()
