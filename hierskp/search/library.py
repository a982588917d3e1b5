"""Free-text search over a cache's videos with a trained run: moments, videos or operations.

    lib = SearchLibrary(hierskp.load_model(run_dir), open_cache(url))   # or hierskp.search_library(run_dir, url)
    lib.search("skin closure", k=5, level="moment") -> [Hit(video_id, start, end, score), ...]

Each level is a FAISS index (`hierskp.search.rows` says what its rows are) kept in
RUN/index/search/<splits>/ (or `index_dir`): a run's one index set, which `hierskp index build` and the
build-index flow build ahead of the first query (`SearchLibrary.build`). Its fingerprint is computed
before anything is embedded, from the run's heads checksum, the cache fingerprint, each included video's
completion marker (the shape and sha256 of every array) and annotations, the level, window, stride and
splits: an up-to-date index is loaded and nothing is embedded (`embedded_rows` stays 0); any change rebuilds it.
Beside each index a stamp records the cache's generation (`cache_schema.commits`) it was checked at:
while the commit log has not moved, a new library loads the index without inspecting any video; the
videos of each query's hits get the cheap check, so one damaged by hand (a chunk deleted) still makes
the library inspect every video and rebuild without it.
Only the query string is embedded per search (the cache's text encoder, then the run's text head).
Moment hits are distinct by default: a window that overlaps a better hit of the same video is skipped.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from hierskp.dataset.cache import CacheStore, CorruptVideoError, IncompleteVideoError, intact
from hierskp.files.atomic import atomic_write_text
from hierskp.index.store import EmbeddingIndex, IndexKind, LoadResult, load_or_build_from, read_sidecar, search
from hierskp.runs.encoders import HierSKPModel
from hierskp.runs.folder import INDEX_DIR
from hierskp.search import DEFAULT_STRIDE_S, DEFAULT_WINDOW_S, SEARCH_LEVELS
from hierskp.search.bounds import check_k, check_moment_options, prune_versions
from hierskp.search.rows import embed_rows

SEARCH_FORMAT = 1


class EmptyLibrary(ValueError):
    """No complete video of the cache (in the requested splits) to search."""


class EmptyLevel(EmptyLibrary):
    """Videos to search, but none has a row at that level (e.g. no annotated operation)."""


def run_index_dir(run_dir: str | Path) -> Path:
    """Where a run keeps its search indices (the default `index_dir`): RUN/index/search."""
    return Path(run_dir) / INDEX_DIR / "search"


@dataclass(frozen=True)
class Hit:
    video_id: str
    start: float  # seconds
    end: float
    score: float  # cosine similarity of the query and the row

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class IndexInfo:
    level: str
    path: str
    n: int
    rebuilt: bool
    reason: str


def _row_id(vid: str, start: float, end: float) -> str:
    return f"{vid}\t{float(start)!r}\t{float(end)!r}"  # video ids never hold a tab (cache id pattern)


def _parse_id(row_id: str) -> tuple[str, float, float]:
    vid, start, end = str(row_id).rsplit("\t", 2)
    return vid, float(start), float(end)


def _digest(value: Any) -> str:
    return hashlib.sha256(json.dumps(value, sort_keys=True, default=str).encode()).hexdigest()


class SearchLibrary:
    """Text search over the complete videos of one cache with one trained run.

    Each level's index is checked (and loaded or rebuilt) on its first search and then kept in memory:
    after the cache or the run changes, open a new library to pick the change up."""

    def __init__(
        self,
        model: HierSKPModel,
        store: CacheStore,
        window_s: float = DEFAULT_WINDOW_S,
        stride_s: float = DEFAULT_STRIDE_S,
        splits: Sequence[str] | None = None,
        index_dir: str | Path | None = None,
        kind: IndexKind = "auto",
    ):
        if not (window_s > 0 and stride_s > 0):
            raise ValueError(f"window and stride must be > 0 seconds, got window={window_s} stride={stride_s}")
        model.run.check_cache(store)
        check_moment_options(store, window_s, stride_s, read_videos=False)
        if index_dir is None:
            if model.run.run_dir is None:
                raise ValueError("SearchLibrary: a model without a run folder needs index_dir")
            index_dir = run_index_dir(model.run.run_dir)
        self.model, self.store, self.kind = model, store, kind
        self.window_s, self.stride_s = float(window_s), float(stride_s)
        self.splits = sorted(set(splits)) if splits else None  # None (or empty): every split
        self.index_dir = Path(index_dir)
        self.embedded_rows = 0  # cache rows this library embedded (0 when every index was up to date)
        self.info: dict[str, IndexInfo] = {}
        self._indices: dict[str, EmbeddingIndex] = {}

    def _videos(self) -> tuple[list[str], list[dict[str, Any]]]:
        """Complete videos of the chosen splits, with what identifies their content: one attribute
        read each (the completion marker records every array's shape and sha256)."""
        ids, content = [], []
        for vid in self.store.video_ids(status=None):
            try:
                rec = self.store.read_video(vid)  # the cheap check; refuses partial and damaged videos
            except (IncompleteVideoError, CorruptVideoError):
                continue
            ann = rec.annotations
            if self.splits is not None and ann.get("split") not in self.splits:
                continue
            marker = rec.completion or {}
            ids.append(vid)
            content.append(
                {"video_id": vid, "arrays": _digest(marker.get("arrays") or marker), "annotations": _digest(ann)}
            )
        return ids, content

    def _path(self, level: str) -> Path:
        name = level if level != "moment" else f"moment_w{self.window_s:g}_s{self.stride_s:g}"
        return self.index_dir / ("+".join(self.splits) if self.splits else "all") / f"{name}.faiss"

    def index(self, level: str = "moment") -> IndexInfo:
        """Load the `level` index, or (re)build it when missing or stale; what happened is returned."""
        if level not in SEARCH_LEVELS:
            raise ValueError(f"unknown search level {level!r}; choose one of {', '.join(SEARCH_LEVELS)}")
        if level in self._indices:
            return self.info[level]
        path, base = self._path(level), self._base(level)
        res = self._load_unchanged(path, base)
        if res is None:
            res = self._load_or_build(path, base, level)
        self._indices[level] = res.index
        self.info[level] = IndexInfo(level, str(path), int(res.index.index.ntotal), res.rebuilt, res.reason)
        return self.info[level]

    def build(self, levels: Sequence[str] = SEARCH_LEVELS) -> list[IndexInfo]:
        """Load or (re)build each level's index now, as its first search would; a level without rows is
        listed with n=0 and no path (nothing written). Raises EmptyLibrary when no video is complete."""
        built = []
        for level in levels:
            try:
                built.append(self.index(level))
            except EmptyLevel as exc:
                built.append(IndexInfo(level, "", 0, False, f"nothing to index: {exc}"))
        return built

    def _base(self, level: str) -> dict[str, Any]:
        """What identifies an index apart from the videos: format, level, options, run and cache."""
        return {
            "search_format": SEARCH_FORMAT,
            "level": level,
            "window_s": self.window_s if level == "moment" else None,
            "stride_s": self.stride_s if level == "moment" else None,
            "splits": self.splits,
            "heads_sha256": self.model.run.heads_sha256(),
            "cache_fingerprint_id": self.store.fingerprint_id,
        }

    def _load_unchanged(self, path: Path, base: dict[str, Any]) -> LoadResult | None:
        """The saved index, without inspecting a video, when its stamp says the cache's commit log has not
        moved since it was built (a stat and a read per pending video); None: check the videos."""
        stamp, meta = _read_json(_stamp_path(path)), read_sidecar(path)
        if stamp is None or meta is None or stamp.get("fingerprint") != meta.get("fingerprint"):
            return None
        recorded = meta.get("source") or {}
        if any(recorded.get(k) != v for k, v in base.items()) or not self.store.unchanged_since(
            stamp.get("generation")
        ):
            return None

        def stale() -> tuple[np.ndarray, np.ndarray]:
            raise _StoredUnusable

        try:
            return load_or_build_from(path, recorded, stale, kind=self.kind)
        except _StoredUnusable:
            return None

    def _load_or_build(self, path: Path, base: dict[str, Any], level: str) -> LoadResult:
        """Inspect every video (the cheap check), then load the index if it indexes exactly them, else rebuild."""
        generation = self.store.generation()  # before the videos are read: a change after it moves it
        ids, content = self._videos()
        if not ids:
            where = f" in split(s) {', '.join(self.splits)}" if self.splits else ""
            raise EmptyLibrary(f"{self.store.url}: no complete video to search{where}")
        source = {**base, "videos_sha256": _digest(content), "n_videos": len(ids)}
        if level == "moment":  # caches that record no fps: the spacing from a video, before anything is embedded
            check_moment_options(self.store, self.window_s, self.stride_s)

        def make() -> tuple[np.ndarray, np.ndarray]:
            rows = embed_rows(self.store, self.model.run, ids, level, self.window_s, self.stride_s)
            if not len(rows.video_ids):
                raise EmptyLevel(f"{self.store.url}: the videos have no {level} rows to search")
            self.embedded_rows += len(rows.video_ids)
            row_ids = [_row_id(v, a, b) for v, (a, b) in zip(rows.video_ids, rows.times.tolist())]
            return rows.vectors, np.asarray(row_ids)

        res = load_or_build_from(path, source, make, kind=self.kind)
        _write_json(_stamp_path(path), {"fingerprint": res.index.fingerprint, "generation": generation})
        prune_versions(path)
        return res

    def search(self, text: str, k: int = 10, level: str = "moment", distinct: bool = True) -> list[Hit]:
        """The `k` best rows of `level` for `text`, best first. With `distinct` (moments only) a hit that
        overlaps a better one of the same video is skipped, so the k hits are k different moments."""
        if not isinstance(text, str) or not text.strip():
            raise ValueError("search needs a non-empty query string")
        check_k(k)
        self.index(level)  # first: its bounds are checked before anything (the query included) is embedded
        query = self.model.embed_texts([text])
        hits = self._ranked(query, int(k), level, distinct and level == "moment")
        damaged = {v for v in {h.video_id for h in hits} if not intact(self.store, v)}
        if damaged:  # changed without a marker change (a chunk deleted by hand): inspect every video again
            del self._indices[level]
            res = self._load_or_build(self._path(level), self._base(level), level)
            self._indices[level] = res.index
            self.info[level] = IndexInfo(level, self.info[level].path, int(res.index.index.ntotal), True, res.reason)
            hits = self._ranked(query, int(k), level, distinct and level == "moment")
        return hits

    def _ranked(self, query: Any, k: int, level: str, dedupe: bool) -> list[Hit]:
        ei = self._indices[level]
        n = int(ei.index.ntotal)
        want = min(n, 4 * k) if dedupe else k
        while True:
            scores, pos = search(ei, query, want)
            hits = [Hit(*_parse_id(ei.ids[p]), float(s)) for s, p in zip(scores[0].tolist(), pos[0].tolist()) if p >= 0]
            if dedupe:
                hits = distinct_hits(hits)
            if len(hits) >= k or want >= n:
                return hits[:k]
            want = min(n, 4 * want)


class _StoredUnusable(Exception):
    """The saved index failed to load; the videos are inspected and it is rebuilt."""


def _stamp_path(path: Path) -> Path:
    return path.with_name(path.name + ".generation.json")


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        value = json.loads(path.read_text())
    except (OSError, ValueError):
        return None
    return value if isinstance(value, dict) else None


def _write_json(path: Path, value: dict[str, Any]) -> None:
    atomic_write_text(path, json.dumps(value, sort_keys=True))


def distinct_hits(hits: list[Hit]) -> list[Hit]:
    """Greedy, best first: drop a hit that overlaps a kept hit of the same video."""
    kept: list[Hit] = []
    for h in hits:
        if not any(o.video_id == h.video_id and min(o.end, h.end) - max(o.start, h.start) > 1e-9 for o in kept):
            kept.append(h)
    return kept
