"""Atomic H.264 MP4 writing on top of the project's encoder (`hierskp.synth.encode`).

Frames go to a hidden temp file next to the target, renamed on success, so a crash never
leaves a truncated video under the final name. One encoder thread keeps the bitstream the
same on machines with different core counts (the corpus parallelises across videos instead).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from hierskp.files.atomic import atomic_write
from hierskp.synth.encode import encode_video


def write_mp4(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    crf: int = 23,
    gop: int | None = None,
    preset: str = "veryfast",
) -> Path:
    """Encode RGB uint8 frames (H, W, 3), consumed lazily, as libx264/yuv420p MP4 at `path`;
    `gop` = frames between keyframes (short GOPs keep seeking cheap)."""
    options = {"crf": str(crf), "preset": preset, "threads": "1"}
    return atomic_write(  # the encoder picks the container from the temporary name's extension
        path,
        lambda tmp: encode_video(
            tmp, frames, fps=fps, codec="libx264", pix_fmt="yuv420p", gop_size=gop, options=options
        ),
        suffix=".mp4",
    )
