"""Frozen image encoders: frames in, one float32 embedding per frame out.

Device discipline: frames go to the encoder's device once per micro-batch (uint8, the smallest
form), preprocessing runs there (the batched tensor path of ``preprocess.py``, or the HF
processor's torchvision backend with ``device=`` where torchvision is installed and the processor
is not a standard one), embeddings stay on the device and cross back once per ``encode`` call.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hierskp.backbones import _hf
from hierskp.backbones.fingerprint import make_fingerprint
from hierskp.backbones.preprocess import PreprocessSpec, preprocess_frames, processor_settings, spec_from_processor
from hierskp.backbones.registry import ArchSpec, vision_arch
from hierskp.devices import resolve_device


@dataclass(frozen=True)
class VisionEncoderConfig:
    """How to load a vision backbone. ``model``: hub id, local directory, or "embedded"."""

    model: str
    device: str = "auto"
    dtype: str = "auto"  # autocast dtype: auto | float32 | float16 | bfloat16
    cache_dir: Path | None = None
    revision: str | None = None
    batch_size: int = 32  # frames per forward pass (micro-batch)


@dataclass(eq=False)
class VisionEncoder:
    """A frozen vision tower plus its preprocessing. Build it with ``load_vision_encoder``."""

    model: torch.nn.Module
    processor: Any
    arch: ArchSpec
    preprocess: PreprocessSpec | None  # None: the HF processor runs (non-standard pipeline)
    device: torch.device
    dtype: torch.dtype
    batch_size: int
    dim: int = 0
    fingerprint: dict[str, Any] = field(default_factory=dict)
    processor_on_device: bool = False  # the HF processor is a torchvision backend: it runs on ``device``

    def model_inputs(self, frames: torch.Tensor) -> dict[str, torch.Tensor]:
        """uint8 [N, H, W, 3] -> model keyword inputs on the encoder's device.

        Standard processors: batched tensor path on the device, only ``pixel_values``. Others (e.g.
        SigLIP2's patch packing) run the HF processor and pass everything it returns: its
        torchvision backend on the device where available, else the PIL backend frame by frame.
        """
        if self.preprocess is not None:
            return {"pixel_values": preprocess_frames(frames.to(self.device, non_blocking=True), self.preprocess)}
        if self.processor_on_device:
            chw = frames.to(self.device, non_blocking=True).permute(0, 3, 1, 2)
            out = self.processor(
                images=list(chw), device=self.device, input_data_format="channels_first", return_tensors="pt"
            )
        else:
            out = self.processor(images=list(frames.cpu().numpy()), return_tensors="pt")
        return {k: v.to(self.device) for k, v in out.items()}

    def encode(self, frames: np.ndarray | torch.Tensor, batch_size: int | None = None) -> torch.Tensor:
        """uint8 frames [N, H, W, 3] (RGB) -> float32 [N, dim] on the CPU, in micro-batches.

        Outputs stay on the device until the end: one device-to-host copy per call, so copies do not
        serialise with the forward passes."""
        frames_t = torch.from_numpy(np.ascontiguousarray(frames)) if isinstance(frames, np.ndarray) else frames
        if frames_t.dtype != torch.uint8 or frames_t.ndim != 4 or frames_t.shape[-1] != 3:
            raise ValueError(f"expected uint8 frames [N, H, W, 3], got {tuple(frames_t.shape)} {frames_t.dtype}")
        step = batch_size or self.batch_size
        outputs = []
        with torch.inference_mode():
            for start in range(0, frames_t.shape[0], step):
                inputs = self.model_inputs(frames_t[start : start + step])
                with _hf.autocast(self.device, self.dtype):
                    out = self.model(**inputs)
                outputs.append(self.arch.pool(out, inputs).float())
        if not outputs:
            return torch.zeros((0, self.dim), dtype=torch.float32, device=self.device).cpu()
        return torch.cat(outputs).cpu()


def load_vision_encoder(
    model: str,
    device: str = "auto",
    dtype: str = "auto",
    cache_dir: Path | None = None,
    *,
    revision: str | None = None,
    batch_size: int = 32,
) -> VisionEncoder:
    """Load a frozen vision backbone (hub id, local path, or "embedded") with its image processor."""
    return load_vision_encoder_from_config(VisionEncoderConfig(model, device, dtype, cache_dir, revision, batch_size))


def load_vision_encoder_from_config(cfg: VisionEncoderConfig) -> VisionEncoder:
    from hierskp.backbones.embedded import EMBEDDED_NAME, ensure_embedded_backbone, is_embedded_name

    source = cfg.model
    if is_embedded_name(cfg.model):
        source, display = str(ensure_embedded_backbone()), EMBEDDED_NAME
    else:
        display = cfg.model
    from transformers import AutoImageProcessor

    hub = _hf.hub_kwargs(cfg.cache_dir, cfg.revision)
    config = _hf.load_config(source, hub)
    arch = vision_arch(config.model_type, getattr(config, "architectures", None))
    net = _hf.load_tower(source, config, arch, hub)
    device = resolve_device(cfg.device)
    compute = _hf.resolve_dtype(cfg.dtype, device)
    net = net.to(device).eval().requires_grad_(False)
    with _hf.quiet_transformers():
        processor = AutoImageProcessor.from_pretrained(source, backend="pil", **hub)
    spec = spec_from_processor(processor)
    on_device = False
    if spec is None:
        processor, on_device = _device_processor(AutoImageProcessor, source, hub, processor)
    encoder = VisionEncoder(net, processor, arch, spec, device, compute, cfg.batch_size)
    encoder.processor_on_device = on_device
    encoder.dim = _probe_dim(encoder, spec)
    preprocessing = spec.as_dict() if spec else processor_settings(processor)
    if on_device:  # its numbers differ slightly from PIL's: a cache records which one ran
        preprocessing = {**preprocessing, "backend": "torchvision"}
    model_dir, revision = _hf.snapshot_dir(source, hub)
    encoder.fingerprint = make_fingerprint(
        model=display,
        model_dir=model_dir,
        revision=revision or cfg.revision,
        architecture=type(net).__name__,
        model_type=config.model_type,
        preprocessing=preprocessing,
        dtype=str(compute).removeprefix("torch."),
        pooling=arch.pooling,
        dim=encoder.dim,
        kind="vision",
    )
    return encoder


def _device_processor(auto: Any, source: str, hub: dict[str, Any], pil: Any) -> tuple[Any, bool]:
    """The torchvision backend of a non-standard processor, where torchvision is installed.

    Used on every device alike (CPU runs too), so a cache's fingerprint does not depend on where
    extraction started; without torchvision the PIL processor runs frame by frame on the CPU.
    """
    if importlib.util.find_spec("torchvision") is None:
        return pil, False
    try:
        with _hf.quiet_transformers():
            return auto.from_pretrained(source, backend="torchvision", **hub), True
    except Exception:  # no (working) torchvision backend for this processor: the PIL one runs
        return pil, False


def _probe_dim(encoder: VisionEncoder, spec: PreprocessSpec | None) -> int:
    """Embedding width from one blank frame: robust across heads (projection, pooler, CLS)."""
    side = 224
    if spec is not None:
        side = max(spec.output_hw(side, side))
    return int(encoder.encode(np.zeros((1, side, side, 3), np.uint8)).shape[1])
