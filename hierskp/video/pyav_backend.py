"""PyAV backend: decode sequentially, keep only the sampled frames.

Slower than decord's seeking on sparse samples but decodes everything FFmpeg 7 can
(AV1 included) and copes with damaged files. Memory stays bounded: at most one
decoded-but-unconverted frame plus one batch of RGB arrays is held at a time.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator

import av
import numpy as np

from .errors import VideoDecodeError
from .frame_index import FrameIndex
from .probe import describe_error, open_container, video_stream
from .records import FrameBatch
from .sampling import TIME_EPS

__all__ = ["PyAVSource"]


class PyAVSource:
    """Sequential PyAV decoding of the frames shown at given target times."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        index: FrameIndex,
        size: tuple[int, int] | None,
        allow_truncated: bool,
    ) -> None:
        self.path = os.fspath(path)
        self.index = index
        self.size = size  # displayed (width, height) to resize to, or None for the native size
        self.allow_truncated = allow_truncated
        self.decode_errors = 0
        self.max_decode_errors = max(5, len(index) // 100)

    def iter_batches(self, targets: np.ndarray, batch_size: int, after_t: float = -math.inf) -> Iterator[FrameBatch]:
        """Yield batches of the frame shown at each target, skipping times <= ``after_t``.

        ``after_t`` lets the reader resume here after another backend failed mid-video.
        """
        frames: list[np.ndarray] = []
        times: list[float] = []
        last_emitted = after_t
        for frame, t in self._pick(targets):
            if t <= last_emitted:
                continue
            frames.append(self._to_rgb(frame))
            times.append(t)
            last_emitted = t
            if len(frames) == batch_size:
                yield _batch(frames, times)
                frames, times = [], []
        if frames:
            yield _batch(frames, times)

    def _pick(self, targets: np.ndarray) -> Iterator[tuple[av.VideoFrame, float]]:
        """The frame shown at each target (latest with time <= target), in order.

        May repeat a frame when several targets share it; the caller drops repeats.
        """
        n_targets = len(targets)
        if n_targets == 0:
            return
        ti = 0
        prev: av.VideoFrame | None = None
        prev_t = -math.inf
        decoded = self._decode()
        try:
            for frame, t in decoded:
                if t <= prev_t:  # a repeated or out-of-order timestamp: keep the first frame
                    continue
                if targets[ti] + TIME_EPS < t:
                    yield (prev, prev_t) if prev is not None else (frame, t)
                    while ti < n_targets and targets[ti] + TIME_EPS < t:
                        ti += 1
                    if ti == n_targets:
                        return  # every target served: stop decoding early
                prev, prev_t = frame, t
        finally:
            decoded.close()  # closes the container now, not at garbage collection
        if prev is not None:
            yield prev, prev_t  # targets after the last frame's start: it is still shown

    def _decode(self) -> Iterator[tuple[av.VideoFrame, float]]:
        """Decoded frames with their times.

        An isolated undecodable packet is skipped (as FFmpeg players do; the decoder
        conceals the damage until the next keyframe) and counted in ``decode_errors``;
        more than ``max_decode_errors`` of them, or a read error, ends decoding: with
        ``VideoDecodeError``, or quietly when ``allow_truncated`` is set.
        """
        start_pts = self.index.start_pts
        num, den = self.index.time_base.numerator, self.index.time_base.denominator
        last_t = 0.0
        with open_container(self.path) as container:
            stream = video_stream(container, self.path)
            stream.thread_type = "AUTO"
            packets = container.demux(stream)
            while True:
                try:
                    packet = next(packets, None)
                except (av.FFmpegError, OSError) as exc:
                    self._stop(f"reading failed near t={last_t:.2f} s", exc)
                    return
                if packet is None:
                    return
                if packet.pts is not None:
                    last_t = (packet.pts - start_pts) * num / den
                try:
                    frames = stream.decode(packet)
                except (av.FFmpegError, OSError) as exc:
                    self.decode_errors += 1
                    if self.decode_errors > self.max_decode_errors:
                        what = f"{self.decode_errors} undecodable packets, the last near t={last_t:.2f} s"
                        self._stop(what, exc)
                        return
                    continue
                for frame in frames:
                    pts = frame.pts if frame.pts is not None else frame.dts
                    if pts is None:
                        continue  # a frame without any timestamp cannot be placed in time
                    yield frame, (pts - start_pts) * num / den  # as frame_seconds computes it

    def _stop(self, what: str, exc: BaseException) -> None:
        """End of usable data: fine with ``allow_truncated``, an error otherwise."""
        if not self.allow_truncated:
            raise VideoDecodeError(self.path, f"decoding failed: {what} ({describe_error(exc)})")

    def _to_rgb(self, frame: av.VideoFrame) -> np.ndarray:
        """RGB uint8 [H, W, 3] as displayed: resized bilinearly (decord's FFmpeg 4 scale
        default) and turned by the stream's display rotation, as decord does."""
        turns = self.index.rotation // 90
        if self.size is None:
            rgb = frame.to_ndarray(format="rgb24")
        else:
            width, height = self.size if turns % 2 == 0 else self.size[::-1]
            rgb = frame.to_ndarray(format="rgb24", width=width, height=height, interpolation="BILINEAR")
        return np.rot90(rgb, turns) if turns else rgb


def _batch(frames: list[np.ndarray], times: list[float]) -> FrameBatch:
    return FrameBatch(frames=np.stack(frames), timestamps=np.asarray(times, dtype=np.float64))
