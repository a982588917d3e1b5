"""SIGKILL a training subprocess mid-way, resume it, and land where an uninterrupted run lands."""

from __future__ import annotations

import json
import subprocess
import sys
import time

import pytest
from safetensors.torch import load_file

from hierskp.cli import main
from hierskp.eval.tasks.retrieval import headline
from hierskp.experiments.train_and_evaluate import train_and_evaluate
from hierskp.train import load_config
from hierskp.train.checkpoint import list_checkpoints
from hierskp.train.runlog import read_metrics

from .conftest import FAST

ARGS = FAST + ["max_steps=48", "checkpoint_every=4"]


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_kill_then_resume_matches_an_uninterrupted_run(tiny_cache, tmp_path):
    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "hierskp", "train", "--cache", tiny_cache, "--out", str(killed), "--no-progress"]
    for a in ARGS:
        cmd += ["--set", a]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 180
    while not list_checkpoints(killed / "checkpoints"):
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else "exited"
        assert time.monotonic() < deadline, "no checkpoint in time"
        time.sleep(0.02)
    proc.kill()  # SIGKILL: no cleanup, no final checkpoint
    proc.wait()
    killed_at = json.loads(list_checkpoints(killed / "checkpoints")[-1].read_text())["step"]
    assert killed_at < 48 and not (killed / "final").exists()

    assert main(["train", "--cache", tiny_cache, "--out", str(killed), "--resume", "--no-progress"]) == 0
    straight = train_and_evaluate(
        load_config(None, ARGS, cache=tiny_cache, out=str(tmp_path / "straight"), progress=False)
    )

    steps = [r["step"] for r in read_metrics(killed / "metrics.jsonl")]
    assert steps == list(range(1, 49))  # steps logged after the checkpoint by the killed run were redone once
    assert json.loads((killed / "final/config.json").read_text())["step"] == 48
    a, b = load_file(str(killed / "final/heads.safetensors")), load_file(str(straight / "final/heads.safetensors"))
    for k in a:
        assert (a[k] - b[k]).abs().max().item() < 1e-4, k
    ha = headline(json.loads((killed / "eval.json").read_text()))
    hb = headline(json.loads((straight / "eval.json").read_text()))
    for k in ha:
        assert abs(ha[k] - hb[k]) <= 1.0, (k, ha[k], hb[k])  # percentage points
    la = [r["loss/total"] for r in read_metrics(killed / "metrics.jsonl")]
    lb = [r["loss/total"] for r in read_metrics(straight / "metrics.jsonl")]
    assert max(abs(x - y) for x, y in zip(la, lb)) < 1e-3
