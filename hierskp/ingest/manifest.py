"""The user's dataset description: JSON Lines, one video per line, validated once at the edge.

    {"video_id": str, "video": "videos/x.mp4", "split": "pretrain"|"train"|"val"|"test",
     "procedure": str, "text": str, "texts": [str, ...],
     "operations": [{"start": s, "end": s, "label": str, "text": str, "texts": [str, ...]}],
     "frames": [{"time": s, "text": str, "texts": [str, ...]}]}

`texts` (optional, every level) are further captions of the same annotation. `text` stays required
and is the primary caption (evaluation uses it alone); training samples from the pool
`cache_schema.caption_pool(text, texts)` = [text] + texts, duplicates dropped, primary first.

Paths are relative to the manifest's folder and may not escape it, also through a symlink (checked
after resolving it when the video is opened). Confinement is the operator's call: only the caller's
``allow_outside=True`` (``hierskp extract --allow-outside-dataset``, the flows' parameter, off by
default) lets a video be read from elsewhere; a line's ``"allow_outside": true`` declares that its
path is absolute or leaves the folder (accepted at parsing) but cannot widen what the operator allowed. Every bad line is
reported with the manifest path, the line number, the field and the offending value; an unknown key
is an error with a did-you-mean, an empty manifest is an error.
"""

from __future__ import annotations

import difflib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator

from cache_schema.layout import VIDEO_ID_PATTERN
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write

# pretrain/train: training; val: choosing defaults and checkpoints; test: reported numbers only
Split = Literal["pretrain", "train", "val", "test"]
SPLITS: tuple[Split, ...] = get_args(Split)


Caption = Annotated[str, StringConstraints(min_length=1, strict=True)]
Captions = tuple[Caption, ...]


def _drop_empty_texts(entry: dict[str, Any]) -> dict[str, Any]:
    """An annotation without extra captions is written, stored and hashed as before `texts` existed."""

    def strip(node: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in node.items() if not (k == "texts" and not v)}

    out = strip(entry)
    for level in ("operations", "frames"):
        if level in out:
            out[level] = [strip(x) for x in out[level]]
    return out


class ManifestError(ValueError):
    """One or more manifest lines are invalid; `problems` lists them one per line."""

    def __init__(self, manifest: Path, problems: list[str]):
        self.manifest, self.problems = manifest, problems
        super().__init__(f"{manifest}: {len(problems)} problem(s)\n  " + "\n  ".join(problems))


class Operation(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    start: float = Field(ge=0)
    end: float = Field(ge=0)
    label: str = Field(min_length=1)
    text: str = Field(min_length=1)
    texts: Captions = ()

    @model_validator(mode="after")
    def _end_after_start(self) -> Operation:
        if self.end <= self.start:
            raise ValueError(f"end ({self.end:g}) must be greater than start ({self.start:g})")
        return self


class Narration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    time: float = Field(ge=0)
    text: str = Field(min_length=1)
    texts: Captions = ()


class VideoEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    video_id: str = Field(pattern=VIDEO_ID_PATTERN)
    video: str = Field(min_length=1)
    split: Split
    procedure: str = Field(min_length=1)
    text: str = Field(min_length=1)
    texts: Captions = Field(default=(), description="further captions; `text` is the primary one")
    operations: tuple[Operation, ...] = ()
    frames: tuple[Narration, ...] = ()
    duration: float | None = Field(default=None, ge=0, description="informational (the decoded duration rules)")
    allow_outside: bool = Field(default=False, description="the video may live outside the dataset folder")

    @model_validator(mode="after")
    def _relative_inside(self) -> VideoEntry:
        norm = os.path.normpath(self.video)
        if not self.allow_outside and (os.path.isabs(self.video) or norm == ".." or norm.startswith(".." + os.sep)):
            raise ValueError(
                f"field video: path {self.video!r} escapes the dataset folder "
                '(add "allow_outside": true to the line, and the operator must pass --allow-outside-dataset)'
            )
        return self

    def annotations(self) -> dict[str, Any]:
        """The JSON form stored with the cached features (no `texts` key where there are none, so the
        annotations hash of a manifest without extra captions is what it was before they existed)."""
        return _drop_empty_texts(self.model_dump(mode="json", exclude={"duration", "allow_outside"}))

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


class ManifestPathError(ValueError):
    """A video path leaves the dataset folder once symlinks are resolved."""


TOP_KEYS = tuple(VideoEntry.model_fields)
NESTED_KEYS = {"operations": tuple(Operation.model_fields), "frames": tuple(Narration.model_fields)}


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

    def resolved_video_path(self, row: ManifestRow, allow_outside: bool = False) -> Path:
        """The video's path with symlinks resolved; ManifestPathError when that leaves the dataset folder
        unless the operator's `allow_outside` (a line's ``allow_outside`` cannot grant it)."""
        target = (self.root / row.entry.video).resolve()
        root = self.root.resolve()
        if not allow_outside and not target.is_relative_to(root):
            said = ' (the line\'s "allow_outside" does not widen it)' if row.entry.allow_outside else " (a symlink?)"
            raise ManifestPathError(
                f"{row.where()}: field video: {row.entry.video!r} resolves to {target}, outside the dataset "
                f"folder {root}{said}; only the operator can allow that: hierskp extract --allow-outside-dataset"
            )
        return target


def _describe(err: dict[str, Any]) -> str:
    field = ".".join(str(p) if not isinstance(p, int) else f"[{p}]" for p in err["loc"]).replace(".[", "[")
    value = err.get("input")
    try:
        shown = json.dumps(value)[:80] if not isinstance(value, dict) else "{...}"
    except ValueError:
        shown = f"{str(value)[:40]}..."
    if err["type"] == "extra_forbidden":
        key = str(err["loc"][-1])
        known = NESTED_KEYS.get(str(err["loc"][0]), TOP_KEYS) if len(err["loc"]) > 1 else TOP_KEYS
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else f"; known keys: {', '.join(known)}"
        return f"field {field}: unknown key (value {shown}){hint}"
    return f"field {field or '<line>'}: {err['msg']} (value {shown})"


def _parse_line(raw_line: bytes) -> Any:
    """JSON of one line; ValueError with a reason for bad UTF-8, bad JSON, huge numbers, deep nesting."""
    try:
        text = raw_line.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"not valid UTF-8 (byte 0x{raw_line[exc.start]:02x} at column {exc.start + 1})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not valid JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise ValueError("not valid JSON (nested too deeply)") from None
    except ValueError as exc:  # e.g. an integer with more digits than Python converts
        raise ValueError(f"not valid JSON ({exc})") from None


def load_manifest(path: str | Path, allow_overlap: bool = False) -> Manifest:
    """Parse and validate the whole manifest; raise ManifestError listing every bad line (fields, then
    what the lines mean: `hierskp.ingest.manifest_checks`; overlapping operations only with `allow_overlap`)."""
    from hierskp.ingest.manifest_checks import case_collision, entry_problems

    path = Path(path)
    if not path.is_file():
        raise ManifestError(path, [f"manifest file not found: {path}"])
    rows: list[ManifestRow] = []
    problems: list[str] = []
    seen: dict[str, int] = {}
    seen_lower: dict[str, tuple[str, int]] = {}
    with path.open("rb") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            try:
                raw = _parse_line(line)
            except ValueError as exc:
                problems.append(f"line {lineno}: {exc}")
                continue
            if not isinstance(raw, dict):
                problems.append(f"line {lineno}: expected a JSON object, got {type(raw).__name__}")
                continue
            try:
                entry = VideoEntry.model_validate(raw)
            except ValidationError as exc:
                problems.extend(f"line {lineno}: {_describe(e)}" for e in exc.errors())
                continue
            except RecursionError:
                problems.append(f"line {lineno}: nested too deeply")
                continue
            if entry.video_id in seen:
                problems.append(
                    f"line {lineno}: field video_id: duplicate id (value {entry.video_id!r}, first on line {seen[entry.video_id]})"
                )
                continue
            seen[entry.video_id] = lineno
            meaning = entry_problems(entry, allow_overlap)
            collision = case_collision(entry.video_id, seen_lower)
            seen_lower.setdefault(entry.video_id.lower(), (entry.video_id, lineno))
            if meaning or collision:
                problems.extend(f"line {lineno}: {p}" for p in [*meaning, *([collision] if collision else [])])
                continue
            rows.append(ManifestRow(entry=entry, line=lineno, path=path))
    if not rows and not problems:
        problems.append("the manifest lists no videos (empty file)")
    if problems:
        raise ManifestError(path, problems)
    return Manifest(path=path, rows=tuple(rows))


def write_manifest(path: str | Path, entries: list[VideoEntry] | list[dict[str, Any]]) -> Path:
    """Write entries as JSON Lines atomically (temp file + rename)."""

    def write(tmp: Path) -> None:
        with tmp.open("w", encoding="utf-8") as fh:
            for e in entries:
                data = _drop_empty_texts(e.model_dump(mode="json")) if isinstance(e, VideoEntry) else e
                fh.write(strict_json.dumps(data, ensure_ascii=False) + "\n")

    return atomic_write(path, write)
