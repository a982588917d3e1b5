"""bench/gpu_check.py exits cleanly on a machine without CUDA, one "not measured" line per check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "gpu_check.py"


@pytest.mark.skipif(torch.cuda.is_available(), reason="on a GPU the script measures (run it by hand)")
def test_without_cuda_every_check_says_not_measured():
    proc = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    names = [line.split(":")[0] for line in lines]
    assert names == ["device", "extract", "train_amp", "train_step", "faiss", "soft_dtw", "720p"]
    assert all("no CUDA device: not measured" in line for line in lines)
