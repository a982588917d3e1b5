"""Atomic file writes with fsync: the one implementation lives in `cache_schema.atomic` (the cache writer
needs it and cache_schema imports no hierskp); this is its name inside the library."""

from cache_schema.atomic import atomic_write, atomic_write_bytes, atomic_write_text, fsync_folder, temp_path

__all__ = ["atomic_write", "atomic_write_bytes", "atomic_write_text", "fsync_folder", "temp_path"]
