"""What a manifest means, checked beyond each line's fields (`hierskp.ingest.manifest` checks those).

* ids: a name the cache store uses for itself (`cache_schema.claims.reserved_id_problem`) is never a
  video id, nor two ids that differ only in case (one folder on a case-insensitive file system);
* operations: in time order (their order is the step order training uses) and not overlapping,
  unless the caller says the dataset allows overlaps (``--allow-overlapping-operations``);
* files (`file_problems`, `hierskp manifest validate` by default): each video exists, is a regular
  file and stays in the dataset folder; one source file under two ids (same resolved path, or same
  content: sha256, hashed only where sizes match) is an error, named leakage when the splits differ.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from cache_schema.claims import reserved_id_problem
from hierskp.files.checksums import file_sha256

if TYPE_CHECKING:
    from hierskp.ingest.manifest import Manifest, VideoEntry

OVERLAP_TOLERANCE_S = 1e-6


def entry_problems(entry: VideoEntry, allow_overlap: bool) -> list[str]:
    """Problems of one valid line: a reserved id, operations out of time order or overlapping."""
    out = []
    reserved = reserved_id_problem(entry.video_id)
    if reserved:
        out.append(f"field video_id: {reserved}; choose another id")
    ops = entry.operations
    for i in range(1, len(ops)):
        prev, op = ops[i - 1], ops[i]
        if op.start < prev.start:
            out.append(
                f"field operations[{i}].start: value {op.start:g} is before operations[{i - 1}].start "
                f"{prev.start:g}; list operations in time order (their order is the step order)"
            )
        elif op.start < prev.end - OVERLAP_TOLERANCE_S and not allow_overlap:
            out.append(
                f"field operations[{i}].start: value {op.start:g} overlaps operations[{i - 1}] "
                f"({prev.start:g}-{prev.end:g}); fix the times, or pass --allow-overlapping-operations "
                "if the dataset's operations may overlap"
            )
    return out


def case_collision(video_id: str, seen_lower: dict[str, tuple[str, int]]) -> str | None:
    """An id that differs from an earlier one only in case; `seen_lower` maps lower-case ids to (id, line)."""
    other = seen_lower.get(video_id.lower())
    if other and other[0] != video_id:
        return (
            f"field video_id: {video_id!r} differs only in case from {other[0]!r} (line {other[1]}); both would be "
            "one folder on a case-insensitive file system"
        )
    return None


def file_problems(manifest: Manifest, allow_outside: bool = False) -> list[str]:
    """Each video file exists, is a regular file, stays in the dataset folder; no file under two ids."""
    from hierskp.ingest.manifest import ManifestPathError

    problems, found = [], []
    for row in manifest.rows:
        where = f"line {row.line}: field video"
        try:
            target = manifest.resolved_video_path(row, allow_outside)
        except ManifestPathError as exc:
            problems.append(f"line {row.line}: {str(exc).split(': ', 1)[-1]}")
            continue
        if not target.exists():
            problems.append(f"{where}: file not found (value {row.entry.video!r} -> {target})")
        elif not target.is_file():
            problems.append(f"{where}: not a regular file (value {row.entry.video!r} -> {target})")
        else:
            found.append((row, target))
    return problems + _same_source(found)


def _same_source(found: list[tuple[Any, Path]]) -> list[str]:
    """One file under two ids: by resolved path, then by content among distinct files of equal size."""
    by_path: dict[Path, list[Any]] = defaultdict(list)
    for row, target in found:
        by_path[target].append(row)
    groups = [("the same file", rows) for rows in by_path.values()]
    by_size: dict[int, list[tuple[Path, Any]]] = defaultdict(list)
    for target, rows in by_path.items():
        by_size[target.stat().st_size].append((target, rows[0]))
    by_hash: dict[str, list[Any]] = defaultdict(list)
    for same_size in (g for g in by_size.values() if len(g) > 1):
        for target, row in same_size:
            by_hash[file_sha256(target)].append(row)
    groups += [("a file with the same content", rows) for rows in by_hash.values()]
    problems = []
    for same, rows in groups:
        for first, row in zip(rows, rows[1:]):
            kind = "leakage across splits" if first.entry.split != row.entry.split else "a duplicate video"
            problems.append(
                f"line {row.line}: field video: {row.entry.video_id!r} ({row.entry.split}) is {same} as "
                f"{first.entry.video_id!r} ({first.entry.split}) on line {first.line}: {kind}; list each video once"
            )
    return problems
