"""Verify each video once per completion marker: what a reader checked, recorded for the next reader.

CACHE/_commits/verified.json (beside the commit log; zarr never lists it) holds
{"generation": ..., "videos": {id: {"marker": sha256 of the marker, "listing": {array: chunks, "zarr.json": n}, "deep": bool}}}.
`verified_ids` (training's start-up) takes ONE listing of the cache's keys, which counts the chunks of
every array, and opens only the videos the commit log names as changed since the record (or, without a
usable record, every video): a video whose marker is recorded and whose chunk counts still match needs
no per-video read; a deleted chunk changes a count and is inspected. The deep check (checksums of
every value) runs once per marker: after it passed, a later deep start-up only re-reads changed videos.
The record is written where the store allows (best effort: a read-only cache is checked every time).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections import defaultdict
from typing import Any

from . import commits, rawstore
from . import layout as L
from .errors import CorruptVideoError

RECORD = f"{commits.COMMITS}/verified.json"
FORMAT = 1
META = "zarr.json"


def _load(store: Any) -> dict[str, Any]:
    raw = rawstore.get_bytes(store.root, RECORD)
    try:
        rec = json.loads(raw) if raw else {}
    except ValueError:
        return {}
    return rec if isinstance(rec, dict) and rec.get("format") == FORMAT else {}


def _save(store: Any, rec: dict[str, Any]) -> None:
    """Beside the commit log, replaced atomically (readers open the store read-only, so not through it)."""
    log = commits.log_path(store.root)
    if log is None:
        return
    path = log.with_name("verified.json")
    tmp = path.with_name(f"verified.json.{os.getpid()}.tmp")
    try:
        tmp.write_text(json.dumps({**rec, "format": FORMAT}, sort_keys=True))
        os.replace(tmp, path)
    except OSError:
        pass  # a read-only cache: the next start-up checks again


def _marker_sha(marker: dict[str, Any] | None) -> str | None:
    return None if marker is None else hashlib.sha256(json.dumps(marker, sort_keys=True).encode()).hexdigest()


def chunk_counts(store: Any) -> dict[str, dict[str, int]]:
    """{video_id: {array: chunks stored, "zarr.json": metadata documents}} from one listing of `videos/`."""
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for key in rawstore.list_prefix(store.root, f"{L.VIDEOS}/"):
        vid, _, rest = key.partition("/")
        array, sep, _ = rest.partition("/c/")
        if sep:
            counts[vid][array] += 1
        elif rest.endswith("zarr.json"):
            counts[vid][META] += 1
    return {v: dict(c) for v, c in counts.items()}


def _expected(marker: dict[str, Any]) -> dict[str, int]:
    return {name: int(e.get("chunks", 0)) for name, e in (marker.get("arrays") or {}).items() if e.get("chunks")}


def verified_ids(store: Any, deep: bool) -> list[str]:
    """The complete video ids a reader may use, checked as `require_valid` checks them (the cheap check;
    with `deep` the checksums too), reading only what changed since the last recorded verification.
    Raises CorruptVideoError naming every damaged video."""
    from .validate import validate_video  # validate imports store; store does not import this module

    generation = store.generation()  # before anything is read: a later change moves it
    rec = _load(store)
    known: dict[str, Any] = rec.get("videos", {}) if commits.same_log(rec.get("generation"), generation) else {}
    changed = commits.changed_since(store.root, rec.get("generation")) if known else None
    counts = chunk_counts(store)
    good, bad, videos = [], [], {}
    for vid in sorted(v for v in counts if re.match(L.VIDEO_ID_PATTERN, v)):
        entry = known.get(vid)
        fresh = entry is not None and changed is not None and vid not in changed and entry["listing"] == counts[vid]
        if not fresh:
            status, _, marker, problems = store.inspect(vid)
            if status == "corrupt":
                bad += [f"{vid}: {p}" for p in problems]
                continue
            if status != "complete" or marker is None:
                continue
            # recorded only when the listing agrees with the marker (else it changed while we read it)
            agrees = _expected(marker) == {k: v for k, v in counts[vid].items() if k != META}
            entry = {"marker": _marker_sha(marker), "listing": counts[vid] if agrees else None, "deep": False}
        if deep and not entry["deep"]:
            problems = validate_video(store, vid, deep=True).problems
            if problems:
                bad += [f"{vid}: {p}" for p in problems]
                continue
            entry = {**entry, "deep": True}
        videos[vid] = entry
        good.append(vid)
    store.mark_checked(good)
    if bad:
        raise CorruptVideoError(f"{store.url}: {len(bad)} problem(s); rerun extract to repair:\n  " + "\n  ".join(bad))
    if generation is not None:
        _save(store, {"generation": generation, "videos": videos})
    return good
