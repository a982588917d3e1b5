"""`hierskp cache plot`: one video's cache as a person inspects it, in one PNG.

Top: the frame features over time as a colour strip (the first three principal components of
the video's own features mapped to red, green, blue: similar frames get similar colours).
Middle: the annotated operations as coloured spans on the same time axis, narrations as ticks.
Bottom: the frame self-similarity matrix (cosine), on the same time axis, with the operation
boundaries drawn over it: a good backbone shows bright blocks along the diagonal that line up
with the operations.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hierskp.dataset.cache import CacheStore


def pca_rgb(features: np.ndarray) -> np.ndarray:
    """[T, D] -> [T, 3] in [0, 1]: the top three principal components, each scaled by its 2-98 %
    percentiles (with fewer than three non-constant directions the missing channels are 0.5)."""
    x = features.astype(np.float64)
    x = x - x.mean(axis=0, keepdims=True)
    rgb = np.full((x.shape[0], 3), 0.5)
    if x.shape[0] < 2:
        return rgb
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    k = int(min(3, np.sum(s > 1e-9 * max(1.0, s[0]))))
    proj = x @ vt[:k].T
    lo, hi = np.percentile(proj, 2, axis=0), np.percentile(proj, 98, axis=0)
    rgb[:, :k] = np.clip((proj - lo) / np.where(hi > lo, hi - lo, 1.0), 0.0, 1.0)
    return rgb


def self_similarity(features: np.ndarray) -> np.ndarray:
    x = features.astype(np.float32)
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-8)
    return x @ x.T


def _edges(ts: np.ndarray) -> tuple[float, float]:
    """Time extent of the frames: half a sampling step before the first and after the last."""
    step = float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0
    return float(ts[0] - step / 2), float(ts[-1] + step / 2)


def _fit(label: str, width_fraction: float, char_fraction: float = 0.0095) -> str:
    """The label, shortened with an ellipsis to fit a span of `width_fraction` of the axis ("" if
    not even three characters fit)."""
    fits = int(width_fraction / char_fraction) - 1
    if fits >= len(label):
        return label
    return label[: fits - 1] + "…" if fits >= 4 else ""


def plot_video(store: CacheStore, video_id: str, out: str | Path) -> Path:
    """Write the PNG; returns its path."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rec = store.read_video(video_id)
    feats, ts = rec.features[:], rec.timestamps()
    ann: dict[str, Any] = rec.annotations
    ops = ann.get("operations", [])
    t0, t1 = _edges(ts)
    t1 = max(t1, *(op["end"] for op in ops)) if ops else t1

    fig = plt.figure(figsize=(9, 11), layout="constrained")
    grid = fig.add_gridspec(3, 1, height_ratios=[0.7, 1.0, 8.0])
    strip, spans, ssm = (fig.add_subplot(grid[i]) for i in range(3))
    for ax in (strip, spans):
        ax.sharex(ssm)

    strip.imshow(pca_rgb(feats)[None], aspect="auto", extent=(*_edges(ts), 0, 1), interpolation="nearest")
    strip.set_yticks([])
    strip.set_title(
        f"{video_id}: {len(ts)} frames, {feats.shape[1]}-d features, {store.info.get('backbone', {}).get('model')}"
        f"\nfeatures over time (first 3 principal components as RGB)",
        fontsize=10,
    )

    _draw_spans(spans, ops, ann.get("frames", []), t1 - t0, plt.get_cmap("tab20"))
    spans.tick_params(labelbottom=False)
    strip.tick_params(labelbottom=False)

    _draw_similarity(fig, ssm, feats, ts, ops, (t0, t1))

    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=110)
    plt.close(fig)
    return out


def _draw_spans(spans: Any, ops: list[dict[str, Any]], frames: list[dict[str, Any]], span: float, cmap: Any) -> None:
    """The operations as coloured, labelled spans over the narrations' ticks."""
    labels = sorted({op["label"] for op in ops})
    colours = cmap(np.linspace(0, 1, max(20, len(labels)))[: len(labels)] if labels else [0])
    colour_of = {lab: colours[i % len(colours)] for i, lab in enumerate(labels)}
    for op in ops:
        spans.axvspan(op["start"], op["end"], ymin=0.25, ymax=1.0, color=colour_of[op["label"]], alpha=0.9)
        label = _fit(op["label"], (op["end"] - op["start"]) / span)
        if label:
            spans.text((op["start"] + op["end"]) / 2, 0.62, label, ha="center", va="center", fontsize=7)
    for frame in frames:
        spans.plot([frame["time"]] * 2, [0.0, 0.2], color="0.2", linewidth=0.8)
    spans.set_ylim(0, 1)
    spans.set_yticks([0.1, 0.62], ["narr.", "operations"], fontsize=8)


def _draw_similarity(
    fig: Any, ssm: Any, feats: np.ndarray, ts: np.ndarray, ops: list[dict[str, Any]], limits: tuple[float, float]
) -> None:
    """The frame self-similarity matrix with the operation boundaries."""
    t0, t1 = limits
    sim = self_similarity(feats)
    e0, e1 = _edges(ts)
    image = ssm.imshow(sim, extent=(e0, e1, e1, e0), cmap="magma", interpolation="nearest", aspect="auto")
    for op in ops:
        for b in (op["start"], op["end"]):
            ssm.axvline(b, color="white", linewidth=0.5, alpha=0.6)
            ssm.axhline(b, color="white", linewidth=0.5, alpha=0.6)
    ssm.set_xlim(t0, t1)
    ssm.set_ylim(e1, e0)
    ssm.set_xlabel("time (s)")
    ssm.set_ylabel("time (s)")
    ssm.set_title("frame self-similarity (cosine); lines: operation boundaries", fontsize=10)
    fig.colorbar(image, ax=ssm, shrink=0.6, label="cosine similarity")
