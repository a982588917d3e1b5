"""Streaming writer of one video's group. The completion marker is the last thing written."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import zarr

from . import commits
from . import layout as L
from .integrity import ARRAY_CONFIG, RunningHash, array_entry


def _new_array(group: zarr.Group, name: str, shape: tuple[int, ...], chunks: tuple[int, ...], dtype: str) -> zarr.Array:
    """Every array of a video group: with its dimension names, units on times, and the checksum config."""
    arr = group.create_array(
        name, shape=shape, chunks=chunks, dtype=dtype, dimension_names=L.DIMENSIONS[name], config=ARRAY_CONFIG
    )
    if name in L.TIME_ARRAYS:
        arr.attrs.update(L.TIME_ATTRS)
    return arr


def _create(group: zarr.Group, name: str, data: np.ndarray, dtype: str, chunk_rows: int) -> tuple[zarr.Array, str]:
    chunks = (max(1, min(chunk_rows, max(1, data.shape[0]))),) + tuple(data.shape[1:])
    arr = _new_array(group, name, data.shape, chunks, dtype)
    values = np.ascontiguousarray(data.astype(dtype, copy=False))
    if data.size:
        arr[...] = values
    digest = RunningHash()
    digest.update(values)
    return arr, digest.hexdigest()


@dataclass
class VideoWriter:
    """Buffers frame features up to one chunk, so each chunk is written once, in order."""

    video_id: str
    group: zarr.Group
    root: zarr.Group | None = None  # the cache root, whose commit log records the marker write
    _buf_feat: list[np.ndarray] = field(default_factory=list)
    _buf_time: list[np.ndarray] = field(default_factory=list)
    _buffered: int = 0
    _last_time: float = float("-inf")
    _features: zarr.Array | None = None
    _timestamps: zarr.Array | None = None
    _hashes: dict[str, RunningHash] = field(
        default_factory=lambda: {L.FEATURES: RunningHash(), L.TIMESTAMPS: RunningHash()}
    )
    _entries: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-array marker entries

    @classmethod
    def resume(
        cls,
        video_id: str,
        group: zarr.Group,
        frame_entries: dict[str, Any] | None = None,
        root: zarr.Group | None = None,
    ) -> VideoWriter:
        """A writer over a group whose frames are already written (texts/annotations to rewrite);
        `frame_entries` are the old marker's entries of the frame arrays, kept as they were."""
        writer = cls(video_id=video_id, group=group, root=root)
        writer._features, writer._timestamps = group[L.FEATURES], group[L.TIMESTAMPS]  # type: ignore[assignment]
        writer._hashes = {}
        writer._entries = {k: v for k, v in (frame_entries or {}).items() if k in (L.FEATURES, L.TIMESTAMPS)}
        return writer

    def append_frames(self, features: np.ndarray, timestamps: np.ndarray) -> None:
        features = np.asarray(features)
        timestamps = np.asarray(timestamps, dtype=np.float64)
        if features.ndim != 2 or features.shape[0] != timestamps.shape[0]:
            raise ValueError(f"{self.video_id}: features {features.shape} and timestamps {timestamps.shape} disagree")
        if timestamps.size and (timestamps[0] <= self._last_time or np.any(np.diff(timestamps) <= 0)):
            raise ValueError(f"{self.video_id}: timestamps must be strictly increasing")
        if self._features is None:
            d = features.shape[1]
            self._features = _new_array(self.group, L.FEATURES, (0, d), (L.FEATURE_CHUNK_FRAMES, d), L.FEATURE_DTYPE)
            self._timestamps = _new_array(self.group, L.TIMESTAMPS, (0,), (L.FEATURE_CHUNK_FRAMES,), L.TIME_DTYPE)
        if timestamps.size:
            self._last_time = float(timestamps[-1])
        self._buf_feat.append(features.astype(np.float16))
        self._buf_time.append(timestamps)
        self._buffered += features.shape[0]
        if self._buffered >= L.FEATURE_CHUNK_FRAMES:
            self._flush(full_chunks_only=True)

    def _flush(self, full_chunks_only: bool) -> None:
        if not self._buffered or self._features is None or self._timestamps is None:
            return
        feats = np.concatenate(self._buf_feat)
        times = np.concatenate(self._buf_time)
        n = (len(times) // L.FEATURE_CHUNK_FRAMES) * L.FEATURE_CHUNK_FRAMES if full_chunks_only else len(times)
        if n:
            self._features.append(feats[:n], axis=0)
            self._timestamps.append(times[:n], axis=0)
            self._hashes[L.FEATURES].update(feats[:n])
            self._hashes[L.TIMESTAMPS].update(times[:n])
        self._buf_feat, self._buf_time = [feats[n:]], [times[n:]]
        self._buffered = len(times) - n

    def write_texts(self, video: np.ndarray, operations: np.ndarray, narrations: np.ndarray) -> None:
        for name, data in ((L.TEXT_VIDEO, video), (L.TEXT_OPERATIONS, operations), (L.TEXT_NARRATIONS, narrations)):
            self._record(
                name, *_create(self.group, name, np.asarray(data, np.float32), L.TEXT_DTYPE, L.TEXT_CHUNK_ROWS)
            )

    def write_alt_texts(self, alts: dict[str, tuple[np.ndarray, np.ndarray]]) -> None:
        """Extra captions (layout minor 1): per level in `L.TEXT_LEVELS`, ([M, Dt] embeddings, [M] row of
        the primary caption each belongs to, non-decreasing). Every level is written, empty or not."""
        for level in L.TEXT_LEVELS:
            emb, owner = alts.get(level, (np.zeros((0, 0), np.float32), np.zeros(0, np.int64)))
            emb, owner = np.asarray(emb, np.float32), np.asarray(owner, np.int64).reshape(-1)
            if emb.shape[0] != owner.shape[0] or np.any(np.diff(owner) < 0) or np.any(owner < 0):
                raise ValueError(f"{self.video_id}: alt captions of {level}: {emb.shape} rows vs owners {owner}")
            for name, data, dtype in (
                (L.ALT_TEXTS[level], emb, L.TEXT_DTYPE),
                (L.ALT_OWNERS[level], owner, L.OWNER_DTYPE),
            ):
                self._record(name, *_create(self.group, name, data, dtype, L.TEXT_CHUNK_ROWS))

    def write_annotation_arrays(self, segments: np.ndarray, narration_times: np.ndarray) -> None:
        seg = np.asarray(segments, np.float64).reshape(-1, 2)
        self._record(L.SEGMENTS, *_create(self.group, L.SEGMENTS, seg, L.TIME_DTYPE, L.TEXT_CHUNK_ROWS))
        times = np.asarray(narration_times, np.float64)
        self._record(L.NARRATION_TIMES, *_create(self.group, L.NARRATION_TIMES, times, L.TIME_DTYPE, L.TEXT_CHUNK_ROWS))

    def _record(self, name: str, arr: zarr.Array, sha256: str) -> None:
        self._entries[name] = array_entry(arr, sha256)

    def finalize(self, stats: dict[str, Any] | None = None) -> int:
        """Flush buffered frames, then write the completion marker. Returns the frame count."""
        self._flush(full_chunks_only=False)
        if self._features is None:
            raise ValueError(f"{self.video_id}: no frames were written")
        n = int(self._features.shape[0])
        for name, arr in ((L.FEATURES, self._features), (L.TIMESTAMPS, self._timestamps)):
            if name in self._hashes:
                self._record(name, arr, self._hashes[name].hexdigest())  # type: ignore[arg-type]
        marker = {
            "n_frames": n,
            "feature_dim": int(self._features.shape[1]),
            "layout_version": L.LAYOUT_VERSION,
            "layout_minor": L.LAYOUT_MINOR,
            "arrays": dict(sorted(self._entries.items())),
            "completed_at": dt.datetime.now(dt.UTC).isoformat(),
            **(stats or {}),
        }
        if self.root is None:
            self.group.attrs[L.COMPLETE] = marker
        else:
            with commits.marker_change(self.root, "commit", self.video_id):
                self.group.attrs[L.COMPLETE] = marker
        return n
