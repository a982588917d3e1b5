"""One training step that never waits for the device, and the accumulator that reads its numbers
back to the host only every `log_every` steps.

`forward_backward` (loss + backward) and `train_step` (plus clipping, the optimizer and the
scheduler) read nothing from the device: the loss is built from masks and weights
(`objective.compute_losses`), and every value they return is a 0-dim tensor. `PendingSteps` keeps
those tensors of the last steps and turns them into host numbers with one copy per flush, so a GPU
runs ahead of the Python loop between logging intervals. Checks that need host values (non-finite
losses and weights, `guards`) run on the flushed numbers, naming the step they belong to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from hierskp.dataset.batch import Batch
from hierskp.models.heads import HierSKPHeads

from .config import LossesConfig
from .objective import compute_losses

__all__ = ["PendingSteps", "StepResult", "forward_backward", "train_step"]


@dataclass
class StepResult:
    """Detached 0-dim tensors of one step (still on the device)."""

    total: Tensor
    parts: dict[str, Tensor]
    grad_norm: Tensor | None = None


def forward_backward(
    model: HierSKPHeads,
    batch: Batch,
    losses: LossesConfig,
    generator: torch.Generator | None,
    amp_dtype: torch.dtype | None = None,
    scaler: torch.amp.GradScaler | None = None,
) -> StepResult:
    """The loss of `batch` (autocast in `amp_dtype` when given) and its backward; no host sync."""
    device_type = batch.t_video.device.type
    with torch.autocast(device_type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None):
        total, parts = compute_losses(model, batch, losses, generator)
    (total if scaler is None else scaler.scale(total)).backward()
    return StepResult(total.detach(), {k: v.detach() for k, v in parts.items()})


def train_step(
    model: HierSKPHeads,
    batch: Batch,
    losses: LossesConfig,
    optimizer: torch.optim.Optimizer,
    scaler: torch.amp.GradScaler,
    grad_clip: float,
    generator: torch.Generator | None,
    amp_dtype: torch.dtype | None = None,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
) -> StepResult:
    """zero_grad, `forward_backward`, gradient clipping, optimizer (through `scaler`) and scheduler.

    The gradient norm stays a tensor. With an enabled fp16 `scaler`, `scaler.step` itself reads
    its inf check (torch's design); bf16 and fp32 steps read nothing."""
    optimizer.zero_grad(set_to_none=True)
    res = forward_backward(model, batch, losses, generator, amp_dtype, scaler)
    scaler.unscale_(optimizer)
    res.grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip).detach()
    scaler.step(optimizer)
    scaler.update()
    if scheduler is not None:
        scheduler.step()
    return res


@dataclass
class PendingSteps:
    """Per-step values kept as tensors; `flush()` reads all of them with one device-to-host copy.

    `add(step, values, host)`: `values` are 0-dim tensors (any device), `host` plain numbers known
    on the host (lr, epoch, seconds). `flush()` returns one dict per step, in order:
    ``{"step": step, **host, **values-as-floats}``."""

    log_every: int = 10
    _steps: list[tuple[int, list[str], Tensor, dict[str, Any]]] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self._steps)

    def due(self, step: int) -> bool:
        return step % self.log_every == 0

    def add(self, step: int, values: dict[str, Tensor], host: dict[str, Any] | None = None) -> None:
        keys = list(values)
        stacked = torch.stack([v.detach().reshape(()).float() for v in values.values()]) if keys else None
        self._steps.append((step, keys, stacked, dict(host or {})))  # type: ignore[arg-type]

    def flush(self) -> list[dict[str, Any]]:
        if not self._steps:
            return []
        tensors = [t for _, _, t, _ in self._steps if t is not None]
        flat = torch.cat(tensors).cpu().tolist() if tensors else []  # the one host read of the interval
        records, at = [], 0
        for step, keys, _, host in self._steps:
            records.append({"step": step, **host, **dict(zip(keys, flat[at : at + len(keys)], strict=True))})
            at += len(keys)
        self._steps.clear()
        return records
