"""Read surgical workflow label files (``Frame<TAB>Phase``, one row per frame or per second) into segments.

The format of Cholec80 (``videoNN-phase.txt``: phase names, one row per frame at 25 fps), AutoLaparo
(``label/XX.txt``: phase ids 1..7, one row per second) and M2CAI16 workflow (phase names, per frame or per
second): a header line ``Frame Phase`` (tab or spaces), then ``<frame> <phase>`` rows whose frame numbers
start anywhere and go up by a constant step, the step of the first two rows (1; or e.g. 25 where a 25 fps
numbering is kept once per second). ``fps`` is the rate of that numbering: row ``k`` covers
``[frame_k / fps, (frame_k + step) / fps)``; runs of equal phases become one segment. Every problem names the file, the line and the value.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HEADER = ("frame", "phase")


class PhaseFileError(ValueError):
    """A label file or label map is unreadable; `problems` lists each one as ``file:line: ...``."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s)\n  " + "\n  ".join(problems))


@dataclass(frozen=True)
class Segment:
    start: float  # seconds
    end: float  # seconds, exclusive
    label: str


def humanize(label: str) -> str:
    """``CalotTriangleDissection`` / ``calot_triangle-dissection`` -> ``calot triangle dissection``."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])", " ", label)
    return " ".join(re.sub(r"[_\-]+", " ", spaced).split()).lower()


def load_label_map(path: str | Path) -> dict[str, str]:
    """A YAML or JSON mapping of phase id (as written in the label files) -> phase name."""
    import yaml

    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))  # JSON is YAML
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PhaseFileError([f"{path}: cannot read the label map ({str(exc).splitlines()[0]})"]) from None
    if not isinstance(raw, dict) or not raw:
        raise PhaseFileError([f"{path}: the label map must be a non-empty mapping of id -> name (got {_show(raw)})"])
    problems = [
        f"{path}: id {key!r}: the name must be a non-empty string (value {_show(name)})"
        for key, name in raw.items()
        if not isinstance(name, str) or not name.strip()
    ]
    if problems:
        raise PhaseFileError(problems)
    return {str(key).strip(): str(name).strip() for key, name in raw.items()}


def _show(value: Any) -> str:
    try:
        return json.dumps(value)[:60]
    except (TypeError, ValueError):
        return repr(value)[:60]


def read_phase_rows(path: str | Path, label_map: dict[str, str] | None = None) -> list[tuple[int, str]]:
    """``(frame, phase name)`` per row; the phase goes through ``label_map`` when one is given (an id it
    lacks is an error). Raises PhaseFileError naming file, line and value for every bad row."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise PhaseFileError([f"{path}: cannot read ({exc})"]) from None
    lines = [(n, line.strip()) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not lines:
        raise PhaseFileError([f"{path}: empty file (expected a header 'Frame<TAB>Phase' and one row per frame)"])
    head_no, head = lines[0]
    if tuple(h.lower() for h in head.split()) != HEADER:
        raise PhaseFileError([f"{path}:{head_no}: missing header: expected 'Frame<TAB>Phase', got {head[:60]!r}"])
    if len(lines) == 1:
        raise PhaseFileError([f"{path}: no rows after the header"])
    rows: list[tuple[int, str]] = []
    problems: list[str] = []
    step = 1
    for n, line in lines[1:]:
        parts = line.split(None, 1)
        if len(parts) != 2:
            problems.append(f"{path}:{n}: expected '<frame> <phase>', got {line[:60]!r}")
            continue
        frame_s, phase = parts[0], parts[1].strip()
        try:
            frame = int(frame_s)
        except ValueError:
            problems.append(f"{path}:{n}: frame is not an integer (value {frame_s[:40]!r})")
            continue
        if len(rows) == 1 and frame > rows[0][0]:
            step = frame - rows[0][0]
        if rows and frame != rows[-1][0] + step:
            prev = rows[-1][0]
            what = "a gap" if frame > prev + step else "not increasing" if frame <= prev else "a shorter step"
            problems.append(
                f"{path}:{n}: frame {frame} after frame {prev} ({what}; frames go up by {step}, "
                "the step of the first two rows)"
            )
        elif not rows and frame < 0:
            problems.append(f"{path}:{n}: negative frame (value {frame})")
        if label_map is not None:
            if phase not in label_map:
                known = ", ".join(sorted(label_map))
                problems.append(f"{path}:{n}: unknown phase id (value {phase!r}); the label map has {known}")
                continue
            phase = label_map[phase]
        rows.append((frame, phase))
        if len(problems) >= 20:
            problems.append(f"{path}: stopped after 20 problems")
            break
    if problems:
        raise PhaseFileError(problems)
    return rows


def rows_to_segments(rows: list[tuple[int, str]], fps: float) -> list[Segment]:
    """Consecutive equal phases as one segment; row ``frame`` spans ``[frame / fps, (frame + step) / fps)``
    where ``step`` is the frame step of the rows (1, or e.g. 25 for a 25 fps numbering kept once per second)."""
    if fps <= 0:
        raise ValueError(f"fps must be > 0, got {fps}")
    step = rows[1][0] - rows[0][0] if len(rows) > 1 else 1
    segments: list[Segment] = []
    first = 0
    for i in range(1, len(rows) + 1):
        if i == len(rows) or rows[i][1] != rows[first][1]:
            start, end = rows[first][0] / fps, (rows[i - 1][0] + step) / fps
            segments.append(Segment(start=round(start, 6), end=round(end, 6), label=rows[first][1]))
            first = i
    return segments
