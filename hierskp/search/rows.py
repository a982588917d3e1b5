"""The rows a search index holds, one level at a time, embedded by a loaded run.

    moment_windows(timestamps, window_s=4, stride_s=2) -> [W, 2] seconds (start, end)
    embed_rows(store, model, video_ids, "moment", 4.0, 2.0) -> SearchRows(vectors, video_ids, times)

* moment: sliding windows of `window_s` seconds every `stride_s` seconds over each video's frame
  timestamps (no annotations needed); a last window ends at the video's end so its tail is covered,
  a video shorter than a window is one window. A window is the clip of its frames, pooled and
  embedded as `HierSKPModel.embed_segment` does;
* operation: one row per annotated operation (its rows from `catalog_video`, its annotated times);
* video: one row per video, the run's video embedding (`video_clips` + the video aggregator).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from hierskp.dataset.batch import pad_sequences, pad_videos
from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog_video
from hierskp.dataset.items import pool_rows, video_clips
from hierskp.eval.tasks.embed import resolve_embed_device
from hierskp.runs.model import RunModel
from hierskp.search import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, SEARCH_LEVELS

BATCH_ROWS = 256  # windows or operations per forward pass (videos: BATCH_ROWS // 32)


@dataclass
class SearchRows:
    vectors: np.ndarray  # [N, E] float32, unit rows
    video_ids: list[str]
    times: np.ndarray  # [N, 2] float64 seconds (start, end)


def video_span(timestamps: np.ndarray) -> tuple[float, float]:
    """(first frame time, last frame time + one frame spacing): the seconds a video's frames cover."""
    ts = np.asarray(timestamps, dtype=np.float64)
    step = float(np.median(np.diff(ts))) if len(ts) > 1 else 0.0
    return float(ts[0]), float(ts[-1] + step)


def moment_windows(
    timestamps: np.ndarray, window_s: float = DEFAULT_WINDOW_S, stride_s: float = DEFAULT_STRIDE_S
) -> np.ndarray:
    """[W, 2] (start, end) seconds of the sliding windows over a video's frames (see module doc)."""
    if not (window_s > 0 and stride_s > 0):
        raise ValueError(f"window and stride must be > 0 seconds, got window={window_s} stride={stride_s}")
    t0, t1 = video_span(timestamps)
    if t1 - t0 <= window_s:
        return np.array([[t0, t1]])
    starts = t0 + stride_s * np.arange(int(np.floor((t1 - t0 - window_s) / stride_s + 1e-9)) + 1)
    if starts[-1] + window_s < t1 - 1e-9:
        starts = np.append(starts, t1 - window_s)
    return np.stack([starts, starts + window_s], axis=1)


def window_rows(timestamps: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """[W, 2] frame rows [a, b) with start <= t < end of each window; at least one row each."""
    ts = np.asarray(timestamps, dtype=np.float64)
    a = np.searchsorted(ts, windows[:, 0] - 1e-9, "left")
    b = np.maximum(np.searchsorted(ts, windows[:, 1] - 1e-9, "left"), a + 1)
    a = np.minimum(a, len(ts) - 1)
    return np.stack([a, np.minimum(b, len(ts))], axis=1).astype(np.int64)


def _segments(
    store: CacheStore, vid: str, level: str, window_s: float, stride_s: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(features [T, D], rows [N, 2], times [N, 2]) of one video's items at a clip level."""
    rec = store.read_video(vid)
    x, ts = np.asarray(rec.features[:], dtype=np.float32), rec.timestamps()
    if level == "moment":
        times = moment_windows(ts, window_s, stride_s)
        return x, window_rows(ts, times), times
    entry = catalog_video(store, vid)
    return x, entry.op_rows, entry.op_times


@torch.no_grad()
def embed_rows(
    store: CacheStore,
    model: RunModel,
    video_ids: list[str],
    level: str,
    window_s: float = DEFAULT_WINDOW_S,
    stride_s: float = DEFAULT_STRIDE_S,
) -> SearchRows:
    """The `level` rows of `video_ids` (see module doc), embedded by `model` in batches."""
    if level not in SEARCH_LEVELS:
        raise ValueError(f"unknown search level {level!r}; choose one of {', '.join(SEARCH_LEVELS)}")
    model.check_cache(store)
    dev = resolve_embed_device(model)
    spec, embedder = model.spec, model.embedder
    per_batch = max(1, BATCH_ROWS // 32) if level == "video" else BATCH_ROWS
    items: list = []  # pending inputs, embedded every `per_batch` (memory stays one batch, not the library)
    ids: list[str] = []
    times: list[np.ndarray] = []
    out: list[torch.Tensor] = []

    def flush(dim: int) -> None:
        if level == "video":
            video, mask = pad_videos(items, dim)
            out.append(embedder.video(video.to(dev), mask.to(dev))[0].cpu())
        else:
            clips, mask = pad_sequences(items, dim)
            out.append(embedder.clips(clips.to(dev), mask.to(dev)).cpu())
        items.clear()

    for n, vid in enumerate(video_ids):
        if level == "video":
            rec = store.read_video(vid)
            x = np.asarray(rec.features[:], dtype=np.float32)
            items.append(video_clips(x, spec.max_video_len, spec.video_clip_len))
            times.append(np.array([video_span(rec.timestamps())]))
            ids.append(vid)
        else:
            x, rows, t = _segments(store, vid, level, window_s, stride_s)
            items.extend(pool_rows(x[a:b], spec.max_clip_len) for a, b in rows.tolist())
            times.append(np.asarray(t, dtype=np.float64).reshape(-1, 2))
            ids += [vid] * len(rows)
        if items and (len(items) >= per_batch or n == len(video_ids) - 1):
            flush(int(x.shape[1]))
    vectors = torch.cat(out).float().numpy() if out else np.zeros((0, 1), np.float32)
    span = np.concatenate(times) if times else np.zeros((0, 2))
    return SearchRows(np.ascontiguousarray(vectors, dtype=np.float32), ids, span)
