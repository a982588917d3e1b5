"""Timestamp-based frame sampling, shared by every backend.

Conventions (the same for decord and PyAV, so both pick the same frames):

* Times are seconds since the video stream's start (its ``start_time``), so the first
  frame is at (about) 0 s.
* Target times are ``k / fps`` for ``k = 0 .. ceil(duration * fps) - 1``: the grid starts
  with the first frame, every target lies inside the video, and the count is
  ``duration * fps`` rounded up (so within +1 of ``duration * fps``). A video shorter
  than one sampling period still gives one target (t = 0).
* The frame chosen for a target ``t`` is the frame *shown* at ``t``: the latest frame
  with ``pts <= t`` (the first frame for a target before it; "<=" allows ``TIME_EPS``
  of float rounding). This is what a viewer
  sees at that moment, and it never looks ahead in the stream.
* When several targets fall on the same frame (variable frame rate, a frozen stretch,
  or ``fps`` above the video's rate) the frame is emitted once, so output timestamps are
  strictly increasing; the row count is then below ``duration * fps``. Callers that need
  a dense grid can forward-fill from the returned timestamps.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = ["TIME_EPS", "sample_times", "select_frames", "frame_span", "output_size"]

# A frame within this many seconds after a target still counts as shown at the target:
# absorbs float rounding of pts * time_base, far below any real frame interval.
TIME_EPS = 1e-6

# Slack on duration * fps before rounding up, so 4.0000002 s (float32 timestamps) at
# 1 fps gives 4 targets, not 5.
_COUNT_SLACK = 1e-3


def sample_times(duration_s: float, fps: float) -> np.ndarray:
    """Target sample times ``k / fps`` (float64 seconds) covering ``[0, duration_s)``."""
    if not fps > 0 or not math.isfinite(fps):
        raise ValueError(f"fps must be a positive number, got {fps!r}")
    if not math.isfinite(duration_s) or duration_s <= 0:
        return np.zeros(0, dtype=np.float64)
    count = max(1, math.ceil(duration_s * fps - _COUNT_SLACK))
    return np.arange(count, dtype=np.float64) / fps


def select_frames(frame_times: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Indices into sorted ``frame_times`` of the frame shown at each target, deduplicated.

    Returns a strictly increasing int64 array (one entry per distinct frame).
    """
    frame_times = np.asarray(frame_times, dtype=np.float64)
    if frame_times.size == 0 or len(targets) == 0:
        return np.zeros(0, dtype=np.int64)
    idx = np.searchsorted(frame_times, np.asarray(targets, dtype=np.float64) + TIME_EPS, side="right") - 1
    return np.unique(np.clip(idx, 0, frame_times.size - 1)).astype(np.int64)


def frame_span(frame_times: np.ndarray, fallback_interval: float) -> float:
    """Duration covered by frames: last start time plus one typical frame interval.

    The median interval is used instead of the last frame's own duration, which
    containers often store badly (mp4 writers can give the last sample ~0 s).
    """
    if len(frame_times) == 0:
        return 0.0
    if len(frame_times) >= 2:
        interval = float(np.median(np.diff(frame_times)))
    else:
        interval = fallback_interval if fallback_interval > 0 else 0.0
    return float(frame_times[-1]) + interval


def output_size(width: int, height: int, short_side: int | None) -> tuple[int, int]:
    """(width, height) after scaling the shorter side to ``short_side`` (aspect kept).

    Scales up as well as down, so every video of a corpus gives the same short side.
    """
    if short_side is None:
        return width, height
    if short_side <= 0:
        raise ValueError(f"short_side must be > 0, got {short_side}")
    if width <= height:
        return short_side, max(1, round(height * short_side / width))
    return max(1, round(width * short_side / height)), short_side
