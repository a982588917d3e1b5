"""Exceptions raised by the video layer.

Callers catch ``VideoError`` and store ``.path`` / ``.reason`` (e.g. in the cache's
failure log) instead of parsing decord or FFmpeg messages, which differ by backend.
"""

from __future__ import annotations

import os

__all__ = ["VideoError", "VideoDecodeError", "VideoTruncatedError"]


class VideoError(Exception):
    """Base class: something is wrong with one video file."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = reason
        super().__init__(f"{self.path}: {reason}")

    def __reduce__(self):  # keep (path, reason) when pickled across process pools
        return (type(self), (self.path, self.reason))


class VideoDecodeError(VideoError):
    """The file is missing, empty, not a video, corrupt, or cannot be decoded."""


class VideoTruncatedError(VideoDecodeError):
    """The file ends before its header says it should (an interrupted copy or recording).

    Pass ``allow_truncated=True`` to read the frames that are present instead.
    """
