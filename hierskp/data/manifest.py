"""The user's dataset description: JSON Lines, one video per line, validated once at the edge.

    {"video_id": str, "video": "videos/x.mp4", "split": "pretrain"|"train"|"test",
     "procedure": str, "text": str,
     "operations": [{"start": s, "end": s, "label": str, "text": str}],
     "frames": [{"time": s, "text": str}]}

Paths are relative to the manifest's folder and may not escape it. Every bad line is reported
with the manifest path, the line number, the field and the offending value.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from cache_schema.layout import VIDEO_ID_PATTERN

Split = Literal["pretrain", "train", "test"]


class ManifestError(ValueError):
    """One or more manifest lines are invalid; `problems` lists them one per line."""

    def __init__(self, manifest: Path, problems: list[str]):
        self.manifest, self.problems = manifest, problems
        super().__init__(f"{manifest}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))


class Operation(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    label: str = Field(min_length=1)
    text: str = Field(min_length=1)

    @model_validator(mode="after")
    def _end_after_start(self) -> Operation:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:g}) must be greater than start ({self.start:g})")
        return self


class Narration(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    time: float = Field(ge=0)
    text: str = Field(min_length=1)


class VideoEntry(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    video_id: str = Field(pattern=VIDEO_ID_PATTERN)
    video: str = Field(min_length=1)
    split: Split
    procedure: str = Field(min_length=1)
    text: str = Field(min_length=1)
    operations: tuple[Operation, ...] = ()
    frames: tuple[Narration, ...] = ()

    @field_validator("video")
    @classmethod
    def _relative_inside(cls, value: str) -> str:
        norm = os.path.normpath(value)
        if os.path.isabs(value) or norm == ".." or norm.startswith(".." + os.sep):
            raise ValueError(f"path {value!r} escapes the dataset folder")
        return value

    def annotations(self) -> dict[str, Any]:
        """The JSON form stored with the cached features."""
        return self.model_dump(mode="json")

    def times_past(self, duration: float, tolerance: float) -> list[str]:
        """Problems with annotation times past the decoded duration (checked once it is known)."""
        out = []
        for i, op in enumerate(self.operations):
            if op.end > duration + tolerance:
                out.append(f"field operations[{i}].end: value {op.end:g} is past the video's duration {duration:.3f}s")
        for i, nar in enumerate(self.frames):
            if nar.time > duration + tolerance:
                out.append(f"field frames[{i}].time: value {nar.time:g} is past the video's duration {duration:.3f}s")
        return out


@dataclass(frozen=True)
class ManifestRow:
    entry: VideoEntry
    line: int
    path: Path

    def where(self) -> str:
        return f"{self.path}:{self.line} (video {self.entry.video_id!r})"


@dataclass(frozen=True)
class Manifest:
    path: Path
    rows: tuple[ManifestRow, ...]

    @property
    def root(self) -> Path:
        return self.path.parent

    def video_path(self, row: ManifestRow) -> Path:
        return self.root / row.entry.video


def _describe(err: dict[str, Any]) -> str:
    field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
    value = err.get("input")
    shown = json.dumps(value)[:80] if not isinstance(value, dict) else "{...}"
    return f"field {field or '<line>'}: {err['msg']} (value {shown})"


def load_manifest(path: str | Path) -> Manifest:
    """Parse and validate the whole manifest; raise ManifestError listing every bad line."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(path, [f"manifest file not found: {path}"])
    rows: list[ManifestRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    with path.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = json.loads(line)
            except json.JSONDecodeError as exc:
                problems.append(f"line {lineno}: not valid JSON ({exc.msg} at column {exc.colno})")
                continue
            try:
                entry = VideoEntry.model_validate(raw)
            except ValidationError as exc:
                problems.extend(f"line {lineno}: {_describe(e)}" for e in exc.errors())
                continue
            if entry.video_id in seen:
                problems.append(
                    f"line {lineno}: field video_id: duplicate id (value {entry.video_id!r}, first on line {seen[entry.video_id]})"
                )
                continue
            seen[entry.video_id] = lineno
            rows.append(ManifestRow(entry=entry, line=lineno, path=path))
    if problems:
        raise ManifestError(path, problems)
    return Manifest(path=path, rows=tuple(rows))


def write_manifest(path: str | Path, entries: list[VideoEntry] | list[dict[str, Any]]) -> Path:
    """Write entries as JSON Lines atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8") as fh:
        for e in entries:
            data = e.model_dump(mode="json") if isinstance(e, VideoEntry) else e
            fh.write(json.dumps(data, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
