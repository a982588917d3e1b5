"""The catalog of cached videos a run uses: frame ranges and strings, never features.

`catalog(store, splits)` lists one `CachedVideo` per complete video. Building it reads each video's timestamps once to turn annotation times into frame rows; after
that a training item needs only its own chunk-sliced feature rows and its (small) text arrays.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

import numpy as np

from cache_schema import CacheStore, caption_pool
from cache_schema.commits import memoized


def text_key(text: str) -> int:
    """Stable 63-bit id of a string: identical texts have identical embeddings, so they must not
    be each other's negatives (they are masked out of the contrastive denominators)."""
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little") >> 1


@dataclass(frozen=True)
class CachedVideo:
    video_id: str
    split: str
    procedure: str
    n_frames: int
    op_rows: np.ndarray  # [K, 2] int64 frame rows [a, b), at least one row each
    op_times: np.ndarray  # [K, 2] float64 seconds (annotation)
    narr_rows: np.ndarray  # [F] int64 row nearest each narration time
    narr_times: np.ndarray  # [F] float64 seconds
    narr_op: np.ndarray  # [F] int64 operation containing the narration, -1 if none
    video_text: str
    op_texts: tuple[str, ...]
    op_labels: tuple[str, ...]
    narr_texts: tuple[str, ...]
    # extra captions (manifest `texts`, cache text/alt/*): per annotation the captions beyond the primary,
    # in the order of their rows in the cache's alt arrays; empty where the cache has none
    video_alts: tuple[str, ...] = ()
    op_alts: tuple[tuple[str, ...], ...] = ()
    narr_alts: tuple[tuple[str, ...], ...] = ()

    @property
    def has_alts(self) -> bool:
        return bool(self.video_alts or any(self.op_alts) or any(self.narr_alts))

    @property
    def n_ops(self) -> int:
        return int(self.op_rows.shape[0])


def nearest_rows(timestamps: np.ndarray, times: np.ndarray) -> np.ndarray:
    """Row whose timestamp is closest to each time (ties go to the earlier row)."""
    if timestamps.size <= 1:
        return np.zeros(len(times), dtype=np.int64)
    right = np.clip(np.searchsorted(timestamps, times, "left"), 1, len(timestamps) - 1)
    left = right - 1
    pick_left = np.abs(times - timestamps[left]) <= np.abs(timestamps[right] - times)
    return np.where(pick_left, left, right).astype(np.int64)


def segment_rows(timestamps: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """Rows with start <= t < end; a segment shorter than one frame gets its nearest row."""
    a = np.searchsorted(timestamps, segments[:, 0], "left")
    b = np.searchsorted(timestamps, segments[:, 1], "left")
    near = nearest_rows(timestamps, segments.mean(axis=1)) if len(segments) else np.zeros(0, np.int64)
    empty = b <= a
    a, b = np.where(empty, near, a), np.where(empty, near + 1, b)
    return np.stack([a, b], axis=1).astype(np.int64).reshape(-1, 2)


def _alts(rec: Any, video_id: str, ann: dict[str, Any]) -> dict[str, Any]:
    """Extra captions per level, checked against the owners the cache recorded (none: an older cache)."""
    if not rec.has_alt_texts():
        return {}
    nodes = {"video": [ann], "operations": ann.get("operations", []), "narrations": ann.get("frames", [])}
    out = {}
    for level, items in nodes.items():
        alts = tuple(caption_pool(str(n.get("text", "")), tuple(n.get("texts", ())))[1:] for n in items)
        _, owner = rec.alt_texts(level)
        if owner.tolist() != [i for i, a in enumerate(alts) for _ in a]:
            raise ValueError(f"video {video_id!r}: {level} captions disagree with the cached extra-caption rows")
        out[level] = alts
    return {"video_alts": out["video"][0], "op_alts": out["operations"], "narr_alts": out["narrations"]}


def catalog_video(store: CacheStore, video_id: str) -> CachedVideo:
    return _entry(store, store.read_video(video_id))


def _entry(store: CacheStore, rec: Any) -> CachedVideo:
    video_id, ann = rec.video_id, rec.annotations
    ts = rec.timestamps()
    segs = rec.segments().reshape(-1, 2)
    ntimes = rec.narration_times().reshape(-1)
    ops = ann.get("operations", [])
    frames = ann.get("frames", [])
    if len(ops) != len(segs) or len(frames) != len(ntimes):
        raise ValueError(f"{store.url}: video {video_id!r}: annotations disagree with the cached arrays")
    op_rows = segment_rows(ts, segs)
    narr_rows = nearest_rows(ts, ntimes)
    inside = (ntimes[:, None] >= segs[None, :, 0]) & (ntimes[:, None] < segs[None, :, 1])
    first_op = inside.argmax(axis=1) if len(segs) else -1  # a video with narrations and no operation: all -1
    narr_op = np.where(inside.any(axis=1), first_op, -1).astype(np.int64)
    return CachedVideo(
        video_id=video_id,
        split=str(ann.get("split", "train")),
        procedure=str(ann.get("procedure", "")),
        n_frames=int(rec.n_frames),
        op_rows=op_rows,
        op_times=segs.astype(np.float64),
        narr_rows=narr_rows,
        narr_times=ntimes.astype(np.float64),
        narr_op=narr_op,
        video_text=str(ann.get("text", video_id)),
        op_texts=tuple(str(o.get("text", o.get("label", ""))) for o in ops),
        op_labels=tuple(str(o.get("label", o.get("text", ""))) for o in ops),
        narr_texts=tuple(str(f.get("text", "")) for f in frames),
        **_alts(rec, video_id, ann),
    )


_ARRAYS = {
    "op_rows": np.int64,
    "op_times": np.float64,
    "narr_rows": np.int64,
    "narr_times": np.float64,
    "narr_op": np.int64,
}


def _to_json(v: CachedVideo, split: Any) -> dict[str, Any]:
    out = {k: getattr(v, k) for k in CachedVideo.__dataclass_fields__}
    out.update({k: out[k].tolist() for k in _ARRAYS})
    return {"fields": out, "split": split}


def _from_json(d: dict[str, Any]) -> CachedVideo:
    f = dict(d["fields"])
    f.update({k: np.asarray(f[k], dtype=t) for k, t in _ARRAYS.items()})
    f["op_rows"] = f["op_rows"].reshape(-1, 2)
    f["op_times"] = f["op_times"].reshape(-1, 2)
    for k in ("op_texts", "op_labels", "narr_texts", "video_alts"):
        f[k] = tuple(f[k])
    f["op_alts"], f["narr_alts"] = (tuple(tuple(a) for a in f[k]) for k in ("op_alts", "narr_alts"))
    return CachedVideo(**f)


def _derive(store: CacheStore, video_id: str) -> dict[str, Any]:
    rec = store.read_video(video_id)
    return _to_json(_entry(store, rec), rec.annotations.get("split"))


def catalog(store: CacheStore, splits: list[str] | tuple[str, ...] | None = None) -> list[CachedVideo]:
    """Catalog the complete videos of the given splits (None: all), sorted by id for reproducibility.
    Each video's entry is derived once per group metadata (`cache_schema.commits`: a start-up on an unchanged
    cache opens no array) and kept for every split."""
    ids = store.video_ids()
    found = memoized(store, "catalog", ids, lambda vid: _derive(store, vid))
    return [_from_json(found[v]) for v in ids if splits is None or found[v]["split"] in splits]


def split_video_ids(store: CacheStore, split: str) -> list[str]:
    """The ids of the complete videos annotated with `split` (annotations only: no features, no timestamps)."""
    return [vid for vid in store.video_ids() if store.read_video(vid).annotations.get("split") == split]
