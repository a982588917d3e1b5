"""Everything one process needs to extract videos: manifest, encoders and the opened cache.

Encoders are loaded once per process (a Dask worker or a Prefect task runner reuses them).
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from cache_schema import CacheStore, open_cache
from hierskp.data.manifest import Manifest, load_manifest

from .config import ExtractConfig

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _encoders(backbone: str, text_backbone: str, device: str, dtype: str, batch_size: int) -> tuple[Any, Any]:
    from hierskp.backbones import load_text_encoder, load_vision_encoder

    vision = load_vision_encoder(backbone, device=device, dtype=dtype, batch_size=batch_size)
    return vision, load_text_encoder(text_backbone, device=device)


def cache_fingerprint(vision_fp: dict[str, Any], text_fp: dict[str, Any], cfg: ExtractConfig) -> str:
    """Identity of what a cache holds: both backbones plus the sampling that shapes its rows."""
    key = {
        "vision": vision_fp["fingerprint_id"],
        "text": text_fp["fingerprint_id"],
        "fps": cfg.fps,
        "short_side": cfg.short_side,
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:16]


def _set_cpu_threads(requested: int | None) -> None:
    """Decoding runs beside the backbone; on a CPU box an oversubscribed torch pool is several times
    slower than one that leaves a core to the decoder (measured: bench/README.md)."""
    import torch

    torch.set_num_threads(requested or max(1, (os.cpu_count() or 2) - 1))


@dataclass
class ExtractionContext:
    config: ExtractConfig
    manifest: Manifest
    store: CacheStore
    vision: Any
    text: Any


def open_extraction(cfg: ExtractConfig, manifest: Manifest | None = None) -> ExtractionContext:
    """Load (or reuse) the encoders and open the cache for writing, refusing another backbone's cache."""
    manifest = manifest or load_manifest(cfg.manifest)
    _set_cpu_threads(cfg.torch_threads)
    with _lock:
        vision, text = _encoders(cfg.backbone, cfg.text_backbone, cfg.device, cfg.dtype, cfg.batch_size)
    fp_id = cache_fingerprint(vision.fingerprint, text.fingerprint, cfg)
    store = open_cache(
        cfg.cache,
        mode="a",
        fingerprint_id=fp_id,
        storage_options=cfg.storage_options,
        backbone={**vision.fingerprint, "fps": cfg.fps, "short_side": cfg.short_side},
        text_backbone=text.fingerprint,
    )
    return ExtractionContext(config=cfg, manifest=manifest, store=store, vision=vision, text=text)
