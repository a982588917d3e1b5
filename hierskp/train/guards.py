"""Training refuses bad numbers: non-finite losses or weights stop the run naming the step and the term,
and a resume uses only a checkpoint whose checksum and values are intact (falling back to an older one)."""

from __future__ import annotations

import json
import logging
import math
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file

from hierskp.files.checksums import file_sha256  # noqa: F401 - re-exported for checkpoint.py

log = logging.getLogger(__name__)
SHA_KEY = "safetensors_sha256"


class NonFiniteError(ValueError):
    """A loss term or a weight became NaN/inf; the message names the step and what."""


def check_losses(step: int, total: torch.Tensor | float, parts: dict[str, torch.Tensor] | dict[str, float]) -> None:
    """Every loss term and the total must be finite (tensors or the host numbers read back for logging)."""
    bad = {k: float(v) for k, v in parts.items() if not math.isfinite(float(v))}
    if bad or not math.isfinite(float(total)):
        terms = ", ".join(f"loss term {k!r} = {v}" for k, v in bad.items()) or f"total {float(total)}"
        raise NonFiniteError(
            f"step {step}: non-finite loss ({terms}); training stopped, no final heads written "
            "(check the cache with `hierskp cache validate`, or lower optim.lr)"
        )


def check_weights(step: int, model: torch.nn.Module) -> None:
    """After the optimizer step: every parameter must be finite (one host read for all of them)."""
    named = [(name, p) for name, p in model.named_parameters()]
    if not named:
        return
    finite = torch.stack([torch.isfinite(p.detach()).all() for _, p in named]).cpu()
    if not bool(finite.all()):
        name = named[int((~finite).nonzero()[0, 0])][0]
        raise NonFiniteError(f"step {step}: weight {name!r} is no longer finite; training stopped")


def checkpoint_problem(json_path: Path) -> str | None:
    """Why a checkpoint cannot be resumed from (unreadable, checksum, non-finite tensors), or None."""
    try:
        meta: dict[str, Any] = json.loads(json_path.read_text())
    except (OSError, ValueError) as exc:
        return f"metadata unreadable ({exc})"
    weights = json_path.with_suffix(".safetensors")
    want = meta.get(SHA_KEY)
    if not want:
        return "no checksum recorded"
    if file_sha256(weights) != want:
        return "weights file does not match its recorded checksum"
    try:
        tensors = load_file(str(weights))
    except Exception as exc:  # noqa: BLE001 - a damaged file is a named problem
        return f"weights unreadable ({type(exc).__name__}: {exc})"
    bad = [k for k, t in tensors.items() if t.is_floating_point() and not torch.isfinite(t).all()]
    return f"non-finite values in {bad[:3]}" if bad else None


def last_good_checkpoint(checkpoints: list[Path]) -> Path | None:
    """The newest checkpoint without a problem; each skipped one is logged with its reason.
    Raises when there are checkpoints but none is usable."""
    problems = []
    for path in reversed(checkpoints):
        problem = checkpoint_problem(path)
        if problem is None:
            if problems:
                log.warning("resuming from %s; skipped: %s", path.name, "; ".join(problems))
            return path
        problems.append(f"{path.name}: {problem}")
    if problems:
        raise ValueError("no usable checkpoint to resume from: " + "; ".join(problems))
    return None
