"""The one device resolver: a name checked before any work, so a typo or a device this machine lacks is one
clear error (training, extraction and the backbones all call `resolve_device`)."""

from __future__ import annotations

import re

import torch

DEVICE_PATTERN = r"^(auto|cpu|mps|cuda(:\d+)?)$"


def resolve_device(name: str) -> torch.device:
    """'auto' (CUDA when present, else the CPU), 'cpu', 'cuda', 'cuda:N' or 'mps'; ValueError naming the
    option when the name is unknown or the device is not on this machine."""
    name = str(name).strip()
    if not re.match(DEVICE_PATTERN, name):
        raise ValueError(f"device {name!r} is not one of auto, cpu, cuda, cuda:N, mps")
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {name!r}: this machine (or this torch build) has no CUDA device; use auto or cpu")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(f"device {name!r}: only {torch.cuda.device_count()} CUDA device(s) here")
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(f"device {name!r}: MPS is not available here; use auto or cpu")
    return device
