"""Generator settings and the named presets (tiny for tests, demo for the walkthrough, bench)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass


@dataclass(frozen=True)
class SynthConfig:
    """Everything that shapes the corpus except the seed and the number of videos.

    `world_seed` fixes the per-operation appearance, so corpora generated with different
    seeds still live in the same visual "world" (operation X always looks like X).
    """

    width: int = 128
    height: int = 96
    fps: float = 10.0
    min_duration: float = 40.0
    max_duration: float = 120.0
    # Number of operations kept per video (an order-preserving subset); None keeps the
    # whole sampled procedure. Tiny videos are too short for full procedures.
    ops_range: tuple[int, int] | None = None
    min_operation: float = 2.0  # seconds; also bounded by duration / n_ops
    crossfade: float = 1.0  # seconds of gradual transition centred on each boundary
    narration_spacing: float = 4.0  # about one frame narration per this many seconds
    min_narrations: int = 2
    max_narrations: int = 6
    # pretrain/train/val/test; test takes one video per procedure type first, so twins reach it
    split_fractions: tuple[float, float, float, float] = (0.3, 0.15, 0.15, 0.4)
    nuisance: float = 1.0  # scale of per-video brightness/colour/noise/camera nuisance
    heldout_fraction: float = 0.25  # share of synonym combinations reserved for test texts
    # captions per annotation on pretrain/train videos: the primary `text` plus (n - 1) paraphrases in
    # `texts`, drawn from their own RNG stream (1 reproduces the corpus from before `texts` existed)
    captions_per_annotation: int = 3
    world_seed: int = 0
    crf: int = 23
    gop_seconds: float = 2.0
    x264_preset: str = "veryfast"
    chunk_frames: int = 48  # frames rendered per numpy batch (capped by frame size in corpus.py)

    def __post_init__(self) -> None:
        if self.width % 2 or self.height % 2 or self.width < 16 or self.height < 16:
            raise ValueError(f"size must be even and >= 16 (yuv420p), got {self.width}x{self.height}")
        if self.fps <= 0:
            raise ValueError("fps must be positive")
        if not 0 < self.min_duration <= self.max_duration:
            raise ValueError("need 0 < min_duration <= max_duration")
        if len(self.split_fractions) != 4:
            raise ValueError(f"split_fractions: need 4 values (pretrain, train, val, test), got {self.split_fractions}")
        if abs(sum(self.split_fractions) - 1.0) > 1e-6 or min(self.split_fractions) < 0:
            raise ValueError(f"split_fractions must be >= 0 and sum to 1, got {self.split_fractions}")
        if not 1 <= self.captions_per_annotation <= 32:
            raise ValueError(f"captions_per_annotation must be in 1..32, got {self.captions_per_annotation}")
        if self.ops_range is not None and not 1 <= self.ops_range[0] <= self.ops_range[1]:
            raise ValueError("ops_range must be (lo, hi) with 1 <= lo <= hi")

    def replace(self, **changes: object) -> SynthConfig:
        """A copy with some fields changed (None values are ignored, handy for CLI overrides)."""
        return dataclasses.replace(self, **{k: v for k, v in changes.items() if v is not None})


PRESETS: dict[str, SynthConfig] = {
    # 6 videos in ~2-3 s: small frames, short videos, 3-5 operations each.
    "tiny": SynthConfig(
        width=64,
        height=48,
        fps=10.0,
        min_duration=8.0,
        max_duration=20.0,
        ops_range=(3, 5),
        min_operation=1.5,
        crossfade=0.5,
        narration_spacing=2.0,
        max_narrations=4,
        split_fractions=(0.6, 0.2, 0.0, 0.2),
    ),
    # The walkthrough corpus: full procedures, 36-90 s, small enough for 2 CPU cores at 112 videos.
    "demo": SynthConfig(min_duration=36.0, max_duration=90.0),
    # Throughput benchmarks: larger frames, a real-ish frame rate, longer videos.
    "bench": SynthConfig(width=320, height=240, fps=25.0, min_duration=60.0, max_duration=180.0),
}


def get_config(preset: str = "demo", **overrides: object) -> SynthConfig:
    """Preset by name with optional overrides (None means keep the preset's value)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {sorted(PRESETS)}")
    return PRESETS[preset].replace(**overrides)
