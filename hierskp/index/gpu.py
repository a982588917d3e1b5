"""FAISS on the GPU: one shared, lazily created ``StandardGpuResources`` per device, a size
threshold below which indices stay on the CPU, and a configurable device id.

Each ``StandardGpuResources`` reserves scratch memory (about 1.5 GiB by default), so one per
index would eat a GPU; here every index on a device shares one. Small indices stay on the CPU:
copying them over and keeping resources costs more than an exact CPU search of a few thousand
vectors (the default threshold is a judgement, not measured on a GPU yet: see bench/gpu_check.py).

Settings come from the environment, read at call time: ``HIERSKP_FAISS_GPU_DEVICE`` (default 0)
and ``HIERSKP_FAISS_GPU_MIN_VECTORS`` (default ``DEFAULT_MIN_VECTORS``). ``use_gpu=True`` forces
the GPU whatever the size; ``False`` keeps the CPU; ``None`` (auto) applies the threshold.
"""

from __future__ import annotations

import logging
import os
import threading
from dataclasses import dataclass
from typing import Any

import faiss

__all__ = ["GpuSettings", "gpu_count", "choose_gpu", "shared_resources", "DEFAULT_MIN_VECTORS"]

DEFAULT_MIN_VECTORS = 20_000
log = logging.getLogger(__name__)
_lock = threading.Lock()
_resources: dict[int, Any] = {}


@dataclass(frozen=True)
class GpuSettings:
    device: int = 0
    min_vectors: int = DEFAULT_MIN_VECTORS

    @classmethod
    def from_env(cls) -> GpuSettings:
        def read(name: str, default: int) -> int:
            raw = os.environ.get(name, "").strip()
            if not raw:
                return default
            try:
                value = int(raw)
            except ValueError:
                raise ValueError(f"environment variable {name}: expected an integer, got {raw!r}") from None
            if value < 0:
                raise ValueError(f"environment variable {name}: must be >= 0, got {value}")
            return value

        return cls(read("HIERSKP_FAISS_GPU_DEVICE", 0), read("HIERSKP_FAISS_GPU_MIN_VECTORS", DEFAULT_MIN_VECTORS))


def gpu_count() -> int:
    """GPUs faiss can use: 0 with the faiss-cpu build."""
    if not hasattr(faiss, "StandardGpuResources"):
        return 0
    return int(faiss.get_num_gpus())


def choose_gpu(
    n_vectors: int, use_gpu: bool | None, settings: GpuSettings | None = None, n_gpus: int | None = None
) -> int | None:
    """The GPU id an index of ``n_vectors`` should live on, or None for the CPU."""
    settings = settings or GpuSettings.from_env()
    n_gpus = gpu_count() if n_gpus is None else n_gpus
    if use_gpu is False:
        return None
    if n_gpus == 0:
        if use_gpu:
            log.warning("use_gpu=True but faiss sees no GPU (faiss-cpu build or no device); using the CPU")
        return None
    if use_gpu is None and n_vectors < settings.min_vectors:
        return None
    if settings.device >= n_gpus:
        raise ValueError(f"HIERSKP_FAISS_GPU_DEVICE={settings.device}, but faiss sees {n_gpus} GPU(s)")
    return settings.device


def shared_resources(device: int) -> Any:
    """The process-wide ``StandardGpuResources`` of ``device``, created on first use."""
    if not hasattr(faiss, "StandardGpuResources"):
        raise RuntimeError("this faiss build has no GPU support (install the 'gpu' extra: faiss-gpu-cu12)")
    with _lock:
        if device not in _resources:
            _resources[device] = faiss.StandardGpuResources()
        return _resources[device]
