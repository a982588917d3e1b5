"""The run folder's identity: the validated config and the fingerprint of the cache it was trained on.

Heads trained on one backbone's features are meaningless on another's, so resuming or evaluating
against a cache with a different fingerprint_id is refused with a message naming both.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import hierskp
from cache_schema import CacheFingerprintMismatch, CacheStore

CONFIG = "config.json"


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
    tmp = run_dir / f".{CONFIG}.tmp"
    tmp.write_text(json.dumps(meta, indent=1, default=str))
    os.replace(tmp, run_dir / CONFIG)
    return run_dir / CONFIG


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
