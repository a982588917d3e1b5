"""Operation/phase recognition: accuracy and macro-F1 (pooled and per video), zero-shot
classification against class text embeddings, and a linear probe on cached features.

Metrics are fractions in [0, 1]. Per-video metrics (SurgVLP style) compute the metric on
each video's frames and average over videos, so long videos do not dominate; per-video
macro-F1 averages over the classes present in that video's labels or predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np


def accuracy(y_true: Sequence[Any], y_pred: Sequence[Any]) -> float:
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must be equal non-empty 1-D")
    return float(np.mean(t == p))


def macro_f1(y_true: Sequence[Any], y_pred: Sequence[Any], labels: Sequence[Any] | None = None) -> float:
    """Unweighted mean of per-class F1 over ``labels`` (default: classes in y_true or y_pred).

    A class with no true and no predicted frames scores 0 (as sklearn's zero_division=0).
    """
    t, p = np.asarray(y_true), np.asarray(y_pred)
    if t.shape != p.shape or t.ndim != 1 or t.size == 0:
        raise ValueError(f"y_true {t.shape} and y_pred {p.shape} must be equal non-empty 1-D")
    classes = np.unique(np.concatenate([t, p])) if labels is None else np.asarray(labels)
    f1 = []
    for c in classes:
        tp = np.sum((t == c) & (p == c))
        denom = np.sum(t == c) + np.sum(p == c)  # = 2TP + FP + FN
        f1.append(2.0 * tp / denom if denom else 0.0)
    return float(np.mean(f1))


def recognition_metrics(
    y_true: Sequence[Any], y_pred: Sequence[Any], video_ids: Sequence[Any] | None = None
) -> dict[str, float]:
    """Pooled "accuracy"/"macro_f1"; with ``video_ids`` also per-video means and stds
    ("video_accuracy", "video_accuracy_std", "video_macro_f1", "video_macro_f1_std")."""
    t, p = np.asarray(y_true), np.asarray(y_pred)
    out = {"accuracy": accuracy(t, p), "macro_f1": macro_f1(t, p)}
    if video_ids is not None:
        v = np.asarray(video_ids)
        if v.shape != t.shape:
            raise ValueError(f"video_ids {v.shape} must match labels {t.shape}")
        accs, f1s = [], []
        for vid in np.unique(v):
            m = v == vid
            accs.append(accuracy(t[m], p[m]))
            f1s.append(macro_f1(t[m], p[m]))
        out.update(
            video_accuracy=float(np.mean(accs)),
            video_accuracy_std=float(np.std(accs)),
            video_macro_f1=float(np.mean(f1s)),
            video_macro_f1_std=float(np.std(f1s)),
        )
    return out


def _l2n(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def zero_shot_scores(embeddings: Any, class_text_embeddings: Any, normalize: bool = True) -> np.ndarray:
    """Cosine (or raw dot, ``normalize=False``) scores [N, C] of embeddings vs class texts."""
    e, c = np.asarray(embeddings, dtype=np.float32), np.asarray(class_text_embeddings, dtype=np.float32)
    if e.ndim != 2 or c.ndim != 2 or e.shape[1] != c.shape[1]:
        raise ValueError(f"embeddings {e.shape} and class embeddings {c.shape} must be [N, D] and [C, D]")
    return (_l2n(e) @ _l2n(c).T) if normalize else e @ c.T


def zero_shot_predict(embeddings: Any, class_text_embeddings: Any, normalize: bool = True) -> np.ndarray:
    """Class index per row: argmax of embedding @ class_text_embeddings.T."""
    return zero_shot_scores(embeddings, class_text_embeddings, normalize).argmax(axis=1)


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
    import torch

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
