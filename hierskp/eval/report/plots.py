"""PNG figures of the evaluation report (matplotlib, Agg backend: no display needed).

Every figure is written to a temporary name and renamed, so a reader never sees half a PNG.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from hierskp.files.atomic import atomic_write

DIRECTIONS = {"v2t": "video → text", "t2v": "text → video"}


def save_png(fig: Any, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        return atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight"))
    finally:
        plt.close(fig)


def recall_curves(curves: dict[str, dict[str, dict[str, list[float]]]], path: str | Path) -> Path:
    """curves[method][level][direction] = R@1..R@K in percent: one panel per level and direction."""
    levels = list(next(iter(curves.values())))
    fig, axes = plt.subplots(2, len(levels), figsize=(4.2 * len(levels), 7), squeeze=False, sharey=True)
    for col, level in enumerate(levels):
        for row, (direction, title) in enumerate(DIRECTIONS.items()):
            ax = axes[row, col]
            for method, per_level in curves.items():
                ys = per_level.get(level, {}).get(direction)
                if ys:
                    ax.plot(np.arange(1, len(ys) + 1), ys, label=method, lw=1.6)
            ax.set_title(f"{level}: {title}", fontsize=10)
            ax.set_xscale("log")
            ax.set_xlabel("K")
            ax.grid(alpha=0.3)
            if col == 0:
                ax.set_ylabel("R@K (%)")
    handles, labels = axes[0, 0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="lower center", ncol=min(3, len(labels)), fontsize=8, bbox_to_anchor=(0.5, -0.06))
    fig.subplots_adjust(hspace=0.35)
    fig.suptitle("Recall@K on the held-out split")
    return save_png(fig, path)


def confusion_matrix(y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str]) -> np.ndarray:
    """Counts [C, C]; rows are true classes, columns predictions; labels outside `classes` are skipped."""
    pos = {c: i for i, c in enumerate(classes)}
    m = np.zeros((len(classes), len(classes)), dtype=np.int64)
    for t, p in zip(y_true, y_pred):
        if t in pos and p in pos:
            m[pos[t], pos[p]] += 1
    return m


def confusion_plot(
    y_true: Sequence[str], y_pred: Sequence[str], classes: Sequence[str], path: str | Path, title: str
) -> Path:
    """Row-normalised confusion matrix (each row sums to 1 where the class occurs)."""
    m = confusion_matrix(y_true, y_pred, classes).astype(np.float64)
    rows = m.sum(axis=1, keepdims=True)
    norm = np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)
    n = len(classes)
    fig, ax = plt.subplots(figsize=(1.0 + 0.5 * n, 0.8 + 0.45 * n))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), classes, rotation=60, ha="right", fontsize=8)
    ax.set_yticks(range(n), classes, fontsize=8)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    for i in range(n):
        for j in range(n):
            if norm[i, j] >= 0.01:
                ax.text(
                    j,
                    i,
                    f"{norm[i, j]:.2f}",
                    ha="center",
                    va="center",
                    fontsize=6,
                    color="white" if norm[i, j] > 0.5 else "black",
                )
    fig.colorbar(im, ax=ax, fraction=0.046)
    ax.set_title(title, fontsize=10)
    return save_png(fig, path)


def _spans(labels: np.ndarray) -> list[tuple[int, int, str]]:
    """(first, end, label) of each constant run."""
    if len(labels) == 0:
        return []
    cut = np.flatnonzero(labels[1:] != labels[:-1]) + 1
    starts, ends = np.r_[0, cut], np.r_[cut, len(labels)]
    return [(int(a), int(b), str(labels[a])) for a, b in zip(starts, ends)]


def timeline_plot(videos: list[dict[str, Any]], classes: Sequence[str], path: str | Path, title: str) -> Path:
    """videos: [{video_id, timestamps [T], rows: {name: labels [T]}}]; one band per row, coloured by class."""
    cmap = plt.get_cmap("tab20")
    colour = {c: cmap(i % 20) for i, c in enumerate(classes)}
    n_rows = sum(len(v["rows"]) for v in videos)
    fig, axes = plt.subplots(len(videos), 1, figsize=(11, 0.5 + 0.45 * n_rows + 0.5 * len(videos)), squeeze=False)
    for ax, video in zip(axes[:, 0], videos):
        ts = np.asarray(video["timestamps"], dtype=np.float64)
        step = float(np.median(np.diff(ts))) if len(ts) > 1 else 1.0
        names = list(video["rows"])
        for r, name in enumerate(names):
            for a, b, lab in _spans(np.asarray(video["rows"][name])):
                if lab:
                    ax.broken_barh(
                        [(ts[a] - step / 2, ts[b - 1] - ts[a] + step)], (r - 0.4, 0.8), color=colour.get(lab, "grey")
                    )
        ax.set_yticks(range(len(names)), names, fontsize=8)
        ax.set_ylim(len(names) - 0.5, -0.5)
        ax.set_title(video["video_id"], fontsize=9, loc="left")
        ax.set_xlim(ts[0] - step, ts[-1] + step)
    axes[-1, 0].set_xlabel("time (s)")
    fig.subplots_adjust(hspace=0.45)
    shown = [c for c in classes if any(c in set(np.asarray(r).tolist()) for v in videos for r in v["rows"].values())]
    handles = [plt.Rectangle((0, 0), 1, 1, color=colour[c]) for c in shown]
    fig.legend(
        handles,
        shown,
        loc="lower center",
        ncol=min(5, max(1, len(shown))),
        fontsize=7,
        bbox_to_anchor=(0.5, -0.02 - 0.02 * (len(shown) // 5)),
    )
    fig.suptitle(title, fontsize=10)
    return save_png(fig, path)


def report_figures(
    out: Path, methods: list[dict[str, Any]], extras: dict[str, dict[str, Any]], split: str
) -> dict[str, str]:
    """The report's figures: recall curves of every method; confusion matrix and timelines of the best
    trained method (highest per-video zero-shot frame accuracy; the baseline only when no run was given).
    `extras[name]` holds "curves", "preds" and "inputs" (`recognition_task.TaskInputs`) of each method."""
    curves = {n: e["curves"] for n, e in extras.items()}
    files = {"recall_curves": str(recall_curves(curves, out / "recall_curves.png"))}
    trained = [m for m in methods if m["kind"] == "heads"] or methods
    best = max(trained, key=lambda m: m["result"]["recognition"]["zero_shot"]["frame"].get("video_accuracy", -1.0))
    ex = extras[best["name"]]
    test, zs = ex["inputs"].test, ex["preds"]["zero_shot"]
    keep = [lab != "" for lab in test.labels]
    y = np.concatenate([lab[k] for lab, k in zip(test.labels, keep)])
    p = np.concatenate([pr[k] for pr, k in zip(zs, keep)])
    classes = sorted(set(ex["inputs"].classes) | set(y.tolist()))
    files["confusion"] = str(
        confusion_plot(
            y,
            p,
            classes,
            out / "confusion_matrix.png",
            f"{best['name']}: zero-shot per-frame operation recognition ({split})",
        )
    )
    lp = ex["preds"]["linear_probe"]
    videos = [
        {
            "video_id": vid,
            "timestamps": ts,
            "rows": {"true": lab, "zero-shot": zs[i], **({"linear probe": lp[i]} if lp else {})},
        }
        for i, (vid, ts, lab) in enumerate(zip(test.video_ids, test.timestamps, test.labels))
        if i < 4
    ]
    files["timeline"] = str(
        timeline_plot(videos, classes, out / "timeline.png", f"{best['name']}: true vs predicted operations ({split})")
    )
    files["best_method"] = best["name"]
    return files
