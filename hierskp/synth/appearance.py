"""How things look: the seeded details of a world (blob waves, tool anchor points, per-procedure
tint) and the per-video nuisance; the looks themselves are in the world spec (`world_spec.py`).

In the default world operations come in palette families (pairs share colours and differ only in
texture or instrument motion), so colour alone does not identify an operation. The per-procedure tint
is a weak cue; the per-video nuisance (lighting, colour cast, camera zoom/rotation/drift,
noise) keeps a frozen backbone + mean pooling from being perfect.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierskp.synth.grammar import DEFAULT_WORLD
from hierskp.synth.world_spec import Nuisance as NuisanceSpec
from hierskp.synth.world_spec import World


@dataclass(frozen=True)
class WorldLook:
    """Seeded details shared by every video of a world: blob waves, tool anchor points, tints."""

    waves: dict[str, np.ndarray]  # op -> (4, 2) [angle, phase] of the blob/overlay waves
    centre: dict[str, np.ndarray]  # op -> (2,) where the instrument tip works, screen units
    tint: dict[str, np.ndarray]  # procedure -> (3,) multiplicative tissue tint


def world_look(world_seed: int = 0, tint_strength: float | None = None, world: World = DEFAULT_WORLD) -> WorldLook:
    """Seeded details in the order the spec lists operations and procedures; a procedure's own `tint`
    replaces its drawn one (the draw still happens, so the others do not move)."""
    strength = world.cues.procedure_tint if tint_strength is None else tint_strength
    ops = tuple(world.operations)
    rng = np.random.default_rng([world_seed, 7919])
    waves = {op: np.stack([rng.uniform(0, np.pi, 4), rng.uniform(0, 2 * np.pi, 4)], 1) for op in ops}
    centre = {op: rng.uniform([-0.35, -0.3], [0.35, 0.3]) for op in ops}
    tint = {}
    for p, spec in world.procedures.items():
        d = rng.normal(size=3)
        tint[p] = (1.0 + strength * d / np.linalg.norm(d)).astype(np.float32)
        if spec.tint is not None:
            tint[p] = np.asarray(spec.tint, np.float32)
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


def sample_nuisance(rng: np.random.Generator, strength: float = 1.0, spec: NuisanceSpec | None = None) -> Nuisance:
    """One video's recording conditions: the world's nuisance ranges scaled by `strength`."""
    s, n = strength, spec or DEFAULT_WORLD.nuisance
    gain = rng.uniform(1 - n.gain * s, 1 + n.gain * s) * rng.normal(1.0, n.gain_jitter * s, 3)
    drift = np.stack([rng.uniform(0, n.drift * s, 3), rng.uniform(*n.drift_freq, 3), rng.uniform(0, 2 * np.pi, 3)], 1)
    return Nuisance(
        gain=gain.astype(np.float32),
        offset=rng.normal(0, n.offset * s, 3).astype(np.float32),
        contrast=float(rng.uniform(1 - n.contrast_low * s, 1 + n.contrast_high * s)),
        noise=float(rng.uniform(n.noise_min, n.noise_min + n.noise * s)),
        vignette=float(rng.uniform(0, n.vignette * s)),
        zoom=float(np.exp(rng.uniform(-n.zoom * s, n.zoom * s))),
        rotation=float(rng.uniform(-n.rotation * s, n.rotation * s)),
        drift=drift,
        shake=(float(rng.uniform(0, n.shake * s)), float(rng.uniform(*n.shake_freq))),
        tool_angle=float(rng.uniform(0, 2 * np.pi)),
        tool_shift=rng.uniform(-n.tool_shift * s, n.tool_shift * s, 2),
        phase=float(rng.uniform(0, 2 * np.pi)),
    )
