"""Flow `train-hierskp`: stage 2, the HierSKP heads on a feature cache -> a run folder.

    prefect deployment run train-hierskp/local --param cache=C --param out=runs/r1 --watch

Training reads only the cache (never a video, never the backbone), so it is one task: a
retry would restart it, `resume=True` continues a run folder from its last checkpoint.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from prefect import flow, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact
from prefect.cache_policies import NO_CACHE
from pydantic import ValidationError

from cache_schema import CacheError, open_cache
from flows.failures import fails_with_reason
from hierskp.train import TrainConfig, load_config, train


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


@task(name="train-heads", cache_policy=NO_CACHE, persist_result=False)
def train_heads(cfg: TrainConfig, resume: bool) -> str:
    return str(train(cfg, resume=resume))


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
    print(f"training on {cfg.cache} into {cfg.out} ({cfg.max_steps or f'{cfg.epochs} epochs'} steps)")
    run_dir = Path(train_heads(cfg, resume))
    last = _last_metrics(run_dir)
    create_markdown_artifact(
        f"# train-hierskp\n\n* run folder: `{run_dir}`\n* cache: `{cfg.cache}`\n"
        f"* steps: {last.get('step')}, final loss {last.get('loss/total', float('nan')):.4f}, "
        f"{last.get('seconds')}s\n* loss curve: `{run_dir / 'loss_curve.png'}`",
        key="train-summary",
        description="training run",
    )
    if (run_dir / "eval.json").exists():
        from hierskp.train.evaluate import headline

        metrics = headline(json.loads((run_dir / "eval.json").read_text()))
        create_table_artifact(
            [{"metric": k, "value": round(v, 3)} for k, v in metrics.items()],
            key="train-eval",
            description="held-out metrics at the end of training",
        )
    print(f"run folder: {run_dir}")
    return str(run_dir)
