"""The cache as stages 2 and 3 see it: the one door from training, evaluation, search and runs to `cache_schema`.

Training (`hierskp.train`), evaluation (`hierskp.eval`), search (`hierskp.search`), the run folder
(`hierskp.runs`) and the public API open and read a cache through this module and the rest of
`hierskp.dataset`, never through `cache_schema` itself (tests/test_architecture.py checks it), so a
change of the on-disk contract is met here and in `cache_schema`, not in every reader.

* `open_cache(path, mode)`, `CacheStore` (the open store: `read_video`, `list_videos`, `fingerprint`, ...)
* `require_valid(store)`: the cheap validation before training; `intact(store, video_id)`: a video whose
  verification record still matches its marker
* `READ_BLOCK_FRAMES`: how many frames a reader should read at a time (one stored chunk: aligned reads)
* the errors a reader handles: `CacheError` and its kinds
"""

from __future__ import annotations

from cache_schema import (
    FEATURE_CHUNK_FRAMES,
    CacheError,
    CacheFingerprintMismatch,
    CacheStore,
    CorruptVideoError,
    IncompleteVideoError,
    open_cache,
    require_valid,
)
from cache_schema.verified import intact

READ_BLOCK_FRAMES = FEATURE_CHUNK_FRAMES

__all__ = [
    "READ_BLOCK_FRAMES",
    "CacheError",
    "CacheFingerprintMismatch",
    "CacheStore",
    "CorruptVideoError",
    "IncompleteVideoError",
    "intact",
    "open_cache",
    "require_valid",
]
