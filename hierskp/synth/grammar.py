"""Procedure grammar: a world's procedure types as ordered operation sequences, sampled per video.

In the default world two pairs of procedure types use the SAME operation set in a DIFFERENT order
(thyroidectomy/parathyroidectomy, inguinal/ventral hernia repair) and share per-operation
duration weights, so a bag of operations cannot separate them: only order can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierskp.synth.config import SynthConfig
from hierskp.synth.world import DEFAULT, Step, load_world, procedure_steps
from hierskp.synth.world_spec import World

# The built-in world's names (the default world spec, hierskp/synth/worlds/default.yaml).
DEFAULT_WORLD: World = load_world(DEFAULT)
PROCEDURES: dict[str, tuple[Step, ...]] = {p: procedure_steps(DEFAULT_WORLD, p) for p in DEFAULT_WORLD.procedures}
PROCEDURE_TYPES: tuple[str, ...] = tuple(PROCEDURES)
OPERATIONS: tuple[str, ...] = tuple(DEFAULT_WORLD.operations)


@dataclass(frozen=True)
class Phase:
    """A stretch of an operation with one instrument in use and one frame narration."""

    start: float
    end: float
    instrument: str
    time: float  # narration timestamp, inside [start, end)


@dataclass(frozen=True)
class Segment:
    op: str
    start: float
    end: float
    phases: tuple[Phase, ...]


@dataclass(frozen=True)
class ProcedureInstance:
    procedure: str
    n_frames: int
    fps: float
    segments: tuple[Segment, ...]

    @property
    def duration(self) -> float:
        return self.n_frames / self.fps


def sample_operations(
    rng: np.random.Generator, procedure: str, cfg: SynthConfig, world: World = DEFAULT_WORLD
) -> list[str]:
    """Typical order, optional steps dropped at random, occasional loose swaps,
    then an order-preserving subset when the config caps the count (tiny preset)."""
    steps = [s for s in procedure_steps(world, procedure) if s.p >= 1.0 or rng.random() < s.p]
    i = 0
    while i < len(steps) - 2:  # never swap with the final step (closure)
        if steps[i].loose and rng.random() < 0.25:
            steps[i], steps[i + 1] = steps[i + 1], steps[i]
            i += 1  # a swapped step moves one place only
        i += 1
    ops = [s.op for s in steps]
    if cfg.ops_range is not None:
        k = int(rng.integers(cfg.ops_range[0], cfg.ops_range[1] + 1))
        if k < len(ops):
            keep = np.sort(rng.choice(len(ops), size=k, replace=False))
            ops = [ops[i] for i in keep]
    return ops


def _phases(
    rng: np.random.Generator, tools: list[str], start: float, end: float, cfg: SynthConfig
) -> tuple[Phase, ...]:
    n = int(np.clip(round((end - start) / cfg.narration_spacing), cfg.min_narrations, cfg.max_narrations))
    edges = np.linspace(start, end, n + 1)
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        t = round(float(a + rng.uniform(0.25, 0.75) * (b - a)), 3)
        out.append(Phase(float(a), float(b), tools[int(rng.integers(len(tools)))], t))
    return tuple(out)


def sample_instance(
    rng: np.random.Generator, procedure: str, cfg: SynthConfig, world: World = DEFAULT_WORLD
) -> ProcedureInstance:
    """Sample operations and their frame-aligned boundaries: durations follow the
    operation weights with log-normal jitter, each at least `min_operation` seconds."""
    ops = sample_operations(rng, procedure, cfg, world)
    n_frames = max(int(round(rng.uniform(cfg.min_duration, cfg.max_duration) * cfg.fps)), len(ops) * 2)
    total = n_frames / cfg.fps
    w = np.array([world.operations[o].weight for o in ops]) * rng.lognormal(0.0, 0.3, size=len(ops))
    min_op = min(cfg.min_operation, 0.5 * total / len(ops))
    dur = min_op + (total - min_op * len(ops)) * w / w.sum()
    bounds = np.round(np.concatenate([[0.0], np.cumsum(dur)]) * cfg.fps).astype(int)
    bounds[-1] = n_frames
    for i in range(1, len(bounds)):  # at least one frame per operation
        bounds[i] = max(bounds[i], bounds[i - 1] + 1)
    assert bounds[-1] == n_frames, "operations do not fit in the video"
    segments = []
    for op, a, b in zip(ops, bounds[:-1], bounds[1:]):
        s, e = a / cfg.fps, b / cfg.fps
        segments.append(Segment(op, s, e, _phases(rng, world.operations[op].instruments, s, e, cfg)))
    return ProcedureInstance(procedure, n_frames, cfg.fps, tuple(segments))
