"""Fixtures of the flow tests: one real Prefect server (SQLite) per session, tiny corpora, workers.

Every flow test, in-process or through a worker, talks to the same server, so the session pays
for the server's start once (~5 s, plus ~20 s of migrations on a fresh PREFECT_HOME; a migrated
template database kept in pytest's cache skips those on later sessions).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import prefect
import psutil
import pytest

from hierskp.settings import OFFLINE

REPO = Path(__file__).resolve().parents[2]
PREFECT = [sys.executable, "-m", "prefect"]
POOL = "hierskp-process"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def run(cmd: list[str], env: dict[str, str], timeout: float = 120, cwd: Path = REPO) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{' '.join(cmd)} -> {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


def stop(proc: subprocess.Popen, grace: float = 15) -> None:
    """SIGINT first (a worker then stops polling and exits); SIGKILL the whole tree if it lingers."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            kill_tree(proc.pid)
            proc.wait(10)


def kill_tree(pid: int) -> list[int]:
    """SIGKILL a process and all its descendants (a worker's flow-run children run in their own session)."""
    try:
        procs = [psutil.Process(pid)]
    except psutil.NoSuchProcess:
        return []
    procs += procs[0].children(recursive=True)
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=10)
    return [p.pid for p in procs]


@dataclass
class Server:
    url: str
    home: Path
    log: Path

    def env(self, **extra: str) -> dict[str, str]:
        """Environment of a CLI/worker process talking to this server, polling fast."""
        return {
            **os.environ,
            "PREFECT_API_URL": self.url,
            "PREFECT_HOME": str(self.home),
            "PREFECT_WORKER_QUERY_SECONDS": "1",
            "PREFECT_RUNNER_POLL_FREQUENCY": "1",
            **OFFLINE,
            **extra,
        }


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as resp:
                if resp.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    tail = log.read_text(errors="replace")[-6000:] if log.exists() else "(no log)"
    stop(proc, grace=5)
    pytest.fail(
        f"prefect server did not answer {url}/health within {timeout:.0f}s "
        f"(exit code {proc.poll()}); server log:\n{tail}"
    )


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest):
    home = tmp_path_factory.mktemp("prefect_home")
    cache = getattr(request.config, "cache", None)  # None with -p no:cacheprovider
    template = Path(cache.mkdir("hierskp-prefect-db") if cache else home) / f"prefect-{prefect.__version__}.db"
    if cache and template.exists():
        shutil.copy(template, home / "prefect.db")
    port, log = free_port(), home / "server.log"
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    # started as deploy/README.md says: host and port through the environment (so the UI, also
    # served, calls its API on this port), the scheduler on (retrain/nightly's cron is tested)
    env.update(
        OFFLINE,
        PREFECT_HOME=str(home),
        PREFECT_SERVER_API_HOST="127.0.0.1",
        PREFECT_SERVER_API_PORT=str(port),
        PREFECT_SERVER_SERVICES_SCHEDULER_RECENT_DEPLOYMENTS_LOOP_SECONDS="2",
    )
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [*PREFECT, "server", "start"],
            env=env,
            stdout=fh,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}/api"
    _wait_healthy(url, proc, log, timeout=180)
    if cache and not template.exists():  # online backup: consistent while the server runs
        with sqlite3.connect(home / "prefect.db") as src, sqlite3.connect(template) as dst:
            src.backup(dst)
    try:
        yield Server(url=url, home=home, log=log)
    finally:
        stop(proc, grace=15)


@pytest.fixture(scope="session")
def prefect_api(prefect_server: Server):
    """In-process flows of this session use the real server (no ephemeral one)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: prefect_server.url}):
        yield prefect_server
        # send buffered logs and events while the server still listens (as prefect_test_harness
        # does); otherwise the interpreter's exit retries them against a closed port for a minute
        from prefect.events.worker import EventsWorker
        from prefect.logging.handlers import APILogWorker

        try:
            APILogWorker.instance().drain()
        except RuntimeError:  # never started
            pass
        EventsWorker.drain_all()


def make_corpus(out: Path, n_videos: int, seed: int) -> Path:
    """`hierskp synth --preset tiny` (short 64x48 videos) as a library call; returns the manifest."""
    from hierskp.synth import generate_corpus

    return Path(generate_corpus(out, n_videos=n_videos, seed=seed, config="tiny", progress=False))


@pytest.fixture(scope="session")
def flow_corpus(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """3 tiny videos (the corpus of `hierskp synth --preset tiny --videos 3`); returns the manifest."""
    return make_corpus(tmp_path_factory.mktemp("flow_corpus"), n_videos=3, seed=1)


@pytest.fixture(scope="session")
def reference_cache(prefect_api: Server, flow_corpus: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The corpus extracted by the default (thread pool) path, in this process: the reference."""
    from flows.extract_features import extract_features

    cache = tmp_path_factory.mktemp("reference") / "cache.zarr"
    summary = extract_features(manifest=str(flow_corpus), cache=str(cache))
    assert summary["done"] == 3 and summary["failed"] == 0, summary
    return {"cache": str(cache), "summary": summary}


@pytest.fixture(scope="session")
def deployed(prefect_server: Server) -> Server:
    """The process pool, and the extract deployment from deploy/prefect.yaml (deployed from the repo root)."""
    env = prefect_server.env()
    run([*PREFECT, "work-pool", "create", POOL, "--type", "process", "--overwrite"], env)
    run(
        [
            *PREFECT,
            "--no-prompt",
            "deploy",
            "--prefect-file",
            "deploy/prefect.yaml",
            "--name",
            "extract-features/local",
        ],
        env,
        timeout=180,
    )
    return prefect_server


def start_worker(server: Server, log: Path) -> subprocess.Popen:
    with log.open("w") as fh:
        return subprocess.Popen(
            [*PREFECT, "worker", "start", "--pool", POOL, "--type", "process"],
            env=server.env(),
            cwd=REPO,
            stdout=fh,
            stderr=subprocess.STDOUT,
        )


def assert_same_features(a: str, b: str) -> None:
    """Every array of every video group is identical in the two caches."""
    import numpy as np
    import zarr

    ga, gb = zarr.open_group(a, mode="r")["videos"], zarr.open_group(b, mode="r")["videos"]
    assert sorted(ga.group_keys()) == sorted(gb.group_keys())
    for vid in ga.group_keys():
        for name in ("frames/features", "frames/timestamps", "text/video", "text/operations", "text/narrations"):
            assert np.array_equal(ga[vid][name][:], gb[vid][name][:]), f"{vid}/{name} differs"
