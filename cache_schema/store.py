"""Opening a cache: root metadata, fingerprint guard, listing and status of videos."""

from __future__ import annotations

import datetime as dt
import re
import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import zarr

from . import commits, rawstore
from . import layout as L
from .errors import CacheError, CacheFingerprintMismatch, CacheLayoutError, CorruptVideoError, IncompleteVideoError
from .integrity import cheap_problems
from .reader import VideoRecord
from .writer import VideoWriter

# complete: marker present and the cheap check passes; corrupt: marker present but the group is not
# whole (or its metadata is unreadable); partial: no marker (being written, or a killed writer's).
VideoStatus = Literal["complete", "corrupt", "partial", "absent"]


def _open_root(url: str, mode: str, storage_options: dict | None) -> zarr.Group:
    # never through consolidated metadata: it is stale while an extraction adds videos
    kwargs: dict[str, Any] = {"mode": mode, "use_consolidated": False}
    if storage_options:
        kwargs["storage_options"] = storage_options
    if mode == "r":
        return zarr.open_group(url, **kwargs)
    for attempt in range(40):  # writers creating one new cache at once race on the root's zarr.json
        try:
            return zarr.open_group(url, **kwargs)
        except (FileExistsError, ValueError, zarr.errors.ContainsGroupError, zarr.errors.ContainsArrayError):
            if attempt == 39:
                raise
            time.sleep(0.05 + 0.01 * attempt)
    raise AssertionError("unreachable")


def repair_command(store: CacheStore, video_ids: Iterable[str]) -> str:
    """The command that redoes these damaged videos: extract with deep verification, only them, from the
    manifest their provenance records (MANIFEST when it records none, as in caches from before)."""
    ids = sorted(set(video_ids))
    manifests = set()
    for vid in ids:
        try:
            manifests.add(store.provenance(vid).get("manifest") or "MANIFEST")
        except Exception:  # noqa: BLE001 - damaged attributes: the user names the manifest
            manifests.add("MANIFEST")
    manifest = manifests.pop() if len(manifests) == 1 else "MANIFEST"
    only = " ".join(f"--video-id {v}" for v in ids[:20]) if len(ids) <= 20 else ""
    return f"hierskp extract --manifest {manifest} --cache {store.url} --verify deep {only}".rstrip()


def _refuse_foreign_folder(url: str) -> None:
    """A local folder that holds files but no Zarr store is the user's: a cache is never created in it."""
    if "://" in url:
        return
    path = Path(url)
    if path.is_dir() and not (path / "zarr.json").exists() and any(path.iterdir()):
        raise CacheError(f"{url}: the folder is not empty and holds no cache; choose a new path for the cache")
    if path.exists() and not path.is_dir():
        raise CacheError(f"{url}: exists and is not a cache folder; choose a new path for the cache")


@dataclass
class CacheStore:
    """A hierskp cache. Create with `open_cache`; all on-disk knowledge lives in this package."""

    url: str
    root: zarr.Group
    _checked: set[str] = field(default_factory=set, repr=False)  # ids that passed the cheap check here

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.root.attrs[L.ROOT_ATTR])

    @property
    def fingerprint_id(self) -> str:
        return str(self.info["fingerprint_id"])

    def _videos(self) -> zarr.Group:
        return self.root[L.VIDEOS]  # type: ignore[return-value]

    def video_ids(self, status: VideoStatus | None = "complete") -> list[str]:
        """Sorted ids of the videos with the given status (None: every group present, even a damaged one)."""
        ids = [
            k for k in rawstore.list_dir(self.root, L.VIDEOS) if k != "zarr.json" and re.match(L.VIDEO_ID_PATTERN, k)
        ]
        if status is None:
            return ids
        if status == "complete":  # videos this store already checked (`mark_checked`) are not re-read
            return [v for v in ids if v in self._checked or self.status(v) == status]
        return [v for v in ids if self.status(v) == status]

    def mark_checked(self, video_ids: list[str]) -> None:
        """Videos a verification just found complete: this store's readers skip the cheap check."""
        self._checked.update(video_ids)

    def inspect(self, video_id: str) -> tuple[VideoStatus, dict[str, Any], dict[str, Any] | None, list[str]]:
        """(status, attributes, completion marker, problems): one attribute read plus the cheap check."""
        try:
            group = self._videos()[video_id]
        except KeyError:
            if rawstore.list_prefix(self.root, f"{L.VIDEOS}/{video_id}/"):
                return "corrupt", {}, None, ["group metadata (zarr.json) is missing; the next extract redoes it"]
            return "absent", {}, None, []
        except Exception as exc:  # noqa: BLE001 - damaged metadata is a named problem, never a traceback
            return "corrupt", {}, None, [f"group metadata (zarr.json) is unreadable ({type(exc).__name__}: {exc})"]
        attrs = dict(group.attrs)
        marker = attrs.get(L.COMPLETE)
        if not (isinstance(marker, dict) and marker.get("n_frames") is not None):
            return "partial", attrs, None, []
        problems = cheap_problems(group, marker)  # type: ignore[arg-type]
        prov = attrs.get(L.PROVENANCE, {})
        if isinstance(prov, dict) and prov.get("fingerprint_id") != self.fingerprint_id:
            problems.append(
                f"provenance fingerprint_id {prov.get('fingerprint_id')!r} != cache {self.fingerprint_id!r}"
            )
        return ("corrupt" if problems else "complete"), attrs, marker, problems

    def video_state(self, video_id: str) -> tuple[VideoStatus, dict[str, Any], dict[str, Any] | None]:
        """(status, provenance, completion marker) from one read of the group's attributes."""
        status, attrs, marker, _ = self.inspect(video_id)
        return status, dict(attrs.get(L.PROVENANCE, {})), marker if status == "complete" else None

    def status(self, video_id: str) -> VideoStatus:
        return self.inspect(video_id)[0]

    def generation(self) -> commits.Generation | None:
        """Where the commit log stands (read it before inspecting videos); None: no log, inspect them."""
        return commits.generation(self.root)

    def unchanged_since(self, generation: commits.Generation | None) -> bool:
        """No completion marker was written or deleted since `generation` (False when unknown)."""
        return commits.unchanged(self.root, generation)

    def provenance(self, video_id: str) -> dict[str, Any]:
        return dict(self._videos()[video_id].attrs.get(L.PROVENANCE, {}))

    def read_video(self, video_id: str, allow_partial: bool = False) -> VideoRecord:
        """Lazy view of one video; refuses partial videos unless `allow_partial` (for inspection)."""
        if not allow_partial and video_id not in self._checked:
            status, _, _, problems = self.inspect(video_id)
            if status == "corrupt":
                raise CorruptVideoError(f"{self.url}: video {video_id!r} is damaged: " + "; ".join(problems))
            if status != "complete":
                raise IncompleteVideoError(f"{self.url}: video {video_id!r} is not complete (status {status})")
            self._checked.add(video_id)
        return VideoRecord(video_id=video_id, group=self._videos()[video_id])  # type: ignore[arg-type]

    def begin_video(self, video_id: str, provenance: dict[str, Any], annotations: dict[str, Any]) -> VideoWriter:
        """Start (or restart) writing a video: any earlier group of that id is removed first."""
        if not re.match(L.VIDEO_ID_PATTERN, video_id):
            raise CacheError(f"{self.url}: invalid video_id {video_id!r} (allowed: {L.VIDEO_ID_PATTERN})")
        self.delete_video(video_id)
        group = self._videos().create_group(video_id)
        prov = {**provenance, "fingerprint_id": self.fingerprint_id, "layout_version": L.LAYOUT_VERSION}
        group.attrs.update({L.PROVENANCE: prov, L.ANNOTATIONS: annotations})
        return VideoWriter(video_id=video_id, group=group, root=self.root)

    def begin_annotation_update(
        self, video_id: str, provenance: dict[str, Any], annotations: dict[str, Any]
    ) -> VideoWriter:
        """Keep a complete video's frames; replace its texts and annotations (a text-only manifest edit).

        The completion marker goes first, so a kill from here on leaves a partial video that the
        next extract redoes from scratch; the caller writes texts and annotations, then `finalize`.
        """
        if self.status(video_id) != "complete":
            raise IncompleteVideoError(f"{self.url}: video {video_id!r} is not complete; extract it instead")
        group = self._videos()[video_id]
        frame_entries = dict(group.attrs[L.COMPLETE].get("arrays", {}))
        with commits.marker_change(self.root, "delete", video_id):
            del group.attrs[L.COMPLETE]
        self._checked.discard(video_id)
        for name in ("text", "annotations"):
            if name in group:
                del group[name]
        prov = {**dict(group.attrs.get(L.PROVENANCE, {})), **provenance}
        group.attrs.update({L.PROVENANCE: prov, L.ANNOTATIONS: annotations})
        return VideoWriter.resume(video_id, group, frame_entries, root=self.root)  # type: ignore[arg-type]

    def consolidate(self) -> None:
        """Refresh the consolidated metadata (one document of every group's and array's metadata, for
        xarray and other readers that list a store once). Extraction calls it at the end of a run;
        hierskp's own readers never use it, so a stale one (a run killed half-way) misleads nobody here."""
        with warnings.catch_warnings():  # "not part of the Zarr v3 specification": known, and optional here
            warnings.filterwarnings("ignore", message="Consolidated metadata", category=UserWarning)
            zarr.consolidate_metadata(self.root.store)

    def delete_video(self, video_id: str) -> None:
        """The marker goes first: a recursive delete is not atomic (object stores), and a half-deleted
        group must never read as complete."""
        self._checked.discard(video_id)
        prefix = f"{L.VIDEOS}/{video_id}"
        try:
            group = self._videos()[video_id]
            if L.COMPLETE in group.attrs:
                with commits.marker_change(self.root, "delete", video_id):
                    del group.attrs[L.COMPLETE]
        except KeyError:
            pass
        except Exception:  # noqa: BLE001 - unreadable group metadata: removing the whole prefix repairs it
            with commits.marker_change(self.root, "delete", video_id):
                rawstore.delete_key(self.root, f"{prefix}/zarr.json")
        rawstore.delete_prefix(self.root, prefix)


def open_cache(
    url: str,
    mode: Literal["r", "a"] = "r",
    backbone: dict[str, Any] | None = None,
    text_backbone: dict[str, Any] | None = None,
    fingerprint_id: str | None = None,
    storage_options: dict | None = None,
) -> CacheStore:
    """Open a cache at a local path or fsspec URL (e.g. ``s3://bucket/cache.zarr``).

    With ``mode="a"`` a missing cache is created, recording the backbone fingerprints; an existing
    one whose fingerprint_id differs from ``fingerprint_id`` raises CacheFingerprintMismatch.
    """
    url = str(url)
    if mode == "r":
        try:
            root = _open_root(url, "r", storage_options)
        except (FileNotFoundError, zarr.errors.GroupNotFoundError) as exc:
            raise CacheLayoutError(f"{url}: no cache there ({exc})") from exc
    else:
        _refuse_foreign_folder(url)
        root = _open_root(url, "a", storage_options)
        if L.ROOT_ATTR not in root.attrs:
            if fingerprint_id is None:
                raise CacheError(f"{url}: creating a cache needs the backbone fingerprint_id")
            root.attrs[L.ROOT_ATTR] = {
                "layout_version": L.LAYOUT_VERSION,
                "layout_minor": L.LAYOUT_MINOR,
                "fingerprint_id": fingerprint_id,
                "backbone": backbone or {},
                "text_backbone": text_backbone or {},
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
            }
        if L.VIDEOS not in root:
            try:
                root.create_group(L.VIDEOS)
            except Exception:  # noqa: BLE001 - another writer created it first
                if L.VIDEOS not in root:
                    raise
        root = _open_root(url, "a", storage_options)  # read back: of two racing creators one fingerprint wins
    info = root.attrs.get(L.ROOT_ATTR)
    if not isinstance(info, dict):
        raise CacheLayoutError(f"{url}: not a hierskp cache (missing root attribute {L.ROOT_ATTR!r})")
    if info.get("layout_version") != L.LAYOUT_VERSION:
        raise CacheLayoutError(
            f"{url}: layout_version {info.get('layout_version')!r}, this code reads version {L.LAYOUT_VERSION}"
        )
    if fingerprint_id is not None and info.get("fingerprint_id") != fingerprint_id:
        raise CacheFingerprintMismatch(
            f"{url}: cache holds features of backbone fingerprint {info.get('fingerprint_id')!r}, "
            f"not {fingerprint_id!r}; use another cache location for another backbone"
        )
    if mode != "r" and int(info.get("layout_minor", 0)) < L.LAYOUT_MINOR:  # this writer may add minor-1 arrays
        root.attrs[L.ROOT_ATTR] = {**info, "layout_minor": L.LAYOUT_MINOR}
    if mode != "r":
        commits.create(root)  # from here on this cache's writers keep its commit log
    return CacheStore(url=url, root=root)
