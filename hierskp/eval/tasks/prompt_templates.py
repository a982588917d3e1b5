"""Prompt ensembles for label-name zero-shot: each class's prompt is the mean over a template set
(`a video of {label}`, `the surgeon performs {label}`, ...) of the label name put in each template.

`hierskp report --prompt-templates SET` (a name below, or templates joined by `|`) scores zero-shot
recognition and TAL with them; `choose_templates` picks the set with the best zero-shot frame accuracy
on a split (val: the set is chosen there, never on test). With no template set, the label name alone
is the prompt of `label_prompts(labels, ["{label}"])`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import catalog
from hierskp.eval.metrics.classification import zero_shot_scores
from hierskp.eval.tasks.dense import dense_split
from hierskp.eval.tasks.prompts import encode_prompts, prompt_classes

TEMPLATE_SETS: dict[str, tuple[str, ...]] = {
    "name": ("{label}",),
    "video": ("a video of {label}",),
    "surgeon": ("the surgeon performs {label}",),
    "clinical": ("{label}", "the surgeon performs {label}", "close-up of {label}", "{label} during open surgery"),
    "ensemble": (
        "{label}",
        "a video of {label}",
        "the surgeon performs {label}",
        "close-up of {label}",
        "{label} during open surgery",
        "here the team proceeds with {label}",
    ),
}


def templates_of(spec: str) -> tuple[str, ...]:
    """A named set, or templates separated by `|`; every template must contain `{label}`."""
    templates = TEMPLATE_SETS.get(spec) or tuple(t.strip() for t in spec.split("|") if t.strip())
    bad = [t for t in templates if "{label}" not in t]
    if not templates or bad:
        raise ValueError(
            f"--prompt-templates {spec!r}: give a set ({', '.join(TEMPLATE_SETS)}) or templates joined by '|', "
            f"each with {{label}} (not: {bad or spec!r})"
        )
    return templates


def label_name(label: str) -> str:
    return label.replace("_", " ").strip()


def label_prompts(labels: Sequence[str], templates: Sequence[str]) -> dict[str, list[str]]:
    """label -> its name in every template."""
    return {lab: [t.format(label=label_name(lab)) for t in templates] for lab in sorted(set(labels))}


def cache_labels(store: CacheStore) -> list[str]:
    """Every operation label annotated in the cache's complete videos."""
    return sorted({lab for v in catalog(store) for lab in v.op_labels})


def zero_shot_frame_accuracy(dense: Any, encoded: dict[str, np.ndarray], embedder: Any) -> float:
    """Pooled zero-shot frame accuracy of `dense` (a `dense_split`) against the encoded prompts."""
    x, y, _ = dense.stacked()
    classes, prompts = prompt_classes(encoded, embedder)
    if not len(y):
        return float("nan")
    pred = np.asarray(classes)[zero_shot_scores(x, prompts).argmax(axis=1)]
    return float(np.mean(pred == np.asarray(y)))


def choose_templates(
    store: CacheStore, model: Any, text_encoder: Any, split: str = "val", sets: Sequence[str] | None = None
) -> tuple[str, dict[str, float]]:
    """(best set, {set: zero-shot frame accuracy on `split`}); ties go to the earlier set."""
    dense = dense_split(store, model, split, progress=False)
    labels = cache_labels(store)
    scores = {
        name: zero_shot_frame_accuracy(
            dense, encode_prompts(label_prompts(labels, templates_of(name)), text_encoder), model.embedder
        )
        for name in (sets or list(TEMPLATE_SETS))
    }
    return max(scores, key=lambda k: (scores[k], -list(scores).index(k))), scores
