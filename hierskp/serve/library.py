"""One run and one cache, loaded once, as the web app sees them.

The run's heads and text encoder load once (`hierskp.load_model`), at start, with the default (moment)
index. Every search opens a new `SearchLibrary` over the cache: a video added or re-extracted since the
last query is picked up by the search library's own staleness rules (its index fingerprint), and an
unchanged cache loads the index from disk and embeds nothing but the query.

Nothing is written to the run or the cache. Indices live in the server's state folder, seeded at start
from RUN/index/search when the run has one (so a run whose index `hierskp index build` or the pipeline
built answers its first query without embedding the cache); thumbnails live there too.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from pathlib import Path
from typing import Any

from hierskp.dataset.cache import CacheStore, open_cache
from hierskp.runs.encoders import load_model
from hierskp.search.library import EmptyLibrary, SearchLibrary, run_index_dir

from .media import SourceFile, Thumbnails, resolve_source
from .timeline import annotated_spans, class_prompts, operation_at, predicted_spans


class UnknownVideo(LookupError):
    """No video of that id in the cache."""


def default_state_dir(run: Path, cache: str) -> Path:
    key = hashlib.sha256(f"{run}\t{cache}".encode()).hexdigest()[:16]
    return Path.home() / ".cache" / "hierskp" / "serve" / key


class ServeLibrary:
    def __init__(
        self,
        run: str | Path,
        cache: str,
        videos: str | Path | None = None,
        state_dir: str | Path | None = None,
        prompts: dict[str, list[str]] | None = None,
    ):
        self.run_dir = Path(run).resolve()
        self.cache_url = str(cache)
        self._store: CacheStore | None = None
        self.model = load_model(self.run_dir)
        self.model.run.check_cache(self.store())  # a wrong cache fails at start, not on the first query
        self.videos_root = Path(videos).resolve() if videos else None
        self.state_dir = Path(state_dir) if state_dir else default_state_dir(self.run_dir, self.cache_url)
        self.index_dir = self.state_dir / "index"
        self.thumbs = Thumbnails(self.state_dir / "thumbs")
        self.prompts = prompts
        self._classes: tuple[list[str], Any] | None = None
        self._lock = threading.Lock()  # one model call at a time (torch on a small box)
        self._seed_index()
        self.model.text_encoder()  # loaded now, not by the first query
        self.warm()

    def warm(self) -> None:
        """Load (or build, when missing or stale) the default index now: moments of every split."""
        try:
            SearchLibrary(self.model, self.store(), index_dir=self.index_dir).index("moment")
        except EmptyLibrary:  # nothing to search yet: each query says so
            pass

    def _seed_index(self) -> None:
        built = run_index_dir(self.run_dir)  # what `hierskp index build` and the build-index flow write
        if built.is_dir() and not self.index_dir.exists():
            shutil.copytree(built, self.index_dir)

    def store(self) -> CacheStore:
        """The cache, opened once: a listing and each video's attributes are read afresh on every call, and
        a video that passed the cheap check is not checked again (at 500 videos that check is most of a
        query's time; see bench/README.md "Serve")."""
        if self._store is None:
            self._store = open_cache(self.cache_url, "r")
        return self._store

    def check_id(self, store: CacheStore, video_id: str) -> None:
        if len(video_id) > 200 or video_id not in store.video_ids(status=None):  # ids are at most 200 chars
            raise UnknownVideo(f"no video {video_id[:80]!r} in cache {self.cache_url}")

    def search(self, text: str, level: str, split: str | None, k: int) -> dict[str, Any]:
        store = self.store()
        with self._lock:
            lib = SearchLibrary(self.model, store, splits=[split] if split else None, index_dir=self.index_dir)
            hits = lib.search(text, k=k, level=level)
        info = lib.info[level]
        out = []
        for h in hits:
            ann = store.read_video(h.video_id).annotations
            out.append({**h.to_dict(), "split": ann.get("split"), "operation": operation_at(ann, h.start, h.end)})
        index = {"rows": info.n, "rebuilt": info.rebuilt, "reason": info.reason, "embedded_rows": lib.embedded_rows}
        return {"query": text, "level": level, "split": split, "hits": out, "index": index}

    def summary(self) -> dict[str, Any]:
        """Every video with its split and status; counts per split and status; hours; backbone; layout."""
        store = self.store()
        info, videos = store.info, []
        for vid in store.video_ids(status=None):
            status, attrs, _, problems = store.inspect(vid)
            ann, prov = attrs.get("annotations") or {}, attrs.get("provenance") or {}
            duration = prov.get("duration_s")
            videos.append(
                {
                    "video_id": vid,
                    "split": ann.get("split"),
                    "status": status,
                    "duration_s": duration,
                    "problems": problems,
                }
            )
        counts: dict[str, dict[str, int]] = {}
        for v in videos:
            row = counts.setdefault(str(v["split"]), {"complete": 0, "partial": 0, "corrupt": 0})
            row[v["status"]] = row.get(v["status"], 0) + 1
        hours = sum(float(v["duration_s"] or 0.0) for v in videos if v["status"] == "complete") / 3600
        backbone = info.get("backbone", {})
        return {
            "cache": self.cache_url,
            "run": str(self.run_dir),
            "fingerprint_id": info.get("fingerprint_id"),
            "backbone": backbone.get("model"),
            "feature_dim": backbone.get("dim"),
            "layout_version": f"{info.get('layout_version')}.{info.get('layout_minor', 0)}",
            "hours_complete": hours,
            "counts": counts,
            "videos": videos,
        }

    def video(self, video_id: str) -> dict[str, Any]:
        store = self.store()
        self.check_id(store, video_id)
        status, attrs, marker, problems = store.inspect(video_id)
        ann, prov = attrs.get("annotations") or {}, attrs.get("provenance") or {}
        predicted: list[dict[str, Any]] = []
        if status == "complete":
            with self._lock:
                if self._classes is None:
                    self._classes = class_prompts(self.model, store, self.prompts)
                predicted = predicted_spans(self.model, store, video_id, *self._classes)
        try:
            playable, why = bool(self.source(store, video_id)), None
        except LookupError as exc:
            playable, why = False, str(exc)
        return {
            "video_id": video_id,
            "split": ann.get("split"),
            "procedure": ann.get("procedure"),
            "text": ann.get("text"),
            "status": status,
            "problems": problems,
            "duration_s": prov.get("duration_s"),
            "provenance": {
                "decoder": (marker or {}).get("decoder"),
                "backbone": store.info.get("backbone", {}).get("model"),
                "fingerprint_id": prov.get("fingerprint_id"),
                "fps": prov.get("fps"),
                "source_fps": prov.get("source_fps"),
                "codec": prov.get("codec"),
                "source": (prov.get("source") or {}).get("path"),
                "created_at": prov.get("created_at"),
            },
            "operations": annotated_spans(ann),
            "predicted": predicted,
            "prompts": "user prompts" if self.prompts else "training captions",
            "playable": playable,
            "unplayable_reason": why,
        }

    def source(self, store: CacheStore, video_id: str) -> SourceFile:
        self.check_id(store, video_id)
        return resolve_source(self.videos_root, video_id, store.provenance(video_id))

    def features(self, video_id: str) -> Any:
        store = self.store()
        self.check_id(store, video_id)
        return store.read_video(video_id).features[:]
