"""The source videos a server may send, and their thumbnails.

Only files that a complete or partial video's provenance records are served: a request names a
video id, never a path. Each recorded path is joined to the videos root, resolved (symlinks
followed) and must stay inside that root, be a regular file and still have the recorded size;
anything else is refused with the reason. Thumbnails are decoded once per (file content, time) and
kept as JPEG files in the server's state folder: a second request reads the file.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hierskp.files.atomic import atomic_write

THUMB_WIDTH = 320


class MediaUnavailable(LookupError):
    """The video's source file cannot be served (why is in the message)."""


@dataclass(frozen=True)
class SourceFile:
    video_id: str
    path: Path
    sha256: str  # the content hash extraction recorded (identifies thumbnails)


def resolve_source(root: Path | None, video_id: str, provenance: dict[str, Any]) -> SourceFile:
    """The checked file of one video, from its recorded provenance only."""
    source = provenance.get("source") or {}
    recorded = source.get("path")
    if not isinstance(recorded, str) or not recorded:
        raise MediaUnavailable(f"video {video_id!r}: the cache records no source path")
    if root is None:
        raise MediaUnavailable(
            f"video {video_id!r}: no --videos folder given, so its source {recorded!r} is not served"
        )
    path = (root / recorded).resolve()
    if not path.is_relative_to(root):
        raise MediaUnavailable(f"video {video_id!r}: recorded source {recorded!r} resolves outside {root}")
    if not path.is_file():
        raise MediaUnavailable(f"video {video_id!r}: source {path} is missing or not a regular file")
    size = source.get("size")
    if size is not None and os.stat(path).st_size != int(size):
        raise MediaUnavailable(f"video {video_id!r}: source {path} changed since extraction (size != {size})")
    return SourceFile(video_id, path, str(source.get("sha256") or ""))


class Thumbnails:
    """JPEG frames at given times, decoded once and cached under `folder`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.decoded = 0  # frames this process decoded (a cached thumbnail decodes nothing)
        self._lock = threading.Lock()

    def path(self, src: SourceFile, t: float) -> Path:
        key = hashlib.sha256(f"{src.sha256 or src.path}\t{round(float(t), 1)}\t{THUMB_WIDTH}".encode()).hexdigest()
        return self.folder / key[:2] / f"{key}.jpg"

    def get(self, src: SourceFile, t: float) -> Path:
        out = self.path(src, t)
        if out.is_file():
            return out
        with self._lock:  # one decode at a time: the box is small and a page asks for many at once
            if out.is_file():
                return out
            image = decode_frame(src.path, max(0.0, float(t)))
            self.decoded += 1
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write(out, lambda tmp: image.save(tmp, format="JPEG", quality=82))  # a whole file or none
        return out


def decode_frame(path: Path, t: float) -> Any:
    """The first frame at or after `t` seconds (the last frame if the video ends before), as a PIL image."""
    from hierskp.video.probe import open_container, video_stream

    container = open_container(path)
    try:
        stream = video_stream(container, path)
        base = stream.time_base
        if base is not None and t > 0:
            container.seek(int(t / base), stream=stream, backward=True)
        frame = None
        for frame in container.decode(stream):
            if frame.pts is None or base is None or float(frame.pts * base) >= t - 1e-3:
                break
        if frame is None:
            raise MediaUnavailable(f"{path}: no frame decodes at {t:.1f} s")
        image = frame.to_image()
    finally:
        container.close()
    height = max(1, round(image.height * THUMB_WIDTH / max(1, image.width)))
    return image.resize((THUMB_WIDTH, height))
