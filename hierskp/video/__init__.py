"""Video reading for feature extraction: probe, sample by timestamp, stream frames.

Typical use (stage 1)::

    from hierskp.video import iter_frame_batches, VideoDecodeError

    try:
        batches = iter_frame_batches(path, fps=1.0, batch_size=32, short_side=224)
    except VideoDecodeError as err:          # missing / empty / corrupt / truncated
        log_failure(err.path, err.reason)
    else:
        for batch in batches:                 # FrameBatch(frames [n,H,W,3] uint8, timestamps [n])
            write(backbone(batch.frames), batch.timestamps)
        store_attrs(backend=batches.backend, fallback=batches.fallback_reason)

Decoding uses decord where it is safe and PyAV otherwise (AV1, truncated files, odd
frame counts); see ``reader.iter_frame_batches``. Errors are ``VideoDecodeError`` with
``.path`` and ``.reason``; a ``VideoDecodeError`` can also surface during iteration
(damage found only while decoding), so mark a video complete only after the loop ends.
"""

from __future__ import annotations

from .errors import VideoDecodeError, VideoError, VideoTruncatedError
from .isolated import DEFAULT_STALL_TIMEOUT_S, IsolatedFrameReader, VideoStallError
from .probe import probe
from .reader import FrameBatchIterator, iter_frame_batches
from .records import Backend, FrameBatch, VideoInfo
from .sampling import sample_times

__all__ = [
    "DEFAULT_STALL_TIMEOUT_S",
    "IsolatedFrameReader",
    "VideoStallError",
    "Backend",
    "FrameBatch",
    "FrameBatchIterator",
    "VideoDecodeError",
    "VideoError",
    "VideoInfo",
    "VideoTruncatedError",
    "iter_frame_batches",
    "probe",
    "sample_times",
]
