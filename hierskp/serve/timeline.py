"""What the video page draws: annotated and zero-shot predicted operations, the feature strip and the
frame self-similarity (the pictures of `hierskp cache plot`, as separate PNG images).

Zero-shot predictions: each moment window of the video (the search's windows) is embedded by the
run and given the class whose prompt is nearest; consecutive windows of one class merge into a span.
The classes are the user's prompts (`--prompts`, as `hierskp evaluate --prompts`) or else the operation
labels of the run's training splits (each the mean of its training captions, as evaluation does).
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np

from hierskp.cache_views.plot import pca_rgb, self_similarity
from hierskp.dataset.cache import CacheStore
from hierskp.runs.encoders import HierSKPModel
from hierskp.search import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S
from hierskp.search.rows import embed_rows


def class_prompts(
    model: HierSKPModel, store: CacheStore, prompts: dict[str, list[str]] | None
) -> tuple[list[str], np.ndarray]:
    """(labels, [C, E] unit prompts) for zero-shot prediction."""
    from hierskp.eval.tasks.prompts import encode_prompts, prompt_classes
    from hierskp.eval.tasks.recognition import class_prompts as caption_prompts

    if prompts:
        return prompt_classes(encode_prompts(prompts, model.text_encoder()), model.run.embedder)
    return caption_prompts(store, model.run.embedder, model.run.train_splits)


def annotated_spans(annotations: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {
            "start": float(op["start"]),
            "end": float(op["end"]),
            "label": str(op.get("label", "")),
            "text": op.get("text"),
        }
        for op in annotations.get("operations", [])
    ]


def operation_at(annotations: dict[str, Any], start: float, end: float) -> str | None:
    """The annotated operation covering the middle of [start, end], if any."""
    mid = (float(start) + float(end)) / 2
    for op in annotations.get("operations", []):
        if float(op["start"]) <= mid < float(op["end"]):
            return str(op.get("label"))
    return None


def predicted_spans(
    model: HierSKPModel, store: CacheStore, video_id: str, labels: list[str], prompts: np.ndarray
) -> list[dict[str, Any]]:
    """Zero-shot operation spans: each window's nearest class over its first stride, merged."""
    rows = embed_rows(store, model.run, [video_id], "moment", DEFAULT_WINDOW_S, DEFAULT_STRIDE_S)
    if not len(rows.video_ids):
        return []
    scores = rows.vectors @ prompts.T
    best = scores.argmax(axis=1)
    times = rows.times
    spans: list[dict[str, Any]] = []
    for i, (c, (a, b)) in enumerate(zip(best.tolist(), times.tolist())):
        end = float(times[i + 1][0]) if i + 1 < len(times) else float(b)
        if spans and spans[-1]["label"] == labels[c] and abs(spans[-1]["end"] - a) < 1e-6:
            spans[-1]["end"] = end
            spans[-1]["score"] = max(spans[-1]["score"], float(scores[i, c]))
        else:
            spans.append({"start": float(a), "end": end, "label": labels[c], "score": float(scores[i, c])})
    return spans


def _png(pixels: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def strip_png(features: np.ndarray, height: int = 24) -> bytes:
    """The feature strip: one column per frame, the first 3 principal components as RGB."""
    rgb = (pca_rgb(np.asarray(features)) * 255).round().astype(np.uint8)
    return _png(np.repeat(rgb[None], height, axis=0))


def similarity_png(features: np.ndarray) -> bytes:
    """The frame self-similarity (cosine) through matplotlib's magma colour map, one pixel per frame pair."""
    from matplotlib import colormaps

    sim = self_similarity(np.asarray(features))
    lo, hi = float(sim.min()), float(sim.max())
    norm = (sim - lo) / (hi - lo) if hi > lo else np.zeros_like(sim)
    return _png((colormaps["magma"](norm)[..., :3] * 255).round().astype(np.uint8))
