"""Opening a cache: root metadata, fingerprint guard, listing and status of videos."""

from __future__ import annotations

import datetime as dt
import re
import warnings
from dataclasses import dataclass
from typing import Any, Literal

import zarr

from . import layout as L
from .errors import CacheError, CacheFingerprintMismatch, CacheLayoutError, IncompleteVideoError
from .reader import VideoRecord
from .writer import VideoWriter

VideoStatus = Literal["complete", "partial", "absent"]


def _open_root(url: str, mode: str, storage_options: dict | None) -> zarr.Group:
    # never through consolidated metadata: it is stale while an extraction adds videos
    kwargs: dict[str, Any] = {"mode": mode, "use_consolidated": False}
    if storage_options:
        kwargs["storage_options"] = storage_options
    return zarr.open_group(url, **kwargs)


@dataclass
class CacheStore:
    """A hierskp cache. Create with `open_cache`; all on-disk knowledge lives in this package."""

    url: str
    root: zarr.Group

    @property
    def info(self) -> dict[str, Any]:
        return dict(self.root.attrs[L.ROOT_ATTR])

    @property
    def fingerprint_id(self) -> str:
        return str(self.info["fingerprint_id"])

    @property
    def writable(self) -> bool:
        return not self.root.read_only

    def _videos(self) -> zarr.Group:
        return self.root[L.VIDEOS]  # type: ignore[return-value]

    def video_ids(self, status: VideoStatus | None = "complete") -> list[str]:
        """Sorted ids of the videos with the given status (None: every group present)."""
        ids = sorted(self._videos().group_keys())
        if status is None:
            return ids
        return [v for v in ids if self.status(v) == status]

    def video_state(self, video_id: str) -> tuple[VideoStatus, dict[str, Any], dict[str, Any] | None]:
        """(status, provenance, completion marker) from one read of the group's attributes."""
        try:
            group = self._videos()[video_id]
        except KeyError:
            return "absent", {}, None
        attrs = dict(group.attrs)
        marker = attrs.get(L.COMPLETE)
        complete = isinstance(marker, dict) and marker.get("n_frames") is not None
        return ("complete" if complete else "partial"), dict(attrs.get(L.PROVENANCE, {})), marker if complete else None

    def status(self, video_id: str) -> VideoStatus:
        return self.video_state(video_id)[0]

    def provenance(self, video_id: str) -> dict[str, Any]:
        return dict(self._videos()[video_id].attrs.get(L.PROVENANCE, {}))

    def read_video(self, video_id: str, allow_partial: bool = False) -> VideoRecord:
        """Lazy view of one video; refuses partial videos unless `allow_partial` (for inspection)."""
        if not allow_partial and self.status(video_id) != "complete":
            raise IncompleteVideoError(
                f"{self.url}: video {video_id!r} is not complete (status {self.status(video_id)})"
            )
        return VideoRecord(video_id=video_id, group=self._videos()[video_id])  # type: ignore[arg-type]

    def begin_video(self, video_id: str, provenance: dict[str, Any], annotations: dict[str, Any]) -> VideoWriter:
        """Start (or restart) writing a video: any earlier group of that id is removed first."""
        if not re.match(L.VIDEO_ID_PATTERN, video_id):
            raise CacheError(f"{self.url}: invalid video_id {video_id!r} (allowed: {L.VIDEO_ID_PATTERN})")
        self.delete_video(video_id)
        group = self._videos().create_group(video_id)
        prov = {**provenance, "fingerprint_id": self.fingerprint_id, "layout_version": L.LAYOUT_VERSION}
        group.attrs.update({L.PROVENANCE: prov, L.ANNOTATIONS: annotations})
        return VideoWriter(video_id=video_id, group=group)

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
        del group.attrs[L.COMPLETE]
        for name in ("text", "annotations"):
            if name in group:
                del group[name]
        prov = {**dict(group.attrs.get(L.PROVENANCE, {})), **provenance}
        group.attrs.update({L.PROVENANCE: prov, L.ANNOTATIONS: annotations})
        return VideoWriter.resume(video_id, group)  # type: ignore[arg-type]

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
        videos = self._videos()
        if video_id in videos:
            group = videos[video_id]
            if L.COMPLETE in group.attrs:
                del group.attrs[L.COMPLETE]
            del videos[video_id]


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
        root = _open_root(url, "a", storage_options)
        if L.ROOT_ATTR not in root.attrs:
            if fingerprint_id is None:
                raise CacheError(f"{url}: creating a cache needs the backbone fingerprint_id")
            root.attrs[L.ROOT_ATTR] = {
                "layout_version": L.LAYOUT_VERSION,
                "fingerprint_id": fingerprint_id,
                "backbone": backbone or {},
                "text_backbone": text_backbone or {},
                "created_at": dt.datetime.now(dt.UTC).isoformat(),
            }
        if L.VIDEOS not in root:
            root.create_group(L.VIDEOS)
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
    return CacheStore(url=url, root=root)
