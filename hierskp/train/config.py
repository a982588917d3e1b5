"""Stage-2 configuration: pydantic models validated once (YAML file, then `--set key=value` overrides).

Every loss term is switchable here so ablations are one override away, e.g.
`--set losses.dtw.enabled=false` or `--set 'losses.contrastive.levels=[video]'`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hierskp.ingest.manifest import Split
from hierskp.losses.dtw_alignment import DEFAULT_ORDER_SCORER
from hierskp.models.heads import ModelConfig

Level = Literal["frame", "operation", "video"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)  # lr=inf or nan is refused, naming the field


class DataConfig(_Strict):
    train_splits: list[Split] = ["pretrain", "train"]
    eval_split: Split = "test"
    batch_videos: int = Field(
        default=8, ge=2, le=4096, description="videos per batch; all their ops/narrations join it"
    )
    frame_window: int = Field(default=4, ge=1, le=4096, description="frames around each narration time")
    frame_jitter: int = Field(default=1, ge=0, description="random shift of training windows, in frames")
    max_narrations: int = Field(default=24, ge=1, le=100_000, description="per video and batch (random subset beyond)")
    procedure_batches: bool = Field(
        default=False,
        description="pair videos of one procedure in each batch (more same-procedure negatives); "
        "off by default: on the 48-video demo corpus it cost ~13 points of video R@1 and no order accuracy",
    )
    captions: Literal["primary", "all"] = Field(
        default="all",
        description="all: each step draws one caption per annotation uniformly from [text] + texts (the manifest's "
        "extra captions, seeded per item and epoch, so --resume replays it); primary: `text` only",
    )
    num_workers: int = Field(default=0, ge=0)
    mp_context: Literal["spawn", "forkserver", "fork"] = "spawn"


class ContrastiveConfig(_Strict):
    levels: list[Level] = ["frame", "operation", "video"]
    weights: dict[Level, float] = {"frame": 1.0, "operation": 1.0, "video": 1.0}
    cross_level: bool = True
    op_narration_weight: float = Field(default=0.5, ge=0, description="operation vs mean of its narrations")
    video_sequence_weight: float = Field(default=1.0, ge=0, description="video vs its ordered step texts")
    text_sequence_weight: float = Field(default=0.5, ge=0, description="video text vs its ordered step texts")


class HardNegativesConfig(_Strict):
    enabled: bool = True
    shuffles: int = Field(default=2, ge=0, description="shuffled step orders per video (plus the reversed one)")
    reverse: bool = True
    same_procedure_boost: float = Field(
        default=2.0, ge=1, description="denominator weight of same-procedure/-video negatives"
    )
    margin: float = Field(default=0.2, ge=0)
    margin_weight: float = Field(default=0.5, ge=0)


class DTWConfig(_Strict):
    enabled: bool = True
    weight: float = Field(default=0.5, ge=0)
    gamma: float = Field(default=DEFAULT_ORDER_SCORER.gamma, gt=0, description="soft-DTW smoothing (also the scorer's)")
    temperature: float = Field(
        default=DEFAULT_ORDER_SCORER.temperature, gt=0, description="of the -log softmax cosine cost"
    )
    margin: float = Field(default=0.5, ge=0, description="per video position")
    order_weight: float = Field(default=0.5, ge=0, description="PeskaVLP uses 0.5")
    shuffles: int = Field(default=1, ge=0)
    softmax_over: Literal["y", "x"] = Field(
        default="y", description="axis of the cost's -log softmax: the step texts (y) or the video (x, PeskaVLP's code)"
    )
    inputs: Literal["tokens", "clips", "both"] = Field(
        default="both",
        description="what is aligned to the step texts: the clip tokens in video context (learned positions), "
        "the position-free clip embeddings (PeskaVLP; alignment can only follow content), or both",
    )


class VideoOrderConfig(_Strict):
    """Video-side hard negatives: the video's own clips reversed / block-shuffled vs its true steps."""

    enabled: bool = True
    weight: float = Field(default=0.5, ge=0)
    blocks: int = Field(default=4, ge=2, description="contiguous clip blocks a shuffle moves")
    shuffles: int = Field(default=2, ge=0, description="block-shuffled copies per video (plus the reversed one)")
    reverse: bool = True
    margin: float = Field(default=0.2, ge=0, description="cosine margin of the global hinge")
    dtw_weight: float = Field(default=1.0, ge=0, description="weight of the token soft-DTW hinge")
    dtw_margin: float = Field(default=0.5, ge=0, description="per video position")


class TwinOrderConfig(_Strict):
    """Twin orders: a video's steps in another procedure's plausible order (the same labels, mined from
    the training annotations at start-up; videos without such a twin take no part)."""

    negatives: bool = Field(default=False, description="the twin order as an extra text negative of the sequence terms")
    dtw_hinge: bool = Field(
        default=False, description="label-aware clip-DTW hinge: the true step order beats the twin order by a margin"
    )
    dtw_weight: float = Field(default=1.0, ge=0)
    dtw_margin: float = Field(default=0.5, ge=0, description="per video position, as video_order.dtw_margin")


class LossesConfig(_Strict):
    contrastive: ContrastiveConfig = ContrastiveConfig()
    hard_negatives: HardNegativesConfig = HardNegativesConfig()
    dtw: DTWConfig = DTWConfig()
    video_order: VideoOrderConfig = VideoOrderConfig()
    twin_order: TwinOrderConfig = TwinOrderConfig()


MAX_TOTAL_STEPS = 10_000_000  # steps a run may imply (epochs x steps per epoch, or max_steps): checked first


class OptimConfig(_Strict):
    lr: float = Field(default=1e-3, gt=0, le=10)
    weight_decay: float = Field(default=0.05, ge=0)
    betas: tuple[float, float] = (0.9, 0.98)
    warmup_steps: int = Field(default=20, ge=0)
    min_lr_ratio: float = Field(default=0.05, ge=0, le=1)
    grad_clip: float = Field(default=1.0, gt=0)


class TrainConfig(_Strict):
    cache: str = Field(min_length=1)
    out: str = Field(min_length=1)
    seed: int = Field(default=0, ge=0, lt=2**63)
    epochs: int = Field(default=40, ge=1, le=100_000)
    max_steps: int | None = Field(default=None, ge=1, le=MAX_TOTAL_STEPS, description="overrides epochs when set")
    device: str = Field(default="auto", pattern=r"^(auto|cpu|mps|cuda(:\d+)?)$", description="auto, cpu, cuda[:N], mps")
    threads: int | None = Field(
        default=1,
        ge=1,
        description="torch intra-op threads on CPU (None: torch's default); "
        "the heads are small, and on a busy 2-core machine 2 threads were 17x slower than 1",
    )
    amp: Literal["auto", "bf16", "fp16", "off"] = "auto"
    checkpoint_every: int = Field(default=50, ge=1)
    log_every: int = Field(
        default=10,
        ge=1,
        description="steps between reads of the logged numbers from the device (one copy each); the "
        "non-finite loss/weight checks run then too, naming the step, and always before a checkpoint",
    )
    keep_checkpoints: int = Field(default=3, ge=1)
    progress: bool = True
    evaluate: bool = True
    verify_cache: Literal["cheap", "deep"] = Field(
        default="deep",
        description="check the cache before training: 'cheap' = shapes, chunk presence and fingerprints of every "
        "video; 'deep' also re-reads every value against the checksums recorded at completion (and refuses NaN)",
    )
    init_from: str | None = Field(
        default=None,
        description="warm start: a finished run folder whose final heads initialise these (same cache "
        "fingerprint and head shapes, else refused; hierskp/train/warm.py); optimizer and schedule start fresh",
    )
    data: DataConfig = DataConfig()
    model: ModelConfig = ModelConfig()
    losses: LossesConfig = LossesConfig()
    optim: OptimConfig = OptimConfig()

    @model_validator(mode="after")
    def _sane_model(self) -> TrainConfig:
        """Bounds on the `model:` section (defined with the heads) checked here, before anything is written."""
        m = self.model
        limits = {"hidden_dim": 16384, "embed_dim": 16384, "heads": 128, "max_clip_len": 4096, "max_video_len": 4096}
        for name, hi in limits.items():
            if getattr(m, name) > hi:
                raise ValueError(f"model.{name}: {getattr(m, name)} is above the sane bound {hi}")
        if m.hidden_dim % m.heads:
            raise ValueError(f"model.hidden_dim ({m.hidden_dim}) must be divisible by model.heads ({m.heads})")
        if not math.isfinite(m.init_temperature) or m.init_temperature > 100:
            raise ValueError(f"model.init_temperature: {m.init_temperature} must be finite and <= 100")
        return self


def set_dotted(tree: dict[str, Any], key: str, value: Any) -> None:
    """Set tree['a']['b'] = value for key 'a.b', creating levels as needed."""
    parts = key.split(".")
    node = tree
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ValueError(f"--set {key}: {part!r} is not a section")
    node[parts[-1]] = value


def parse_overrides(pairs: list[str] | None) -> dict[str, Any]:
    """['a.b=3', 'c=[x, y]'] -> nested dict; values are parsed as YAML scalars/lists."""
    tree: dict[str, Any] = {}
    for pair in pairs or []:
        key, sep, raw = pair.partition("=")
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {pair!r}")
        set_dotted(tree, key.strip(), yaml.safe_load(raw))
    return tree


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in over.items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else v
    return out


def load_config(path: str | Path | None = None, overrides: list[str] | None = None, **fields: Any) -> TrainConfig:
    """YAML file or packaged name (optional) < explicit fields (cache, out, seed...) < `key=value` overrides; validated once."""
    tree: dict[str, Any] = {}
    if path is not None:
        from hierskp.configs import resolve_config

        path = resolve_config(path)  # a file, or a packaged configuration by name ('hecvl')
        tree = yaml.safe_load(path.read_text()) or {}
        if not isinstance(tree, dict):
            raise ValueError(f"{path}: a training config must be a mapping")
    tree = _merge(tree, {k: v for k, v in fields.items() if v is not None})
    tree = _merge(tree, parse_overrides(overrides))
    return TrainConfig.model_validate(tree)
