"""What `--resume` may change: the saved run wins, so anything the user asks for that differs from it
is either applied and said (options that do not change what is trained) or refused, naming it.

Only what the user set explicitly is compared (pydantic's `model_fields_set`, through nested
sections), so a resume without options never trips on a default.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from pydantic import BaseModel

log = logging.getLogger(__name__)

# how the run is watched or checked, not what it learns: applied on resume
SAFE_ON_RESUME = frozenset(
    {
        "progress",
        "threads",
        "log_every",
        "checkpoint_every",
        "evaluate",
        "verify_cache",
        "keep_checkpoints",
        "device",
        "data.num_workers",
    }
)
NOT_COMPARED = frozenset({"cache", "out", "progress"})


class ResumeMismatch(ValueError):
    """`--resume` was given a cache or settings that differ from the run's."""


def explicit_values(model: BaseModel, prefix: str = "") -> dict[str, Any]:
    """Dotted key -> value of every field set explicitly (recursing into sections)."""
    out: dict[str, Any] = {}
    for name in model.model_fields_set:
        value, key = getattr(model, name), f"{prefix}{name}"
        if isinstance(value, BaseModel):
            out.update(explicit_values(value, f"{key}."))
        else:
            out[key] = value.model_dump(mode="json") if isinstance(value, BaseModel) else value
    return out


def _saved(tree: dict[str, Any], key: str) -> Any:
    node: Any = tree
    for part in key.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def _same(new: Any, old: Any) -> bool:
    norm = lambda v: list(v) if isinstance(v, tuple) else v  # noqa: E731 - JSON has lists only
    return norm(new) == norm(old)


def check_resume(config: BaseModel, saved: dict[str, Any], store: Any, run_dir: Path) -> dict[str, Any]:
    """The saved config updated with the safe explicit changes (logged); ResumeMismatch naming any other
    difference, or a cache other than the run's (the same cache moved or copied is accepted)."""
    if store.info != saved.get("cache_info"):
        raise ResumeMismatch(
            f"{run_dir}: --resume with --cache {store.url}, but the run was trained on {saved.get('cache_url')} "
            "(another cache); resume with that cache, or train a new run into another --out"
        )
    if str(store.url) != str(saved.get("cache_url")):
        log.warning(
            "resume %s: the run's cache %s is now at %s (same cache)", run_dir, saved.get("cache_url"), store.url
        )
    tree = dict(saved["config"])
    refused, applied = [], []
    for key, value in sorted(explicit_values(config).items()):
        if key in NOT_COMPARED or _same(value, _saved(tree, key)):
            continue
        if key in SAFE_ON_RESUME:
            applied.append(f"{key}={value!r} (was {_saved(tree, key)!r})")
            _set(tree, key, value)
        else:
            refused.append(f"{key}: run has {_saved(tree, key)!r}, given {value!r}")
    if refused:
        raise ResumeMismatch(
            f"{run_dir}: --resume keeps the run's settings, but these differ: {'; '.join(refused)}; drop them to "
            "resume as it was, or train a new run into another --out"
        )
    if applied:
        log.warning("resume %s: applied %s", run_dir, ", ".join(applied))
    return tree


def _set(tree: dict[str, Any], key: str, value: Any) -> None:
    *parents, last = key.split(".")
    for part in parents:
        tree[part] = dict(tree.get(part) or {})
        tree = tree[part]
    tree[last] = value
