"""Warm start: a new run's heads begin as a finished run's final heads (`init_from=RUN` in the train config).

Allowed only when nothing would silently mismatch: the cache holds features of the same backbone and
sampling (the cache fingerprint the run was trained on) and every head tensor has the same name and
shape (the same `model:` section and feature widths). `warm_start_refusal` says why not, before any
training starts, so the nightly retrain can fall back to training from scratch and record why.
Only the weights are taken: the optimizer, the schedule and the step count start fresh.
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file

from hierskp.dataset.cache import CacheStore, open_cache
from hierskp.dataset.catalog import catalog
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.runs.folder import HEADS_FILE, heads_dir, is_finished, read_run_config

from .config import TrainConfig


class WarmStartRefused(ValueError):
    """The run named by init_from cannot initialise these heads (the message says why)."""


def _refusal(model: HierSKPHeads, run_dir: Path, store: CacheStore) -> str | None:
    if not is_finished(run_dir):
        return f"init_from {run_dir}: not a finished run (no {heads_dir(run_dir) / HEADS_FILE})"
    trained_on = read_run_config(run_dir).get("cache_fingerprint_id")
    if trained_on != store.fingerprint_id:
        return (
            f"init_from {run_dir}: trained on cache features {trained_on!r}, this cache holds "
            f"{store.fingerprint_id!r} (another backbone or sampling)"
        )
    saved = load_file(str(heads_dir(run_dir) / HEADS_FILE))
    mine = model.state_dict()
    diff = sorted(set(saved) ^ set(mine)) + [
        f"{k} {tuple(saved[k].shape)} != {tuple(v.shape)}"
        for k, v in mine.items()
        if k in saved and saved[k].shape != v.shape
    ]
    if diff:
        return f"init_from {run_dir}: head shapes differ ({len(diff)}: {'; '.join(diff[:4])})"
    return None


def warm_start_refusal(model: HierSKPHeads, run_dir: str | Path, store: CacheStore) -> str | None:
    """None if `run_dir`'s final heads can initialise `model` on this cache, else the reason."""
    return _refusal(model, Path(run_dir), store)


@torch.no_grad()
def warm_start(model: HierSKPHeads, run_dir: str | Path, store: CacheStore) -> None:
    """Copy `run_dir`'s final heads into `model`; WarmStartRefused (naming the reason) if they do not fit."""
    reason = _refusal(model, Path(run_dir), store)
    if reason:
        raise WarmStartRefused(reason)
    saved = load_file(str(heads_dir(run_dir) / HEADS_FILE), device=str(next(model.parameters()).device))
    model.load_state_dict(saved)


def check_warm_start(config: TrainConfig, run_dir: str | Path) -> str | None:
    """Before training: None if `run_dir` can initialise the heads `config` would train, else why not."""
    store = open_cache(config.cache, "r")
    index = catalog(store, config.data.train_splits)
    if not index:
        return f"{config.cache}: no complete video in splits {config.data.train_splits}"
    first = store.read_video(index[0].video_id)
    dims = {"vision_dim": int(first.features.shape[1]), "text_dim": int(first.text_video().shape[-1])}
    return warm_start_refusal(HierSKPHeads(HeadsConfig(**config.model.model_dump(), **dims)), run_dir, store)
