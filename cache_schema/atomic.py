"""The one atomic file write of the project: readers see the old content or the new, never a mix or a stub.

The bytes go to a hidden temporary file beside the target (same file system, so the rename is atomic),
which is fsynced, renamed over the target, and then the folder is fsynced so the rename itself survives a
power cut. Any error, in the caller's writer or in the file system, removes the temporary file and leaves
the old target untouched. `hierskp.files.atomic` re-exports this module (cache_schema imports no hierskp).

The temporary name is `.<name>.<random>.tmp<pid>` (plus `suffix`, for writers that pick the format from the
extension): hidden, unique per call, and it ends in `.tmp<pid>` so a cleaner can tell whether its writer
still runs.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def temp_path(path: str | os.PathLike[str], suffix: str = "") -> Path:
    """A fresh hidden temporary name beside `path`."""
    path = Path(path)
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp{os.getpid()}{suffix}")


def fsync_folder(folder: str | os.PathLike[str]) -> None:
    """Make a rename or a new name in `folder` durable."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(path: str | os.PathLike[str], write: Callable[[Path], object], suffix: str = "") -> Path:
    """Call `write(tmp)` to fill a temporary file, then fsync it, rename it onto `path`, fsync the folder.
    If `write` raises (or anything after it), the temporary file is removed and `path` keeps its old content."""
    path = Path(path)
    tmp = temp_path(path, suffix)
    try:
        write(tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)
    return path


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> Path:
    return atomic_write(path, lambda tmp: tmp.write_bytes(data))


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> Path:
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding=encoding))
