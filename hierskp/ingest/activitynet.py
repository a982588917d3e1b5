"""Import ActivityNet-style annotations into a manifest (fills the operation level).

Input: ``{"database": {vid: {"subset": str, "duration"?: s, "annotations": [{"segment": [s, e], "label": str}]}}}``.
Video-level and frame-level texts are not part of that format: the video text defaults to the
ordered list of its operations, and there are no narrations, so frame-level training is off for them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from hierskp.ingest.manifest import ManifestError, VideoEntry, write_manifest

DEFAULT_SUBSETS = {
    "training": "train",
    "train": "train",
    "validation": "test",
    "testing": "test",
    "test": "test",
    "pretrain": "pretrain",
}
VIDEO_SUFFIXES = (".mp4", ".mkv", ".avi", ".mov", ".webm", ".m4v")


def _find_video(videos_dir: Path, vid: str) -> Path | None:
    for suffix in VIDEO_SUFFIXES:
        candidate = videos_dir / f"{vid}{suffix}"
        if candidate.exists():
            return candidate
    return None


def activitynet_to_entries(
    annotations_path: Path,
    videos_dir: Path,
    manifest_dir: Path,
    procedure: str = "unknown",
    subsets: dict[str, str] | None = None,
    label_text: str = "{label}",
) -> list[VideoEntry]:
    subsets = subsets or DEFAULT_SUBSETS
    data = json.loads(Path(annotations_path).read_text(encoding="utf-8"))
    database = data.get("database") if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise ManifestError(Path(annotations_path), ["field database: missing or not an object"])
    problems: list[str] = []
    entries: list[VideoEntry] = []
    for vid, item in database.items():
        subset = item.get("subset", "")
        if subset not in subsets:
            problems.append(f"field database.{vid}.subset: unknown subset (value {subset!r}); known: {sorted(subsets)}")
            continue
        video = _find_video(videos_dir, vid)
        if video is None:
            problems.append(f"field database.{vid}: no video file {vid}{{{','.join(VIDEO_SUFFIXES)}}} in {videos_dir}")
            continue
        ops: list[dict[str, Any]] = []
        for _i, ann in enumerate(sorted(item.get("annotations", []), key=lambda a: a["segment"][0])):
            start, end = (float(x) for x in ann["segment"])
            ops.append(
                {"start": start, "end": end, "label": ann["label"], "text": label_text.format(label=ann["label"])}
            )
        text = "; then ".join(o["text"] for o in ops) or vid
        raw = {
            "video_id": vid,
            "video": str(video.resolve().relative_to(manifest_dir.resolve())),
            "split": subsets[subset],
            "procedure": item.get("procedure", procedure),
            "text": text,
            "operations": ops,
            "frames": [],
        }
        try:
            entries.append(VideoEntry.model_validate(raw))
        except ValueError as exc:
            problems.append(f"field database.{vid}: {exc}")
    if problems:
        raise ManifestError(Path(annotations_path), problems)
    return entries


def import_activitynet(
    annotations_path: str | Path, videos_dir: str | Path, out_manifest: str | Path, **kwargs: Any
) -> Path:
    """Write a manifest next to the videos (paths relative to the manifest's folder)."""
    out = Path(out_manifest)
    entries = activitynet_to_entries(Path(annotations_path), Path(videos_dir), out.parent, **kwargs)
    return write_manifest(out, entries)
