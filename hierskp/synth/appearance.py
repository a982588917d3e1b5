"""How things look: per-operation tissue/texture/motion, instruments, per-procedure tint,
and per-video nuisance.

Operations come in palette families (pairs share colours and differ only in texture or
instrument motion), so colour alone does not identify an operation. The per-procedure tint
is a weak cue; the per-video nuisance (lighting, colour cast, camera zoom/rotation/drift,
noise) keeps a frozen backbone + mean pooling from being perfect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierskp.synth.grammar import OPERATIONS, PROCEDURE_TYPES

RGB = tuple[float, float, float]

PALETTES: dict[str, tuple[RGB, RGB]] = {  # (base, accent)
    "skin": ((0.86, 0.64, 0.56), (0.66, 0.42, 0.38)),
    "fat": ((0.90, 0.78, 0.46), (0.78, 0.52, 0.34)),
    "blood": ((0.66, 0.20, 0.16), (0.42, 0.09, 0.10)),
    "organ": ((0.72, 0.36, 0.32), (0.52, 0.26, 0.30)),
    "fascia": ((0.88, 0.85, 0.80), (0.68, 0.60, 0.58)),
    "wet": ((0.76, 0.56, 0.62), (0.52, 0.58, 0.70)),
    "nerve": ((0.86, 0.80, 0.64), (0.60, 0.26, 0.22)),
}


@dataclass(frozen=True)
class OpLook:
    palette: str
    texture: str  # stripes | checker | rings | blobs
    freq: float  # cycles per unit of (world) height
    angle: float  # radians
    drift: float  # texture phase speed, rad/s (tissue pulsation / fluid motion)
    motion: str  # stroke | circle | tremor | pull | sweep: primary instrument tip path
    speed: float  # Hz
    overlay: str = "none"  # none | cutline | stitches | mesh | blood | shimmer | tube
    assist: str | None = None  # a second, nearly static instrument (e.g. a retractor)


OP_LOOKS: dict[str, OpLook] = {
    "incision": OpLook("skin", "stripes", 2.5, 0.3, 0.5, "stroke", 0.35, "cutline"),
    "skin_closure": OpLook("skin", "stripes", 2.5, 0.3, 0.5, "circle", 0.6, "stitches"),
    "dissection": OpLook("fat", "blobs", 2.0, 0.0, 0.8, "tremor", 1.8, "none", "forceps"),
    "exposure": OpLook("fat", "rings", 1.6, 0.0, 0.4, "pull", 0.15, "none", "retractor"),
    "vessel_ligation": OpLook("blood", "stripes", 4.5, 1.2, 0.6, "stroke", 0.5),
    "hemostasis": OpLook("blood", "blobs", 3.0, 0.0, 1.5, "tremor", 2.5, "blood"),
    "resection": OpLook("organ", "blobs", 1.4, 0.0, 0.3, "pull", 0.2, "none", "forceps"),
    "anastomosis": OpLook("organ", "rings", 2.6, 0.0, 0.8, "circle", 0.7, "stitches", "forceps"),
    "fascia_closure": OpLook("fascia", "stripes", 4.0, -0.4, 0.3, "circle", 0.6, "stitches"),
    "mesh_placement": OpLook("fascia", "checker", 3.0, 0.5, 0.2, "sweep", 0.3, "mesh", "retractor"),
    "irrigation": OpLook("wet", "blobs", 2.5, 0.0, 4.0, "sweep", 0.5, "shimmer"),
    "drain_placement": OpLook("wet", "stripes", 1.5, 2.0, 0.4, "pull", 0.2, "tube"),
    "nerve_identification": OpLook("nerve", "stripes", 1.0, 0.8, 0.2, "tremor", 1.2, "none", "retractor"),
}
assert set(OP_LOOKS) == set(OPERATIONS)


@dataclass(frozen=True)
class ToolLook:
    kind: str  # single | pair | vee | bar
    colour: RGB
    width: float  # half-width in screen units (frame height = 2)
    tip: RGB | None = None  # coloured tip (blade edge, cautery spark)


TOOL_LOOKS: dict[str, ToolLook] = {
    "scalpel": ToolLook("single", (0.80, 0.82, 0.86), 0.020, (0.97, 0.97, 1.0)),
    "scissors": ToolLook("vee", (0.72, 0.73, 0.78), 0.020),
    "forceps": ToolLook("pair", (0.66, 0.68, 0.72), 0.016),
    "electrocautery": ToolLook("single", (0.93, 0.92, 0.80), 0.030, (1.0, 0.70, 0.15)),
    "needle_driver": ToolLook("single", (0.32, 0.33, 0.38), 0.036, (0.85, 0.85, 0.90)),
    "retractor": ToolLook("bar", (0.80, 0.80, 0.84), 0.075),
    "suction": ToolLook("single", (0.90, 0.92, 0.96), 0.042, (0.20, 0.20, 0.22)),
    "clip_applier": ToolLook("single", (0.50, 0.52, 0.58), 0.030, (0.95, 0.80, 0.30)),
    "irrigator": ToolLook("single", (0.96, 0.97, 1.0), 0.055, (0.70, 0.85, 1.0)),
}


@dataclass(frozen=True)
class WorldLook:
    """Seeded details shared by every video of a world: blob waves, tool anchor points, tints."""

    waves: dict[str, np.ndarray]  # op -> (4, 2) [angle, phase] of the blob/overlay waves
    centre: dict[str, np.ndarray]  # op -> (2,) where the instrument tip works, screen units
    tint: dict[str, np.ndarray]  # procedure -> (3,) multiplicative tissue tint


def world_look(world_seed: int = 0, tint_strength: float = 0.07) -> WorldLook:
    rng = np.random.default_rng([world_seed, 7919])
    waves = {op: np.stack([rng.uniform(0, np.pi, 4), rng.uniform(0, 2 * np.pi, 4)], 1) for op in OPERATIONS}
    centre = {op: rng.uniform([-0.35, -0.3], [0.35, 0.3]) for op in OPERATIONS}
    tint = {}
    for p in PROCEDURE_TYPES:
        d = rng.normal(size=3)
        tint[p] = (1.0 + tint_strength * d / np.linalg.norm(d)).astype(np.float32)
    return WorldLook(waves, centre, tint)


@dataclass(frozen=True)
class Nuisance:
    """Per-video recording conditions; all time-varying parts are smooth functions of t."""

    gain: np.ndarray  # (3,) per-channel gain incl. brightness
    offset: np.ndarray  # (3,) colour cast
    contrast: float
    noise: float
    vignette: float
    zoom: float
    rotation: float
    drift: np.ndarray  # (3, 3) [amplitude, freq Hz, phase] for the x/y camera drift terms
    shake: tuple[float, float]  # amplitude, frequency (hand-held jitter)
    tool_angle: float  # side the instruments come in from
    tool_shift: np.ndarray  # (2,) per-video offset of the working area
    phase: float  # texture phase offset

    def camera(self, t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Camera offset (T, 2) and rotation (T,) at times t."""
        a, f, ph = self.drift[:, 0], self.drift[:, 1], self.drift[:, 2]
        arg = 2 * np.pi * f[None] * t[:, None] + ph[None]
        ox = (a * np.sin(arg)).sum(1) + self.shake[0] * np.sin(2 * np.pi * self.shake[1] * t)
        oy = (a * np.cos(arg * 1.3)).sum(1) + self.shake[0] * np.cos(2 * np.pi * self.shake[1] * 1.37 * t)
        rot = self.rotation + 0.05 * np.sin(2 * np.pi * 0.03 * t + ph[0])
        return np.stack([ox, oy], 1), rot


def sample_nuisance(rng: np.random.Generator, strength: float = 1.0) -> Nuisance:
    s = strength
    gain = rng.uniform(1 - 0.2 * s, 1 + 0.2 * s) * rng.normal(1.0, 0.06 * s, 3)
    drift = np.stack([rng.uniform(0, 0.08 * s, 3), rng.uniform(0.01, 0.08, 3), rng.uniform(0, 2 * np.pi, 3)], 1)
    return Nuisance(
        gain=gain.astype(np.float32),
        offset=rng.normal(0, 0.04 * s, 3).astype(np.float32),
        contrast=float(rng.uniform(1 - 0.2 * s, 1 + 0.1 * s)),
        noise=float(rng.uniform(0.008, 0.008 + 0.027 * s)),
        vignette=float(rng.uniform(0, 0.4 * s)),
        zoom=float(np.exp(rng.uniform(-0.2 * s, 0.2 * s))),
        rotation=float(rng.uniform(-0.35 * s, 0.35 * s)),
        drift=drift,
        shake=(float(rng.uniform(0, 0.02 * s)), float(rng.uniform(1.0, 3.0))),
        tool_angle=float(rng.uniform(0, 2 * np.pi)),
        tool_shift=rng.uniform(-0.15 * s, 0.15 * s, 2),
        phase=float(rng.uniform(0, 2 * np.pi)),
    )
