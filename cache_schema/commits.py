"""The cache's commit log: a generation number that moves with every completion-marker write and delete.

CACHE/_commits/log is an append-only file of JSON lines. Each marker write or delete is bracketed:

    {"op": "commit"|"delete", "video": ID, "token": T, "phase": "begin"}   appended before the marker change
    {"op": ..., "video": ID, "token": T, "phase": "end"}                   appended after it

Every record is one `write` on a file opened with O_APPEND, so writers in several processes never
lose or interleave each other's records (local file systems; not NFS). The generation is the log's
size in bytes (with its path and a digest of its last 4 KiB): one small read. A reader that recorded generation G and sees G again knows no marker
changed since, except for videos whose last `begin` has no `end` ("pending": a writer in the middle
of its change, or one killed there). Those are few; `Generation` carries the raw metadata digest of
each, so comparing two generations re-reads only them. A kill between `begin` and the marker leaves
its video pending until a later writer of that video appends its own records.

Only local stores keep a log (object stores have no append): `generation` is None there, and for a
cache written before the log existed (layout minor < 2), so readers fall back to inspecting videos.

Memos (`memoized`): per-video values a reader derives from a video's arrays, recorded against the video's group metadata.

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
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import zarr
from zarr.storage import LocalStore

from . import layout as L
from . import rawstore
from .atomic import atomic_write_text

COMMITS = "_commits"
LOG = f"{COMMITS}/log"
# `_commits` is an empty array node, so zarr's and xarray's walks of the hierarchy stop there and never
# meet the log file (a stray file under a group makes zarr warn "not recognized as a component")
_NODE_META = L.empty_array_node("commit", "commit log of completion markers: see cache_schema/commits.py")

# {"log": path, "log_size": bytes, "tail": sha256 of the last 4 KiB, "pending": {video_id: metadata sha256 or None}};
# the tail's random tokens tell apart two logs of one size (a copied cache that then changed otherwise)
Generation = dict
_TAIL = 4096


def log_path(root: zarr.Group) -> Path | None:
    """The log file of a cache on a local store; None for other stores."""
    store = root.store
    if not isinstance(store, LocalStore):
        return None
    base = Path(store.root)
    return base / root.store_path.path / LOG if root.store_path.path else base / LOG


def create(root: zarr.Group) -> None:
    """Start the log of a cache (its writers then keep it); a no-op where it exists or cannot exist."""
    path = log_path(root)
    if path is None or path.exists():
        return
    rawstore.put_if_absent(root, f"{COMMITS}/zarr.json", _NODE_META)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.close(fd)


def _append(path: Path, record: dict) -> None:
    line = (json.dumps(record, sort_keys=True) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        if os.write(fd, line) != len(line):
            raise OSError(f"{path}: short append to the commit log")
    finally:
        os.close(fd)


@contextmanager
def marker_change(root: zarr.Group, op: str, video_id: str) -> Iterator[None]:
    """Bracket one marker write or delete with the log's begin and end records (no log: nothing)."""
    path = log_path(root)
    if path is None or not path.exists():
        yield
        return
    rec = {"op": op, "video": video_id, "token": uuid.uuid4().hex}
    _append(path, {**rec, "phase": "begin"})
    yield
    _append(path, {**rec, "phase": "end"})


def _pending(path: Path, size: int) -> list[str]:
    """Videos whose last begin (in the first `size` bytes) has no end."""
    last: dict[str, str] = {}
    ended: set[str] = set()
    with path.open("rb") as fh:
        data = fh.read(size)
    for line in data.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # a torn last line cannot happen with O_APPEND writes; skip rather than fail
        if rec.get("phase") == "begin":
            last[rec["video"]] = rec["token"]
        elif rec.get("phase") == "end":
            ended.add(rec["token"])
    return sorted(v for v, tok in last.items() if tok not in ended)


def _group_digest(root: zarr.Group, video_id: str) -> str | None:
    raw = rawstore.get_bytes(root, f"{L.VIDEOS}/{video_id}/zarr.json")
    return None if raw is None else hashlib.sha256(raw).hexdigest()


def _position(path: Path) -> dict | None:
    """Where the log stands: its path, size and a digest of its last bytes; None when it is missing."""
    try:
        with path.open("rb") as fh:
            size = os.fstat(fh.fileno()).st_size
            fh.seek(max(0, size - _TAIL))
            tail = fh.read(size - max(0, size - _TAIL))
    except FileNotFoundError:
        return None
    return {"log": str(path.resolve()), "log_size": size, "tail": hashlib.sha256(tail).hexdigest()}


def generation(root: zarr.Group) -> Generation | None:
    """The cache's generation now (read it BEFORE inspecting videos), or None where there is no log."""
    path = log_path(root)
    where = None if path is None else _position(path)
    if where is None:
        return None
    pending = _pending(path, where["log_size"])  # type: ignore[arg-type]
    return {**where, "pending": {v: _group_digest(root, v) for v in pending}}


def unchanged(root: zarr.Group, recorded: Generation | None) -> bool:
    """Whether no completion marker changed since `recorded` was read: one stat, plus one metadata
    read per video that was pending then. False where there is no log."""
    path = log_path(root)
    if path is None or not isinstance(recorded, dict):
        return False
    where = _position(path)
    if where is None or any(recorded.get(k) != v for k, v in where.items()):
        return False
    pending = recorded.get("pending") or {}
    return all(_group_digest(root, v) == digest for v, digest in pending.items())


def same_log(recorded: Generation | None, now: Generation | None) -> bool:
    """Both generations come from this cache's log (so `changed_since` can tell what moved)."""
    return isinstance(recorded, dict) and isinstance(now, dict) and recorded.get("log") == now.get("log")


def changed_since(root: zarr.Group, recorded: Generation | None) -> set[str] | None:
    """The videos whose marker may have changed since `recorded`: those named by the records appended
    since, and those pending then. None when it cannot tell (no log, or not the log it recorded)."""
    path = log_path(root)
    if path is None or not isinstance(recorded, dict) or recorded.get("log") != str(path.resolve()):
        return None
    size = int(recorded.get("log_size", -1))
    try:
        with path.open("rb") as fh:
            fh.seek(max(0, size - _TAIL))
            if size < 0 or hashlib.sha256(fh.read(size - max(0, size - _TAIL))).hexdigest() != recorded.get("tail"):
                return None
            fh.seek(size)
            appended = fh.read()
    except (FileNotFoundError, ValueError):
        return None
    names = set(recorded.get("pending") or {})
    for line in appended.splitlines():
        try:
            names.add(json.loads(line)["video"])
        except (ValueError, KeyError, TypeError):
            return None
    return names


MEMO_FORMAT = 1


def _memo_path(store: Any, name: str) -> Path | None:
    log = log_path(store.root)
    return None if log is None else log.with_name(f"memo-{name}.json")


def _memo_load(path: Path | None) -> dict[str, Any]:
    try:
        rec = json.loads(path.read_bytes()) if path is not None else {}
    except (OSError, ValueError):
        return {}
    return rec.get("videos", {}) if isinstance(rec, dict) and rec.get("format") == MEMO_FORMAT else {}


def _memo_save(path: Path | None, videos: dict[str, Any]) -> None:
    if path is None:
        return
    try:
        atomic_write_text(path, json.dumps({"format": MEMO_FORMAT, "videos": videos}))
    except OSError:
        pass  # a read-only cache: the next reader derives again


def _meta_digest(store: Any, video_id: str) -> str | None:
    """sha256 of a video group's zarr.json."""
    raw = rawstore.get_bytes(store.root, f"{L.VIDEOS}/{video_id}/zarr.json")
    return None if raw is None else hashlib.sha256(raw).hexdigest()


def memoized(store: Any, name: str, video_ids: list[str], derive: Callable[[str], Any]) -> dict[str, Any]:
    """{video_id: derive(video_id)} for `video_ids`, from the record where a video's metadata is unchanged.
    The record keeps exactly these videos (callers pass every video they may ask for)."""
    path = _memo_path(store, name)
    known = _memo_load(path)
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
        _memo_save(path, keep)
    return out
