"""Extra captions (`texts` in the manifest): the rows extraction embeds beside each primary caption."""

from __future__ import annotations

from typing import Any

import numpy as np

from cache_schema import caption_pool
from hierskp.ingest.manifest import VideoEntry


def alt_captions(entry: VideoEntry) -> dict[str, tuple[list[str], list[int]]]:
    """Per cache text level, the captions beyond each primary one (pool minus its first) and the row
    of the primary caption each belongs to, in manifest order."""
    nodes = {"video": [entry], "operations": list(entry.operations), "narrations": list(entry.frames)}
    out: dict[str, tuple[list[str], list[int]]] = {}
    for level, items in nodes.items():
        texts, owners = [], []
        for row, node in enumerate(items):
            extra = caption_pool(node.text, node.texts)[1:]
            texts += extra
            owners += [row] * len(extra)
        out[level] = (texts, owners)
    return out


def embed_alt_captions(entry: VideoEntry, encode: Any, dim: int) -> dict[str, tuple[np.ndarray, np.ndarray]] | None:
    """{level: ([M, Dt] embeddings, [M] owners)} through `encode(list[str]) -> [M, Dt]`; None when the
    entry has no extra caption at all (the video then gets no text/alt arrays, as before layout minor 1)."""
    alts = alt_captions(entry)
    if not any(texts for texts, _ in alts.values()):
        return None
    return {
        level: (
            encode(texts) if texts else np.zeros((0, dim), np.float32),
            np.asarray(owners, dtype=np.int64),
        )
        for level, (texts, owners) in alts.items()
    }
