"""Held-out retrieval metrics of a run against the frozen-feature baseline, at every level, plus
order-sensitive retrieval: the numbers of RUN/eval.json and of the report's retrieval tables.

    result = evaluate_run(store, load_run(run_dir))   # computes and writes RUN/eval.json

`split_metrics` returns a typed `SplitMetrics`; its `to_dict()` is the JSON form, written per method
to RUN/eval.json and to report.json (`methods[i].result.retrieval`). Which of its numbers are headline
metrics is said once, in `hierskp.eval.report.headline`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.eval.report.headline import EVAL_JSON, flat
from hierskp.eval.tasks.embed import LEVELS, LevelEmbeddings, embed_split, level_retrieval_metrics
from hierskp.eval.tasks.order import OrderRetrieval, order_retrieval
from hierskp.eval.tasks.order_controls import OrderControls, order_controls
from hierskp.runs.folder import write_eval_result
from hierskp.runs.model import RunModel, frozen_baseline


@dataclass(frozen=True)
class SplitMetrics:
    """One method's held-out retrieval on a split: per level (`level_retrieval_metrics`), by operation
    label, order retrieval (`order_retrieval`) and the order controls."""

    levels: dict[str, dict[str, Any]]  # level (LEVELS) -> its v2t/t2v metrics and mean_R@1
    operation_by_label: dict[str, Any]
    order: OrderRetrieval
    order_controls: OrderControls

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: RUN/eval.json's "heads" / "frozen_baseline", report.json's "retrieval"."""
        return {
            **self.levels,
            "operation_by_label": self.operation_by_label,
            "order": self.order.to_dict(),
            "order_controls": self.order_controls.to_dict(),
        }


def split_metrics(store: CacheStore, model: RunModel, split: str, emb: LevelEmbeddings | None = None) -> SplitMetrics:
    """Retrieval per level (and by operation label) and order retrieval; `emb`: the split already embedded."""
    emb = emb if emb is not None else embed_split(store, model, split)
    return SplitMetrics(
        levels={lvl: level_retrieval_metrics(emb.levels[lvl]) for lvl in LEVELS},
        operation_by_label=level_retrieval_metrics(emb.levels["operation"], relevance="labels"),
        order=order_retrieval(model.embedder, emb, scorer=model.order_scorer),
        order_controls=order_controls(model.embedder, emb, annotated_orders(store), scorer=model.order_scorer),
    )


def annotated_orders(store: CacheStore) -> list[tuple[str, tuple[str, ...]]]:
    """(procedure, operation labels in order) of every complete video of the cache: where twins are found."""
    return [(v.procedure, v.op_labels) for v in catalog(store)]


def run_eval_result(split: str, fingerprint_id: str, heads: dict[str, Any], baseline: dict[str, Any]) -> dict[str, Any]:
    """RUN/eval.json's content from the two `split_metrics` results."""
    return {"split": split, "cache_fingerprint_id": fingerprint_id, "heads": heads, "frozen_baseline": baseline}


def evaluate_run(
    store: CacheStore, model: RunModel, split: str = "test", baseline: SplitMetrics | None = None
) -> dict[str, Any]:
    """Score the run and the frozen baseline (`baseline`: its `split_metrics`, when at hand) on
    `split` and write RUN/eval.json."""
    if model.run_dir is None:
        raise ValueError("evaluate_run: the frozen baseline has no run folder to write eval.json into")
    heads = split_metrics(store, model, split)
    base = baseline if baseline is not None else split_metrics(store, frozen_baseline(store), split)
    result = run_eval_result(split, store.fingerprint_id, heads.to_dict(), base.to_dict())
    write_eval_result(model.run_dir, result)
    return result


def headline(result: dict[str, Any]) -> dict[str, float | None]:
    """RUN/eval.json's headline metrics, flat ("heads/video/R@1": mean of v2t/t2v R@1, order accuracy
    per scorer, the order controls): the RUN/eval.json part of `report_headline.HEADLINE`."""
    return flat({method: {"retrieval": result[method]} for method in ("heads", "frozen_baseline")}, EVAL_JSON)
