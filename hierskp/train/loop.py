"""`train(config) -> run_dir`: stage 2 on cached tensors only (no video decoding, no backbone).

Training only trains: the held-out evaluation after it (`config.evaluate`) is
`hierskp.experiments.train_and_evaluate.train_and_evaluate`, which sits above both `hierskp.train` and `hierskp.eval`.
One run reads as three phases: `prepare_run` (the run folder and its config), `build_state`
(hierskp/train/state.py) and `fit` (the steps, checks, logs and checkpoints), then the heads are saved."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from hierskp.dataset.cache import open_cache, require_valid
from hierskp.devices import resolve_device
from hierskp.files.outdir import claim_output_dir
from hierskp.models.heads import TEMPERATURE_LEVELS, save_heads
from hierskp.runs.folder import CONFIG, check_cache, heads_dir, read_run_config, write_run_config
from hierskp.runs.lock import run_lock

from .checkpoint import save_checkpoint
from .config import TrainConfig
from .guards import check_losses, check_weights
from .resume_check import check_resume
from .runlog import MetricsLog, plot_loss_curve
from .sampling import step_seed
from .state import TrainState, build_state
from .step import PendingSteps, StepResult, train_step
from .warm import WarmStartRefused, check_warm_start

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
    store = open_cache(config.cache, "r")
    require_valid(store, deep=config.verify_cache == "deep")  # before anything is written
    config = prepare_run(config, store, resume)
    state = build_state(config, store, resume)
    step = fit(state, resume, on_step)
    out = Path(config.out)
    save_heads(
        state.model.eval(),
        heads_dir(out),
        extra={
            "cache_fingerprint_id": store.fingerprint_id,
            "step": step,
            "train_config": config.model_dump(mode="json"),
        },
    )
    plot_loss_curve(out / "metrics.jsonl", out / "loss_curve.png")
    return out


def prepare_run(config: TrainConfig, store: Any, resume: bool) -> TrainConfig:
    """The config this run trains with: a resumed run's saved one (its differences checked), or a new run's,
    written to the folder after the warm start is accepted."""
    out = Path(config.out)
    if resume:
        saved = read_run_config(out)
        check_cache(saved["cache_fingerprint_id"], store, out)
        tree = check_resume(config, saved, store, out)  # differences refused, or applied and said
        return TrainConfig.model_validate({**tree, "cache": config.cache, "out": str(out), "progress": config.progress})
    if (out / CONFIG).exists():
        raise FileExistsError(f"{out} already holds a run: pass --resume to continue it, or choose another --out")
    if config.init_from and (refused := check_warm_start(config, config.init_from)):
        raise WarmStartRefused(refused)  # before the run folder is written
    write_run_config(out, config.model_dump(mode="json"), store)
    return config


def fit(state: TrainState, resume: bool, on_step: OnStep | None) -> int:
    """Step from `state.start` to `state.total_steps`: losses and weights checked before each log flush and
    each checkpoint; returns the last step."""
    s, config = state, state.config
    out = Path(config.out)
    log = MetricsLog(out / "metrics.jsonl", resume_step=s.start if resume else None)
    bar = tqdm(total=s.total_steps, initial=s.start, desc="train", unit="step", disable=not config.progress)
    pending = PendingSteps(config.log_every)
    s.model.train()
    step, t0 = s.start, time.perf_counter()
    for batch in s.loader:
        batch = batch.to(s.device, non_blocking=True)  # from pinned memory on CUDA: the host does not wait
        gen = torch.Generator(device=s.device).manual_seed(step_seed(config.seed, step))
        res = train_step(
            s.model, batch, config.losses, s.optimizer, s.scaler, config.optim.grad_clip, gen, s.amp_dtype, s.scheduler
        )
        step += 1
        _record(pending, s, step, res, time.perf_counter() - t0)
        checkpoint_due = step % config.checkpoint_every == 0 or step == s.total_steps
        if pending.due(step) or checkpoint_due:  # checks run before a checkpoint can keep bad weights
            _flush(pending, s, step, log, bar, on_step)
        if checkpoint_due:
            save_checkpoint(
                out / "checkpoints",
                step,
                s.model,
                s.optimizer,
                s.scheduler,
                s.scaler,
                extra={"total_steps": s.total_steps},
                keep=config.keep_checkpoints,
            )
    _flush(pending, s, step, log, bar, on_step)
    bar.close()
    log.close()
    return step


def _record(pending: PendingSteps, s: TrainState, step: int, res: StepResult, seconds: float) -> None:
    """Queue the step's numbers without a device-to-host copy."""
    pending.add(
        step,
        {
            "grad_norm": res.grad_norm,  # type: ignore[dict-item]
            "loss/total": res.total,
            **{f"loss/{k}": v for k, v in res.parts.items()},
            **{f"temp/{k}": s.model.temperature(k).detach() for k in TEMPERATURE_LEVELS},
        },
        {
            "epoch": (step - 1) // s.sampler.steps_per_epoch,
            "lr": s.scheduler.get_last_lr()[0],
            "seconds": round(seconds, 3),
        },
    )


def _flush(pending: PendingSteps, s: TrainState, step: int, log: MetricsLog, bar: Any, on_step: OnStep | None) -> None:
    """Read the pending steps' numbers (one device-to-host copy), check them, log them."""
    records = pending.flush()
    for rec in records:
        terms = {k[5:]: v for k, v in rec.items() if k[:5] == "loss/" and k != "loss/total"}
        check_losses(rec["step"], rec["loss/total"], terms)
    check_weights(step, s.model)
    for rec in records:
        log.write(rec)
        losses = {k: v for k, v in rec.items() if k.startswith("loss/")}
        bar.set_postfix({k[5:]: f"{v:.3f}" for k, v in losses.items()}, refresh=False)
        bar.update()
        if on_step is not None:
            on_step(rec["step"], s.total_steps, losses)
