"""Consistency checks over a whole cache; used by `hierskp cache validate` and by tests."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import layout as L
from .integrity import deep_problems
from .store import CacheStore


@dataclass
class VideoReport:
    video_id: str
    status: str
    n_frames: int | None = None
    feature_dim: int | None = None
    problems: list[str] = field(default_factory=list)


@dataclass
class CacheReport:
    url: str
    fingerprint_id: str
    videos: list[VideoReport]

    @property
    def problems(self) -> list[str]:
        return [f"{v.video_id}: {p}" for v in self.videos for p in v.problems]

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for v in self.videos:
            out[v.status] = out.get(v.status, 0) + 1
        return out


def _check_rows(group: Any, name: str, rows: int, problems: list[str], dim: int | None = None) -> int | None:
    if name not in group:
        problems.append(f"missing array {name}")
        return None
    arr = group[name]
    if arr.shape[0] != rows:
        problems.append(f"{name} has {arr.shape[0]} rows, expected {rows}")
    if dim is not None and arr.ndim == 2 and arr.shape[1] != dim:
        problems.append(f"{name} has dim {arr.shape[1]}, expected {dim}")
    return int(arr.shape[1]) if arr.ndim == 2 else None


def _check_alt_texts(rec: Any, n_primary: dict[str, int], dim: int | None, problems: list[str]) -> None:
    """Extra captions (layout minor 1): one owner per row, owners sorted and naming an existing primary row."""
    for level, n in n_primary.items():
        emb, owner = rec.alt_texts(level)
        if emb.shape[0] != owner.shape[0] or (emb.shape[0] and emb.shape[1] != dim):
            problems.append(f"{L.ALT_TEXTS[level]} {emb.shape} disagrees with {L.ALT_OWNERS[level]} {owner.shape}")
        elif owner.size and (owner.min() < 0 or owner.max() >= n or np.any(np.diff(owner) < 0)):
            problems.append(f"{L.ALT_OWNERS[level]}: owners must be sorted rows in 0..{n - 1}")


def validate_video(store: CacheStore, video_id: str, deep: bool = True) -> VideoReport:
    status, attrs, marker, problems = store.inspect(video_id)
    report = VideoReport(video_id=video_id, status=status, problems=list(problems))
    if status == "partial":
        report.problems.append("partial: no completion marker (the next extract redoes it)")
        return report
    if status != "complete" or marker is None:
        return report
    rec = store.read_video(video_id)
    group, problems = rec.group, report.problems
    n = int(marker["n_frames"])
    report.n_frames, report.feature_dim = n, marker.get("feature_dim")
    feats = rec.features
    if feats.shape != (n, marker.get("feature_dim")):
        problems.append(f"frames/features shape {feats.shape} != marker ({n}, {marker.get('feature_dim')})")
    if str(feats.dtype) != L.FEATURE_DTYPE:
        problems.append(f"frames/features dtype {feats.dtype}, expected {L.FEATURE_DTYPE}")
    ts = rec.timestamps()
    if ts.shape != (n,):
        problems.append(f"frames/timestamps shape {ts.shape}, expected ({n},)")
    elif n and (not np.all(np.isfinite(ts)) or np.any(np.diff(ts) <= 0) or ts[0] < 0):
        problems.append("frames/timestamps are not finite, non-negative and strictly increasing")
    if n == 0:
        problems.append("no frames")
    ann = rec.annotations
    n_ops, n_nar = len(ann.get("operations", [])), len(ann.get("frames", []))
    dt_dim = _check_rows(group, L.TEXT_VIDEO, 1, problems)
    _check_rows(group, L.TEXT_OPERATIONS, n_ops, problems, dt_dim)
    _check_rows(group, L.TEXT_NARRATIONS, n_nar, problems, dt_dim)
    _check_rows(group, L.SEGMENTS, n_ops, problems)
    _check_rows(group, L.NARRATION_TIMES, n_nar, problems)
    if rec.has_alt_texts() and not problems:
        _check_alt_texts(rec, {"video": 1, "operations": n_ops, "narrations": n_nar}, dt_dim, problems)
    if deep and not problems:
        problems.extend(deep_problems(group, marker))
    if deep and not problems:
        step = L.FEATURE_CHUNK_FRAMES * 16
        for start in range(0, n, step):
            if not np.all(np.isfinite(feats[start : start + step])):
                problems.append(f"non-finite features in rows {start}..{min(n, start + step) - 1}")
                break
    if problems:
        report.status = "corrupt"
    return report


def _from_survey(vid: str, found: dict[str, Any]) -> VideoReport:
    problems = list(found["problems"])
    if found["status"] == "partial":
        problems.append("partial: no completion marker (the next extract redoes it)")
    return VideoReport(vid, found["status"], found.get("n_frames"), found.get("feature_dim"), problems)


def validate_cache(store: CacheStore, deep: bool = True, expected: Iterable[str] | None = None) -> CacheReport:
    """Check every video group; with `expected` (a manifest's ids) also report the ones missing.
    A cache is consistent when no video reports a problem. The deep check re-reads every video; the
    shallow one only those changed since the last recorded check (`verified.survey`)."""
    if deep:
        videos = [validate_video(store, v, deep=True) for v in store.video_ids(status=None)]
    else:
        from .verified import survey

        videos = [_from_survey(v, r) for v, r in survey(store, "shallow").items()]
    present = {v.video_id for v in videos}
    for vid in sorted(set(expected or ()) - present):
        videos.append(VideoReport(video_id=vid, status="absent", problems=["in the manifest but not in the cache"]))
    dims = {v.feature_dim for v in videos if v.feature_dim is not None}
    if len(dims) > 1:
        for v in videos:
            v.problems.append(f"feature dims differ across videos: {sorted(dims)}")
    return CacheReport(url=store.url, fingerprint_id=store.fingerprint_id, videos=videos)


def require_valid(store: CacheStore, deep: bool = True) -> list[str]:
    """The complete video ids a reader may use; raises CorruptVideoError naming each damaged video
    (cheap check, fingerprints; with `deep` also checksums and non-finite values). Each video is read
    once per completion marker: `verified.verified_ids` re-reads only what changed since."""
    from .verified import verified_ids

    return verified_ids(store, deep)
