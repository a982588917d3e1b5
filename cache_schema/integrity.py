"""What the completion marker records about each array, and the checks that prove a group whole.

The marker (layout version 2) holds, per array, its shape, the number of chunks it has on disk
and the sha256 of its values (C-order bytes in the stored dtype). The cheap check (shape and
chunk presence: metadata reads and one listing per array) runs whenever a video is opened; the
deep check re-reads every value and compares the checksums (`hierskp cache validate`).
A deleted chunk reads back as fill values without any zarr error, so only these catch it.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import numpy as np
import zarr

from . import layout as L

ARRAY_NAMES = (
    L.FEATURES,
    L.TIMESTAMPS,
    L.TEXT_VIDEO,
    L.TEXT_OPERATIONS,
    L.TEXT_NARRATIONS,
    L.SEGMENTS,
    L.NARRATION_TIMES,
)
# optional arrays (layout minor 1): checked like the others when the marker records them
OPTIONAL_ARRAY_NAMES = tuple(L.ALT_TEXTS.values()) + tuple(L.ALT_OWNERS.values())
# arrays are written with every chunk stored, fill-valued or not, so chunk counts are exact
ARRAY_CONFIG = {"write_empty_chunks": True}
_BLOCK_ROWS = L.FEATURE_CHUNK_FRAMES * 16


def expected_chunks(shape: tuple[int, ...], chunks: tuple[int, ...]) -> int:
    return math.prod(math.ceil(s / c) for s, c in zip(shape, chunks)) if all(shape) else 0


def array_entry(arr: zarr.Array, sha256: str) -> dict[str, Any]:
    return {"shape": list(arr.shape), "chunks": expected_chunks(arr.shape, arr.chunks), "sha256": sha256}


def values_sha256(arr: zarr.Array) -> str:
    """sha256 of an array's values, read in blocks of rows (bounded memory)."""
    digest = hashlib.sha256()
    rows = arr.shape[0] if arr.ndim else 1
    for start in range(0, rows, _BLOCK_ROWS):
        block = np.ascontiguousarray(arr[start : start + _BLOCK_ROWS], dtype=arr.dtype)
        digest.update(block.tobytes())
    return digest.hexdigest()


def cheap_problems(group: zarr.Group, marker: dict[str, Any]) -> list[str]:
    """Shapes and chunk counts against the marker; no values read. Empty when the group is whole."""
    arrays = marker.get("arrays")
    if not isinstance(arrays, dict):
        return ["completion marker records no arrays (written by an older layout?)"]
    problems = []
    for name in ARRAY_NAMES + tuple(n for n in OPTIONAL_ARRAY_NAMES if n in arrays):
        want = arrays.get(name)
        if not isinstance(want, dict):
            problems.append(f"array {name}: not recorded in the completion marker")
            continue
        try:
            arr = group[name]
        except KeyError:
            problems.append(f"array {name}: missing")
            continue
        except Exception as exc:  # noqa: BLE001 - damaged metadata is a named problem
            problems.append(f"array {name}: unreadable metadata ({type(exc).__name__}: {exc})")
            continue
        if list(arr.shape) != list(want.get("shape", [])):
            problems.append(f"array {name}: shape {list(arr.shape)}, the marker recorded {want.get('shape')}")
            continue
        have = arr.nchunks_initialized
        if have != want.get("chunks"):
            problems.append(f"array {name}: {have} chunk(s) stored, the marker recorded {want.get('chunks')}")
    return problems


def unreadable_chunk(arr: zarr.Array) -> str | None:
    """The first chunk of `arr` that cannot be read (e.g. a broken compressed stream), named by its
    index and rows, with the codec's error; None when every chunk reads."""
    step = arr.chunks[0] if arr.ndim else 1
    rows = arr.shape[0] if arr.ndim else 1
    for i, start in enumerate(range(0, rows, step)):
        try:
            arr[start : start + step]
        except Exception as exc:  # noqa: BLE001 - a codec error is the finding, named
            return f"chunk {i} (rows {start}..{min(rows, start + step) - 1}) unreadable ({type(exc).__name__}: {exc})"
    return None


def deep_problems(group: zarr.Group, marker: dict[str, Any]) -> list[str]:
    """Checksums of every value against the marker (run after `cheap_problems` found nothing); a chunk
    that cannot even be decoded is named (array, chunk, rows) instead of raising."""
    problems = []
    for name, want in marker.get("arrays", {}).items():
        arr = group[name]
        try:
            got = values_sha256(arr)
        except Exception as exc:  # noqa: BLE001 - find and name the chunk
            problems.append(f"array {name}: {unreadable_chunk(arr) or f'unreadable ({type(exc).__name__}: {exc})'}")
            continue
        if got != want.get("sha256"):
            problems.append(f"array {name}: values checksum {got[:12]} != marker {str(want.get('sha256'))[:12]}")
    return problems


class RunningHash:
    """sha256 of the rows appended to an array, in order (the writer's side of `values_sha256`)."""

    def __init__(self) -> None:
        self._digest = hashlib.sha256()

    def update(self, values: np.ndarray) -> None:
        self._digest.update(np.ascontiguousarray(values).tobytes())

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
