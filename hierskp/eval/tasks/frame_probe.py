"""The frame probe: multinomial logistic regression on a run's per-frame embeddings.

It is the linear-probe recognition head (`hierskp.eval.tasks.recognition`) and the TAL head
(`hierskp.eval.tasks.localization`): both fit it once on the train split's labelled frames
(`fit_frame_probe`) and score the held-out split with it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import torch

from hierskp.eval.tasks.dense import DenseSplit


@dataclass
class LinearProbe:
    """Multinomial logistic regression on standardised features."""

    classes: np.ndarray  # original label values, index = logit column
    weight: np.ndarray  # [C, D]
    bias: np.ndarray  # [C]
    mean: np.ndarray  # [D]
    std: np.ndarray  # [D]
    final_loss: float

    def logits(self, features: Any) -> np.ndarray:
        x = (np.asarray(features, dtype=np.float32) - self.mean) / self.std
        return x @ self.weight.T + self.bias

    def predict(self, features: Any) -> np.ndarray:
        return self.classes[self.logits(features).argmax(axis=1)]


def train_linear_probe(
    features: Any,
    labels: Sequence[Any],
    *,
    weight_decay: float = 1e-3,
    steps: int = 300,
    optimizer: Literal["lbfgs", "adamw"] = "lbfgs",
    lr: float = 1e-2,
    batch_size: int = 4096,
    seed: int = 0,
) -> LinearProbe:
    """Fit on the train split only. LBFGS (full batch, zero init) is deterministic by
    construction; AdamW uses mini-batches shuffled by a generator seeded with ``seed``.
    ``weight_decay`` is an L2 penalty on the weights (not the bias)."""

    x_np = np.asarray(features, dtype=np.float32)
    classes, y_np = np.unique(np.asarray(labels), return_inverse=True)
    if x_np.ndim != 2 or len(x_np) != len(y_np) or len(classes) < 2:
        raise ValueError(
            f"need features [N, D] with N labels of >= 2 classes; got {x_np.shape}, "
            f"{len(y_np)} labels, {len(classes)} classes"
        )
    mean, std = x_np.mean(axis=0), x_np.std(axis=0) + 1e-6
    x = torch.from_numpy((x_np - mean) / std)
    y = torch.from_numpy(y_np.astype(np.int64))
    # Tiny problems run far faster on one thread (multi-thread sync dominates, worse on
    # shared CPUs); the global setting is restored afterwards.
    threads = torch.get_num_threads()
    if x.numel() < 10_000_000:
        torch.set_num_threads(1)
    try:
        return _fit(torch, x, y, classes, mean, std, weight_decay, steps, optimizer, lr, batch_size, seed)
    finally:
        torch.set_num_threads(threads)


def _fit(
    torch: Any,
    x: Any,
    y: Any,
    classes: np.ndarray,
    mean: np.ndarray,
    std: np.ndarray,
    weight_decay: float,
    steps: int,
    optimizer: str,
    lr: float,
    batch_size: int,
    seed: int,
) -> LinearProbe:
    gen = torch.Generator().manual_seed(seed)
    w = torch.zeros(len(classes), x.shape[1], requires_grad=True)
    b = torch.zeros(len(classes), requires_grad=True)

    def loss_on(xb: Any, yb: Any) -> Any:
        ce = torch.nn.functional.cross_entropy(xb @ w.T + b, yb)
        return ce + 0.5 * weight_decay * (w * w).sum()

    if optimizer == "lbfgs":
        opt = torch.optim.LBFGS(
            [w, b], lr=1.0, max_iter=steps, history_size=20, line_search_fn="strong_wolfe", tolerance_grad=1e-7
        )

        def closure() -> Any:
            opt.zero_grad()
            loss = loss_on(x, y)
            loss.backward()
            return loss

        opt.step(closure)
    elif optimizer == "adamw":
        opt2 = torch.optim.AdamW([w, b], lr=lr, weight_decay=0.0)
        for _ in range(steps):
            idx = torch.randperm(len(x), generator=gen)[:batch_size]
            opt2.zero_grad()
            loss_on(x[idx], y[idx]).backward()
            opt2.step()
    else:
        raise ValueError(f"optimizer must be 'lbfgs' or 'adamw', got {optimizer!r}")
    with torch.no_grad():
        final = float(loss_on(x, y))
    return LinearProbe(classes, w.detach().numpy().copy(), b.detach().numpy().copy(), mean, std, final)


def fit_probe(x: np.ndarray, y: np.ndarray, **probe_kwargs: Any) -> LinearProbe | None:
    """Multinomial logistic regression, or None when the train split cannot support one (tiny corpora:
    no labelled rows or a single class); the report then shows the probe rows as missing."""
    try:
        return train_linear_probe(x, y, **probe_kwargs)
    except ValueError:
        return None


def fit_frame_probe(train: DenseSplit, **probe_kwargs: Any) -> LinearProbe | None:
    """The per-frame probe (also the localization head) on the train split's labelled frames."""
    x, y, _ = train.stacked(probe=True)
    return fit_probe(x, y, **probe_kwargs)
