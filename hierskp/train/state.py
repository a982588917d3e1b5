"""The training loop's state: the model, optimizer, schedule, scaler, sampler and loader of one run, built
once before the first step: fresh, resumed from the last good checkpoint, or warm-started."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader

from hierskp.dataset.batch import collate, twin_table
from hierskp.dataset.catalog import CachedVideo, catalog
from hierskp.dataset.items import CacheVideoDataset, ItemSpec
from hierskp.devices import resolve_device
from hierskp.models.heads import HeadsConfig, HierSKPHeads

from .checkpoint import list_checkpoints, load_checkpoint
from .config import MAX_TOTAL_STEPS, TrainConfig
from .guards import last_good_checkpoint
from .sampling import StepBatchSampler, steps_per_epoch
from .warm import warm_start


@dataclass
class TrainState:
    """Everything the loop steps; `start` is the step it resumes after (0 for a fresh run)."""

    config: TrainConfig
    store: Any
    device: torch.device
    model: HierSKPHeads
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LambdaLR
    scaler: torch.amp.GradScaler
    amp_dtype: torch.dtype | None
    sampler: StepBatchSampler
    loader: DataLoader
    start: int
    total_steps: int


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)


def resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    """Autocast only on CUDA: bf16 where supported (no scaler needed), else fp16 with a GradScaler."""
    if device.type != "cuda" or amp == "off":
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


def warmup_cosine(warmup: int, total: int, min_ratio: float):  # type: ignore[no-untyped-def]
    def factor(step: int) -> float:
        if step < warmup:
            return (step + 1) / (warmup + 1)
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return min_ratio + (1 - min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))

    return factor


def param_groups(model: torch.nn.Module, weight_decay: float) -> list[dict[str, Any]]:
    """No decay on biases, norms, position tables and temperatures."""
    decay, plain = [], []
    for name, p in model.named_parameters():
        (plain if p.ndim < 2 or name.endswith(".pos") or "log_temperature" in name else decay).append(p)
    return [{"params": decay, "weight_decay": weight_decay}, {"params": plain, "weight_decay": 0.0}]


def item_spec(config: TrainConfig) -> ItemSpec:
    c, levels = config.losses.contrastive, set(config.losses.contrastive.levels)
    need_video = "video" in levels or config.losses.dtw.enabled or (c.cross_level and c.video_sequence_weight > 0)
    return ItemSpec(
        need_video=need_video,
        need_ops="operation" in levels or (c.cross_level and c.op_narration_weight > 0),
        need_frames="frame" in levels or (c.cross_level and c.op_narration_weight > 0),
        frame_window=config.data.frame_window,
        frame_jitter=config.data.frame_jitter,
        max_clip_len=config.model.max_clip_len,
        max_video_len=config.model.max_video_len,
        video_clip_len=config.model.video_clip_len,
        max_narrations=config.data.max_narrations,
        captions=config.data.captions,
    )


def build_state(config: TrainConfig, store: Any, resume: bool) -> TrainState:
    """Seed, model, optimizer and schedule; then the last good checkpoint (resume) or the warm start."""
    seed_everything(config.seed)
    device = resolve_device(config.device)
    if device.type == "cpu" and config.threads:
        torch.set_num_threads(config.threads)
    index = _training_videos(config, store)
    model = _build_model(config, store, index[0].video_id).to(device)
    o = config.optim
    optimizer = torch.optim.AdamW(param_groups(model, o.weight_decay), lr=o.lr, betas=o.betas)
    total_steps = _total_steps(config, len(index))
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(o.warmup_steps, total_steps, o.min_lr_ratio))
    amp_dtype = resolve_amp(config.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    start = 0
    ckpts = list_checkpoints(Path(config.out) / "checkpoints") if resume else []
    good = last_good_checkpoint(ckpts) if ckpts else None  # checksum and finite values, else an older one
    if good is not None:
        meta = load_checkpoint(good, model, optimizer, scheduler, scaler)
        start, total_steps = int(meta["step"]), int(meta["total_steps"])
    elif config.init_from:  # warm start: the weights only (hierskp/train/warm.py)
        warm_start(model, config.init_from, store)
    sampler = StepBatchSampler(
        [e.procedure for e in index],
        config.data.batch_videos,
        config.seed,
        total_steps,
        start,
        config.data.procedure_batches,
    )
    loader = _loader(config, index, sampler, device)
    return TrainState(
        config, store, device, model, optimizer, scheduler, scaler, amp_dtype, sampler, loader, start, total_steps
    )


def _training_videos(config: TrainConfig, store: Any) -> list[CachedVideo]:
    index = catalog(store, config.data.train_splits)
    if len(index) < 2:
        raise ValueError(
            f"{config.cache}: {len(index)} complete video(s) in splits {config.data.train_splits}; need >= 2"
        )
    return index


def _build_model(config: TrainConfig, store: Any, first_video: str) -> HierSKPHeads:
    """The heads, sized by the cache's feature and text widths (read from the first video)."""
    first = store.read_video(first_video)
    heads_cfg = HeadsConfig(
        **config.model.model_dump(), vision_dim=int(first.features.shape[1]), text_dim=int(first.text_video().shape[-1])
    )
    return HierSKPHeads(heads_cfg)


def _total_steps(config: TrainConfig, n_videos: int) -> int:
    total_steps = config.max_steps or config.epochs * steps_per_epoch(n_videos, config.data.batch_videos)
    if total_steps > MAX_TOTAL_STEPS:
        raise ValueError(
            f"epochs={config.epochs} x {steps_per_epoch(n_videos, config.data.batch_videos)} steps per epoch is "
            f"{total_steps:,} steps, above the limit {MAX_TOTAL_STEPS:,}; lower epochs or set max_steps"
        )
    return total_steps


def _loader(
    config: TrainConfig, index: list[CachedVideo], sampler: StepBatchSampler, device: torch.device
) -> DataLoader:
    workers = config.data.num_workers
    tw = config.losses.twin_order
    twins = twin_table(index) if tw.negatives or tw.dtw_hinge else None  # mined from the training videos
    return DataLoader(
        CacheVideoDataset(config.cache, index, item_spec(config)),
        batch_sampler=sampler,
        collate_fn=collate if twins is None else partial(collate, twins=twins),
        num_workers=workers,
        multiprocessing_context=config.data.mp_context if workers else None,
        generator=torch.Generator().manual_seed(config.seed),  # keeps the global torch RNG untouched
        persistent_workers=False,
        pin_memory=device.type == "cuda",  # Batch.pin_memory(): page-locked host copies, async H2D
    )
