"""Run registry: which trained run is "current", and why.

    RUNS/<run_id>/            one folder per training run (written by `hierskp.train`)
    RUNS/<run_id>/decision.json   the promotion decision taken about that run
    RUNS/current              the id of the run in service (one line, replaced atomically)
    RUNS/decisions.jsonl      every decision ever taken, appended, one JSON object per line

A candidate is promoted only when it is not worse than the current run on every metric of the
`PromotionPolicy`, and the decision names the metric that decided. Both runs should be scored on the
same held-out set (the retrain flow re-evaluates the current run on today's cache), otherwise the
comparison means little.

The policy compares exactly the metrics it is given (`hierskp.runs.metric.Metric`), never whatever
keys two dicts happen to share. It lives here, below evaluation, because `hierskp.runs` must not import
`hierskp.eval` (tests/test_architecture.py); the list of headline metrics is evaluation's knowledge
(`hierskp.eval.report.headline.PROMOTION`), handed to the policy by the caller (flows/retrain).
"""

from __future__ import annotations

from hierskp.files import strict_json

import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hierskp.files import strict_json
from hierskp.runs.metric import Metric
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write_text

CURRENT = "current"
DECISIONS = "decisions.jsonl"
DECISION = "decision.json"


@dataclass(frozen=True)
class Decision:
    candidate: str | None  # None: no run was trained (e.g. nothing new to learn from)
    incumbent: str | None
    promote: bool
    reason: str
    candidate_metrics: dict[str, float | None] = field(default_factory=dict)
    incumbent_metrics: dict[str, float | None] | None = None
    decided_by: str | None = None  # the metric that refused the candidate (None: no single metric decided)
    decided_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Verdict:
    promote: bool
    reason: str
    decided_by: str | None = None  # the metric that refused the candidate


@dataclass(frozen=True)
class PromotionPolicy:
    """Promote a candidate that is not worse than the current run on every one of `metrics`:
    within `tolerance` (metric units) of it in the metric's better direction. A candidate without a
    finite value of one the current run has keeps the current run (the safe side); a metric the
    current run lacks, or that neither has (the held-out set cannot measure it), is not compared,
    and the reason says so. Controls (`higher_is_better` None) have no better direction: refused here."""

    metrics: tuple[Metric, ...]
    tolerance: float = 0.0

    def __post_init__(self) -> None:
        if not self.metrics:
            raise ValueError("PromotionPolicy: no metric to compare")
        controls = [m.name for m in self.metrics if m.higher_is_better is None]
        if controls:
            raise ValueError(f"PromotionPolicy: controls have no better direction, cannot decide: {controls}")
        if len({m.name for m in self.metrics}) != len(self.metrics):
            raise ValueError("PromotionPolicy: a metric is named twice")
        if not self.tolerance >= 0:
            raise ValueError(f"PromotionPolicy: tolerance must be >= 0, got {self.tolerance}")

    def measure(self, result: Mapping[str, Any]) -> dict[str, float | None]:
        """{metric name: value} of one method's result (a report.json `methods[i].result`)."""
        return {m.name: m.value(result) for m in self.metrics}

    def judge(self, candidate: Mapping[str, float | None], incumbent: Mapping[str, float | None] | None) -> Verdict:
        """Compare the two runs' `measure`s on exactly this policy's metrics, in their order."""
        if incumbent is None:
            return Verdict(True, "no current run: the first run becomes current")
        worse: list[tuple[str, str]] = []
        parts = []
        unmeasured = []  # neither run has it: this held-out set cannot measure it (e.g. too few videos)
        for m in self.metrics:
            c, i = _finite(candidate.get(m.name)), _finite(incumbent.get(m.name))
            if c is None and i is None:
                unmeasured.append(m.name)
            elif c is None:
                why = f"candidate has no finite {m.name!r} (value {candidate.get(m.name)!r}), current has {i:.4f}"
                return Verdict(False, f"{why}: kept current", m.name)
            elif i is None:
                parts.append(f"{m.name} {c:.4f} (current has none)")
            else:
                parts.append(f"{m.name} {c:.4f} vs {i:.4f}")
                if (c < i - self.tolerance) if m.higher_is_better else (c > i + self.tolerance):
                    worse.append((m.name, parts[-1]))
        if worse:
            detail = ", ".join(text for _, text in worse)
            why = f"worse on {len(worse)} metric(s) (tolerance {self.tolerance:g}), decided by {worse[0][0]}"
            return Verdict(False, f"{why}: {detail}", worse[0][0])
        if not parts:
            return Verdict(False, f"no metric measured for the candidate ({', '.join(unmeasured)}): kept current")
        skipped = f"; measured by neither run: {', '.join(unmeasured)}" if unmeasured else ""
        return Verdict(True, f"not worse on {len(parts)} metric(s): " + ", ".join(parts) + skipped)


def _finite(value: float | None) -> float | None:
    return None if value is None or not math.isfinite(float(value)) else float(value)


def compare_metrics(
    candidate: Mapping[str, float],
    incumbent: Mapping[str, float] | None,
    keys: Collection[str] | None = None,
    lower_is_better: Collection[str] = (),
    tolerance: float = 0.0,
) -> tuple[bool, str]:
    """(promote, reason) of a `PromotionPolicy` over flat metric dicts: `keys` (default: the
    metrics both sides report, the loosest rule; the retrain flow names its metrics instead)."""
    verdict = _flat_verdict(candidate, incumbent, keys, lower_is_better, tolerance)
    return verdict.promote, verdict.reason


def _flat_verdict(
    candidate: Mapping[str, float],
    incumbent: Mapping[str, float] | None,
    keys: Collection[str] | None,
    lower_is_better: Collection[str],
    tolerance: float,
) -> Verdict:
    if incumbent is None:
        return Verdict(True, "no current run: the first run becomes current")
    names = sorted(keys if keys is not None else set(candidate) & set(incumbent))
    if not names:
        return Verdict(False, "no held-out metric shared by candidate and current run: kept current")
    metrics = tuple(Metric(n, (n,), higher_is_better=n not in lower_is_better) for n in names)
    return PromotionPolicy(metrics, tolerance).judge(candidate, incumbent)


class RunRegistry:
    """A `runs/` folder. Plain files, so any process (flow, CLI, a human) can read it."""

    def __init__(self, root: str | os.PathLike[str]):
        self.root = Path(root)

    def new_run_id(self, prefix: str = "run") -> str:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        return f"{prefix}-{stamp}-{uuid.uuid4().hex[:6]}"

    def run_dir(self, run_id: str) -> Path:
        if not run_id or "/" in run_id or run_id.startswith("."):
            raise ValueError(f"invalid run id {run_id!r}")
        return self.root / run_id

    def current(self) -> str | None:
        """Id of the current run, or None when there is none (or it vanished)."""
        try:
            run_id = (self.root / CURRENT).read_text(encoding="utf-8").strip()
        except FileNotFoundError:
            return None
        return run_id if run_id and self.run_dir(run_id).is_dir() else None

    def set_current(self, run_id: str) -> None:
        if not self.run_dir(run_id).is_dir():
            raise FileNotFoundError(f"{self.run_dir(run_id)}: no such run")
        atomic_write_text(self.root / CURRENT, run_id + "\n")

    def decisions(self) -> list[dict[str, Any]]:
        path = self.root / DECISIONS
        if not path.exists():
            return []
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def record(self, decision: Decision) -> None:
        """Log the decision (run folder + decisions.jsonl) BEFORE moving the pointer."""
        line = strict_json.dumps(decision.as_dict(), sort_keys=True)
        if decision.candidate is not None:
            atomic_write_text(self.run_dir(decision.candidate) / DECISION, line + "\n")
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / DECISIONS).open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())

    def skip(self, reason: str) -> Decision:
        """Record that no candidate was trained, and why; `current` stays as it is."""
        decision = Decision(candidate=None, incumbent=self.current(), promote=False, reason=reason)
        self.record(decision)
        return decision

    def decide(
        self,
        candidate: str,
        candidate_metrics: Mapping[str, float | None],
        incumbent_metrics: Mapping[str, float | None] | None,
        keys: Collection[str] | None = None,
        lower_is_better: Collection[str] = (),
        tolerance: float = 0.0,
        policy: PromotionPolicy | None = None,
    ) -> Decision:
        """Compare, record, and move `current` to the candidate when it is not worse: on exactly
        `policy`'s metrics when given (then `keys`, `lower_is_better` and `tolerance` are unused),
        else on `keys` (default: the metrics both report) at `tolerance`."""
        incumbent = self.current()
        if incumbent == candidate:
            raise ValueError(f"{candidate} is already current")
        if incumbent and incumbent_metrics is None:  # it cannot even be scored on today's held-out set
            verdict = Verdict(
                True, f"current run {incumbent} has no held-out metrics (could not be evaluated): replaced"
            )
        elif policy is not None:
            verdict = policy.judge(candidate_metrics, incumbent_metrics if incumbent else None)
        else:
            verdict = _flat_verdict(
                candidate_metrics,  # type: ignore[arg-type]
                incumbent_metrics if incumbent else None,  # type: ignore[arg-type]
                keys,
                lower_is_better,
                tolerance,
            )
        decision = Decision(
            candidate=candidate,
            incumbent=incumbent,
            promote=verdict.promote,
            reason=verdict.reason,
            candidate_metrics={k: None if v is None else float(v) for k, v in candidate_metrics.items()},
            incumbent_metrics=dict(incumbent_metrics) if incumbent and incumbent_metrics is not None else None,
            decided_by=verdict.decided_by,
        )
        self.record(decision)
        if verdict.promote:
            self.set_current(candidate)
        return decision
