"""The one streamed sha256 of a file: checkpoints, final heads, backbone weights and manifest sources use it."""

from __future__ import annotations

import hashlib
import os

_CHUNK = 1 << 22


def file_sha256(path: str | os.PathLike[str]) -> str:
    """Hex sha256 of a file's bytes, read in 4 MiB chunks (memory does not grow with the file)."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
