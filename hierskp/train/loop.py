"""`train(config) -> run_dir`: stage 2 on cached tensors only (no video decoding, no backbone).

Training only trains: the held-out evaluation after it (`config.evaluate`) is
`hierskp.experiment.train_and_evaluate`, which sits above both `hierskp.train` and `hierskp.eval`."""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch.utils.data import DataLoader
from tqdm.auto import tqdm

from cache_schema import open_cache, require_valid
from hierskp.dataset.batch import collate, twin_table
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset, ItemSpec
from hierskp.devices import resolve_device
from hierskp.models.heads import TEMPERATURE_LEVELS, HeadsConfig, HierSKPHeads, save_heads
from hierskp.outdir import claim_output_dir
from hierskp.runs.folder import CONFIG, check_cache, heads_dir, read_run_config, write_run_config

from .checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from .config import MAX_TOTAL_STEPS, TrainConfig
from .guards import check_losses, check_weights, last_good_checkpoint
from .resume_check import check_resume
from .run_lock import run_lock
from .runlog import MetricsLog, plot_loss_curve
from .sampling import StepBatchSampler, step_seed, steps_per_epoch
from .step import PendingSteps, train_step
from .warm import WarmStartRefused, check_warm_start, warm_start


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


OnStep = Callable[[int, int, dict[str, float]], None]


def train(config: TrainConfig, resume: bool = False, on_step: OnStep | None = None) -> Path:
    """Train the heads; with `resume`, continue the run in `config.out` from its last good checkpoint
    (the run's saved config wins) and finish with the same total number of steps. One process per
    run folder (a lock); a start that fails before its first checkpoint leaves no files behind.
    `on_step(step, total_steps, losses)` is called after each step (e.g. a progress display)."""
    resolve_device(config.device)  # a device this machine lacks fails before anything is written
    if not resume:  # never write into a folder of someone else's files
        claim_output_dir(config.out, "training run", legacy=(CONFIG,), hint=", or --resume for a run folder")
    with run_lock(Path(config.out), fresh=not resume):
        return _train(config, resume, on_step)


def _train(config: TrainConfig, resume: bool, on_step: OnStep | None) -> Path:
    out = Path(config.out)
    store = open_cache(config.cache, "r")
    require_valid(store, deep=config.verify_cache == "deep")  # before anything is written
    if resume:
        saved = read_run_config(out)
        check_cache(saved["cache_fingerprint_id"], store, out)
        tree = check_resume(config, saved, store, out)  # differences refused, or applied and said
        config = TrainConfig.model_validate(
            {**tree, "cache": config.cache, "out": str(out), "progress": config.progress}
        )
    elif (out / CONFIG).exists():
        raise FileExistsError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    else:
        if config.init_from and (refused := check_warm_start(config, config.init_from)):
            raise WarmStartRefused(refused)  # before the run folder is written
        write_run_config(out, config.model_dump(mode="json"), store)
    seed_everything(config.seed)
    device = resolve_device(config.device)
    if device.type == "cpu" and config.threads:
        torch.set_num_threads(config.threads)
    index = catalog(store, config.data.train_splits)
    if len(index) < 2:
        raise ValueError(
            f"{config.cache}: {len(index)} complete video(s) in splits {config.data.train_splits}; need >= 2"
        )
    first = store.read_video(index[0].video_id)
    heads_cfg = HeadsConfig(
        **config.model.model_dump(), vision_dim=int(first.features.shape[1]), text_dim=int(first.text_video().shape[-1])
    )
    model = HierSKPHeads(heads_cfg).to(device)
    o = config.optim
    optimizer = torch.optim.AdamW(param_groups(model, o.weight_decay), lr=o.lr, betas=o.betas)
    total_steps = config.max_steps or config.epochs * steps_per_epoch(len(index), config.data.batch_videos)
    if total_steps > MAX_TOTAL_STEPS:
        raise ValueError(
            f"epochs={config.epochs} x {steps_per_epoch(len(index), config.data.batch_videos)} steps per epoch is "
            f"{total_steps:,} steps, above the limit {MAX_TOTAL_STEPS:,}; lower epochs or set max_steps"
        )
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, warmup_cosine(o.warmup_steps, total_steps, o.min_lr_ratio))
    amp_dtype = resolve_amp(config.amp, device)
    scaler = torch.amp.GradScaler("cuda", enabled=amp_dtype == torch.float16)
    start = 0
    ckpts = list_checkpoints(out / "checkpoints") if resume else []
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
    workers = config.data.num_workers
    tw = config.losses.twin_order
    twins = twin_table(index) if tw.negatives or tw.dtw_hinge else None  # mined from the training videos
    loader = DataLoader(
        CacheVideoDataset(config.cache, index, item_spec(config)),
        batch_sampler=sampler,
        collate_fn=collate if twins is None else partial(collate, twins=twins),
        num_workers=workers,
        multiprocessing_context=config.data.mp_context if workers else None,
        generator=torch.Generator().manual_seed(config.seed),  # keeps the global torch RNG untouched
        persistent_workers=False,
        pin_memory=device.type == "cuda",  # Batch.pin_memory(): page-locked host copies, async H2D
    )
    log = MetricsLog(out / "metrics.jsonl", resume_step=start if resume else None)
    bar = tqdm(total=total_steps, initial=start, desc="train", unit="step", disable=not config.progress)
    pending = PendingSteps(config.log_every)

    def flush(step: int) -> None:
        """Read the pending steps' numbers (one device-to-host copy), check them, log them."""
        records = pending.flush()
        for rec in records:
            terms = {k[5:]: v for k, v in rec.items() if k[:5] == "loss/" and k != "loss/total"}
            check_losses(rec["step"], rec["loss/total"], terms)
        check_weights(step, model)
        for rec in records:
            log.write(rec)
            losses = {k: v for k, v in rec.items() if k.startswith("loss/")}
            bar.set_postfix({k[5:]: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
            bar.update()
            if on_step is not None:
                on_step(rec["step"], total_steps, losses)

    model.train()
    step, t0 = start, time.perf_counter()
    for batch in loader:
        batch = batch.to(device, non_blocking=True)  # from pinned memory on CUDA: the host does not wait
        gen = torch.Generator(device=device).manual_seed(step_seed(config.seed, step))
        res = train_step(model, batch, config.losses, optimizer, scaler, o.grad_clip, gen, amp_dtype, scheduler)
        step += 1
        pending.add(
            step,
            {
                "grad_norm": res.grad_norm,  # type: ignore[dict-item]
                "loss/total": res.total,
                **{f"loss/{k}": v for k, v in res.parts.items()},
                **{f"temp/{k}": model.temperature(k).detach() for k in TEMPERATURE_LEVELS},
            },
            {
                "epoch": (step - 1) // sampler.steps_per_epoch,
                "lr": scheduler.get_last_lr()[0],
                "seconds": round(time.perf_counter() - t0, 3),
            },
        )
        checkpoint_due = step % config.checkpoint_every == 0 or step == total_steps
        if pending.due(step) or checkpoint_due:  # checks run before a checkpoint can keep bad weights
            flush(step)
        if checkpoint_due:
            save_checkpoint(
                out / "checkpoints",
                step,
                model,
                optimizer,
                scheduler,
                scaler,
                extra={"total_steps": total_steps},
                keep=config.keep_checkpoints,
            )
    flush(step)
    bar.close()
    log.close()
    save_heads(
        model.eval(),
        heads_dir(out),
        extra={
            "cache_fingerprint_id": store.fingerprint_id,
            "step": step,
            "train_config": config.model_dump(mode="json"),
        },
    )
    plot_loss_curve(out / "metrics.jsonl", out / "loss_curve.png")
    return out
