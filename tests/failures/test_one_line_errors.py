"""Issue 20, class 10: a failure a user can cause is one line and an exit code; the traceback only on request."""

from __future__ import annotations

import errno
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from hierskp.failures import one_line

from .conftest import hierskp_cli


def test_bad_device_names_are_one_line_and_write_nothing(tiny_cache, tmp_path):
    res = hierskp_cli("train", "--cache", tiny_cache, "--out", str(tmp_path / "r"), "--set", "device=tpu")
    assert res.returncode == 2 and "device: String should match pattern" in res.stdout and "'tpu'" in res.stdout
    assert "Traceback" not in res.stderr and not (tmp_path / "r").exists()
    if not torch.cuda.is_available():
        res = hierskp_cli("train", "--cache", tiny_cache, "--out", str(tmp_path / "r"), "--set", "device=cuda")
        assert res.returncode == 2 and "no CUDA device; use auto or cpu" in res.stdout, res.stdout + res.stderr
        assert "Traceback" not in res.stderr and not (tmp_path / "r").exists()


@pytest.mark.parametrize(
    ("sig", "code", "line"),
    [(signal.SIGINT, 130, "interrupted (Ctrl-C)"), (signal.SIGTERM, 143, "terminated (SIGTERM)")],
    ids=["ctrl-c", "sigterm"],
)
def test_ctrl_c_and_sigterm_are_one_line_with_exit_130_and_143(tiny_cache, tmp_path, sig, code, line):
    """Ctrl-C, or SIGTERM (what Kubernetes, Slurm or systemd send to stop a job), in the middle of training."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p), "HIERSKP_DEBUG": "0"}
    out = tmp_path / "run"
    cmd = [sys.executable, "-m", "hierskp", "train", "--cache", tiny_cache, "--out", str(out), "--no-progress"]
    cmd += [
        "--set",
        "max_steps=100000",
        "--set",
        "model.hidden_dim=32",
        "--set",
        "model.heads=2",
        "--set",
        "log_every=1",
    ]
    # the child has SIGINT's default disposition whoever started the test run (tests/conftest.py)
    proc = subprocess.Popen(cmd, stderr=subprocess.PIPE, text=True, env=env)
    deadline = time.monotonic() + 120
    while not (out / "metrics.jsonl").exists() or not (out / "metrics.jsonl").stat().st_size:
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.05)
    proc.send_signal(sig)  # once
    try:
        err = proc.communicate(timeout=90)[1]  # 2-7 s here at load 5
    except subprocess.TimeoutExpired:
        proc.kill()
        raise AssertionError(f"hierskp train ignored {sig.name} for 90 s") from None
    assert proc.returncode == code, err
    assert f"hierskp train: error: {line}" in err and "Traceback" not in err, err
    assert not (out / ".lock").exists()


def test_operating_system_failures_name_the_file_and_what_to_do():
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), "/data/cache.zarr/videos/v1/c/0")
    assert one_line(full) == (
        "No space left on device (/data/cache.zarr/videos/v1/c/0): no space left on the device; free some space "
        "(or choose another folder) and rerun"
    )
    assert "read-only" in one_line(OSError(errno.EROFS, "Read-only file system", "/ro/run"))


def test_an_unknown_backbone_offline_fails_fast_in_one_line(tmp_path):
    from hierskp.synth import generate_corpus

    manifest = generate_corpus(tmp_path / "c", 1, seed=0, config="tiny", progress=False)
    t0 = time.monotonic()
    res = hierskp_cli("extract", "--manifest", str(manifest), "--cache", str(tmp_path / "x.zarr"),
                      "--backbone", "nonexistent/model-xyz", "--no-progress")  # fmt: skip
    assert res.returncode != 0 and time.monotonic() - t0 < 60
    assert "model 'nonexistent/model-xyz' is not in the local Hugging Face cache" in res.stderr
    assert "Traceback" not in res.stderr and res.stderr.count("\n") == 1, res.stderr
