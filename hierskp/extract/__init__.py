"""Stage 1: frozen-backbone feature extraction into the Zarr cache."""

from .config import ExtractConfig, ExtractOptions
from .context import ExtractionContext, cache_fingerprint, open_extraction
from .run import ExtractSummary, consolidate_cache, extract_manifest, select_rows
from .video_job import VideoInputError, VideoOutcome, extract_video, is_up_to_date

__all__ = [
    "ExtractConfig",
    "ExtractOptions",
    "ExtractSummary",
    "ExtractionContext",
    "VideoInputError",
    "VideoOutcome",
    "cache_fingerprint",
    "consolidate_cache",
    "extract_manifest",
    "extract_video",
    "is_up_to_date",
    "open_extraction",
    "select_rows",
]
