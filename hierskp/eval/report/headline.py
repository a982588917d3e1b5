"""The headline metrics: the one list, and the views the report, tables, demo and promotion take of it.

    HEADLINE            every headline metric (`hierskp.runs.metric.Metric`), in table order
    SUMMARY             the report's summary columns (`Metric.column`)
    DEMO, ABLATION      the rows `make demo` prints and the ablation tables show
    PROMOTION           what nightly promotion compares (`hierskp.runs.promotion.PromotionPolicy`)
    EVAL_JSON, TASKS    the part RUN/eval.json holds (retrieval, order, controls), and the report's rest
    flat(results)       {"heads/video/R@1": ..., "frozen_baseline/...": ...} for flows and tables

A metric is declared here once: its flat name, where it sits in one method's result (a report.json
`methods[i].result`; RUN/eval.json holds the `retrieval` part of it, per method), its better
direction and its chance level. Everything else selects from this list by name, and an unknown name
fails at import. The `Metric` type itself lives in `hierskp.runs.metric`, below evaluation, because
the promotion policy in `hierskp.runs` uses it and `hierskp.runs` must not import `hierskp.eval`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hierskp.eval.tasks.embed import LEVELS
from hierskp.eval.tasks.order_controls import CHANCE, SCORERS
from hierskp.runs.metric import Metric

R = ("retrieval",)
OC = R + ("order_controls",)


def _retrieval() -> list[Metric]:
    out = [Metric(f"{lvl}/R@1", R + (lvl, "mean_R@1"), label=f"{lvl} R@1") for lvl in LEVELS]
    out.append(Metric("operation_by_label/R@1", R + ("operation_by_label", "mean_R@1")))
    for scorer in ("global", "dtw"):
        out += [
            Metric(f"order_{scorer}/acc", R + ("order", scorer, "order_accuracy")),
            Metric(f"order_{scorer}/pairwise", R + ("order", scorer, "pairwise_accuracy"), chance=CHANCE),
            Metric(f"order_{scorer}/R@1", R + ("order", scorer, "R@1")),
        ]
    labels = {"clip_dtw": "clip-dtw"}
    for s in SCORERS:
        short = labels.get(s, s)
        out += [
            Metric(f"twin_{s}/acc", OC + ("twin", "canonical", s, "acc"), chance=CHANCE, label=f"twin acc ({short})"),
            Metric(f"twin_own_text_{s}/acc", OC + ("twin", "own_text", s, "acc"), chance=CHANCE),
            # a control: the twin test with the mean video as every query must stay near chance
            Metric(
                f"mean_video_twin_{s}/acc",
                OC + ("mean_video_twin", "canonical", s, "acc"),
                higher_is_better=None,
                chance=CHANCE,
                label=f"mean-video ctrl ({short})",
            ),
            Metric(
                f"time_shuffled_{s}/acc",
                OC + ("time_shuffled", s, "acc"),
                chance=CHANCE,
                label=f"shuffled ctrl ({short})",
            ),
        ]
    return out


def _tasks() -> list[Metric]:
    """Recognition and TAL: fractions in the result, percent in the tables; not in RUN/eval.json."""
    return [
        Metric("ZS frame Acc", ("recognition", "zero_shot", "frame", "video_accuracy"), scale=100.0),
        Metric("LP frame Acc", ("recognition", "linear_probe", "frame", "video_accuracy"), scale=100.0),
        Metric("TAL ZS avg mAP", ("localization", "zero_shot", "average_mAP"), scale=100.0),
        Metric("TAL head avg mAP", ("localization", "probe", "average_mAP"), scale=100.0),
    ]


HEADLINE: tuple[Metric, ...] = (*_retrieval(), *_tasks())
BY_NAME: dict[str, Metric] = {m.name: m for m in HEADLINE}


def select(*names: str) -> tuple[Metric, ...]:
    """The registry's metrics of these names, in the given order."""
    unknown = [n for n in names if n not in BY_NAME]
    if unknown:
        raise KeyError(f"not headline metrics: {unknown}; known: {list(BY_NAME)}")
    return tuple(BY_NAME[n] for n in names)


SUMMARY = select(
    *(f"{lvl}/R@1" for lvl in LEVELS),
    "twin_clip_dtw/acc",
    "time_shuffled_clip_dtw/acc",
    "mean_video_twin_clip_dtw/acc",
    "ZS frame Acc",
    "LP frame Acc",
    "TAL ZS avg mAP",
    "TAL head avg mAP",
)
# the order metrics and the controls text alone cannot pass, in the order both tables show them
_ORDER_AND_CONTROLS = (
    "twin_clip_dtw/acc",
    "twin_dtw/acc",
    "twin_global/acc",
    "time_shuffled_clip_dtw/acc",
    "mean_video_twin_clip_dtw/acc",
    "order_dtw/acc",
)
DEMO = select(
    "video/R@1",
    "operation/R@1",
    "frame/R@1",
    "operation_by_label/R@1",
    *_ORDER_AND_CONTROLS,
    "ZS frame Acc",
    "LP frame Acc",
    "TAL ZS avg mAP",
    "TAL head avg mAP",
)
ABLATION = select(
    *_ORDER_AND_CONTROLS,
    "order_global/acc",
    "video/R@1",
    "operation/R@1",
    "frame/R@1",
)
# every headline metric of RUN/eval.json (the retrain flow re-scores the current run on exactly
# that part) that has a better direction: the controls never decide a promotion
PROMOTION = tuple(m for m in HEADLINE if m.path[0] == R[0] and m.higher_is_better is not None)
# the part RUN/eval.json holds (`hierskp.eval.tasks.retrieval.headline`), and the rest (the report alone)
EVAL_JSON = tuple(m for m in HEADLINE if m.path[0] == R[0])
TASKS = tuple(m for m in HEADLINE if m.path[0] != R[0])


def flat(results: Mapping[str, Mapping[str, Any]], metrics: tuple[Metric, ...] = HEADLINE) -> dict[str, float | None]:
    """{"<method>/<metric name>": value} for every method of `results` ({"heads": one method's result,
    "frozen_baseline": ...}) and every metric its result holds (None where a strict-JSON file had null)."""
    return {
        f"{method}/{m.name}": m.value(result) for method, result in results.items() for m in metrics if m.holds(result)
    }
