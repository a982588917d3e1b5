"""Errors raised by the cache layer; each names the store, the video and what is wrong."""

from __future__ import annotations


class CacheError(Exception):
    """Base class of all cache problems."""


class CacheFingerprintMismatch(CacheError):
    """The cache was written by another backbone; features of two backbones never mix."""


class CacheLayoutError(CacheError):
    """The store is not a hierskp cache, or has a layout version this code cannot read."""


class IncompleteVideoError(CacheError):
    """A reader asked for a video whose completion marker is absent."""


class CorruptVideoError(CacheError):
    """A video has a completion marker but its group is not whole (missing chunk, resized array,
    unreadable metadata); the message names the video, the array and what is wrong."""
