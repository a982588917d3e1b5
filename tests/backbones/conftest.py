"""Tiny real transformers models (CLIP, SigLIP, DINOv2, ViT), saved once per session with their processors."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch


@dataclass
class TinyModel:
    path: Path
    model: Any  # the in-memory model that was saved (reference for outputs)
    dim: int


def _tiny(**extra: Any) -> dict[str, Any]:
    return dict(hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_attention_heads=2, **extra)


def _save(path: Path, model: Any, processor: Any, tokenizer: Any = None) -> Path:
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    model.save_pretrained(path)
    processor.save_pretrained(path)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny_models(tmp_path_factory: pytest.TempPathFactory) -> dict[str, TinyModel]:
    import transformers as tf
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    from transformers.models.siglip2.image_processing_pil_siglip2 import Siglip2ImageProcessorPil
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    from hierskp.backbones.text import default_text_model_path

    root = tmp_path_factory.mktemp("tiny_models")
    torch.manual_seed(0)
    # Real BERT word-piece tokenizer (MiniLM's) so the CLIP text tower gets real token ids.
    tokenizer = tf.AutoTokenizer.from_pretrained(default_text_model_path())
    text = _tiny(
        vocab_size=tokenizer.vocab_size, max_position_embeddings=64, bos_token_id=101, eos_token_id=102, pad_token_id=0
    )
    clip = tf.CLIPModel(
        tf.CLIPConfig(text_config=text, vision_config=_tiny(image_size=32, patch_size=8), projection_dim=24)
    ).eval()
    siglip_text = _tiny(vocab_size=tokenizer.vocab_size, bos_token_id=101, eos_token_id=102, pad_token_id=0)
    siglip = tf.SiglipModel(
        tf.SiglipConfig(text_config=siglip_text, vision_config=_tiny(image_size=32, patch_size=8))
    ).eval()
    siglip2 = tf.Siglip2Model(
        tf.Siglip2Config(text_config=siglip_text, vision_config=_tiny(patch_size=8, num_patches=16))
    ).eval()
    dino = tf.Dinov2Model(tf.Dinov2Config(**_tiny(image_size=32, patch_size=8))).eval()
    vit = tf.ViTModel(tf.ViTConfig(**_tiny(image_size=32, patch_size=8)), add_pooling_layer=False).eval()
    crop = {"height": 32, "width": 32}
    return {
        "clip": TinyModel(
            _save(root / "clip", clip, CLIPImageProcessorPil(size={"shortest_edge": 40}, crop_size=crop), tokenizer),
            clip,
            24,
        ),
        "siglip": TinyModel(_save(root / "siglip", siglip, SiglipImageProcessorPil(size=crop), tokenizer), siglip, 32),
        "siglip2": TinyModel(
            _save(root / "siglip2", siglip2, Siglip2ImageProcessorPil(patch_size=8, max_num_patches=16)), siglip2, 32
        ),
        "dinov2": TinyModel(
            _save(root / "dinov2", dino, BitImageProcessorPil(size={"shortest_edge": 36}, crop_size=crop)), dino, 32
        ),
        "vit": TinyModel(_save(root / "vit", vit, ViTImageProcessorPil(size=crop)), vit, 32),
    }


@pytest.fixture(scope="session")
def loaded_encoders(tiny_models: dict[str, TinyModel]) -> dict[str, Any]:
    from hierskp.backbones import load_vision_encoder

    return {name: load_vision_encoder(str(m.path), device="cpu") for name, m in tiny_models.items()}


def make_frames(n: int, height: int, width: int, seed: int = 0) -> np.ndarray:
    """Smooth colour patterns plus noise: exercises resampling filters like real frames do."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)
    frames = []
    for _ in range(n):
        fx, fy, phase = rng.uniform(0.05, 0.4, 3)
        base = np.stack([np.sin(xx * fx + phase), np.cos(yy * fy), np.sin((xx + yy) * fx * fy)], -1)
        img = 128 + 90 * base + rng.normal(0, 12, (height, width, 3))
        frames.append(np.clip(img, 0, 255).astype(np.uint8))
    return np.stack(frames)


@pytest.fixture(scope="session")
def frames_factory() -> Any:
    return make_frames
