"""The run folder contract: its layout, its config and the fingerprint of the cache it was trained on.

    RUN/config.json              validated training config + cache url, fingerprint_id and info
    RUN/final/                   heads.safetensors + config.json (`hierskp.models.heads.save_heads`)
    RUN/checkpoints/             resumable training state
    RUN/metrics.jsonl, RUN/loss_curve.png
    RUN/eval.json                held-out metrics (`write_eval_result`, its only writer)
    RUN/index/search/            the search indices (`hierskp index build`, `hierskp.search.library`)

Heads trained on one backbone's features are meaningless on another's, so resuming or evaluating
against a cache with a different fingerprint_id is refused with a message naming both.
"""

from __future__ import annotations

from hierskp.files import strict_json

import datetime as dt
import json
from pathlib import Path
from typing import Any

import hierskp
from hierskp.dataset.cache import CacheFingerprintMismatch, CacheStore
from hierskp.dataset.cache import CacheFingerprintMismatch, CacheStore
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write_text

CONFIG = "config.json"
FINAL = "final"
HEADS_FILE = "heads.safetensors"
EVAL = "eval.json"
INDEX_DIR = "index"


class RunCacheMismatch(CacheFingerprintMismatch):
    """The cache holds features of another backbone than the run was trained on."""


def write_run_config(run_dir: Path, config: dict[str, Any], store: CacheStore) -> Path:
    run_dir.mkdir(parents=True, exist_ok=True)
    meta = {
        "config": config,
        "cache_url": store.url,
        "cache_fingerprint_id": store.fingerprint_id,
        "cache_info": store.info,
        "code_version": hierskp.__version__,
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
    }
    return atomic_write_text(run_dir / CONFIG, strict_json.dumps(meta, indent=1, default=str))


def read_run_config(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: not a training run (no {CONFIG})")
    return json.loads(path.read_text())


def check_cache(expected_fingerprint: str, store: CacheStore, run_dir: str | Path) -> None:
    if store.fingerprint_id != expected_fingerprint:
        raise RunCacheMismatch(
            f"run {run_dir} was trained on cache features with fingerprint_id {expected_fingerprint!r}, but "
            f"{store.url} holds fingerprint_id {store.fingerprint_id!r} (another backbone or sampling); "
            "use the cache the run was trained on, or train a new run on this cache"
        )


def heads_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / FINAL


def is_finished(run_dir: str | Path) -> bool:
    return (heads_dir(run_dir) / HEADS_FILE).is_file()


def write_eval_result(run_dir: str | Path, result: dict[str, Any]) -> Path:
    """RUN/eval.json, atomically (temp + rename): the one place that writes it."""
    return atomic_write_text(Path(run_dir) / EVAL, strict_json.dumps(result, indent=1))


def read_eval_result(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / EVAL
    if not path.is_file():
        raise FileNotFoundError(f"{run_dir}: no {EVAL} (the run was trained with evaluate=false, or not evaluated)")
    return json.loads(path.read_text())
