"""Load a world spec (`hierskp synth --world NAME|FILE`): parse YAML, validate once, cross-check names.

A packaged name (`default`, `lookalike`) resolves to `hierskp/synth/worlds/NAME.yaml`; anything else is a
path. Every problem is reported as `FILE: field.path: what is wrong (got VALUE)`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import ValidationError

from hierskp.synth.world_spec import World

WORLDS_DIR = Path(__file__).resolve().parent / "worlds"
DEFAULT = "default"  # the built-in world


class WorldError(ValueError):
    """A world spec that cannot be used; the message names the file, the field and the value."""


@dataclass(frozen=True)
class Step:
    """One operation in a procedure's typical order; `p` < 1 marks an optional step,
    `loose` lets it swap with the next step now and then (surgeons vary)."""

    op: str
    p: float = 1.0
    loose: bool = False


def packaged_worlds() -> list[str]:
    return sorted(p.stem for p in WORLDS_DIR.glob("*.yaml"))


def world_path(name_or_path: str | Path) -> Path:
    """A packaged world's file, or the given path."""
    text = str(name_or_path)
    if text in packaged_worlds():
        return WORLDS_DIR / f"{text}.yaml"
    path = Path(text)
    if not path.is_file():
        raise WorldError(f"{text}: no such world file (packaged worlds: {', '.join(packaged_worlds())})")
    return path


def parse_step(token: str) -> Step:
    """'drain_placement?0.4' (optional), 'irrigation~' (loose), 'incision'."""
    loose = token.endswith("~")
    op, _, p = token.rstrip("~").partition("?")
    try:
        prob = float(p) if p else 1.0
    except ValueError:
        raise ValueError(f"step {token!r}: the probability after '?' must be a number") from None
    if not 0.0 < prob <= 1.0:
        raise ValueError(f"step {token!r}: the probability after '?' must be in (0, 1]")
    return Step(op, prob, loose)


def _fmt(loc: tuple, msg: str, value: object) -> str:
    where = ".".join(str(part) for part in loc) or "(top level)"
    shown = repr(value)
    return f"{where}: {msg} (got {shown if len(shown) <= 80 else shown[:77] + '...'})"


def _reference_problems(world: World) -> list[str]:
    """Names used but not defined, and steps that cannot be parsed."""
    out = []
    ops, tools = world.operations, world.instruments
    for name, op in ops.items():
        loc = ("operations", name)
        for i, tool in enumerate(op.instruments):
            if tool not in tools:
                out.append(_fmt((*loc, "instruments", i), "undefined instrument", tool))
        if (op.look is None) == (op.looks_like is None):
            msg = "give either `look` or `looks_like` (another operation's name), not both or neither"
            out.append(_fmt((*loc, "looks_like"), msg, op.looks_like))
            continue
        if op.looks_like is not None:
            if op.looks_like not in ops or op.looks_like == name:
                out.append(_fmt((*loc, "looks_like"), "must name another defined operation", op.looks_like))
            elif ops[op.looks_like].looks_like is not None:
                out.append(_fmt((*loc, "looks_like"), "must name an operation with a look of its own", op.looks_like))
            continue
        if op.look.palette not in world.palettes:
            out.append(_fmt((*loc, "look", "palette"), "undefined palette", op.look.palette))
        if op.look.overlay != "none" and op.look.overlay not in world.overlays:
            out.append(_fmt((*loc, "look", "overlay"), "overlay without a colour in `overlays`", op.look.overlay))
        if op.look.assist is not None and op.look.assist not in tools:
            out.append(_fmt((*loc, "look", "assist"), "undefined instrument", op.look.assist))
    for name, proc in world.procedures.items():
        slots = {**world.texts.slots, **proc.slots}
        for i, token in enumerate(proc.steps):
            loc = ("procedures", name, "steps", i)
            try:
                step = parse_step(token)
            except ValueError as exc:
                out.append(_fmt(loc, str(exc), token))
                continue
            if step.op not in ops:
                out.append(_fmt(loc, "undefined operation", step.op))
                continue
            op = ops[step.op]
            for slot in _slots_used(op):
                if slot not in slots:
                    out.append(_fmt(loc, f"operation {step.op!r} needs anatomy slot {slot!r}, defined nowhere", slot))
    return out


def _slots_used(op) -> set[str]:
    text = " ".join([*op.captions, op.noun])
    return set(re.findall(r"\{(\w+)\}", text)) | {op.narration.target}


def load_world(name_or_path: str | Path = "default") -> World:
    """Read, validate and cross-check a world; cached per resolved file and content."""
    path = world_path(name_or_path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise WorldError(f"{path}: cannot read: {exc}") from None
    return _parse(str(path), text)


@lru_cache(maxsize=8)
def _parse(path: str, text: str) -> World:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise WorldError(f"{path}: not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise WorldError(f"{path}: a world is a mapping of fields (got {type(data).__name__})")
    try:
        world = World.model_validate(data)
    except ValidationError as exc:
        lines = [_fmt(e["loc"], e["msg"], e.get("input")) for e in exc.errors()]
        raise WorldError(f"{path}: " + f"\n{path}: ".join(lines)) from None
    problems = _reference_problems(world)
    if problems:
        raise WorldError(f"{path}: " + f"\n{path}: ".join(problems))
    return world


def procedure_steps(world: World, procedure: str) -> tuple[Step, ...]:
    return tuple(parse_step(t) for t in world.procedures[procedure].steps)


def look_key(world: World, op: str) -> str:
    """The operation whose appearance `op` is rendered with (itself unless it `looks_like` another)."""
    return world.operations[op].looks_like or op


def world_digest(world: World) -> str:
    return hashlib.sha256(world.model_dump_json().encode()).hexdigest()[:16]
