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
    revision: str | None = Field(
        default=None,
        min_length=1,
        description="revision of a hub-id vision model (branch, tag or commit); the commit it resolves to is "
        "recorded in the cache fingerprint; unset: the cached main",
    )
    text_backbone: str = Field(
        default="default", min_length=1, description="text model: Hugging Face id, local path or 'default' (MiniLM)"
    )
    fps: float = Field(default=1.0, gt=0, le=120, description="frames sampled per second of video")
    batch_size: int = Field(
        default=32,
        ge=1,
        le=4096,
        description="frames per decoded batch, which is also the backbone's forward-pass (micro-batch) size",
    )
    short_side: int | None = Field(
        default=None,
        ge=8,
        description="decode at this shorter side in pixels (saves memory and host-to-device bandwidth; on GPU "
        "runs use the backbone's input side, e.g. 224 for CLIP ViT-B/16; part of the cache fingerprint); "
        "unset: full size",
    )
    device: str = Field(default="auto", min_length=1, description="'auto' (CUDA when present), 'cpu', 'cuda:0', ...")
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = Field(
        default="auto",
        description="vision backbone compute dtype under autocast (auto: bfloat16 on CUDA where supported, "
        "else float16; float32 on the CPU). The dtype actually used is in the cache fingerprint: a cache "
        "continues only with the same one (e.g. float32 to continue a CPU-started cache on a GPU)",
    )
    decoder: Literal["auto", "decord", "pyav"] = Field(
        default="auto", description="video decoder; 'auto' tries decord, then PyAV"
    )
    torch_threads: int | None = Field(
        default=None, ge=1, description="CPU threads for the backbone; unset: cores - 1, leaving one to the decoder"
    )
    stall_timeout_s: float = Field(
        default=60.0,
        gt=0,
        le=86400,
        description="a video whose decoder yields no frame for this long is abandoned, retried with PyAV, then "
        "failed alone (decoding runs in a child process so even a hung native call is stopped); opening a file "
        "may take 4x this (it scans the container index)",
    )
    lease_s: float = Field(
        default=120.0,
        ge=1,
        le=86400,
        description="a writer's claim on a video lasts this long without renewal (renewed every lease_s/4); "
        "a killed writer's videos are taken over by another writer after it",
    )
    allow_outside_dataset: bool = Field(
        default=False,
        description="accept video paths that resolve (symlinks followed) outside the manifest's folder; the "
        "operator's call alone: a manifest line's \"allow_outside\" cannot widen it",
    )
    verify: Literal["cheap", "deep"] = Field(
        default="cheap",
        description="how a cached video is checked before it is skipped as up to date: 'cheap' = shapes and "
        "chunks; 'deep' also re-reads every value against the checksums recorded at completion and redoes "
        "the videos that fail (the repair `hierskp cache validate` and `train` name)",
    )
    allow_overlapping_operations: bool = Field(
        default=False,
        description="accept manifest operations that overlap in time (they must still be listed in time order)",
    )


class ExtractConfig(ExtractOptions):
    """One extraction job: the options plus what to read and where to write."""

    manifest: Path
    cache: str = Field(min_length=1, description="local path or fsspec URL of the Zarr cache")
    claim_poll_s: float = Field(
        default=0.5, gt=0, le=60, description="how often to look at a video another writer holds"
    )
    isolate_decoder: bool = Field(
        default=True, description="decode in a watched child process (False: in-process, no stall watchdog)"
    )
    video_ids: tuple[str, ...] | None = Field(default=None, description="restrict to these manifest ids")
    storage_options: dict[str, Any] | None = Field(
        default=None, description="fsspec options of the cache URL (credentials belong in the environment)"
    )

    @classmethod
    def of(cls, manifest: str | Path, cache: str, options: ExtractOptions | None = None, **job: Any) -> ExtractConfig:
        """The config of `options` (default: all defaults) applied to MANIFEST -> CACHE."""
        return cls(manifest=manifest, cache=cache, **(options or ExtractOptions()).model_dump(), **job)
