"""The trainable HierSKP heads on top of cached frozen features and cached text embeddings.

Only these small modules are trained (stage 2): the vision backbone and the text encoder stay frozen
and are never loaded, which is what makes training on the cache orders of magnitude cheaper.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Literal

import torch
import torch.nn.functional as F
from pydantic import BaseModel, ConfigDict, Field
from safetensors.torch import load_file, save_file
from torch import nn

from hierskp.files.checksums import file_sha256

from .temporal import PositionKind, TemporalAggregator

TEMPERATURE_LEVELS: tuple[str, ...] = ("frame", "operation", "video", "sequence")


class ModelConfig(BaseModel):
    """User-facing head hyper-parameters (the `model:` section of the training config)."""

    model_config = ConfigDict(extra="forbid")
    hidden_dim: int = Field(default=128, ge=8)
    embed_dim: int = Field(default=256, ge=8, description="the shared video-text space")
    layers: int = Field(default=1, ge=1, le=12)
    heads: int = Field(default=4, ge=1)
    dropout: float = Field(default=0.1, ge=0, lt=1)
    positions: PositionKind = "learned"
    text_head: Literal["linear", "mlp"] = "mlp"
    video_input: Literal["hidden", "semantic"] = Field(
        default="semantic",
        description="what the video aggregator sees of each clip: its embedding in the shared "
        "space (generalises: the lower levels train it) or the clip encoder's hidden state (overfits small corpora)",
    )
    max_clip_len: int = Field(default=16, ge=1, description="frames per window / operation after pooling")
    max_video_len: int = Field(default=32, ge=2, description="clips per video")
    video_clip_len: int = Field(default=4, ge=1, description="pooled frames per video clip (<= max_clip_len)")
    max_steps: int = Field(default=32, ge=2, description="longest ordered step-text sequence")
    video_centering: bool = Field(
        default=True,
        description="subtract each video's mean clip embedding "
        "(removes per-video constant nuisance: lighting, camera, colour)",
    )
    init_temperature: float = Field(default=0.07, gt=0)
    min_temperature: float = Field(default=0.01, gt=0)
    max_temperature: float = Field(default=0.5, gt=0)


class HeadsConfig(ModelConfig):
    """ModelConfig plus the input dimensions read from the cache; saved next to the weights."""

    vision_dim: int = Field(ge=1)
    text_dim: int = Field(ge=1)


class HierSKPHeads(nn.Module):
    """Clip/segment aggregator, video aggregator, step-sequence aggregator and projections.

    Every `encode_*` returns L2-normalised embeddings in the shared `embed_dim` space.
    """

    def __init__(self, cfg: HeadsConfig):
        super().__init__()
        self.cfg = cfg
        h, e = cfg.hidden_dim, cfg.embed_dim
        agg = dict(layers=cfg.layers, heads=cfg.heads, dropout=cfg.dropout, positions=cfg.positions)
        self.vis_in = nn.Sequential(nn.LayerNorm(cfg.vision_dim), nn.Linear(cfg.vision_dim, h))
        self.clip_agg = TemporalAggregator(h, max_len=cfg.max_clip_len, **agg)
        vdim = h if cfg.video_input == "hidden" else e
        self.video_agg = TemporalAggregator(vdim, max_len=cfg.max_video_len, **agg)
        self.video_out = nn.Identity() if cfg.video_input == "hidden" else nn.Linear(e, e)
        self.vis_proj = nn.Linear(h, e)
        if cfg.text_head == "mlp":
            self.text_proj = nn.Sequential(
                nn.LayerNorm(cfg.text_dim), nn.Linear(cfg.text_dim, h), nn.GELU(), nn.Linear(h, e)
            )
        else:
            self.text_proj = nn.Sequential(nn.LayerNorm(cfg.text_dim), nn.Linear(cfg.text_dim, e))
        self.seq_agg = TemporalAggregator(e, max_len=cfg.max_steps, **agg)
        self.seq_out = nn.Linear(e, e)
        init = math.log(cfg.init_temperature)
        self.log_temperature = nn.ParameterDict({k: nn.Parameter(torch.tensor(init)) for k in TEMPERATURE_LEVELS})

    def temperature(self, level: str) -> torch.Tensor:
        """Learned, log-parameterised and clamped so logits can neither explode nor flatten out."""
        lo, hi = math.log(self.cfg.min_temperature), math.log(self.cfg.max_temperature)
        return self.log_temperature[level].clamp(lo, hi).exp()

    def encode_clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[N, L, Dv] frame windows or operation segments -> [N, E]."""
        pooled, _ = self.clip_agg(self.vis_in(x), mask)
        return F.normalize(self.vis_proj(pooled), dim=-1)

    def encode_video(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """[B, L, C, Dv] a video as L clips of C frames (mask [B, L, C]) -> ([B, E] video embedding,
        [B, L, E] clip embeddings in video context). Clips go through the same clip encoder as frame
        windows and operations, so the video level composes what the lower levels learned."""
        seq, valid, _ = self.video_inputs(x, mask)
        return self.aggregate_video(seq, valid)

    def video_inputs(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """[B, L, C, Dv] -> (the clip sequence the video aggregator reads [B, L, H or E], valid clips
        [B, L], position-free clip embeddings [B, L, E]). Centering is a mean over the valid clips, so
        reordering the sequence's valid prefix and aggregating equals encoding the reordered video."""
        b, n, c, d = x.shape
        clips, _ = self.clip_agg(self.vis_in(x.reshape(b * n, c, d)), mask.reshape(b * n, c))
        sem = F.normalize(self.vis_proj(clips), dim=-1).reshape(b, n, -1)
        valid = mask.any(-1)
        if self.cfg.video_input == "hidden":
            return clips.reshape(b, n, -1), valid, sem
        seq = sem
        if self.cfg.video_centering:
            w = valid.to(sem.dtype).unsqueeze(-1)
            seq = sem - (sem * w).sum(1, keepdim=True) / w.sum(1, keepdim=True).clamp_min(1)
        return seq, valid, sem

    def aggregate_video(self, seq: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """`video_inputs`' clip sequence -> ([B, E] video embedding, [B, L, E] tokens in context)."""
        pooled, tokens = self.video_agg(seq, valid)
        out = self.vis_proj if self.cfg.video_input == "hidden" else self.video_out
        return F.normalize(out(pooled), dim=-1), F.normalize(out(tokens), dim=-1)

    def encode_video_clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, L, C, Dv] -> [B, L, E]: each video clip on its own, through the clip encoder that frame
        windows and operations share. Free of video-level position embeddings, so an alignment of
        these to step texts (clip-DTW) can only follow content."""
        return self.video_inputs(x, mask)[2]

    def encode_text(self, t: torch.Tensor) -> torch.Tensor:
        """[..., Dt] cached sentence embeddings -> [..., E]."""
        return F.normalize(self.text_proj(t), dim=-1)

    def encode_sequence(self, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """[B, K, Dt] ORDERED step texts -> [B, E]; permuting the steps changes the result."""
        steps = self.text_proj(t)
        pooled, _ = self.seq_agg(steps, mask)
        return F.normalize(self.seq_out(pooled), dim=-1)


class HeadsDamaged(ValueError):
    """A heads file that does not match the checksum recorded when it was written, or cannot be read."""


def save_heads(model: HierSKPHeads, folder: str | Path, extra: dict[str, Any] | None = None) -> Path:
    """heads.safetensors + config.json (HeadsConfig, the weights' sha256 and e.g. the cache fingerprint):
    no pickle. Each file is written to a temporary name and renamed."""
    from hierskp.files.atomic import atomic_write, atomic_write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}
    weights = atomic_write(folder / "heads.safetensors", lambda tmp: save_file(tensors, str(tmp)))
    meta = {"heads": model.cfg.model_dump(mode="json"), "heads_sha256": file_sha256(weights), **(extra or {})}
    atomic_write_text(folder / "config.json", json.dumps(meta, indent=1, allow_nan=False))
    return folder


def load_heads(
    folder: str | Path, device: str | torch.device = "cpu", recover: str = "retrain the run"
) -> tuple[HierSKPHeads, dict[str, Any]]:
    """Rebuild the heads from a `final/` folder; returns the model (eval mode) and its config.json.
    The weights are checked against their recorded sha256 first (runs from before it was recorded
    are only checked for readability); a damaged file raises HeadsDamaged saying how to `recover`."""
    folder = Path(folder)
    meta = json.loads((folder / "config.json").read_text())
    weights = folder / "heads.safetensors"
    want = meta.get("heads_sha256")
    if want is not None and (got := file_sha256(weights)) != want:
        raise HeadsDamaged(
            f"{weights}: damaged trained heads (sha256 {got[:16]}..., recorded {want[:16]}...); "
            f"no answer is computed from them: {recover}"
        )
    model = HierSKPHeads(HeadsConfig.model_validate(meta["heads"]))
    try:
        model.load_state_dict(load_file(str(weights), device=str(device)))
    except Exception as exc:  # noqa: BLE001 - a truncated or foreign file is a named problem, not a traceback
        raise HeadsDamaged(f"{weights}: unreadable trained heads ({type(exc).__name__}: {exc}); {recover}") from None
    return model.to(device).eval(), meta
