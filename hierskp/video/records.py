"""Plain data records returned by the video layer."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

__all__ = ["Backend", "DurationSource", "VideoInfo", "FrameBatch"]

Backend = Literal["decord", "pyav"]
DurationSource = Literal["stream", "container", "frames"]


@dataclass(frozen=True)
class VideoInfo:
    """Header facts about a video, read without decoding (see ``probe``).

    ``duration_s`` is the video stream's duration when the header has one
    (``duration_source="stream"``), else the container's (which includes audio), else
    ``n_frames / avg_fps``. ``n_frames`` comes from the container when it stores a count (mp4, avi) and is
    ``duration_s * avg_fps`` otherwise (mkv, webm): ``n_frames_estimated`` tells which.
    ``width``/``height`` are the stored (coded) size, before any display rotation (the
    reader reports the displayed size as ``frame_size``).
    ``backend`` is the backend ``backend="auto"`` will try first; the reader may still
    fall back to PyAV after opening the file (see ``FrameBatchIterator.backend``).
    """

    path: str
    duration_s: float
    duration_source: DurationSource
    avg_fps: float
    n_frames: int
    n_frames_estimated: bool
    width: int
    height: int
    codec: str
    container: str
    has_audio: bool
    backend: Backend


@dataclass(frozen=True)
class FrameBatch:
    """Up to ``batch_size`` sampled frames.

    frames: uint8 ``[n, H, W, 3]`` RGB.
    timestamps: float64 ``[n]`` presentation times (seconds since the stream start) of
        the frames actually decoded; strictly increasing across the whole video.
    """

    frames: np.ndarray
    timestamps: np.ndarray

    def __len__(self) -> int:
        return int(self.timestamps.shape[0])
