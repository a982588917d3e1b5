"""Real short H.264 videos and label files in the public workflow formats, written by the tests."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from hierskp.synth.encode import encode_video

# a valid manifest row (tests/ingest/test_manifest*.py vary it)
GOOD_ROW = {
    "video_id": "v1",
    "video": "videos/v1.mp4",
    "split": "train",
    "procedure": "thyroidectomy",
    "text": "an open thyroidectomy",
    "operations": [{"start": 0, "end": 4, "label": "incision", "text": "skin incision"}],
    "frames": [{"time": 1.5, "text": "the scalpel opens the skin"}],
}

PALETTE = [(200, 40, 40), (40, 200, 40), (40, 40, 200), (200, 200, 40), (200, 40, 200), (40, 200, 200), (120, 120, 120)]


def write_video(path: Path, phases: Sequence[int], fps: float, size: tuple[int, int] = (64, 48)) -> Path:
    """One frame per entry of ``phases`` at ``fps``: a noisy frame in that phase's colour."""
    rng = np.random.default_rng(len(phases))
    w, h = size

    def frames():
        for ph in phases:
            img = np.empty((h, w, 3), dtype=np.uint8)
            img[:] = PALETTE[ph % len(PALETTE)]
            yield np.clip(img.astype(np.int16) + rng.integers(-20, 21, img.shape), 0, 255).astype(np.uint8)

    return encode_video(path, frames(), fps=fps)


def write_labels(path: Path, values: Sequence[object], start: int = 0, header: str = "Frame\tPhase") -> Path:
    path.write_text(header + "\n" + "".join(f"{start + i}\t{v}\n" for i, v in enumerate(values)))
    return path
