"""Operation/phase recognition: accuracy and macro-F1 (pooled and per video), zero-shot
classification against class text embeddings (the linear probe is `hierskp.eval.tasks.frame_probe`).

Metrics are fractions in [0, 1]. Per-video metrics (SurgVLP style) compute the metric on
each video's frames and average over videos, so long videos do not dominate; per-video
macro-F1 averages over the classes present in that video's labels or predictions.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

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
