"""Run registry: which trained run is "current", and why.

    RUNS/<run_id>/            one folder per training run (written by `hierskp.train`)
    RUNS/<run_id>/decision.json   the promotion decision taken about that run
    RUNS/current              the id of the run in service (one line, replaced atomically)
    RUNS/decisions.jsonl      every decision ever taken, appended, one JSON object per line

A candidate is promoted only when it is not worse than the current run on every compared
held-out metric. Both runs should be scored on the same held-out set (the retrain flow
re-evaluates the current run on today's cache), otherwise the comparison means little.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import uuid
from collections.abc import Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hierskp import strict_json
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
    candidate_metrics: dict[str, float] = field(default_factory=dict)
    incumbent_metrics: dict[str, float] | None = None
    decided_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat())

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def compare_metrics(
    candidate: Mapping[str, float],
    incumbent: Mapping[str, float] | None,
    keys: Collection[str] | None = None,
    lower_is_better: Collection[str] = (),
    tolerance: float = 0.0,
) -> tuple[bool, str]:
    """(promote, reason). Not worse = within `tolerance` of the incumbent on every compared key.

    `keys` defaults to the metrics both sides report. No incumbent promotes; nothing to
    compare, a missing or non-finite candidate value keeps the incumbent (the safe side).
    """
    if incumbent is None:
        return True, "no current run: the first run becomes current"
    names = sorted(keys if keys is not None else set(candidate) & set(incumbent))
    if not names:
        return False, "no held-out metric shared by candidate and current run: kept current"
    worse, parts = [], []
    for name in names:
        c, i = candidate.get(name), incumbent.get(name)
        if c is None or not math.isfinite(float(c)):
            return False, f"candidate has no finite {name!r} (value {c!r}): kept current"
        if i is None or not math.isfinite(float(i)):
            parts.append(f"{name} {float(c):.4f} (current has none)")
            continue
        c, i = float(c), float(i)
        bad = c > i + tolerance if name in lower_is_better else c < i - tolerance
        parts.append(f"{name} {c:.4f} vs {i:.4f}")
        if bad:
            worse.append(f"{name} {c:.4f} vs {i:.4f}")
    if worse:
        return False, f"worse on {len(worse)} metric(s) (tolerance {tolerance:g}): " + ", ".join(worse)
    return True, f"not worse on {len(names)} metric(s): " + ", ".join(parts)


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
        candidate_metrics: Mapping[str, float],
        incumbent_metrics: Mapping[str, float] | None,
        keys: Collection[str] | None = None,
        lower_is_better: Collection[str] = (),
        tolerance: float = 0.0,
    ) -> Decision:
        """Compare, record, and move `current` to the candidate when it is not worse."""
        incumbent = self.current()
        if incumbent == candidate:
            raise ValueError(f"{candidate} is already current")
        if incumbent and incumbent_metrics is None:  # it cannot even be scored on today's held-out set
            promote, reason = (
                True,
                f"current run {incumbent} has no held-out metrics (could not be evaluated): replaced",
            )
        else:
            promote, reason = compare_metrics(
                candidate_metrics, incumbent_metrics if incumbent else None, keys, lower_is_better, tolerance
            )
        decision = Decision(
            candidate=candidate,
            incumbent=incumbent,
            promote=promote,
            reason=reason,
            candidate_metrics={k: float(v) for k, v in candidate_metrics.items()},
            incumbent_metrics=dict(incumbent_metrics) if incumbent and incumbent_metrics is not None else None,
        )
        self.record(decision)
        if promote:
            self.set_current(candidate)
        return decision
