"""The versioned on-disk contract of the hierskp feature cache (Zarr v3).

Both stages go through this package: extraction writes with `CacheStore.begin_video` /
`VideoWriter`, training and evaluation read with `CacheStore.read_video`. See README.md.

The names that need Zarr load on first use, so a module that only needs a light part of the contract
(the layout constants, `cache_schema.atomic`) does not pay for importing Zarr.
"""

from __future__ import annotations

import importlib
from typing import Any

from .errors import CacheError, CacheFingerprintMismatch, CacheLayoutError, CorruptVideoError, IncompleteVideoError
from .layout import FEATURE_CHUNK_FRAMES, LAYOUT_MINOR, LAYOUT_VERSION


def caption_pool(text: str, texts: tuple[str, ...] | list[str] = ()) -> tuple[str, ...]:
    """The captions of one annotation, shared by the writer (extraction) and the reader (the read model):
    the primary `text` first, then its `texts`, duplicates dropped: the order in which a node's captions are
    embedded into the cache and the order in which a reader finds them again."""
    return tuple(dict.fromkeys([text, *texts]))


_LAZY = {
    "VideoRecord": "reader",
    "CacheStore": "store",
    "VideoStatus": "store",
    "open_cache": "store",
    "CacheReport": "validate",
    "VideoReport": "validate",
    "require_valid": "validate",
    "validate_cache": "validate",
    "validate_video": "validate",
    "survey": "verified",
    "VideoWriter": "writer",
}


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "CacheError",
    "CacheFingerprintMismatch",
    "CacheLayoutError",
    "CacheReport",
    "CacheStore",
    "CorruptVideoError",
    "FEATURE_CHUNK_FRAMES",
    "IncompleteVideoError",
    "LAYOUT_MINOR",
    "LAYOUT_VERSION",
    "VideoRecord",
    "VideoReport",
    "VideoStatus",
    "VideoWriter",
    "caption_pool",
    "open_cache",
    "require_valid",
    "survey",
    "validate_cache",
    "validate_video",
]
