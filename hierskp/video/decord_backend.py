"""decord backend: seek to each batch's frames and decode them at the output size.

decord 0.6.0 is fast on sparse samples (it seeks to keyframes) but unmaintained, so it
is only trusted after sanity checks, each guarding a known failure:

* its bundled FFmpeg has no AV1 decoder (it fails to open the file);
* it counts frames by packets and its ``NextFrameImpl`` loops until that many frames
  are decoded: if packets and frames disagree (field-coded video, packets that give no
  picture, duplicate timestamps) it can spin forever (reported upstream; in our tests
  damaged packets made it raise instead). So its frame count and timestamps must match
  our PyAV demux index, and the count must match duration x average fps (10%);
* ``get_batch`` leaks memory on large frames unless the reader is rewound (``seek(0)``)
  after each batch (this costs re-seeking to a keyframe per batch: ~40% more decode
  time measured with 10 s GOPs at 1 fps);
* resizing to an output width whose padded RGB row is a multiple of the width (2, 3,
  4, 6, 8, 12, 16, 24, 48, 72 px) fails with a size mismatch: a first-frame decode at
  open catches this and anything else decord cannot decode;
* its timestamps are float32; we report the exact index times instead.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator

import numpy as np

from .frame_index import FrameIndex
from .records import FrameBatch
from .sampling import select_frames

__all__ = ["DecordSource", "DecordUnusable", "DecordFailed"]


class DecordUnusable(Exception):
    """decord should not be used for this file (``reason`` says why); nothing was yielded."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class DecordFailed(DecordUnusable):
    """decord raised while decoding, possibly after some batches were yielded."""


class DecordSource:
    """Batched decord reads of the frames selected from the shared frame index."""

    def __init__(
        self,
        path: str | os.PathLike[str],
        index: FrameIndex,
        avg_fps: float,
        size: tuple[int, int] | None,
    ) -> None:
        self.path = os.fspath(path)
        self.index = index
        try:
            import decord  # imported lazily: platforms without decord wheels use PyAV
        except ImportError as exc:
            raise DecordUnusable(f"decord is not installed ({exc})") from None
        width, height = size if size is not None else (-1, -1)
        try:
            self._vr = decord.VideoReader(self.path, ctx=decord.cpu(0), width=width, height=height)
            n = len(self._vr)
        except Exception as exc:  # decord raises DECORDError/RuntimeError/AssertionError
            raise DecordUnusable(f"decord cannot open the file ({_first_line(exc)})") from None
        self._check_index(n, avg_fps)
        self._check_first_frame(size)

    def _check_first_frame(self, size: tuple[int, int] | None) -> None:
        """Decode frame 0 once: catches files decord opens but cannot decode, and
        output widths its resize mishandles (2, 3, 4, 6, 8, 12, 16, 24, 48 and 72 px
        raise a size-mismatch error in decord 0.6.0)."""
        try:
            frame = self._vr.get_batch([0]).asnumpy()
            self._vr.seek(0)
        except Exception as exc:
            raise DecordUnusable(f"decord cannot decode the first frame ({_first_line(exc)})") from None
        if size is not None and frame.shape[1:] != (size[1], size[0], 3):
            raise DecordUnusable(f"decord returned frames of shape {frame.shape[1:]}, expected {size[::-1]}")

    def _check_index(self, n: int, avg_fps: float) -> None:
        m = len(self.index)
        if n != m:
            raise DecordUnusable(f"decord counts {n} frames but the demuxer finds {m}")
        try:
            ts = self._vr.get_frame_timestamp(np.arange(n))[:, 0].astype(np.float64)
        except Exception as exc:  # IndexError when decord's own index is short
            raise DecordUnusable(f"decord's frame index is unreadable ({_first_line(exc)})") from None
        tol = 1e-3 + 2e-7 * np.abs(self.index.times)  # float32 rounding only
        if not np.all(np.abs(ts - self.index.times) <= tol):
            worst = int(np.argmax(np.abs(ts - self.index.times)))
            raise DecordUnusable(
                f"decord's timestamp for frame {worst} ({ts[worst]:.4f} s) differs from the "
                f"container's ({self.index.times[worst]:.4f} s)"
            )
        if avg_fps > 0:
            expected = self.index.span(avg_fps) * avg_fps
            if abs(n - expected) > max(2.0, 0.1 * expected):
                raise DecordUnusable(
                    f"{n} frames do not match duration x average fps ({expected:.0f}); decord "
                    "can hang when its frame count is wrong (variable frame rate or field-coded video?)"
                )

    def iter_batches(self, targets: np.ndarray, batch_size: int) -> Iterator[FrameBatch]:
        """One ``get_batch`` per batch of selected frames, rewinding after each."""
        selected = select_frames(self.index.times, targets)
        for start in range(0, len(selected), batch_size):
            chunk = selected[start : start + batch_size]
            try:
                frames = self._vr.get_batch(chunk).asnumpy()
                self._vr.seek(0)  # the usual workaround for get_batch's memory growth
            except Exception as exc:
                raise DecordFailed(
                    f"decord failed decoding frames {int(chunk[0])}-{int(chunk[-1])} ({_first_line(exc)})"
                ) from None
            if frames.shape[0] != len(chunk) or frames.dtype != np.uint8:
                raise DecordFailed(f"decord returned {frames.shape} {frames.dtype} for {len(chunk)} frames")
            yield FrameBatch(frames=frames, timestamps=self.index.times[chunk].copy())

    def close(self) -> None:
        """Drop the decord reader (and its file handle and buffers)."""
        self._vr = None


# decord messages start with one or more "[hh:mm:ss] /path/to/file.cc:123: " prefixes.
_DECORD_PREFIX = re.compile(r"^(?:\[[0-9:]+\]\s*\S+\.(?:cc|h):\d+:\s*)+")


def _first_line(exc: BaseException) -> str:
    """decord errors carry a C++ stack trace: keep the message line only."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = next((ln for ln in lines if "Error" in ln or "failed" in ln), lines[0] if lines else "")
    text = _DECORD_PREFIX.sub("", text)
    return f"{type(exc).__name__}: {text[:300]}"
