"""Train a run, then evaluate it on its held-out split: the composition of the two sibling stages.

`hierskp.train` and `hierskp.eval` never import each other; this module, the commands and the
flows sit above both. `train_and_evaluate(config)` is what `hierskp train` runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hierskp.dataset.cache import open_cache
from hierskp.eval.tasks.retrieval import evaluate_run
from hierskp.runs.folder import read_run_config
from hierskp.runs.model import load_run
from hierskp.train import TrainConfig, train
from hierskp.train.loop import OnStep


def train_and_evaluate(config: TrainConfig, resume: bool = False, on_step: OnStep | None = None) -> Path:
    """`train(config, resume, on_step)`, then RUN/eval.json when the run's config says `evaluate` (a resumed
    run's saved config wins, as in training)."""
    run_dir = train(config, resume=resume, on_step=on_step)
    saved: dict[str, Any] = read_run_config(run_dir)["config"]
    if saved.get("evaluate", True):
        split = saved.get("data", {}).get("eval_split", "test")
        evaluate_run(open_cache(config.cache, "r"), load_run(run_dir), split)
    return run_dir
