"""A CPU test mode that catches device mistakes a GPU run would hit (no GPU needed).

Inside ``DeviceGuard()``:

* A tensor factory (``torch.zeros``, ``arange``, ``tensor``, ...) called from hierskp code without
  an explicit ``device=`` lands on the ``meta`` device. On a GPU such a tensor would sit on the CPU
  next to CUDA tensors; here mixing it with real tensors fails, and so does reading it.
* Tensors handed to ``guard.put`` (inputs, module parameters and buffers) are "device-resident",
  as is everything computed from them, every factory output with an explicit device and every
  ``.to(device)`` result. ``.cpu()`` is the one way back to the host.
* An op that mixes a meta tensor (from such a factory) with real ones raises :class:`DeviceMixError`
  (torch itself would quietly propagate meta).
* Host syncs on device-resident tensors (``bool()``, ``int()``, ``float()``, ``.item()``,
  ``nonzero``, boolean-mask indexing, ...) are recorded in ``guard.syncs`` (a count, not an error:
  a test asserts it is empty where a step must not wait for the device).
* An op that mixes a device-resident tensor with an untagged host tensor (other than a 0-dim
  scalar, which CUDA accepts too) raises :class:`DeviceMixError`, and so do ``.numpy()`` and
  ``.tolist()`` on a device-resident tensor: both fail on CUDA.

Host-side code that really wants a CPU tensor uses ``torch.from_numpy``/``.cpu()``. Construct
models outside the guard (module constructors create parameters with ``device=None``) and
``put`` them. Only calls made from modules under ``hierskp`` (configurable) are redirected to meta,
so torch's own Python internals keep working.
"""

from __future__ import annotations

import sys
import weakref
from collections.abc import Iterable
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_flatten

__all__ = ["DeviceGuard", "DeviceMixError"]

_FACTORIES = {
    torch.zeros, torch.ones, torch.empty, torch.full, torch.arange, torch.rand, torch.randn,
    torch.randint, torch.randperm, torch.tensor, torch.linspace, torch.logspace, torch.eye,
    torch.empty_strided, torch.scalar_tensor, torch.as_tensor,
}  # fmt: skip
_TO_HOST = {torch.Tensor.cpu}
_SYNCS = {
    torch.Tensor.__bool__, torch.Tensor.__int__, torch.Tensor.__float__, torch.Tensor.__index__,
    torch.Tensor.item, torch.Tensor.nonzero, torch.nonzero, torch.Tensor.masked_select, torch.masked_select,
    torch.Tensor.unique, torch.unique, torch.Tensor.repeat_interleave, torch.repeat_interleave, torch.where,
}  # fmt: skip
_HOST_READS = {torch.Tensor.numpy, torch.Tensor.tolist}
# H2D/D2H moves, and indexing with host indices (CUDA accepts those)
_NO_CHECK = {torch.Tensor.to, torch.Tensor.cpu, torch.Tensor.copy_, torch.Tensor.__setitem__, torch.Tensor.__getitem__}


class DeviceMixError(RuntimeError):
    """A device mistake: host/device mixing, a host read of a device tensor, a stray factory."""


class DeviceGuard(TorchFunctionMode):
    """``with DeviceGuard() as guard: guard.put(model); guard.put(x); model(x)`` (see module doc)."""

    def __init__(self, packages: Iterable[str] = ("hierskp",)):
        super().__init__()
        self.packages = tuple(packages)
        self._tags: dict[int, weakref.ref] = {}
        self.redirected: list[str] = []  # factory calls sent to meta ("module:function")
        self.syncs: list[str] = []  # host syncs on device tensors ("op:module:function")

    # -- tagging -------------------------------------------------------------------------------
    def is_device(self, t: torch.Tensor) -> bool:
        ref = self._tags.get(id(t))
        return ref is not None and ref() is t

    def _tag(self, t: torch.Tensor) -> None:
        key = id(t)
        self._tags[key] = weakref.ref(t, lambda _r, key=key: self._tags.pop(key, None))

    def put(self, obj: Any) -> Any:
        """Mark a tensor, or a module's parameters and buffers, as device-resident; returns ``obj``."""
        if isinstance(obj, torch.nn.Module):
            for t in (*obj.parameters(), *obj.buffers()):
                self._tag(t)
        elif isinstance(obj, torch.Tensor):
            self._tag(obj)
        else:
            for t in tree_flatten(obj)[0]:
                if isinstance(t, torch.Tensor):
                    self._tag(t)
        return obj

    # -- the mode --------------------------------------------------------------------------------
    @staticmethod
    def _user_frame() -> Any:
        """The frame that called into torch (skipping this module and ``__torch_function__`` overrides)."""
        frame = sys._getframe(1)
        while frame is not None and (frame.f_code.co_name == "__torch_function__" or frame.f_globals is globals()):
            frame = frame.f_back
        return frame

    def _caller(self) -> str:
        frame = self._user_frame()
        return "?" if frame is None else f"{frame.f_globals.get('__name__', '')}:{frame.f_code.co_name}"

    def _from_our_code(self) -> str | None:
        where = self._caller()
        return where if where.split(".")[0].split(":")[0] in self.packages else None

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = dict(kwargs or {})
        if func in _FACTORIES:
            data_is_tensor = func is torch.as_tensor and isinstance(args[0] if args else None, torch.Tensor)
            if kwargs.get("device") is None and not data_is_tensor:
                where = self._from_our_code()
                if where is not None:
                    self.redirected.append(where)
                    kwargs["device"] = "meta"
                    return func(*args, **kwargs)
            out = func(*args, **kwargs)
            if kwargs.get("device") is not None:
                self.put(out)
            return out
        tensors = [t for t in tree_flatten((args, kwargs))[0] if isinstance(t, torch.Tensor)]
        on_device = [t for t in tensors if self.is_device(t)]
        if on_device and (func in _SYNCS or _bool_index(func, args)):
            if func not in (torch.where, torch.repeat_interleave, torch.Tensor.repeat_interleave) or len(args) == 1:
                self.syncs.append(f"{getattr(func, '__name__', func)}:{self._caller()}")
        if func in _HOST_READS and on_device:
            raise DeviceMixError(f"{func.__name__}() on a device-resident tensor: call .cpu() first")
        meta = [t for t in tensors if t.device.type == "meta"]
        if meta and len(meta) < len(tensors) and func not in _NO_CHECK:
            raise DeviceMixError(
                f"{getattr(func, '__name__', func)}: a tensor created without device= (now on meta; see "
                f"guard.redirected: {self.redirected[-3:]}) meets real tensors"
            )
        if on_device and func not in _NO_CHECK:
            host = [t for t in tensors if not self.is_device(t) and t.device.type == "cpu" and t.dim() > 0]
            if host:
                shapes = ", ".join(str(tuple(t.shape)) for t in host[:3])
                raise DeviceMixError(
                    f"{getattr(func, '__name__', func)}: device-resident tensors mixed with host tensor(s) "
                    f"of shape {shapes} (move them with .to(device))"
                )
        out = func(*args, **kwargs)
        if func in _TO_HOST:  # on the CPU .cpu() returns self: hand back an untagged alias
            return out.view_as(out) if self.is_device(out) else out
        moved = func is torch.Tensor.to and _has_device_arg(args[1:], kwargs)
        if moved and out is args[0] and not self.is_device(out):
            out = out.view_as(out)  # on the CPU .to(device) returns self: tag an alias, the host copy stays host
        if on_device or moved:
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self._tag(t)
        return out


def _has_device_arg(args: tuple, kwargs: dict) -> bool:
    if kwargs.get("device") is not None:
        return True
    return any(isinstance(a, (str, torch.device)) for a in args) or any(isinstance(a, torch.Tensor) for a in args)


def _bool_index(func: Any, args: tuple) -> bool:
    """``x[mask]`` with a boolean mask: the output size depends on the data (a sync on CUDA)."""
    if func is not torch.Tensor.__getitem__ or len(args) < 2:
        return False
    idx = args[1] if isinstance(args[1], tuple) else (args[1],)
    return any(isinstance(i, torch.Tensor) and i.dtype == torch.bool for i in idx)
