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

    def alt_texts(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """Extra captions of a level ("video", "operations", "narrations"): ([M, Dt] embeddings, [M] row of
        the primary caption each belongs to). Empty (M = 0) where the cache has none (layout minor 0)."""
        if level not in L.TEXT_LEVELS:
            raise ValueError(f"unknown text level {level!r}; known: {', '.join(L.TEXT_LEVELS)}")
        if not self.has_alt_texts():
            dim = int(self._array(L.TEXT_VIDEO).shape[-1])
            return np.zeros((0, dim), np.float32), np.zeros(0, np.int64)
        return self._array(L.ALT_TEXTS[level])[:], self._array(L.ALT_OWNERS[level])[:]

    def has_alt_texts(self) -> bool:
        """Whether the completion marker records extra-caption arrays (optional since layout minor 1)."""
        return L.ALT_TEXTS["video"] in ((self.completion or {}).get("arrays") or {})

    def segments(self) -> np.ndarray:
        return self._array(L.SEGMENTS)[:]

    def narration_times(self) -> np.ndarray:
        return self._array(L.NARRATION_TIMES)[:]

    def open_arrays(self) -> dict[str, zarr.Array]:
        """Opened handles {"features", "text_video", "text_operations", "text_narrations"}, plus "alt_video",
        "alt_operations", "alt_narrations" where the cache has extra captions (metadata only):
        keep them to read many slices without reopening (each open costs store round trips)."""
        names = {
            "features": L.FEATURES,
            "text_video": L.TEXT_VIDEO,
            "text_operations": L.TEXT_OPERATIONS,
            "text_narrations": L.TEXT_NARRATIONS,
        }
        if self.has_alt_texts():
            names.update({f"alt_{lv}": L.ALT_TEXTS[lv] for lv in L.TEXT_LEVELS})
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
