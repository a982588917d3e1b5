"""Content identity of a source video and of its annotations, used to decide what to redo."""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any


def file_identity(path: Path, known: dict[str, Any] | None = None) -> dict[str, Any]:
    """{size, mtime_ns, sha256} of a file; the hash is reused from `known` when size and mtime match.

    Hashing a whole video reads it once; reusing the recorded hash keeps a rerun over an unchanged
    corpus from reading hundreds of GB again.
    """
    st = path.stat()
    ident = {"size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if (
        known
        and known.get("size") == ident["size"]
        and known.get("mtime_ns") == ident["mtime_ns"]
        and known.get("sha256")
    ):
        return {**ident, "sha256": known["sha256"]}
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(1 << 22):
            digest.update(chunk)
    return {**ident, "sha256": digest.hexdigest()}


def annotations_hash(annotations: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(annotations, sort_keys=True).encode()).hexdigest()[:16]


def same_source(a: dict[str, Any] | None, b: dict[str, Any]) -> bool:
    return bool(a) and a.get("sha256") == b.get("sha256")


def relpath_or_str(path: Path, root: Path) -> str:
    try:
        return os.path.relpath(path, root)
    except ValueError:
        return str(path)
