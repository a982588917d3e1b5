"""A tiny real library for the web app's tests: synth H.264 videos, extracted into a real cache by the
embedded backbone, and a real (briefly) trained run. Built once per session (~20 s)."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

FAST = ["model.hidden_dim=32", "model.embed_dim=32", "model.heads=2", "data.batch_videos=4", "max_steps=8"]


@dataclass(frozen=True)
class Library:
    corpus: Path  # the manifest's folder: the cache's source paths are relative to it
    cache: Path
    run: Path

    def copy(self, dst: Path) -> Library:
        """A private copy (a test may change the cache or the files)."""
        for name in ("corpus", "cache", "run"):
            shutil.copytree(getattr(self, name), dst / name)
        return Library(dst / "corpus", dst / "cache", dst / "run")


@pytest.fixture(scope="session")
def library(tmp_path_factory) -> Library:
    from hierskp.extract import ExtractConfig, extract_manifest
    from hierskp.synth import generate_corpus
    from hierskp.train import load_config, train

    root = tmp_path_factory.mktemp("serve")
    manifest = generate_corpus(root / "corpus", n_videos=5, seed=3, config="tiny", progress=False)
    # in process, decoding in-process too (no watched child per video): the cheapest real extraction
    summary = extract_manifest(
        ExtractConfig(manifest=manifest, cache=str(root / "cache"), isolate_decoder=False), progress=False
    )
    assert len(summary.ids("done")) == 5, summary
    cfg = load_config(None, [*FAST, "evaluate=false"], cache=str(root / "cache"), out=str(root / "run"), progress=False)
    return Library(root / "corpus", root / "cache", Path(train(cfg)))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(lib, state: Path, *extra: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    cmd = [sys.executable, "-m", "hierskp", "serve", "--run", str(lib.run), "--cache", str(lib.cache)]
    cmd += ["--videos", str(lib.corpus), "--state-dir", str(state), "--port", str(port), *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    return proc, port


def wait_ready(proc: subprocess.Popen, port: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"hierskp serve exited {proc.returncode}: {proc.stderr.read()[-3000:]}"
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/videos", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"hierskp serve did not answer on port {port} in {timeout} s")


def stop(proc: subprocess.Popen) -> str:
    """SIGINT (uvicorn's clean stop), then its stderr; idempotent."""
    if proc.returncode is not None:
        return ""
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
    return err
