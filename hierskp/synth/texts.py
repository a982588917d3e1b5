"""Template texts at three levels (video, operation, frame) with synonym variation.

A fixed share of the concrete phrasings (hashed, so independent of seed and order) is
held out: test videos draw from it and the other splits avoid it, so test captions are
new synonym combinations rather than strings seen during (pre)training.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from hierskp.synth.grammar import DEFAULT_WORLD
from hierskp.synth.world_spec import World

_ALT = re.compile(r"\[([^\[\]]*)\]")
_SLOT = re.compile(r"\{(\w+)\}")
_ARTICLE = re.compile(r"\b([Aa]) (?=[aeiouAEIOU])")


def fill(template: str, slots: dict[str, list[str]], rng: np.random.Generator) -> str:
    """Expand `[a|b]` alternatives, then `{slot}` values; fix a/an; draws go left to right."""

    def pick(options: list[str]) -> str:
        return options[int(rng.integers(len(options)))]

    text = _ALT.sub(lambda m: pick(m.group(1).split("|")), template)
    text = _SLOT.sub(lambda m: pick(slots[m.group(1)]), text)
    return _ARTICLE.sub(r"\1n ", text)


def sentence_case(text: str) -> str:
    """Capitalise the first letter and the first letter after '. '."""
    text = text[:1].upper() + text[1:]
    return re.sub(r"(\. )([a-z])", lambda m: m.group(1) + m.group(2).upper(), text)


def procedure_slots(procedure: str, world: World = DEFAULT_WORLD) -> dict[str, list[str]]:
    """Anatomy vocabulary for a procedure type (generic words where it has none)."""
    return {**world.texts.slots, **world.procedures[procedure].slots}


class TextSampler:
    """Draws captions; `heldout=True` asks for phrasings reserved for the test split."""

    def __init__(self, heldout_fraction: float = 0.25, tries: int = 40, world: World = DEFAULT_WORLD) -> None:
        self.heldout_fraction = heldout_fraction
        self.tries = tries
        self.world = world

    def is_heldout(self, text: str) -> bool:
        return zlib.crc32(text.lower().encode()) / 2**32 < self.heldout_fraction

    def _draw(self, rng: np.random.Generator, make, heldout: bool) -> str:
        text = make()
        for _ in range(self.tries - 1):
            if self.is_heldout(text) == heldout:
                break
            text = make()
        return text  # falls back to the last draw when the wanted kind is rare

    def operation(self, rng: np.random.Generator, procedure: str, op: str, heldout: bool) -> str:
        slots, templates = procedure_slots(procedure, self.world), self.world.operations[op].captions
        return self._draw(rng, lambda: fill(templates[int(rng.integers(len(templates)))], slots, rng), heldout)

    def narration(self, rng: np.random.Generator, procedure: str, op: str, instrument: str, heldout: bool) -> str:
        spec, w = self.world.operations[op].narration, self.world
        target, verbs = spec.target, spec.verbs
        base = procedure_slots(procedure, w)

        def make() -> str:
            v3, ving = verbs[int(rng.integers(len(verbs)))]
            slots = {"v3": [v3], "ving": [ving], "target": base[target], "instr": w.instruments[instrument].names}
            tpl = w.texts.narration_templates[int(rng.integers(len(w.texts.narration_templates)))]
            return fill(tpl, slots, rng)

        return self._draw(rng, make, heldout)

    def video(self, rng: np.random.Generator, procedure: str, ops: list[str], heldout: bool) -> str:
        """Procedure name plus its steps in the order performed (order is in the text too)."""
        w = self.world
        slots, names = procedure_slots(procedure, w), w.procedures[procedure].names
        steps = [self._draw(rng, lambda o=op: fill(w.operations[o].noun, slots, rng), heldout) for op in ops]
        name = self._draw(rng, lambda: names[int(rng.integers(len(names)))], heldout)
        header = w.texts.video_headers[int(rng.integers(len(w.texts.video_headers)))]
        header = fill(header, {"name": [name], "Name": [name[:1].upper() + name[1:]]}, rng)
        if len(steps) == 1:
            body = steps[0] + "."
        elif len(steps) == 2:
            body = f"{steps[0]} and then {steps[1]}."
        else:
            body_tpl = w.texts.video_bodies[int(rng.integers(len(w.texts.video_bodies)))]
            body = body_tpl.format(first=steps[0], middle=", ".join(steps[1:-1]), last=steps[-1])
        return sentence_case(header + body)
