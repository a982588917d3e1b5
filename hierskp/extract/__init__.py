"""Stage 1: frozen-backbone feature extraction into the Zarr cache."""

from .config import ExtractConfig
from .context import ExtractionContext, cache_fingerprint, open_extraction
from .run import ExtractSummary, extract_manifest
from .video_job import VideoInputError, VideoOutcome, extract_video, is_up_to_date

__all__ = [
    "ExtractConfig",
    "ExtractSummary",
    "ExtractionContext",
    "VideoInputError",
    "VideoOutcome",
    "cache_fingerprint",
    "extract_manifest",
    "extract_video",
    "is_up_to_date",
    "open_extraction",
]
