"""Per-video values a reader derives from a video's arrays, recorded against the video's group metadata.

CACHE/_commits/memo-NAME.json (beside the commit log; zarr never lists it) holds
{"format": 1, "videos": {id: {"meta": sha256 of the group's zarr.json, "value": JSON}}}.
A video group's zarr.json holds its completion marker, which names the sha256 of every array, and its
annotations: while those bytes are unchanged, so is everything a value was derived from (or it is
damaged, which verification catches: a memo vouches for no integrity). A re-extraction, an annotation
update or a delete rewrites or removes the bytes, and the value is derived again. Cost of a hit: one
small file read and a sha256, where deriving opens several arrays through zarr (~13 ms a video).
The record is written where the store allows (best effort: a read-only cache derives every time).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import commits, rawstore
from . import layout as L

FORMAT = 1


def _path(store: Any, name: str) -> Path | None:
    log = commits.log_path(store.root)
    return None if log is None else log.with_name(f"memo-{name}.json")


def _load(path: Path | None) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_bytes()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return rec.get("videos", {}) if isinstance(rec, dict) and rec.get("format") == FORMAT else {}


def _save(path: Path | None, videos: dict[str, Any]) -> None:
    if path is None:
        return
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({"format": FORMAT, "videos": videos}))
        os.replace(tmp, path)
    except OSError:
        tmp.unlink(missing_ok=True)  # a read-only cache: the next reader derives again


def _meta_digest(store: Any, video_id: str) -> str | None:
    """sha256 of a video group's zarr.json."""
    raw = rawstore.get_bytes(store.root, f"{L.VIDEOS}/{video_id}/zarr.json")
    return None if raw is None else hashlib.sha256(raw).hexdigest()


def memoized(store: Any, name: str, video_ids: list[str], derive: Callable[[str], Any]) -> dict[str, Any]:
    """{video_id: derive(video_id)} for `video_ids`, from the record where a video's metadata is unchanged.
    The record keeps exactly these videos (callers pass every video they may ask for)."""
    path = _path(store, name)
    known = _load(path)
    out: dict[str, Any] = {}
    keep: dict[str, Any] = {}
    for vid in video_ids:
        digest, entry = _meta_digest(store, vid), known.get(vid)
        if isinstance(entry, dict) and digest is not None and entry.get("meta") == digest:
            out[vid], keep[vid] = entry["value"], entry
            continue
        out[vid] = json.loads(json.dumps(derive(vid)))  # a hit and a miss give the same types
        if digest is not None and _meta_digest(store, vid) == digest:  # unchanged while it was derived
            keep[vid] = {"meta": digest, "value": out[vid]}
    if keep != known:
        _save(path, keep)
    return out
