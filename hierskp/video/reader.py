"""Choose a backend for a video and stream its sampled frames in bounded batches."""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from typing import Literal

import numpy as np

from .decord_backend import DecordFailed, DecordSource, DecordUnusable
from .errors import VideoDecodeError, VideoTruncatedError
from .frame_index import find_truncation, scan_frame_index
from .probe import DECORD_HANGING_CONTAINERS, DECORD_UNSUPPORTED_CODECS, MAX_DECORD_START_OFFSET_S, probe
from .pyav_backend import PyAVSource
from .records import Backend, FrameBatch, VideoInfo
from .sampling import output_size, sample_times

__all__ = ["FrameBatchIterator", "iter_frame_batches"]

BackendChoice = Literal["auto", "decord", "pyav"]
# auto: sampling at least this fraction of the video's frame rate goes to PyAV (see _open_decord)
DENSE_SAMPLING = 0.5


class FrameBatchIterator(Iterator[FrameBatch]):
    """Iterator over ``FrameBatch`` es that also reports how the video was read.

    The file is opened and checked when the iterator is created, so a missing, broken or
    (unless allowed) truncated file raises ``VideoDecodeError`` before any batch.
    Attributes worth storing next to the features:

    backend: the backend producing batches ("decord" or "pyav"). It can switch from
        decord to PyAV mid-video (auto mode only) if decord raises; PyAV then resumes
        after the last timestamp already yielded, so no frame is repeated or skipped.
    fallback_reason: why decord was not (or no longer) used, else None.
    truncated: why the file looks cut short (only with ``allow_truncated=True``), else None.
    decode_errors: isolated undecodable packets skipped by PyAV (more than ~1% of the
        frames is an error); frames near a skipped packet may show concealment artefacts.
    duration_s: seconds covered by the frames present; ``n_targets`` sample times.
    frame_size: (width, height) of the returned frames, as displayed.
    rotation: the display rotation applied (degrees counter-clockwise; decord applies
        it too, so both backends return upright frames).
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        fps: float = 1.0,
        batch_size: int = 32,
        short_side: int | None = None,
        backend: BackendChoice = "auto",
        allow_truncated: bool = False,
    ) -> None:
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        if backend not in ("auto", "decord", "pyav"):
            raise ValueError(f"backend must be 'auto', 'decord' or 'pyav', got {backend!r}")
        if not (fps > 0 and math.isfinite(fps)):
            raise ValueError(f"fps must be a positive number, got {fps!r}")
        self.path = os.fspath(path)
        self.fps = float(fps)
        self.batch_size = batch_size
        self.requested_backend: BackendChoice = backend
        self.allow_truncated = allow_truncated
        self.info: VideoInfo = probe(path)
        self._index = scan_frame_index(path)
        self.rotation = self._index.rotation
        width, height = self.info.width, self.info.height
        if self.rotation in (90, 270):  # frames are returned as displayed
            width, height = height, width
        self.frame_size = output_size(width, height, short_side)
        size = self.frame_size if short_side is not None else None

        self.truncated = find_truncation(self._index, self.info)
        if self.truncated and not allow_truncated:
            raise VideoTruncatedError(path, f"truncated or damaged: {self.truncated}")
        self.duration_s = self._index.span(self.info.avg_fps)
        # a single frame with no known rate spans 0 s: it still gives one row
        self._targets = sample_times(self.duration_s, self.fps) if self.duration_s > 0 else np.zeros(1)
        self.n_targets = len(self._targets)

        self.fallback_reason: str | None = None
        self._pyav = PyAVSource(path, self._index, size, allow_truncated)
        self._decord = self._open_decord(size) if backend != "pyav" else None
        self.backend: Backend = "decord" if self._decord is not None else "pyav"
        self._gen = self._generate()

    def _open_decord(self, size: tuple[int, int] | None) -> DecordSource | None:
        """decord if it is safe for this file; else None (auto) or an error (forced)."""
        if self.requested_backend == "auto" and self.fps >= DENSE_SAMPLING * self.info.avg_fps:
            # measured (bench/bench_decode.py): every frame of 10-s-GOP H.264 costs decord2 3.5-5x PyAV's CPU
            # (it rewinds after each batch and re-decodes from the keyframe); at 1 fps the two cost the same
            self.fallback_reason = f"dense sampling ({self.fps:g} of {self.info.avg_fps:.3g} fps): PyAV is faster"
            return None
        start_s = float(self._index.start_pts * self._index.time_base)
        if self.info.codec in DECORD_UNSUPPORTED_CODECS:
            reason = f"decord cannot decode {self.info.codec}"
        elif self.info.container in DECORD_HANGING_CONTAINERS:
            reason = f"decord can hang on {self.info.container} files (PyAV reads them correctly)"
        elif abs(start_s) > MAX_DECORD_START_OFFSET_S:
            reason = f"the stream's clock starts at {start_s:.2f} s; decord can hang on such files"
        elif self.truncated:
            reason = f"the file is truncated ({self.truncated}); decord may hang on it"
        else:
            try:
                return DecordSource(self.path, self._index, self.info.avg_fps, size)
            except DecordUnusable as exc:
                reason = exc.reason
        if self.requested_backend == "decord":
            raise VideoDecodeError(self.path, f"decord cannot read this file safely: {reason}")
        self.fallback_reason = reason
        return None

    def _generate(self) -> Iterator[FrameBatch]:
        last_t = -math.inf
        if self._decord is not None:
            try:
                for batch in self._decord.iter_batches(self._targets, self.batch_size):
                    last_t = float(batch.timestamps[-1])
                    yield batch
                return
            except DecordFailed as exc:
                if self.requested_backend == "decord":
                    raise VideoDecodeError(self.path, exc.reason) from None
                self.fallback_reason = exc.reason
                self.backend = "pyav"
            finally:
                self._decord.close()
        yield from self._pyav.iter_batches(self._targets, self.batch_size, after_t=last_t)

    def __iter__(self) -> FrameBatchIterator:
        return self

    def __next__(self) -> FrameBatch:
        return next(self._gen)

    def close(self) -> None:
        """Release the decoder and file handles (also done when iteration ends)."""
        self._gen.close()
        if self._decord is not None:
            self._decord.close()

    def __enter__(self) -> FrameBatchIterator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def decode_errors(self) -> int:
        """Undecodable packets PyAV skipped (decord stops at the first and hands over)."""
        return self._pyav.decode_errors

    @property
    def sample_times(self) -> np.ndarray:
        """The target times (seconds) frames were chosen for."""
        return self._targets.copy()


def iter_frame_batches(
    path: str | os.PathLike[str],
    fps: float = 1.0,
    batch_size: int = 32,
    short_side: int | None = None,
    backend: BackendChoice = "auto",
    allow_truncated: bool = False,
) -> FrameBatchIterator:
    """Stream the frames shown at times ``k / fps`` as batches of at most ``batch_size``.

    Frames are RGB uint8; with ``short_side`` they are decoded at reduced resolution
    (shorter side = ``short_side``, aspect kept). Timestamps are the decoded frames'
    own presentation times, strictly increasing (see ``hierskp.video.sampling`` for
    how frames are chosen and duplicates dropped).

    backend: "auto" uses decord when its sanity checks pass and PyAV otherwise (dense sampling,
        truncated files, unreliable frame counts, or decord errors mid-video);
        "decord"/"pyav" force one and raise ``VideoDecodeError`` instead of falling back.
    allow_truncated: read the frames present in a cut-short or damaged file instead of
        raising ``VideoTruncatedError``; damage found only while decoding (PyAV) then ends
        the stream early instead of raising ``VideoDecodeError``.
    """
    return FrameBatchIterator(path, fps, batch_size, short_side, backend, allow_truncated)
