"""Bounds on the search options that multiply work, checked before anything is embedded or written.

A moment window or stride shorter than the cache's frame spacing repeats the same frames in many
rows (`--stride 0.0001` on 4 tiny videos embedded 380,004 windows, 476 MB, for nothing more than
stride = one frame gives), so both are refused below one frame; then an index never holds more
moment rows than the cache holds frames. `k` is capped at MAX_K hits. Each moment index a new
window/stride builds is another version on disk: only the KEEP_VERSIONS most recently used stay.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from hierskp.dataset.cache import CacheStore

MAX_K = 10_000
KEEP_VERSIONS = 3  # moment indices of other window/stride options kept per folder


class SearchBoundsError(ValueError):
    """An option that would multiply the work beyond what can give a better answer."""


def frame_spacing(store: CacheStore, read_videos: bool = True) -> float | None:
    """Seconds between sampled frames: the extraction fps, else (with `read_videos`) the first complete
    video's timestamps; None when neither tells."""
    fps = (store.info.get("backbone") or {}).get("fps")
    if fps:
        return 1.0 / float(fps)
    for vid in store.video_ids() if read_videos else ():
        ts = np.asarray(store.read_video(vid).timestamps(), dtype=np.float64)
        return float(np.median(np.diff(ts))) if len(ts) > 1 else None
    return None


def check_moment_options(store: CacheStore, window_s: float, stride_s: float, read_videos: bool = True) -> None:
    """Refuse a window or stride below one frame. Without `read_videos` only the cache's recorded fps is
    consulted (no video is opened: a repeated search stays independent of the library's size)."""
    spacing = frame_spacing(store, read_videos)
    if spacing is None:
        return
    for name, value in (("stride", stride_s), ("window", window_s)):
        if value < spacing - 1e-9:
            raise SearchBoundsError(
                f"--{name} {value:g} s is shorter than one frame of the cache ({spacing:g} s at "
                f"{1 / spacing:g} fps): rows closer than a frame repeat the same frames and multiply the "
                f"index size for nothing; use --{name} {spacing:g} or more"
            )


def check_k(k: int) -> None:
    if not 1 <= int(k) <= MAX_K:
        raise SearchBoundsError(f"k must be >= 1 and <= {MAX_K} (the number of hits), got {k}")


def prune_versions(index_path: str | os.PathLike[str]) -> list[Path]:
    """Remove all but the KEEP_VERSIONS most recently used moment indices beside `index_path` (and
    files a crashed build left); returns what was removed."""
    path = Path(index_path)
    if not path.name.startswith("moment_") or not path.parent.is_dir():
        return []
    removed = [p for p in path.parent.glob("*.tmp*") if p.is_file() and not _alive(p.name.rpartition(".tmp")[2])]
    versions = sorted(
        (p for p in path.parent.glob("moment_*.faiss") if p != path), key=lambda p: p.stat().st_mtime, reverse=True
    )
    for old in versions[KEEP_VERSIONS - 1 :]:
        removed.extend(old.with_name(old.name + ext) for ext in ("", ".ids.npy", ".json", ".generation.json"))
    for p in removed:
        p.unlink(missing_ok=True)
    return removed


def _alive(pid: str) -> bool:
    """Whether the process that writes a temporary file (its name ends in .tmp<pid>) still runs here."""
    try:
        os.kill(int(pid), 0)
    except (ValueError, ProcessLookupError):
        return False
    except PermissionError:
        return True
    return True
