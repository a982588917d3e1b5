"""`Metric`: one named number of an evaluation result, where it sits, which way is better, its chance.

    Metric("video/R@1", ("retrieval", "video", "mean_R@1"), higher_is_better=True)
    Metric("mean_video_twin_clip_dtw/acc", (...), higher_is_better=None, chance=50.0)   # a control

The type lives in `hierskp.runs` so that both evaluation (the report, its tables) and the promotion
rule (`hierskp.runs.promotion.PromotionPolicy`) can use it: `hierskp.runs` must not import
`hierskp.eval` (tests/test_architecture.py). Which metrics are the headline ones is evaluation's
knowledge: the one list is `hierskp.eval.report.headline.HEADLINE`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ABSENT = object()


@dataclass(frozen=True)
class Metric:
    """`name`: the flat key ("video/R@1"; "heads/video/R@1" once prefixed with the method's kind);
    `path`: the keys leading to it in one method's result (a report.json `methods[i].result`);
    `higher_is_better`: False for a cost, None for a control that must stay near `chance` (it has
    no better direction, so it never decides a promotion); `chance`: the value a blind method gets,
    when it does not depend on the data (None otherwise); `scale`: display units per stored unit
    (100 for a fraction shown in percent); `label`: the report's summary column (default: `name`)."""

    name: str
    path: tuple[str, ...]
    higher_is_better: bool | None = True
    chance: float | None = None
    scale: float = 1.0
    label: str | None = None

    @property
    def column(self) -> str:
        return self.label or self.name

    def _node(self, result: Mapping[str, Any]) -> Any:
        node: Any = result
        for key in self.path:
            if not isinstance(node, Mapping) or key not in node:
                return _ABSENT
            node = node[key]
        return node

    def holds(self, result: Mapping[str, Any]) -> bool:
        """Whether `result` has this metric (a number, or null where a strict-JSON file had NaN)."""
        node = self._node(result)
        return node is None or (isinstance(node, (int, float)) and not isinstance(node, bool))

    def value(self, result: Mapping[str, Any]) -> float | None:
        """This metric of `result` in display units; None when absent, skipped or null."""
        node = self._node(result)
        if node is None or node is _ABSENT or isinstance(node, bool) or not isinstance(node, (int, float)):
            return None
        return float(node) * self.scale
