"""Everything one process needs to extract videos: manifest, encoders and the opened cache.

Encoders are loaded once per process (a Dask worker or a Prefect task runner reuses them), and
only when a video needs them: the cache's fingerprint comes from what identifies the weights
without loading them (remembered per model folder while its files' size and mtime hold), so a
rerun over an up-to-date cache loads no model.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

from cache_schema import CacheStore, open_cache
from hierskp.backbones.fingerprint import remember_fingerprint, remembered_fingerprint
from hierskp.ingest.manifest import Manifest, load_manifest

from .config import ExtractConfig

_lock = threading.Lock()


@lru_cache(maxsize=4)
def _encoders(
    backbone: str, text_backbone: str, device: str, dtype: str, batch_size: int, revision: str | None = None
) -> tuple[Any, Any]:
    from hierskp.backbones import load_text_encoder, load_vision_encoder

    vision = load_vision_encoder(backbone, device=device, dtype=dtype, batch_size=batch_size, revision=revision)
    text = load_text_encoder(text_backbone, device=device)
    for kind, model, enc in (("vision", backbone, vision), ("text", text_backbone, text)):
        rev = revision if kind == "vision" else None
        found = _model_dir(kind, model, rev)
        if found is not None:
            remember_fingerprint(_request(kind, model, device, dtype, rev), found, enc.fingerprint)
    return vision, text


def _request(kind: str, model: str, device: str, dtype: str, revision: str | None = None) -> dict[str, Any]:
    """What a remembered fingerprint is keyed by: the vision fingerprint includes the autocast dtype."""
    from hierskp.devices import resolve_device

    req = {"kind": kind, "model": model, "device": str(resolve_device(device)), "layout": 1}
    req |= {"revision": revision} if revision is not None else {}
    return req | ({"dtype": dtype} if kind == "vision" else {})


def _model_dir(kind: str, model: str, revision: str | None = None) -> Path | None:
    """The local folder a model loads from, found without loading it (None when unknown)."""
    from hierskp.backbones import _hf
    from hierskp.backbones.embedded import embedded_dir, is_embedded_name
    from hierskp.backbones.text import DEFAULT_TEXT_MODEL, default_text_model_path

    try:
        if kind == "vision" and is_embedded_name(model):
            path = embedded_dir()
        elif kind == "text" and model == DEFAULT_TEXT_MODEL:
            path = default_text_model_path()
        else:
            path = _hf.snapshot_dir(model, _hf.hub_kwargs(None, revision))[0]
        return path.resolve() if path.is_dir() else None
    except Exception:  # noqa: BLE001 - not found locally: the model is loaded instead
        return None


def known_fingerprints(cfg: ExtractConfig) -> tuple[dict[str, Any], dict[str, Any]] | None:
    """Both encoders' fingerprints without loading either, or None when one is unknown or stale."""
    out = []
    for kind, model, rev in (("vision", cfg.backbone, cfg.revision), ("text", cfg.text_backbone, None)):
        found = _model_dir(kind, model, rev)
        request = _request(kind, model, cfg.device, cfg.dtype, rev)
        fp = remembered_fingerprint(request, found) if found is not None else None
        if fp is None:
            return None
        out.append(fp)
    return out[0], out[1]


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
    """`vision` and `text` load the encoders on first use (a video that needs work)."""

    config: ExtractConfig
    manifest: Manifest
    store: CacheStore
    fingerprints: tuple[dict[str, Any], dict[str, Any]]

    def _load(self) -> tuple[Any, Any]:
        cfg = self.config
        with _lock:
            vision, text = _encoders(
                cfg.backbone, cfg.text_backbone, cfg.device, cfg.dtype, cfg.batch_size, cfg.revision
            )
        if (vision.fingerprint["fingerprint_id"], text.fingerprint["fingerprint_id"]) != tuple(
            fp["fingerprint_id"] for fp in self.fingerprints
        ):
            raise RuntimeError(
                f"{cfg.backbone!r}/{cfg.text_backbone!r}: the loaded encoders' fingerprints differ from the "
                "remembered ones (model files changed in place?); delete $HIERSKP_HOME/fingerprints.json and rerun"
            )
        return vision, text

    @property
    def vision(self) -> Any:
        return self._load()[0]

    @property
    def text(self) -> Any:
        return self._load()[1]


def open_extraction(cfg: ExtractConfig, manifest: Manifest | None = None) -> ExtractionContext:
    """Open the cache for writing, refusing another backbone's cache; the encoders load only if needed."""
    manifest = manifest or load_manifest(cfg.manifest, allow_overlap=cfg.allow_overlapping_operations)
    _set_cpu_threads(cfg.torch_threads)
    fps = known_fingerprints(cfg)
    if fps is None:
        with _lock:
            vision, text = _encoders(
                cfg.backbone, cfg.text_backbone, cfg.device, cfg.dtype, cfg.batch_size, cfg.revision
            )
        fps = (vision.fingerprint, text.fingerprint)
    fp_id = cache_fingerprint(fps[0], fps[1], cfg)
    store = open_cache(
        cfg.cache,
        mode="a",
        fingerprint_id=fp_id,
        storage_options=cfg.storage_options,
        backbone={**fps[0], "fps": cfg.fps, "short_side": cfg.short_side},
        text_backbone=fps[1],
    )
    return ExtractionContext(config=cfg, manifest=manifest, store=store, fingerprints=fps)
