"""Verify each video once per completion marker: what a reader checked, recorded for the next reader.

CACHE/_commits/verified.json (beside the commit log; zarr never lists it) holds
{"generation": ..., "videos": {id: {"marker": sha256 of the marker, "listing": {array: chunks, "zarr.json": n},
"keys": key-set id, "level": 0|1|2, summary}}, "key_sets": {id: [the video folder's keys]}}
(videos with the same arrays and chunk grid share one key set).
`verified_ids` (training's start-up) opens only the videos the commit log names as changed since the record
(or, without a usable record, every video). Every other video must still hold every key recorded for it: on
a local store one stat a key (~180,000 at 10,000 videos, ~1 CPU-s here, where walking their folders took
~11), elsewhere one listing of the cache. A video missing a key (a chunk or a metadata document deleted by
hand) is listed and inspected. The shallow and deep checks (`validate_video`'s row checks; checksums of
every value) run once per marker, the level recorded.
`survey` also serves `hierskp cache ls`, `show` and `validate --shallow`.
The record is written where the store allows (best effort: a read-only cache is checked every time).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import defaultdict
from typing import Any

from . import commits, rawstore
from . import layout as L
from .atomic import atomic_write_text
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
    try:
        atomic_write_text(path, json.dumps({**rec, "format": FORMAT}, sort_keys=True))
    except OSError:
        pass  # a read-only cache: the next start-up checks again


def _marker_sha(marker: dict[str, Any] | None) -> str | None:
    return None if marker is None else hashlib.sha256(json.dumps(marker, sort_keys=True).encode()).hexdigest()


def _counts(keys: list[str]) -> dict[str, int]:
    """{array: chunks stored, "zarr.json": metadata documents} of one video folder's keys."""
    counts: dict[str, int] = defaultdict(int)
    for key in keys:
        array, sep, _ = key.partition("/c/")
        if sep:
            counts[array] += 1
        elif key.endswith(META):
            counts[META] += 1
    return dict(counts)


def chunk_counts(store: Any) -> dict[str, dict[str, int]]:
    """{video_id: `_counts` of its keys} from one listing of `videos/`."""
    keys: dict[str, list[str]] = defaultdict(list)
    for key in rawstore.list_prefix(store.root, f"{L.VIDEOS}/"):
        vid, _, rest = key.partition("/")
        keys[vid].append(rest)
    return {v: _counts(k) for v, k in keys.items()}


def _key_set_id(keys: list[str]) -> str:
    return hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]


def _expected(marker: dict[str, Any]) -> dict[str, int]:
    return {name: int(e.get("chunks", 0)) for name, e in (marker.get("arrays") or {}).items() if e.get("chunks")}


SUMMARY = ("n_frames", "feature_dim", "decoder", "fingerprint_id")
LEVELS = {"cheap": 0, "shallow": 1, "deep": 2}  # inspect; + validate_video's row checks; + checksums


def _summary(marker: dict[str, Any], attrs: dict[str, Any]) -> dict[str, Any]:
    prov = attrs.get(L.PROVENANCE) or {}
    return {
        "n_frames": marker.get("n_frames"),
        "feature_dim": marker.get("feature_dim"),
        "decoder": marker.get("decoder"),
        "fingerprint_id": prov.get("fingerprint_id") if isinstance(prov, dict) else None,
    }


def _check(store: Any, vid: str, level: int) -> list[str]:
    from .validate import validate_video  # validate imports store; store does not import this module

    return validate_video(store, vid, deep=level >= LEVELS["deep"]).problems if level else []


def _listed(
    store: Any, known: dict[str, Any], key_sets: dict[str, list[str]], changed: set[str] | None, listing: bool
) -> tuple[dict[str, dict[str, int]], dict[str, list[str]]]:
    """({video_id: counts} of every video group, {video_id: keys} of the folders listed to get them).
    A video the commit log names as unchanged since its record keeps its recorded counts while every key
    recorded for it is present (`listing=False`, `cache ls`/`show`: without looking, so a chunk deleted by
    hand is not seen); any other video's folder is listed. A store without cheap stats is listed once."""
    if listing and not rawstore.is_local(store.root):
        counts = chunk_counts(store)
        return {v: counts[v] for v in sorted(counts) if re.match(L.VIDEO_ID_PATTERN, v)}, {}
    counts, walked = {}, {}
    for vid in store.video_ids(status=None):
        entry = known.get(vid)
        trusted = entry is not None and entry.get("listing") and changed is not None and vid not in changed
        keys = key_sets.get(entry.get("keys", "")) if trusted else None
        if trusted and (
            not listing or (keys is not None and rawstore.all_present(store.root, f"{L.VIDEOS}/{vid}/", keys))
        ):
            counts[vid] = entry["listing"]
            continue
        walked[vid] = sorted(rawstore.list_prefix(store.root, f"{L.VIDEOS}/{vid}/"))
        counts[vid] = _counts(walked[vid])
    return counts, walked


def survey(store: Any, level: str = "cheap", listing: bool = True) -> dict[str, dict[str, Any]]:
    """{video_id: {"status", "problems", **summary}} for every video group, each checked to `level`, reading
    only videos changed since the last recorded check (a stat of every recorded key, or one listing, shows
    deleted chunks and metadata). Partial and damaged videos are reported, never recorded, so they are read
    every time. `listing=False` (`cache ls`, `cache show`): not even that (~1 CPU-s at 10,000 videos here),
    so the status of a video changed by hand, not by a writer, is the one recorded at its last check."""
    want = LEVELS[level]
    generation = store.generation()  # before anything is read: a later change moves it
    rec = _load(store)
    known: dict[str, Any] = rec.get("videos", {}) if commits.same_log(rec.get("generation"), generation) else {}
    changed = commits.changed_since(store.root, rec.get("generation")) if known else None
    key_sets: dict[str, list[str]] = rec.get("key_sets", {}) if known else {}
    counts, walked = _listed(store, known, key_sets, changed, listing)
    out: dict[str, dict[str, Any]] = {}
    videos: dict[str, Any] = {}
    for vid in counts:
        entry = known.get(vid)
        fresh = entry is not None and changed is not None and vid not in changed and entry["listing"] == counts[vid]
        if not fresh:
            status, attrs, marker, problems = store.inspect(vid)
            if status != "complete" or marker is None:
                out[vid] = {"status": status, "problems": problems, **_summary(marker or {}, attrs)}
                continue
            # recorded only when the listing agrees with the marker (else it changed while we read it)
            agrees = _expected(marker) == {k: v for k, v in counts[vid].items() if k != META}
            entry = {"marker": _marker_sha(marker), "listing": counts[vid] if agrees else None, "level": 0}
            entry.update(_summary(marker, attrs))
        if vid in walked and entry["listing"] == counts[vid]:  # what the folder holds, for the next stat pass
            key_sets[kid := _key_set_id(walked[vid])] = walked[vid]
            entry = {**entry, "keys": kid}
        if entry["level"] < want:
            problems = _check(store, vid, want)
            if problems:
                out[vid] = {"status": "corrupt", "problems": problems, **{k: entry.get(k) for k in SUMMARY}}
                continue
            entry = {**entry, "level": want}
        videos[vid] = entry
        out[vid] = {"status": "complete", "problems": [], **{k: entry.get(k) for k in SUMMARY}}
    store.mark_checked([v for v, r in out.items() if r["status"] == "complete"])
    used = {e["keys"] for e in videos.values() if e.get("keys")}
    sets = {k: key_sets[k] for k in used}
    if generation is not None and (
        videos != known or sets != rec.get("key_sets", {}) or rec.get("generation") != generation
    ):
        _save(store, {"generation": generation, "videos": videos, "key_sets": sets})
    return out


def verified_ids(store: Any, deep: bool) -> list[str]:
    """The complete video ids a reader may use (the cheap check; with `deep` the checksums too). Raises
    CorruptVideoError naming every damaged video."""
    found = survey(store, "deep" if deep else "cheap")
    bad = [f"{v}: {p}" for v, r in found.items() if r["status"] == "corrupt" for p in r["problems"]]
    if bad:
        from .store import repair_command  # store does not import this module

        fix = repair_command(store, [v for v, r in found.items() if r["status"] == "corrupt"])
        raise CorruptVideoError(f"{store.url}: {len(bad)} problem(s); repair with `{fix}`:\n  " + "\n  ".join(bad))
    return [v for v, r in found.items() if r["status"] == "complete"]


def intact(store: Any, video_id: str) -> bool:
    """A light cheap check of one video: its group metadata read raw and one listing of its keys; the
    marker present, the provenance fingerprint the cache's, every array's chunk count the marker's
    (what a search checks on each hit's video, ~1 ms where `inspect` opens every array)."""
    raw = rawstore.get_bytes(store.root, f"{L.VIDEOS}/{video_id}/zarr.json")
    try:
        attrs = json.loads(raw)["attributes"] if raw else {}
    except (ValueError, KeyError, TypeError):
        return False
    marker, prov = attrs.get(L.COMPLETE), attrs.get(L.PROVENANCE)
    if not isinstance(marker, dict) or not isinstance(prov, dict) or prov.get("fingerprint_id") != store.fingerprint_id:
        return False
    counts: dict[str, int] = defaultdict(int)
    for key in rawstore.list_prefix(store.root, f"{L.VIDEOS}/{video_id}/"):
        array, sep, _ = key.partition("/c/")
        if sep:
            counts[array] += 1
    return dict(counts) == _expected(marker)
