"""Architecture registry: ``model_type`` -> which transformers class to load and how to pool.

Pooling rules (recorded in every fingerprint under ``pooling``):

* CLIP: the projected embedding (``image_embeds`` / ``text_embeds``), i.e. what
  ``get_image_features`` / ``get_text_features`` return. Only that tower is loaded.
* SigLIP / SigLIP2: ``pooler_output`` of the tower = the attention-pooling head for images and the
  projected last token for text (again what ``get_*_features`` return).
* DINOv2: ``pooler_output`` = the layer-normed CLS token.
* ViT: the layer-normed CLS token (``last_hidden_state[:, 0]``); the ViT pooler (dense+tanh)
  is not loaded because classification checkpoints do not ship it.
* anything else (vision): ``pooler_output`` when the model has one, else the CLS token of a
  token sequence, else the spatial mean of a feature map.
* anything else (text): attention-masked mean of ``last_hidden_state`` (sentence-transformers
  style); text embeddings are always L2-normalised afterwards.

To add an architecture: ``register_vision_architecture("my_type", ArchSpec(...))``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import torch

PoolFn = Callable[[Any, Mapping[str, torch.Tensor]], torch.Tensor]
"""(model output, model inputs) -> [N, D] embedding."""


@dataclass(frozen=True)
class ArchSpec:
    """How to load and pool one architecture."""

    pool: PoolFn
    pooling: str  # short human-readable rule, part of the fingerprint
    model_class: str | None = None  # transformers class name; None -> AutoModel
    sub_config: str | None = None  # "vision_config"/"text_config": one tower of a dual-tower checkpoint
    projection_from_parent: bool = False  # copy top-level projection_dim into the sub-config (CLIP)
    load_kwargs: Mapping[str, Any] = field(default_factory=dict)
    pad_to_max_length: bool = False  # text only: SigLIP was trained on max-length padding


def pool_image_embeds(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return out.image_embeds


def pool_text_embeds(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return out.text_embeds


def pool_pooler(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return out.pooler_output


def pool_cls(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    return out.last_hidden_state[:, 0]


def pool_auto_vision(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    pooled = getattr(out, "pooler_output", None)
    if pooled is not None:
        return pooled.flatten(1)  # conv nets give [N, C, 1, 1]
    hidden = out.last_hidden_state
    return hidden[:, 0] if hidden.ndim == 3 else hidden.flatten(2).mean(-1)


def pool_masked_mean(out: Any, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
    hidden = out.last_hidden_state
    mask = inputs["attention_mask"].unsqueeze(-1).to(hidden.dtype)
    return (hidden * mask).sum(1) / mask.sum(1).clamp_min(1e-9)


_CLIP_VISION = ArchSpec(
    pool_image_embeds,
    "projected image embedding (image_embeds)",
    "CLIPVisionModelWithProjection",
    "vision_config",
    projection_from_parent=True,
)
_SIGLIP_VISION = ArchSpec(pool_pooler, "attention-pool head (pooler_output)", "SiglipVisionModel", "vision_config")

VISION_ARCHS: dict[str, ArchSpec] = {
    "clip": _CLIP_VISION,
    "clip_vision_model": ArchSpec(
        pool_image_embeds, "projected image embedding (image_embeds)", "CLIPVisionModelWithProjection"
    ),
    "siglip": _SIGLIP_VISION,
    "siglip_vision_model": ArchSpec(pool_pooler, "attention-pool head (pooler_output)", "SiglipVisionModel"),
    "siglip2": ArchSpec(pool_pooler, "attention-pool head (pooler_output)", "Siglip2VisionModel", "vision_config"),
    "siglip2_vision_model": ArchSpec(pool_pooler, "attention-pool head (pooler_output)", "Siglip2VisionModel"),
    "dinov2": ArchSpec(pool_pooler, "layer-normed CLS token (pooler_output)", "Dinov2Model"),
    "dinov2_with_registers": ArchSpec(
        pool_pooler, "layer-normed CLS token (pooler_output)", "Dinov2WithRegistersModel"
    ),
    "vit": ArchSpec(
        pool_cls,
        "layer-normed CLS token (last_hidden_state[:, 0])",
        "ViTModel",
        load_kwargs={"add_pooling_layer": False},
    ),
}
DEFAULT_VISION = ArchSpec(pool_auto_vision, "pooler_output, else CLS token, else spatial mean")

TEXT_ARCHS: dict[str, ArchSpec] = {
    "clip": ArchSpec(
        pool_text_embeds,
        "projected text embedding (text_embeds)",
        "CLIPTextModelWithProjection",
        "text_config",
        projection_from_parent=True,
    ),
    "clip_text_model": ArchSpec(
        pool_text_embeds, "projected text embedding (text_embeds)", "CLIPTextModelWithProjection"
    ),
    "siglip": ArchSpec(
        pool_pooler, "projected last token (pooler_output)", "SiglipTextModel", "text_config", pad_to_max_length=True
    ),
    "siglip_text_model": ArchSpec(
        pool_pooler, "projected last token (pooler_output)", "SiglipTextModel", pad_to_max_length=True
    ),
}
DEFAULT_TEXT = ArchSpec(pool_masked_mean, "attention-masked mean of last_hidden_state")


def register_vision_architecture(model_type: str, spec: ArchSpec) -> None:
    """Teach ``load_vision_encoder`` a new ``config.model_type`` (overrides a built-in one)."""
    VISION_ARCHS[model_type] = spec


def register_text_architecture(model_type: str, spec: ArchSpec) -> None:
    """Teach ``load_text_encoder`` a new ``config.model_type`` (overrides a built-in one)."""
    TEXT_ARCHS[model_type] = spec


def vision_arch(model_type: str, architectures: list[str] | None = None) -> ArchSpec:
    """Spec for a config; a projection-less CLIP vision checkpoint falls back to its pooler_output."""
    if model_type == "clip_vision_model" and architectures == ["CLIPVisionModel"]:
        return ArchSpec(pool_pooler, "post-layernorm CLS token (pooler_output)", "CLIPVisionModel")
    return VISION_ARCHS.get(model_type, DEFAULT_VISION)


def text_arch(model_type: str) -> ArchSpec:
    return TEXT_ARCHS.get(model_type, DEFAULT_TEXT)
