"""Lazy read access to one complete video: arrays are zarr arrays, sliced on demand."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import zarr

from . import layout as L


@dataclass
class VideoRecord:
    video_id: str
    group: zarr.Group

    def _array(self, name: str) -> zarr.Array:
        return self.group[name]  # type: ignore[return-value]

    @property
    def features(self) -> zarr.Array:
        """[T, D] float16; slice it (``rec.features[a:b]``) to read only the chunks needed."""
        return self._array(L.FEATURES)

    @property
    def n_frames(self) -> int:
        return int(self.features.shape[0])

    def timestamps(self) -> np.ndarray:
        return self._array(L.TIMESTAMPS)[:]

    def text_video(self) -> np.ndarray:
        return self._array(L.TEXT_VIDEO)[:]

    def text_operations(self) -> np.ndarray:
        return self._array(L.TEXT_OPERATIONS)[:]

    def text_narrations(self) -> np.ndarray:
        return self._array(L.TEXT_NARRATIONS)[:]

    def segments(self) -> np.ndarray:
        return self._array(L.SEGMENTS)[:]

    def narration_times(self) -> np.ndarray:
        return self._array(L.NARRATION_TIMES)[:]

    def open_arrays(self) -> dict[str, zarr.Array]:
        """Opened handles {"features", "text_video", "text_operations", "text_narrations"} (metadata only):
        keep them to read many slices without reopening (each open costs store round trips)."""
        names = {
            "features": L.FEATURES,
            "text_video": L.TEXT_VIDEO,
            "text_operations": L.TEXT_OPERATIONS,
            "text_narrations": L.TEXT_NARRATIONS,
        }
        return {k: self._array(v) for k, v in names.items()}

    @property
    def annotations(self) -> dict[str, Any]:
        """The manifest entry this video was extracted from (texts, labels, procedure, split)."""
        return dict(self.group.attrs.get(L.ANNOTATIONS, {}))

    @property
    def provenance(self) -> dict[str, Any]:
        return dict(self.group.attrs.get(L.PROVENANCE, {}))

    @property
    def completion(self) -> dict[str, Any] | None:
        marker = self.group.attrs.get(L.COMPLETE)
        return dict(marker) if isinstance(marker, dict) else None

    def frame_range(self, start_s: float, end_s: float, timestamps: np.ndarray | None = None) -> slice:
        """Rows whose timestamps fall in [start_s, end_s)."""
        ts = self.timestamps() if timestamps is None else timestamps
        return slice(int(np.searchsorted(ts, start_s, "left")), int(np.searchsorted(ts, end_s, "left")))
