"""The embedded default vision backbone: a tiny CLIP-style ViT with fixed pseudo-random weights.

Why: the pipeline must run end to end with no downloads. The weights are random but
reproducible bit for bit on every machine: each parameter is filled from numpy's PCG64 bit
stream (a fixed algorithm) seeded by (seed, crc32(parameter name)), turned into a uniform
distribution with integer and IEEE multiply/add only (no libm), with a fan-in scaled width.
LayerNorms are identity, biases zero. Random patch features keep colour and texture
differences, which is what the synthetic corpus's operations differ in.

The model and a matching CLIP image-processor config are written with ``save_pretrained``
into ``$HIERSKP_HOME/backbones/embedded-vit-tiny-v1`` (default ``~/.cache/hierskp``) via a
temporary directory and one atomic rename, then loaded back by ``load_vision_encoder`` exactly
like a downloaded checkpoint.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import zlib
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

EMBEDDED_NAME = "embedded-vit-tiny-v1"
EMBEDDED_ALIASES = frozenset({"embedded", "embedded-vit-tiny", EMBEDDED_NAME})
MARKER = "hierskp-embedded.json"
CLIP_MEAN = (0.48145466, 0.4578275, 0.40821073)
CLIP_STD = (0.26862954, 0.26130258, 0.27577711)


@dataclass(frozen=True)
class EmbeddedSpec:
    """Architecture + init of the embedded backbone. Changing anything here needs a new EMBEDDED_NAME."""

    image_size: int = 96
    patch_size: int = 16
    hidden_size: int = 128
    num_layers: int = 3
    num_heads: int = 4
    intermediate_size: int = 512
    projection_dim: int = 256
    seed: int = 20240601
    gain: float = 1.0  # uniform init std = gain / sqrt(fan_in)
    position_std: float = 0.02


EMBEDDED_SPEC = EmbeddedSpec()
# sha256 over (name, shape, float32 bytes) of every tensor, sorted by name: the cross-machine check.
EXPECTED_TENSOR_SHA256 = "600d56670536acaf0043b90cd67e35953cbe3dcf247e411fc958dd7d581c5115"


def is_embedded_name(model: str) -> bool:
    return model in EMBEDDED_ALIASES


def hierskp_home() -> Path:
    return Path(os.environ.get("HIERSKP_HOME") or Path.home() / ".cache" / "hierskp").expanduser()


def embedded_dir(home: Path | None = None) -> Path:
    return (home or hierskp_home()) / "backbones" / EMBEDDED_NAME


def _uniform(seed: int, name: str, n: int) -> np.ndarray:
    """n values uniform in [-1, 1) from the raw PCG64 stream; identical on every platform."""
    bits = np.random.PCG64([seed, zlib.crc32(name.encode())]).random_raw(n)
    return (bits >> np.uint64(11)).astype(np.float64) * (2.0 / 2**53) - 1.0


def _init_value(name: str, shape: tuple[int, ...], spec: EmbeddedSpec) -> np.ndarray:
    if len(shape) == 1 and "norm" in name:
        return np.ones(shape) if name.endswith("weight") else np.zeros(shape)
    if name.endswith("bias"):
        return np.zeros(shape)
    fan_in = int(np.prod(shape[1:])) if len(shape) > 1 else shape[0]
    std = spec.position_std if "position_embedding" in name else spec.gain / np.sqrt(fan_in)
    return _uniform(spec.seed, name, int(np.prod(shape))).reshape(shape) * (std * np.sqrt(3.0))


def build_embedded_model(spec: EmbeddedSpec = EMBEDDED_SPEC) -> torch.nn.Module:
    """The embedded backbone in memory (eval mode), deterministic weights."""
    from transformers import CLIPVisionConfig, CLIPVisionModelWithProjection

    config = CLIPVisionConfig(
        image_size=spec.image_size,
        patch_size=spec.patch_size,
        hidden_size=spec.hidden_size,
        num_hidden_layers=spec.num_layers,
        num_attention_heads=spec.num_heads,
        intermediate_size=spec.intermediate_size,
        projection_dim=spec.projection_dim,
    )
    with torch.random.fork_rng(devices=[]):  # default init draws from torch's RNG; leave the caller's alone
        model = CLIPVisionModelWithProjection(config)
    with torch.no_grad():
        for name, param in model.state_dict().items():
            param.copy_(torch.from_numpy(_init_value(name, tuple(param.shape), spec).astype(np.float32)))
    return model.eval()


def build_embedded_processor(spec: EmbeddedSpec = EMBEDDED_SPEC) -> Any:
    """CLIP-style preprocessing: bicubic shortest-edge resize, center crop, CLIP mean/std."""
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    side = spec.image_size
    return CLIPImageProcessorPil(
        size={"shortest_edge": side},
        crop_size={"height": side, "width": side},
        resample=3,
        image_mean=list(CLIP_MEAN),
        image_std=list(CLIP_STD),
    )


def tensor_sha256(model: torch.nn.Module) -> str:
    digest = hashlib.sha256()
    for name, tensor in sorted(model.state_dict().items()):
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def write_embedded_backbone(target: Path, spec: EmbeddedSpec = EMBEDDED_SPEC) -> Path:
    """Build and save the backbone into ``target`` atomically; a finished directory is kept as is."""
    if (target / MARKER).is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        from hierskp.backbones._hf import quiet_transformers

        model = build_embedded_model(spec)
        with quiet_transformers():
            model.save_pretrained(tmp)
            build_embedded_processor(spec).save_pretrained(tmp)
        marker = {"name": EMBEDDED_NAME, "spec": asdict(spec), "tensor_sha256": tensor_sha256(model)}
        (tmp / MARKER).write_text(json.dumps(marker, indent=2, sort_keys=True))
        for path in [*tmp.iterdir(), tmp]:  # mkdtemp (and the safetensors writer) make files private
            path.chmod(0o755 if path.is_dir() else 0o644)
        try:
            os.rename(tmp, target)  # atomic; fails if another process finished first
        except OSError:
            if not (target / MARKER).is_file():
                raise RuntimeError(f"{target} exists but holds no finished backbone; delete it") from None
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def ensure_embedded_backbone(home: Path | None = None) -> Path:
    """Directory of the embedded backbone, building it on first use."""
    return write_embedded_backbone(embedded_dir(home))
