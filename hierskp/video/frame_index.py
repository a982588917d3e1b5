"""The frame index: every video frame's presentation time, read by demuxing only.

Demuxing reads packets without decoding them, so it costs one pass of file I/O (a
small fraction of decoding time). The index gives exact float64 timestamps to both
backends, the real duration (headers can be wrong, e.g. for variable frame rate),
and lets truncation be detected *before* any frame is yielded.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction

import av
import numpy as np

from .errors import VideoDecodeError
from .probe import describe_error, open_container, video_stream
from .records import VideoInfo
from .sampling import frame_span

__all__ = ["FrameIndex", "scan_frame_index", "find_truncation", "frame_seconds"]


@dataclass(frozen=True)
class FrameIndex:
    """Sorted frame times; ``damage`` names a read error that ended the scan early."""

    times: np.ndarray  # float64 seconds since the stream start, sorted ascending
    start_pts: int
    time_base: Fraction
    damage: str | None = None
    rotation: int = 0  # display rotation, degrees counter-clockwise: 0, 90, 180 or 270

    def __len__(self) -> int:
        return int(self.times.shape[0])

    def span(self, avg_fps: float) -> float:
        """Seconds covered by the indexed frames."""
        return frame_span(self.times, 1.0 / avg_fps if avg_fps > 0 else 0.0)


def scan_frame_index(path: str | os.PathLike[str]) -> FrameIndex:
    """Demux the video stream and collect packet timestamps.

    A read error part-way is recorded in ``damage`` (the caller decides whether the
    frames before it are acceptable); a file with no readable packet raises.
    """
    pts_list: list[int] = []
    damage: str | None = None
    rotation: int | None = None
    with open_container(path) as container:
        stream = video_stream(container, path)
        time_base = stream.time_base or Fraction(1, 1)
        try:
            for packet in container.demux(stream):
                if packet.size == 0:  # the end-of-stream flush packet, or an empty chunk
                    continue
                if rotation is None and len(pts_list) < 32:
                    rotation = _first_frame_rotation(stream, packet)
                ts = packet.pts if packet.pts is not None else packet.dts
                if ts is None:
                    continue
                pts_list.append(int(ts))
        except (av.FFmpegError, OSError, MemoryError) as exc:
            damage = f"read error after {len(pts_list)} video packets ({describe_error(exc)})"
        start = stream.start_time
    if not pts_list:
        detail = f": {damage}" if damage else ""
        raise VideoDecodeError(path, f"the video stream has no readable frames{detail}")
    pts = np.unique(np.asarray(pts_list, dtype=np.int64))  # sorted; drops duplicate pts
    start_pts = int(start) if start is not None else int(pts[0])
    times = frame_seconds(pts - start_pts, Fraction(time_base))
    return FrameIndex(times, start_pts, Fraction(time_base), damage, rotation or 0)


def _first_frame_rotation(stream: av.VideoStream, packet: av.Packet) -> int | None:
    """Rotation of the first decoded frame (the display matrix is only exposed on
    frames); None until a frame comes out. Costs decoding one frame."""
    try:
        frames = stream.decode(packet)
    except (av.FFmpegError, OSError):
        return None
    if not frames:
        return None
    return int(round(frames[0].rotation / 90.0)) % 4 * 90


def frame_seconds(ticks: np.ndarray | int, time_base: Fraction) -> np.ndarray:
    """``ticks * time_base`` in seconds, correctly rounded (one division, no float
    time base), so a frame exactly on a sample time compares equal to it."""
    return np.asarray(ticks, dtype=np.float64) * time_base.numerator / time_base.denominator


def find_truncation(index: FrameIndex, info: VideoInfo) -> str | None:
    """Why the file looks cut short, or None.

    Compares where the demuxed frames end with the duration the header promises (the
    video stream's own, else the container's, else frame count / fps). A header frame
    count that disagrees with an otherwise complete file is not treated as truncation:
    timestamps decide. Files with no duration in the header are only caught by read errors.
    """
    if index.damage:
        return index.damage
    if info.duration_s <= 0:
        return None
    span = index.span(info.avg_fps)
    if info.duration_source == "container":  # may include a longer audio track
        slack = max(1.0, 0.01 * info.duration_s)
    else:  # the video's own duration: allow ~2 frames of slack
        slack = max(2.5 / info.avg_fps if info.avg_fps > 0 else 0.1, 0.005 * info.duration_s)
    if span >= info.duration_s - slack:
        return None
    if info.duration_source == "frames":
        return f"{len(index)} of the {info.n_frames} frames the header lists are present"
    return f"frames end at {span:.2f} s but the header says the video lasts {info.duration_s:.2f} s"
