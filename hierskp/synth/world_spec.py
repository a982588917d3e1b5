"""The world a synthetic corpus is drawn from, as a validated data model (`worlds/*.yaml`).

A world is procedures (ordered steps, some optional, some loose) over operations; each operation says
how it looks (palette, texture, motion, overlay, instruments) and how it is narrated (caption and
narration templates with paraphrases); procedures carry their own cues (anatomy words, tint) and every
video its own nuisance. `world.py` loads and cross-checks a file; the generator reads only this model.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Unit = Annotated[float, Field(ge=0.0, le=1.0)]
RGB = tuple[Unit, Unit, Unit]  # a colour: three numbers in [0, 1]
Words = Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)]


class Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Palette(Spec):
    base: RGB
    accent: RGB


class OpLook(Spec):
    """How an operation looks; `assist` is a second, nearly static instrument (e.g. a retractor)."""

    palette: str
    texture: Literal["stripes", "checker", "rings", "blobs"]
    freq: Annotated[float, Field(gt=0)]  # cycles per unit of (world) height
    angle: float  # radians
    drift: float  # texture phase speed, rad/s (tissue pulsation / fluid motion)
    motion: Literal["stroke", "circle", "tremor", "pull", "sweep"]  # primary instrument tip path
    speed: Annotated[float, Field(gt=0)]  # Hz
    overlay: Literal["none", "cutline", "stitches", "mesh", "blood", "shimmer", "tube"] = "none"
    assist: str | None = None


class ToolLook(Spec):
    kind: Literal["single", "pair", "vee", "bar"]
    colour: RGB
    width: Annotated[float, Field(gt=0, le=0.5)]  # half-width in screen units (frame height = 2)
    tip: RGB | None = None  # coloured tip (blade edge, cautery spark)


class Instrument(Spec):
    names: Words  # what narrations call it
    look: ToolLook


class Narration(Spec):
    """Frame narrations: the anatomy slot the operation acts on and its (3rd person, gerund) verbs."""

    target: str
    verbs: Annotated[list[tuple[str, str]], Field(min_length=1)]


class Operation(Spec):
    weight: Annotated[float, Field(gt=0)]  # typical relative duration
    instruments: Words  # tools in use during it (pixels and narrations)
    look: OpLook | None = None
    # or: rendered exactly like another operation (its look and seeded details; give it the same
    # instruments), a look-alike whose label only the procedure context can tell
    looks_like: str | None = None
    captions: Words  # operation-level caption templates (`[a|b]` alternatives, `{slot}` anatomy)
    noun: Annotated[str, Field(min_length=1)]  # noun phrase listing the step in a video description
    narration: Narration


class Procedure(Spec):
    """`steps`: tokens `op`, `op?P` (optional, kept with probability P) and `op~` (loose: swaps with
    the next step a quarter of the time)."""

    steps: Annotated[list[str], Field(min_length=1)]
    names: Words
    slots: dict[str, Words] = {}  # per-procedure anatomy words (cues in the texts)
    tint: RGB | None = None  # fixed multiplicative tissue tint; None draws one (`cues.procedure_tint`)


class Cues(Spec):
    procedure_tint: Annotated[float, Field(ge=0, le=0.5)] = 0.07  # strength of the drawn per-procedure tint


class Nuisance(Spec):
    """Per-video recording conditions, each range scaled by the preset's `nuisance` strength."""

    gain: Unit = 0.2
    gain_jitter: Unit = 0.06
    offset: Unit = 0.04
    contrast_low: Unit = 0.2
    contrast_high: Unit = 0.1
    noise_min: Unit = 0.008
    noise: Unit = 0.027
    vignette: Unit = 0.4
    zoom: Unit = 0.2
    rotation: Annotated[float, Field(ge=0, le=3.2)] = 0.35
    drift: Unit = 0.08
    drift_freq: tuple[Unit, Unit] = (0.01, 0.08)
    shake: Unit = 0.02
    shake_freq: tuple[Annotated[float, Field(ge=0)], Annotated[float, Field(ge=0)]] = (1.0, 3.0)
    tool_shift: Unit = 0.15


class Texts(Spec):
    slots: dict[str, Words]  # generic anatomy words, used where a procedure has none of its own
    narration_templates: Words
    video_headers: Words
    video_bodies: Words


class World(Spec):
    name: Annotated[str, Field(min_length=1)]
    description: str = ""
    cues: Cues = Cues()
    nuisance: Nuisance = Nuisance()
    palettes: Annotated[dict[str, Palette], Field(min_length=1)]
    overlays: dict[str, RGB]  # overlay colours
    instruments: Annotated[dict[str, Instrument], Field(min_length=1)]
    operations: Annotated[dict[str, Operation], Field(min_length=1)]
    procedures: Annotated[dict[str, Procedure], Field(min_length=2)]
    texts: Texts

    @field_validator("operations", "procedures", "instruments", "palettes")
    @classmethod
    def _plain_names(cls, value: dict) -> dict:
        for key in value:
            if not key.replace("_", "").isalnum():
                raise ValueError(f"name {key!r}: use letters, digits and '_'")
        return value
