"""The versioned on-disk contract of the hierskp feature cache (Zarr v3).

Both stages go through this package: extraction writes with `CacheStore.begin_video` /
`VideoWriter`, training and evaluation read with `CacheStore.read_video`. See README.md.
"""

from .errors import CacheError, CacheFingerprintMismatch, CacheLayoutError, CorruptVideoError, IncompleteVideoError
from .layout import FEATURE_CHUNK_FRAMES, LAYOUT_MINOR, LAYOUT_VERSION
from .reader import VideoRecord
from .store import CacheStore, VideoStatus, open_cache
from .validate import CacheReport, VideoReport, require_valid, validate_cache, validate_video
from .verified import survey
from .writer import VideoWriter

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
    "open_cache",
    "require_valid",
    "survey",
    "validate_cache",
    "validate_video",
]
