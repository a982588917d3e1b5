"""Count the host syncs a piece of torch code would make on a GPU, on any device (the CPU included).

    with SyncCounter() as syncs:
        loss = compute_losses(model, batch, cfg); loss.backward()
    assert syncs.count == 0, syncs.events

A host sync is an op whose result the host must read before it can go on: ``.item()``, ``int()``,
``float()``, ``bool()`` on a tensor (all ``aten._local_scalar_dense`` at dispatch level), ops whose
output size depends on the data (``nonzero``, ``masked_select``, ``unique``, boolean-mask indexing
``x[mask]`` and ``x[mask] = v``, ``repeat_interleave`` without ``output_size``), ``torch.equal`` /
``allclose``, and host reads (``.numpy()``, ``.tolist()``). The dispatch mode sees the backward's
ops too. Each event is recorded as ``"op @ module:function:line"`` (the innermost hierskp frame).
"""

from __future__ import annotations

import sys
from typing import Any

import torch
from torch.overrides import TorchFunctionMode
from torch.utils._python_dispatch import TorchDispatchMode

__all__ = ["SyncCounter"]

_aten = torch.ops.aten
_ALWAYS = {
    _aten._local_scalar_dense.default,
    _aten.nonzero.default,
    _aten.masked_select.default,
    _aten.is_nonzero.default,
    _aten.equal.default,
    _aten._unique.default,
    _aten._unique2.default,
    _aten.unique_dim.default,
    _aten.unique_consecutive.default,
}
_INDEXING = {_aten.index.Tensor, _aten.index_put.default, _aten.index_put_.default, _aten._index_put_impl_.default}
_HOST_READS = {torch.Tensor.numpy, torch.Tensor.tolist}


_SKIP = (__name__, "torch.utils._python_dispatch", "torch.overrides", "torch._ops")


def _where(packages: tuple[str, ...]) -> str:
    """The innermost frame of `packages`, and the innermost frame below it when that is elsewhere
    (e.g. ``hierskp.train.step:train_step:73 via torch.optim.adamw:_multi_tensor_adamw``)."""
    frame = sys._getframe(2)
    inner = None
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if name.split(".")[0] in packages and name != __name__:
            here = f"{name}:{frame.f_code.co_name}:{frame.f_lineno}"
            return here if inner is None or inner.startswith(name + ":") else f"{here} via {inner}"
        if inner is None and not name.startswith(_SKIP) and not name.startswith("torch._"):
            inner = f"{name}:{frame.f_code.co_name}"
        frame = frame.f_back
    return inner or "?"


def _is_sync(func: Any, args: tuple, kwargs: dict) -> bool:
    if func in _ALWAYS:
        return True
    if func in _INDEXING and len(args) > 1:
        return any(isinstance(i, torch.Tensor) and i.dtype in (torch.bool, torch.uint8) for i in args[1] or ())
    if func is _aten.repeat_interleave.Tensor or func is _aten.repeat_interleave.self_Tensor:
        return kwargs.get("output_size") is None
    return False


class _Dispatch(TorchDispatchMode):
    def __init__(self, owner: SyncCounter):
        super().__init__()
        self.owner = owner

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        kwargs = kwargs or {}
        if _is_sync(func, args, kwargs):
            self.owner.events.append(f"{func.__name__} @ {_where(self.owner.packages)}")
        return func(*args, **kwargs)


class _Function(TorchFunctionMode):
    def __init__(self, owner: SyncCounter):
        super().__init__()
        self.owner = owner

    def __torch_function__(self, func, types, args=(), kwargs=None):  # type: ignore[no-untyped-def]
        if func in _HOST_READS:
            self.owner.events.append(f"{func.__name__} @ {_where(self.owner.packages)}")
        return func(*args, **(kwargs or {}))


class SyncCounter:
    """Context manager recording host syncs in ``events`` (``count`` = their number); see module doc."""

    def __init__(self, packages: tuple[str, ...] = ("hierskp", "tests", "bench")):
        self.packages = packages
        self.events: list[str] = []
        self._modes = (_Function(self), _Dispatch(self))

    @property
    def count(self) -> int:
        return len(self.events)

    def __enter__(self) -> SyncCounter:
        for mode in self._modes:
            mode.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        for mode in reversed(self._modes):
            mode.__exit__(*exc)
