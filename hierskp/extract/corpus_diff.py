"""Which manifest videos the cache lacks or holds stale: the work list of an incremental extract.

Uses the same rule as extraction itself (`hierskp.extract.is_up_to_date` over
`source.file_identity`), so "up to date" here and "skipped" there can never disagree.
A file whose size and mtime match its cached record is not re-hashed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from cache_schema import CacheLayoutError, CacheStore, open_cache
from hierskp.extract import is_up_to_date
from hierskp.extract.source import file_identity, relpath_or_str
from hierskp.ingest.manifest import Manifest, load_manifest


@dataclass(frozen=True)
class CorpusDiff:
    new: tuple[str, ...] = ()  # no group in the cache
    changed: tuple[str, ...] = ()  # complete, but video content, annotations or backbone differ
    incomplete: tuple[str, ...] = ()  # a group without completion marker (interrupted write)
    missing_file: tuple[str, ...] = ()  # the manifest points at a file that is not there
    up_to_date: tuple[str, ...] = ()
    orphaned: tuple[str, ...] = field(default=())  # in the cache, no longer in the manifest (left alone)

    @property
    def to_extract(self) -> tuple[str, ...]:
        """Ids to hand to extraction; missing files go too, so the failure is reported by name."""
        return tuple(sorted(self.new + self.changed + self.incomplete + self.missing_file))

    def as_dict(self) -> dict[str, list[str]]:
        return {
            k: list(getattr(self, k))
            for k in ("new", "changed", "incomplete", "missing_file", "up_to_date", "orphaned")
        }

    def render(self) -> str:
        return ", ".join(f"{len(v)} {k.replace('_', ' ')}" for k, v in self.as_dict().items())


def _open_existing(cache: str, storage_options: dict | None) -> CacheStore | None:
    try:
        return open_cache(cache, mode="r", storage_options=storage_options)
    except CacheLayoutError:
        return None


def diff_corpus(manifest: Manifest | str | Path, cache: str, storage_options: dict | None = None) -> CorpusDiff:
    """Compare every manifest row with the cache (read-only; a missing cache makes all rows new)."""
    manifest = manifest if isinstance(manifest, Manifest) else load_manifest(manifest, allow_overlap=True)
    store = _open_existing(cache, storage_options)
    buckets: dict[str, list[str]] = {k: [] for k in ("new", "changed", "incomplete", "missing_file", "up_to_date")}
    for row in manifest.rows:
        vid = row.entry.video_id
        path = manifest.video_path(row)
        status = store.status(vid) if store is not None else "absent"
        if not path.is_file():
            buckets["missing_file"].append(vid)
        elif status == "absent":
            buckets["new"].append(vid)
        elif status == "partial":
            buckets["incomplete"].append(vid)
        else:
            assert store is not None
            known = store.provenance(vid).get("source")
            source = {"path": relpath_or_str(path, manifest.root), **file_identity(path, known)}
            buckets["up_to_date" if is_up_to_date(store, row, source) else "changed"].append(vid)
    in_manifest = {r.entry.video_id for r in manifest.rows}
    orphaned = [v for v in store.video_ids(status=None) if v not in in_manifest] if store is not None else []
    return CorpusDiff(**{k: tuple(v) for k, v in buckets.items()}, orphaned=tuple(orphaned))
