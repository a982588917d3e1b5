"""Procedure grammar: open-surgery procedure types as ordered operation sequences.

Two pairs of procedure types use the SAME operation set in a DIFFERENT order
(thyroidectomy/parathyroidectomy, inguinal/ventral hernia repair) and share per-operation
duration weights, so a bag of operations cannot separate them: only order can.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hierskp.synth.config import SynthConfig

# Typical relative duration of each operation (shared by all procedures).
OP_WEIGHT: dict[str, float] = {
    "incision": 0.7,
    "dissection": 1.6,
    "exposure": 1.0,
    "nerve_identification": 0.9,
    "vessel_ligation": 1.1,
    "resection": 1.5,
    "hemostasis": 0.8,
    "irrigation": 0.6,
    "mesh_placement": 1.3,
    "anastomosis": 1.6,
    "drain_placement": 0.6,
    "fascia_closure": 1.0,
    "skin_closure": 0.9,
}
OPERATIONS: tuple[str, ...] = tuple(OP_WEIGHT)

# Instruments that can be in use during an operation (drives both pixels and narrations).
OP_INSTRUMENTS: dict[str, tuple[str, ...]] = {
    "incision": ("scalpel", "electrocautery"),
    "dissection": ("scissors", "electrocautery", "forceps"),
    "exposure": ("retractor", "forceps"),
    "nerve_identification": ("forceps", "scissors", "suction"),
    "vessel_ligation": ("clip_applier", "needle_driver", "scissors"),
    "resection": ("scissors", "electrocautery", "scalpel"),
    "hemostasis": ("electrocautery", "suction", "needle_driver"),
    "irrigation": ("irrigator", "suction"),
    "mesh_placement": ("forceps", "needle_driver"),
    "anastomosis": ("needle_driver", "forceps"),
    "drain_placement": ("forceps", "scalpel", "needle_driver"),
    "fascia_closure": ("needle_driver", "forceps"),
    "skin_closure": ("needle_driver", "forceps"),
}


@dataclass(frozen=True)
class Step:
    """One operation in a procedure's typical order; `p` < 1 marks an optional step,
    `loose` lets it swap with the next step now and then (surgeons vary)."""

    op: str
    p: float = 1.0
    loose: bool = False


def _steps(spec: str) -> tuple[Step, ...]:
    """Parse 'incision dissection drain_placement?0.4 irrigation~' ('~' = loose)."""
    out = []
    for tok in spec.split():
        loose = tok.endswith("~")
        tok = tok.rstrip("~")
        op, _, p = tok.partition("?")
        assert op in OP_WEIGHT, op
        out.append(Step(op, float(p) if p else 1.0, loose))
    return tuple(out)


PROCEDURES: dict[str, tuple[Step, ...]] = {
    "thyroidectomy": _steps(
        "incision dissection exposure vessel_ligation nerve_identification resection "
        "hemostasis drain_placement?0.4 fascia_closure skin_closure"
    ),
    "parathyroidectomy": _steps(
        "incision exposure nerve_identification dissection vessel_ligation resection "
        "hemostasis drain_placement?0.4 fascia_closure skin_closure"
    ),
    "inguinal_hernia_repair": _steps(
        "incision dissection exposure resection mesh_placement hemostasis?0.3 fascia_closure skin_closure"
    ),
    "ventral_hernia_repair": _steps(
        "incision dissection resection exposure fascia_closure mesh_placement hemostasis?0.3 skin_closure"
    ),
    "appendectomy": _steps(
        "incision exposure dissection vessel_ligation resection irrigation~ "
        "drain_placement?0.3 fascia_closure skin_closure"
    ),
    "open_cholecystectomy": _steps(
        "incision exposure dissection vessel_ligation resection hemostasis~ irrigation?0.6 "
        "drain_placement?0.5 fascia_closure skin_closure"
    ),
    "bowel_resection": _steps(
        "incision exposure dissection vessel_ligation resection anastomosis irrigation "
        "drain_placement?0.3 fascia_closure skin_closure"
    ),
    "mastectomy": _steps(
        "incision dissection vessel_ligation~ resection hemostasis irrigation?0.5 drain_placement skin_closure"
    ),
}
PROCEDURE_TYPES: tuple[str, ...] = tuple(PROCEDURES)


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


def sample_operations(rng: np.random.Generator, procedure: str, cfg: SynthConfig) -> list[str]:
    """Typical order, optional steps dropped at random, occasional loose swaps,
    then an order-preserving subset when the config caps the count (tiny preset)."""
    steps = [s for s in PROCEDURES[procedure] if s.p >= 1.0 or rng.random() < s.p]
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


def _phases(rng: np.random.Generator, op: str, start: float, end: float, cfg: SynthConfig) -> tuple[Phase, ...]:
    n = int(np.clip(round((end - start) / cfg.narration_spacing), cfg.min_narrations, cfg.max_narrations))
    edges = np.linspace(start, end, n + 1)
    tools = OP_INSTRUMENTS[op]
    out = []
    for a, b in zip(edges[:-1], edges[1:]):
        t = round(float(a + rng.uniform(0.25, 0.75) * (b - a)), 3)
        out.append(Phase(float(a), float(b), tools[int(rng.integers(len(tools)))], t))
    return tuple(out)


def sample_instance(rng: np.random.Generator, procedure: str, cfg: SynthConfig) -> ProcedureInstance:
    """Sample operations and their frame-aligned boundaries: durations follow the
    operation weights with log-normal jitter, each at least `min_operation` seconds."""
    ops = sample_operations(rng, procedure, cfg)
    n_frames = max(int(round(rng.uniform(cfg.min_duration, cfg.max_duration) * cfg.fps)), len(ops) * 2)
    total = n_frames / cfg.fps
    w = np.array([OP_WEIGHT[o] for o in ops]) * rng.lognormal(0.0, 0.3, size=len(ops))
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
        segments.append(Segment(op, s, e, _phases(rng, op, s, e, cfg)))
    return ProcedureInstance(procedure, n_frames, cfg.fps, tuple(segments))
