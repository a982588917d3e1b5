"""Held-out evaluation written to `eval.json` at the end of training: the run's heads and the
frozen-feature baseline, at every level, plus order-sensitive retrieval."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from cache_schema import CacheStore
from hierskp.eval.embed import LEVELS, embed_split, level_retrieval_metrics
from hierskp.eval.order import order_retrieval


def split_metrics(store: CacheStore, run_dir: str | Path | None, split: str) -> dict[str, Any]:
    emb = embed_split(store, run_dir, split)
    out: dict[str, Any] = {lvl: level_retrieval_metrics(emb.levels[lvl]) for lvl in LEVELS}
    out["operation_by_label"] = level_retrieval_metrics(emb.levels["operation"], relevance="labels")
    out["order"] = order_retrieval(store, run_dir, split)
    return out


def evaluate_run(store: CacheStore, run_dir: str | Path, split: str = "test") -> dict[str, Any]:
    run_dir = Path(run_dir)
    result = {
        "split": split,
        "cache_fingerprint_id": store.fingerprint_id,
        "heads": split_metrics(store, run_dir, split),
        "frozen_baseline": split_metrics(store, None, split),
    }
    tmp = run_dir / ".eval.json.tmp"
    tmp.write_text(json.dumps(result, indent=1))
    os.replace(tmp, run_dir / "eval.json")
    return result


def headline(result: dict[str, Any]) -> dict[str, float]:
    """A flat summary (mean of v2t/t2v R@1 per level, order accuracy per scorer) for tables."""
    out: dict[str, float] = {}
    for method in ("heads", "frozen_baseline"):
        m = result[method]
        for lvl in (*LEVELS, "operation_by_label"):
            if "mean_R@1" in m[lvl]:
                out[f"{method}/{lvl}/R@1"] = m[lvl]["mean_R@1"]
        for scorer in ("global", "dtw"):
            if scorer in m["order"]:
                out[f"{method}/order_{scorer}/acc"] = m["order"][scorer]["order_accuracy"]
                out[f"{method}/order_{scorer}/pairwise"] = m["order"][scorer]["pairwise_accuracy"]
                out[f"{method}/order_{scorer}/R@1"] = m["order"][scorer]["R@1"]
    return out
