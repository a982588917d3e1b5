"""Mixed precision for the losses: custom autograd functions and cost/logit math run in fp32.

Under autocast a GEMM returns bf16/fp16. Soft-DTW costs (errors of ~0.03 next to gamma = 0.1) and
similarity logits at temperature 0.01 (values up to 100, where a bf16 step is 0.5) need fp32, and a
custom backward that saved fp32 inputs crashes on a bf16 gradient. Both CPU and CUDA autocast are
covered: ``torch.amp.custom_fwd`` only looks at the device type it is given, so it is stacked.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TypeVar

import torch
from torch import Tensor

__all__ = ["fp32_forward", "fp32_backward", "fp32_math", "AUTOCAST_DEVICES"]

AUTOCAST_DEVICES = ("cpu", "cuda")
F = TypeVar("F", bound=Callable)


def fp32_forward(fn: F) -> F:
    """``custom_fwd(cast_inputs=float32)`` for every autocast device type (float64 stays float64)."""
    for dev in AUTOCAST_DEVICES:
        fn = torch.amp.custom_fwd(fn, device_type=dev, cast_inputs=torch.float32)
    return fn


def fp32_backward(fn: F) -> F:
    """The matching ``custom_bwd``: backward runs with autocast off, like the forward."""
    for dev in AUTOCAST_DEVICES:
        fn = torch.amp.custom_bwd(fn, device_type=dev)
    return fn


def _autocast_on(device_type: str) -> bool:
    return device_type in AUTOCAST_DEVICES and torch.is_autocast_enabled(device_type)


def _up(v):
    return v.float() if isinstance(v, Tensor) and v.dtype in (torch.float16, torch.bfloat16) else v


def fp32_math(fn: F) -> F:
    """Decorator: half tensor arguments are upcast and the body runs with autocast off."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        first = next((v for v in (*args, *kwargs.values()) if isinstance(v, Tensor)), None)
        dev = "cpu" if first is None else first.device.type
        args, kwargs = tuple(_up(v) for v in args), {k: _up(v) for k, v in kwargs.items()}
        if not _autocast_on(dev):
            return fn(*args, **kwargs)
        with torch.autocast(device_type=dev, enabled=False):
            return fn(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
