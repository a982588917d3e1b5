"""Flow `train-hierskp`: stage 2, the HierSKP heads on a feature cache -> a run folder.

    prefect deployment run train-hierskp/local --param cache=C --param out=runs/r1 --watch

Training reads only the cache (never a video, never the backbone), so it is one task: a
retry would restart it, `resume=True` continues a run folder from its last checkpoint.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.cache_policies import NO_CACHE
from pydantic import ValidationError

from cache_schema import CacheError, open_cache
from flows.artifacts import Progress, publish
from flows.failures import fails_with_reason
from flows.gpu import gpu_slot
from hierskp.experiments.train_and_evaluate import train_and_evaluate
from hierskp.numfmt import num
from hierskp.train import TrainConfig, load_config


def validate_params(
    cache: str, out: str, config: str | None, overrides: list[str] | None, **fields: Any
) -> TrainConfig:
    """One validated TrainConfig; the cache must exist and hold complete videos."""
    try:
        cfg = load_config(config, overrides, cache=cache, out=out, progress=False, **fields)
        n = len(open_cache(cfg.cache, mode="r").video_ids())
    except (ValidationError, ValueError, OSError, CacheError) as exc:
        raise ValueError(f"train-hierskp: invalid parameters: {exc}") from None
    if n < 2:
        raise ValueError(f"train-hierskp: {cache} holds {n} complete video(s); training needs at least 2")
    return cfg


class _StepProgress:
    """`train(on_step=...)` -> the `train-progress` artifact, updated at most every 2 s (and at the end)."""

    def __init__(self, progress: Progress, every_s: float = 2.0):
        self.progress, self.every_s, self.last = progress, every_s, 0.0

    def __call__(self, step: int, total: int, losses: dict[str, float]) -> None:
        now = time.monotonic()
        if step >= total or now - self.last >= self.every_s:
            self.progress.update(100.0 * step / max(1, total))
            self.last = now


@task(name="train-heads", cache_policy=NO_CACHE, persist_result=False)
def train_heads(cfg: TrainConfig, resume: bool, progress: Progress | None = None) -> str:
    with gpu_slot():  # one GPU job at a time (flows/gpu.py)
        return str(train_and_evaluate(cfg, resume=resume, on_step=_StepProgress(progress) if progress else None))


def _last_metrics(run_dir: Path) -> dict[str, Any]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines() if (run_dir / "metrics.jsonl").exists() else []
    return json.loads(lines[-1]) if lines else {}


@flow(name="train-hierskp", log_prints=True)
@fails_with_reason
def train_hierskp(
    cache: str,
    out: str,
    config: str | None = None,
    overrides: list[str] | None = None,
    seed: int | None = None,
    epochs: int | None = None,
    max_steps: int | None = None,
    device: str | None = None,
    evaluate: bool = True,
    resume: bool = False,
) -> str:
    """Train and return the run folder. `overrides` are `key=value` strings as for `hierskp train --set`."""
    cfg = validate_params(
        cache, out, config, overrides, seed=seed, epochs=epochs, max_steps=max_steps, device=device, evaluate=evaluate
    )
    length = f"{cfg.max_steps} steps" if cfg.max_steps else f"{cfg.epochs} epochs"
    print(f"training on {cfg.cache} into {cfg.out} ({length})")
    progress = Progress(key="train-progress", description=f"training {cfg.out}")
    run_dir = Path(train_heads(cfg, resume, progress))
    progress.update(100.0)
    last = _last_metrics(run_dir)
    publish(
        "markdown",
        f"# train-hierskp\n\n* run folder: `{run_dir}`\n* cache: `{cfg.cache}`\n"
        f"* steps: {num(last.get('step'))}, final loss {num(last.get('loss/total'))}, "
        f"{num(last.get('seconds'))} s\n* loss curve: `{run_dir / 'loss_curve.png'}`",
        key="train-summary",
        description="training run",
    )
    if (run_dir / "eval.json").exists():
        from hierskp.eval.tasks.retrieval import headline

        metrics = headline(json.loads((run_dir / "eval.json").read_text()))
        publish(
            "table",
            [{"metric": k, "value": num(v)} for k, v in metrics.items()],
            key="train-eval",
            description="held-out metrics at the end of training",
        )
    print(f"run folder: {run_dir}")
    return str(run_dir)
