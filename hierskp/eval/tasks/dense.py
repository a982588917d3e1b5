"""Per-frame embeddings of whole videos, for recognition and temporal localization.

Frame i is embedded as the window of `frame_window` rows centred on it (shifted, not cut, at the
video's ends), the same windows the frame level was trained on (`hierskp.dataset.items.window_start`),
through the embedder's `clips` (a run's clip encoder, or the frozen baseline's mean pooling).
Features are read one cache chunk (plus the window's halo) at a time, so memory stays bounded by
the chunk size whatever the video length, and windows are encoded in batches of `batch_frames`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from tqdm.auto import tqdm

from hierskp.dataset.batch import pad_videos
from hierskp.dataset.cache import READ_BLOCK_FRAMES, CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import ItemSpec, pool_rows, video_clips, window_start
from hierskp.models.embedders import Embedder
from hierskp.runs.model import RunModel

BACKGROUND = ""  # label of frames outside every annotated operation


@dataclass
class DenseSplit:
    """Row t of `embeddings[i]` is frame t of video `video_ids[i]` (one row per cached frame)."""

    video_ids: list[str]
    embeddings: list[np.ndarray]  # [T_i, E] float32, L2-normalised
    timestamps: list[np.ndarray]  # [T_i] seconds
    labels: list[np.ndarray]  # [T_i] operation label per frame, BACKGROUND outside operations
    method: str = ""
    meta: dict[str, object] = field(default_factory=dict)
    # [T_i, E] what supervised heads (linear probe, localization head) read: for a run, each frame's
    # window embedding plus the video-context token of the clip it falls in; None: `embeddings`
    context: list[np.ndarray] | None = None

    def probe_inputs(self) -> list[np.ndarray]:
        return self.context if self.context is not None else self.embeddings

    def stacked(self, drop_background: bool = True, probe: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(embeddings [N, E], labels [N], video ids [N]) of all frames, pooled over videos
        (`probe`: the supervised heads' inputs, `probe_inputs`)."""
        keep = [lab != BACKGROUND if drop_background else np.ones(len(lab), bool) for lab in self.labels]
        rows = self.probe_inputs() if probe else self.embeddings
        e_dim = rows[0].shape[1] if rows else 0
        emb = np.concatenate([e[k] for e, k in zip(rows, keep)]) if keep else np.zeros((0, e_dim))
        labels = np.concatenate([lab[k] for lab, k in zip(self.labels, keep)]) if keep else np.zeros(0, str)
        vids = np.concatenate([np.full(int(k.sum()), v) for v, k in zip(self.video_ids, keep)]) if keep else labels
        return emb.astype(np.float32), labels, vids


def frame_labels(timestamps: np.ndarray, segments: np.ndarray, labels: list[str] | tuple[str, ...]) -> np.ndarray:
    """Label of the operation with start <= t < end for each frame time (later operations win overlaps)."""
    out = np.full(len(timestamps), BACKGROUND, dtype=object)
    for (start, end), label in zip(np.asarray(segments).reshape(-1, 2), labels):
        out[(timestamps >= start) & (timestamps < end)] = label
    return out.astype(str)


def _windows(rows: np.ndarray, first_row: int, centers: np.ndarray, width: int, n_frames: int) -> np.ndarray:
    """[len(centers), width, D] windows cut from `rows` (cache rows first_row..)."""
    starts = np.array([window_start(int(c), width, n_frames) for c in centers]) - first_row
    return rows[starts[:, None] + np.arange(width)[None, :]]


def iter_video_windows(features: Any, width: int, chunk: int = READ_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """Windows [n, width, D] centred on consecutive frames, reading one chunk (+ halo) at a time."""
    n = int(features.shape[0])
    width = min(width, n)
    for a in range(0, n, chunk):
        b = min(n, a + chunk)
        lo = window_start(a, width, n)
        hi = window_start(b - 1, width, n) + width
        rows = np.asarray(features[lo:hi], dtype=np.float32)
        yield _windows(rows, lo, np.arange(a, b), width, n)


@torch.no_grad()
def embed_frames(embedder: Embedder, features: Any, spec: ItemSpec, batch_frames: int = 1024) -> np.ndarray:
    """[T, E] embeddings of every frame of one video's [T, D] cached features (zarr or numpy)."""
    out = []
    for win in iter_video_windows(features, spec.frame_window):
        if win.shape[1] > spec.max_clip_len:  # pooled like training items (pool_rows)
            win = np.stack([pool_rows(w, spec.max_clip_len) for w in win])
        for s in range(0, len(win), batch_frames):
            x = torch.from_numpy(np.ascontiguousarray(win[s : s + batch_frames], dtype=np.float32))
            out.append(embedder.clips(x, torch.ones(x.shape[:2], dtype=torch.bool)).float().cpu().numpy())
    return np.concatenate(out).astype(np.float32)


@torch.no_grad()
def context_frames(embedder: Embedder, features: Any, spec: ItemSpec, frames: np.ndarray) -> np.ndarray:
    """[T, E]: unit-norm sum of each frame's window embedding (`frames`) and the video-context token
    of the video clip containing it. The tokens come from the video aggregator, which sees the whole
    procedure: where in it a frame sits is what tells apart operations that look alike."""
    x = np.asarray(features[:], dtype=np.float32)
    clips = video_clips(x, spec.max_video_len, spec.video_clip_len)
    video, mask = pad_videos([clips], x.shape[1])
    _, tokens = embedder.video(video, mask)
    n, k = x.shape[0], len(clips)
    clip_of = np.searchsorted((np.arange(k + 1) * n) // k, np.arange(n), side="right") - 1
    out = frames + tokens[0].float().cpu().numpy()[clip_of]
    return (out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)).astype(np.float32)


LOG_EVERY_S = 30.0


class _ProgressLines:
    """'dense test: 120/2000 videos (31 s)' on stderr at most every LOG_EVERY_S: progress a log file can hold."""

    def __init__(self, what: str, total: int) -> None:
        self.what, self.total, self.done = what, total, 0
        self.start = self.last = time.monotonic()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self.last >= LOG_EVERY_S:
            print(
                f"{self.what}: {self.done}/{self.total} videos ({now - self.start:.0f} s)", file=sys.stderr, flush=True
            )
            self.last = now
        self.done += 1


def dense_split(
    store: CacheStore, model: RunModel, split: str = "test", batch_frames: int = 1024, progress: bool = True
) -> DenseSplit:
    """Per-frame embeddings and labels of every complete video of `split` (sorted by id)."""
    model.check_cache(store)
    embedder, spec = model.embedder, model.spec
    index = catalog(store, [split])
    out = DenseSplit([], [], [], [], method=embedder.method, meta={"frame_window": spec.frame_window})
    context = model.heads is not None  # the frozen baseline's probes read its mean-pooled features
    out.context = [] if context else None
    # an inner bar (under the report's): on a terminal only, where its cursor moves (ESC[A) do not litter logs;
    # a log gets a plain line every LOG_EVERY_S instead (at 10,000 videos a method's split takes minutes)
    inner = progress and sys.stderr.isatty()
    log = _ProgressLines(f"dense {split}", len(index)) if progress and not inner else None
    for entry in tqdm(index, desc=f"dense {split}", unit="video", disable=not inner, leave=False):
        if log:
            log.tick()
        rec = store.read_video(entry.video_id)
        ts = rec.timestamps()
        out.video_ids.append(entry.video_id)
        out.embeddings.append(embed_frames(embedder, rec.features, spec, batch_frames))
        if out.context is not None:
            out.context.append(context_frames(embedder, rec.features, spec, out.embeddings[-1]))
        out.timestamps.append(ts)
        out.labels.append(frame_labels(ts, entry.op_times, entry.op_labels))
    return out
