"""The extraction parameters, defined once.

`ExtractOptions` (how a video becomes features) is shared by `hierskp extract` (its options are
generated from these fields), by `ExtractConfig` and by the flows (`extract-features`,
`hierskp-pipeline`, `retrain` take it as one parameter, which Prefect renders as a form with these
types, bounds and descriptions and checks on the server before a flow run exists).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


class ExtractOptions(BaseModel):
    """How videos are turned into cached features: backbones, sampling, batching, decoding."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    backbone: str = Field(
        default="embedded", min_length=1, description="vision model: Hugging Face id, local path or 'embedded'"
    )
    text_backbone: str = Field(
        default="default", min_length=1, description="text model: Hugging Face id, local path or 'default' (MiniLM)"
    )
    fps: float = Field(default=1.0, gt=0, le=120, description="frames sampled per second of video")
    batch_size: int = Field(default=32, ge=1, le=4096, description="frames per backbone forward pass")
    short_side: int | None = Field(
        default=None, ge=8, description="decode at this shorter side in pixels (saves memory); unset: full size"
    )
    device: str = Field(default="auto", min_length=1, description="'auto' (CUDA when present), 'cpu', 'cuda:0', ...")
    decoder: Literal["auto", "decord", "pyav"] = Field(
        default="auto", description="video decoder; 'auto' tries decord, then PyAV"
    )
    torch_threads: int | None = Field(
        default=None, ge=1, description="CPU threads for the backbone; unset: cores - 1, leaving one to the decoder"
    )


class ExtractConfig(ExtractOptions):
    """One extraction job: the options plus what to read and where to write."""

    manifest: Path
    cache: str = Field(min_length=1, description="local path or fsspec URL of the Zarr cache")
    video_ids: tuple[str, ...] | None = Field(default=None, description="restrict to these manifest ids")
    storage_options: dict[str, Any] | None = Field(
        default=None, description="fsspec options of the cache URL (credentials belong in the environment)"
    )

    @classmethod
    def of(cls, manifest: str | Path, cache: str, options: ExtractOptions | None = None, **job: Any) -> ExtractConfig:
        """The config of `options` (default: all defaults) applied to MANIFEST -> CACHE."""
        return cls(manifest=manifest, cache=cache, **(options or ExtractOptions()).model_dump(), **job)
