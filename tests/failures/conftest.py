"""Failure handling end to end (issue 20): a tiny finished run, copied per test, and the CLI as a process."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from hierskp.train import load_config, train
from tests.train.conftest import FAST


def hierskp_cli(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    cmd = [sys.executable, "-m", "hierskp", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def _finished_run(tiny_cache, tmp_path_factory):
    out = tmp_path_factory.mktemp("loudrun") / "run"
    train(load_config(None, FAST + ["max_steps=4", "evaluate=false"], cache=tiny_cache, out=str(out), progress=False))
    return out


@pytest.fixture()
def finished_run(_finished_run, tmp_path):
    dst = tmp_path / "run"
    shutil.copytree(_finished_run, dst)
    return dst
