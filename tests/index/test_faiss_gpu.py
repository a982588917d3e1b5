"""FAISS GPU placement: threshold, device choice, shared resources; faiss-cpu keeps the CPU."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from hierskp.index import gpu as faiss_gpu
from hierskp.index.build import build_index, search
from hierskp.index.gpu import GpuSettings, choose_gpu


def test_threshold_and_device_choice():
    s = GpuSettings(device=1, min_vectors=1000)
    assert choose_gpu(999, None, s, n_gpus=2) is None  # auto: small stays on the CPU
    assert choose_gpu(1000, None, s, n_gpus=2) == 1
    assert choose_gpu(10, True, s, n_gpus=2) == 1  # forced: any size
    assert choose_gpu(10**7, False, s, n_gpus=2) is None
    assert choose_gpu(10**7, None, s, n_gpus=0) is None
    with pytest.raises(ValueError, match="HIERSKP_FAISS_GPU_DEVICE=1"):
        choose_gpu(10**7, None, s, n_gpus=1)


def test_settings_from_env(monkeypatch):
    assert GpuSettings.from_env() == GpuSettings()
    monkeypatch.setenv("HIERSKP_FAISS_GPU_DEVICE", "3")
    monkeypatch.setenv("HIERSKP_FAISS_GPU_MIN_VECTORS", "0")
    assert GpuSettings.from_env() == GpuSettings(device=3, min_vectors=0)
    monkeypatch.setenv("HIERSKP_FAISS_GPU_MIN_VECTORS", "lots")
    with pytest.raises(ValueError, match="HIERSKP_FAISS_GPU_MIN_VECTORS.*'lots'"):
        GpuSettings.from_env()


@pytest.mark.skipif(faiss_gpu.gpu_count() > 0, reason="checks the CPU build's behaviour")
def test_cpu_build_keeps_the_cpu(caplog):
    xb = np.random.default_rng(0).normal(size=(300, 16)).astype(np.float32)
    with caplog.at_level(logging.WARNING):
        ei = build_index(xb, kind="flat", use_gpu=True)
    assert not ei.on_gpu and "no GPU" in caplog.text
    assert search(ei, xb[:3], 1)[1][:, 0].tolist() == [0, 1, 2]
    with pytest.raises(RuntimeError, match="no GPU support"):
        faiss_gpu.shared_resources(0)


@pytest.mark.gpu
@pytest.mark.skipif(faiss_gpu.gpu_count() == 0, reason="needs the faiss GPU build")
def test_gpu_indices_share_one_resource_set():
    xb = np.random.default_rng(0).normal(size=(500, 16)).astype(np.float32)
    a, b = build_index(xb, kind="flat", use_gpu=True), build_index(xb, kind="flat", use_gpu=True)
    assert a.on_gpu and b.on_gpu and a._gpu_res is b._gpu_res
    assert not build_index(xb, kind="flat").on_gpu  # auto: below the threshold
    assert search(a, xb[:3], 1)[1][:, 0].tolist() == [0, 1, 2]
