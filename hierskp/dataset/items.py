"""Three levels of (video-side, text-side) pairs read from the cache, one video per item.

An item holds one video as a sequence of short clips (video level), its operation segments (operation level)
and short windows around its narration times (frame level); a batch of videos therefore carries
in-batch negatives at every level, including the other operations of the same video.

Only the frame rows an item needs are read, as zarr slices (whole chunks at most). The store is
opened lazily in each process, so DataLoader workers never share the parent's zarr event loop.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from torch.utils.data import Dataset

from cache_schema import CacheStore, open_cache

from .catalog import CachedVideo, text_key


@dataclass(frozen=True)
class ItemSpec:
    """What an item contains; levels that no loss uses are not read at all."""

    need_video: bool = True
    need_ops: bool = True
    need_frames: bool = True
    frame_window: int = 4
    frame_jitter: int = 0
    max_clip_len: int = 16
    max_video_len: int = 32
    video_clip_len: int = 4
    max_narrations: int | None = None  # None keeps all (evaluation)
    # "all": each item draws one caption per annotation, uniformly from [text] + texts (the manifest's
    # extra captions), from its own seeded stream; "primary": `text` only (evaluation, and the ablation)
    captions: Literal["primary", "all"] = "primary"


CAPTION_STREAM = 0xCA97  # the caption draws' own stream: other draws of an item do not move with them


def sample_captions(
    primary: np.ndarray, texts: tuple[str, ...], alts: tuple[tuple[str, ...], ...], alt_rows: np.ndarray, rng: Any
) -> tuple[np.ndarray, list[str]]:
    """One caption per row, uniformly from (primary row, its alternatives): ([N, Dt] embeddings, texts).
    `alt_rows` are the alternatives' embeddings in order, row r's after those of rows < r."""
    emb, out = primary.copy(), list(texts)
    offset = 0
    for r, extra in enumerate(alts):
        k = int(rng.integers(len(extra) + 1))
        if k:
            emb[r], out[r] = alt_rows[offset + k - 1], extra[k - 1]
        offset += len(extra)
    return emb, out


def pool_rows(x: np.ndarray, max_len: int) -> np.ndarray:
    """Mean over `max_len` equal bins when longer; the bins keep temporal order."""
    n = x.shape[0]
    if n <= max_len:
        return x
    edges = (np.arange(max_len + 1) * n) // max_len
    sums = np.add.reduceat(x, edges[:-1], axis=0)
    return sums / np.diff(edges)[:, None]


def video_clips(x: np.ndarray, positions: int, clip_len: int) -> list[np.ndarray]:
    """The video as <= `positions` consecutive clips of <= `clip_len` pooled frames each: the video
    level is built from clips that the clip encoder (trained at the lower levels) understands."""
    n = x.shape[0]
    k = min(n, positions)
    edges = (np.arange(k + 1) * n) // k
    return [pool_rows(x[a:b], clip_len) for a, b in zip(edges[:-1], edges[1:])]


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    out: list[tuple[int, int]] = []
    for a, b in sorted(r for r in ranges if r[1] > r[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


class RowReader:
    """Reads merged row ranges once, then serves any sub-range from memory."""

    def __init__(self, features: Any, ranges: list[tuple[int, int]]):
        self.blocks = [(a, b, np.asarray(features[a:b], dtype=np.float32)) for a, b in merge_ranges(ranges)]

    def get(self, a: int, b: int) -> np.ndarray:
        for ma, mb, data in self.blocks:
            if ma <= a and b <= mb:
                return data[a - ma : b - ma]
        raise KeyError(f"rows [{a}, {b}) were not read")


def window_start(center: int, width: int, n_frames: int) -> int:
    """First row of a `width`-row window centred on `center`, shifted (not cut) at the video's ends."""
    return int(np.clip(center - width // 2, 0, max(0, n_frames - width)))


class CacheVideoDataset(Dataset):
    """Map-style dataset; keys are an index or (index, item_seed) as yielded by StepBatchSampler."""

    def __init__(self, url: str, videos: list[CachedVideo], spec: ItemSpec, storage_options: dict | None = None):
        self.url, self.videos, self.spec, self.storage_options = url, videos, spec, storage_options
        self._store: CacheStore | None = None
        self._pid: int | None = None
        self._arrays: dict[str, dict[str, Any]] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_store": None, "_pid": None, "_arrays": {}}  # workers open their own handle

    def arrays(self, video_id: str) -> dict[str, Any]:
        """Opened zarr arrays of a video (metadata only), kept for up to 512 videos: opening costs
        several store round trips per array, reading a slice of an opened one costs one."""
        handles = self._arrays.get(video_id)
        if handles is None:
            handles = self.store.read_video(video_id).open_arrays()
            if len(self._arrays) >= 512:
                self._arrays.pop(next(iter(self._arrays)))
            self._arrays[video_id] = handles
        return handles

    @property
    def store(self) -> CacheStore:
        if self._store is None or self._pid != os.getpid():
            self._store = open_cache(self.url, "r", storage_options=self.storage_options)
            self._pid, self._arrays = os.getpid(), {}
        return self._store

    def __len__(self) -> int:
        return len(self.videos)

    def __getitem__(self, key: int | tuple[int, int]) -> dict[str, Any]:
        i, seed = key if isinstance(key, tuple) else (key, 0)
        entry, spec = self.videos[i], self.spec
        rng = np.random.default_rng(seed)
        arrays = self.arrays(entry.video_id)
        T, W = entry.n_frames, min(spec.frame_window, entry.n_frames)
        narr = np.arange(len(entry.narr_rows))
        if spec.max_narrations is not None and len(narr) > spec.max_narrations:
            narr = np.sort(rng.choice(len(narr), spec.max_narrations, replace=False))
        starts = []
        for f in narr:
            jitter = int(rng.integers(-spec.frame_jitter, spec.frame_jitter + 1)) if spec.frame_jitter else 0
            starts.append(window_start(int(entry.narr_rows[f]) + jitter, W, T))
        ranges: list[tuple[int, int]] = []
        if spec.need_video:
            ranges.append((0, T))
        if spec.need_ops:
            ranges += [(int(a), int(b)) for a, b in entry.op_rows]
        if spec.need_frames:
            ranges += [(s, s + W) for s in starts]
        reader = RowReader(arrays["features"], ranges)
        t_video = np.asarray(arrays["text_video"][:], dtype=np.float32).reshape(1, -1)
        dt = t_video.shape[1]
        t_ops = np.asarray(arrays["text_operations"][:], dtype=np.float32).reshape(-1, dt)
        t_narr = (
            np.asarray(arrays["text_narrations"][:], dtype=np.float32).reshape(-1, dt) if spec.need_frames else None
        )
        video_text, op_texts, narr_texts = [entry.video_text], list(entry.op_texts), list(entry.narr_texts)
        if spec.captions == "all" and entry.has_alts and "alt_video" in arrays:
            crng = np.random.default_rng([seed, CAPTION_STREAM])
            alt = {lv: np.asarray(arrays[f"alt_{lv}"][:], np.float32) for lv in ("video", "operations", "narrations")}
            t_video, video_text = sample_captions(t_video, (entry.video_text,), (entry.video_alts,), alt["video"], crng)
            t_ops, op_texts = sample_captions(t_ops, entry.op_texts, entry.op_alts, alt["operations"], crng)
            if t_narr is not None:
                t_narr, narr_texts = sample_captions(t_narr, entry.narr_texts, entry.narr_alts, alt["narrations"], crng)
        item: dict[str, Any] = {
            "index": i,
            "t_video": t_video.reshape(-1),
            "t_ops": t_ops,
            "video_key": text_key(video_text[0]),
            "proc_key": text_key(entry.procedure),
            "op_keys": np.array([text_key(t) for t in op_texts], dtype=np.int64),
            "op_label_keys": np.array([text_key(t) for t in entry.op_labels], dtype=np.int64),
        }
        if spec.need_video:
            item["video"] = video_clips(reader.get(0, T), spec.max_video_len, spec.video_clip_len)
        if spec.need_ops:
            item["ops"] = [pool_rows(reader.get(int(a), int(b)), spec.max_clip_len) for a, b in entry.op_rows]
        if spec.need_frames:
            item["windows"] = [pool_rows(reader.get(s, s + W), spec.max_clip_len) for s in starts]
            item["t_narr"] = t_narr[narr]  # type: ignore[index]
            item["narr_keys"] = np.array([text_key(narr_texts[f]) for f in narr], dtype=np.int64)
            item["narr_op"] = entry.narr_op[narr]
            item["narr_sel"] = narr
        return item
