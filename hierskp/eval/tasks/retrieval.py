"""Held-out retrieval metrics of a run against the frozen-feature baseline, at every level, plus
order-sensitive retrieval: the numbers of RUN/eval.json and of the report's retrieval tables.

    result = evaluate_run(store, load_run(run_dir))   # computes and writes RUN/eval.json
"""

from __future__ import annotations

from typing import Any

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.eval.tasks.embed import LEVELS, LevelEmbeddings, embed_split, level_retrieval_metrics
from hierskp.eval.tasks.order import order_retrieval
from hierskp.eval.tasks.order_controls import SCORERS, order_controls
from hierskp.runs.folder import write_eval_result
from hierskp.runs.model import RunModel, frozen_baseline


def split_metrics(store: CacheStore, model: RunModel, split: str, emb: LevelEmbeddings | None = None) -> dict[str, Any]:
    """Retrieval per level (and by operation label) and order retrieval; `emb`: the split already embedded."""
    emb = emb if emb is not None else embed_split(store, model, split)
    out: dict[str, Any] = {lvl: level_retrieval_metrics(emb.levels[lvl]) for lvl in LEVELS}
    out["operation_by_label"] = level_retrieval_metrics(emb.levels["operation"], relevance="labels")
    out["order"] = order_retrieval(model.embedder, emb, scorer=model.order_scorer)
    out["order_controls"] = order_controls(model.embedder, emb, annotated_orders(store), scorer=model.order_scorer)
    return out


def annotated_orders(store: CacheStore) -> list[tuple[str, tuple[str, ...]]]:
    """(procedure, operation labels in order) of every complete video of the cache: where twins are found."""
    return [(v.procedure, v.op_labels) for v in catalog(store)]


def run_eval_result(split: str, fingerprint_id: str, heads: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """RUN/eval.json's content from the two `split_metrics` results."""
    return {"split": split, "cache_fingerprint_id": fingerprint_id, "heads": heads, "frozen_baseline": baseline}


def evaluate_run(
    store: CacheStore, model: RunModel, split: str = "test", baseline: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Score the run and the frozen baseline (`baseline`: its `split_metrics`, when at hand) on
    `split` and write RUN/eval.json."""
    if model.run_dir is None:
        raise ValueError("evaluate_run: the frozen baseline has no run folder to write eval.json into")
    heads = split_metrics(store, model, split)
    base = baseline if baseline is not None else split_metrics(store, frozen_baseline(store), split)
    result = run_eval_result(split, store.fingerprint_id, heads, base)
    write_eval_result(model.run_dir, result)
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
        oc = m.get("order_controls", {})
        if "twin" in oc:
            for scorer in SCORERS:
                out[f"{method}/twin_{scorer}/acc"] = oc["twin"]["canonical"][scorer]["acc"]
                out[f"{method}/twin_own_text_{scorer}/acc"] = oc["twin"]["own_text"][scorer]["acc"]
                out[f"{method}/mean_video_twin_{scorer}/acc"] = oc["mean_video_twin"]["canonical"][scorer]["acc"]
                out[f"{method}/time_shuffled_{scorer}/acc"] = oc["time_shuffled"][scorer]["acc"]
    return out
