"""Decoder test doubles for the stall watchdog, loaded in the decoder child via HIERSKP_DECODE_FACTORY.

Only files whose name contains "hang" are affected; every other file decodes for real.
"""

from __future__ import annotations

import os
import re
import threading

from hierskp.video.reader import iter_frame_batches


def _hangs(path: str) -> bool:
    return "hang" in os.path.basename(path)


def gil_hog(path, **kw):  # type: ignore[no-untyped-def]
    """Never returns and never releases the GIL (catastrophic regex backtracking), whatever the decoder."""
    if _hangs(path):
        re.match(r"(a+)+$", "a" * 64 + "b")
    return iter_frame_batches(path, **kw)


def never_returns(path, **kw):  # type: ignore[no-untyped-def]
    """Blocks forever at open, whatever the decoder."""
    if _hangs(path):
        threading.Event().wait()
    return iter_frame_batches(path, **kw)


class _FirstBatchThenHang:
    def __init__(self, inner) -> None:  # type: ignore[no-untyped-def]
        self.inner, self.sent = inner, False

    def __getattr__(self, name):  # type: ignore[no-untyped-def]
        return getattr(self.inner, name)

    def __iter__(self):  # type: ignore[no-untyped-def]
        for batch in self.inner:
            yield batch
            threading.Event().wait()


def decord_hangs_mid_video(path, **kw):  # type: ignore[no-untyped-def]
    """decord (not PyAV) delivers one batch, then never returns: the watchdog must resume with PyAV."""
    inner = iter_frame_batches(path, **kw)
    return _FirstBatchThenHang(inner) if _hangs(path) and inner.backend == "decord" else inner
