"""Seed groups of the evaluation report: runs whose training configs differ only in the seed are one
method, reported as mean, sample std and a 95% t-interval over its runs.

    groups = seed_groups(configs, names)              # [(group name, [member names])], report order
    table = group_table(per_run_table, groups)        # {group: {section: {column: {mean, std, ci95, n}}}}
    lines = comparison_lines(table, groups[1:], ...)  # the reference vs each other group, interval-aware

`hierskp evaluate --run a_s0 --run a_s1 --run hecvl_s0 ...` needs no flag for this: the grouping is
read from the run configs. The interval is over seeds (training randomness), on the same test videos.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from hierskp.eval.metrics.intervals import bootstrap_summary
from hierskp.numfmt import mean_ci

SEED_KEYS = frozenset({"seed"})
# two-sided 95% Student t quantiles by degrees of freedom (scipy is not a dependency); the normal 1.96 beyond 30
_T975 = dict(
    enumerate(
        (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145, 2.131)
        + (2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042),
        start=1,
    )
)
_SEED_SUFFIX = re.compile(r"[\s_.-]*(?:s|seed)[\s=_-]?\d+$", re.IGNORECASE)


def t_quantile(df: int) -> float:
    return float(_T975.get(df, 1.96))


def interval(values: Sequence[float]) -> dict[str, float | int | None]:
    """mean, sample std (ddof 1), 95% t-interval half-width (`ci95`) and n; std/ci95 None for n < 2."""
    v = np.asarray([x for x in values if x is not None and math.isfinite(x)], dtype=np.float64)
    if not len(v):
        return {"mean": None, "std": None, "ci95": None, "n": 0}
    if len(v) == 1:
        return {"mean": float(v[0]), "std": None, "ci95": None, "n": 1}
    sd = float(v.std(ddof=1))
    return {"mean": float(v.mean()), "std": sd, "ci95": t_quantile(len(v) - 1) * sd / math.sqrt(len(v)), "n": len(v)}


def group_name(members: Sequence[str]) -> str:
    """The members' common name: equal names as they are, else the first with its seed suffix removed
    (`full_s0`, `HecVL seed 1` -> `full`, `HecVL`); auto names of seed-only differences -> their base."""
    stripped = [_SEED_SUFFIX.sub("", re.sub(r"\s*\([^)]*\)$", "", m)).strip() for m in members]
    named = [s for s in stripped if s]
    if not named:
        return members[0]
    return named[0] if all(s == named[0] for s in named) else f"{named[0]} (+{len(members) - 1} seeds)"


def seed_groups(
    configs: Sequence[dict[str, Any]], names: Sequence[str], display: Sequence[str] | None = None
) -> list[tuple[str, list[str]]]:
    """Methods whose flattened configs agree on every key but `seed`, in order of first appearance:
    (group name, member names). `display`: per method, the name to build the group's name from
    (default `names`; the report passes names derived with the seed ignored)."""
    display = list(display or names)
    keys: dict[str, list[int]] = {}
    for i, cfg in enumerate(configs):
        key = json.dumps({k: v for k, v in cfg.items() if k not in SEED_KEYS}, sort_keys=True, default=str)
        keys.setdefault(key, []).append(i)
    out: list[tuple[str, list[str]]] = []
    for idx in keys.values():
        members = [names[i] for i in idx]
        name = group_name([display[i] for i in idx]) if len(idx) > 1 else members[0]
        while name in {n for n, _ in out}:
            name += "'"
        out.append((name, members))
    return out


def group_table(
    table: dict[str, dict[str, dict[str, float | None]]], groups: Sequence[tuple[str, Sequence[str]]]
) -> dict[str, dict[str, dict[str, dict[str, Any]]]]:
    """Per group, section and column: `interval` over the members' values in the per-run table."""
    out: dict[str, dict[str, dict[str, dict[str, Any]]]] = {}
    for name, members in groups:
        sections = table[members[0]]
        out[name] = {
            sec: {col: interval([table[m][sec][col] for m in members]) for col in cols}
            for sec, cols in sections.items()
        }
    return out


def cell(stat: dict[str, Any]) -> str:
    if stat["mean"] is None:
        return "-"
    return mean_ci(stat["mean"], stat["ci95"], decimals=1)


def md_cell(text: str) -> str:
    """Text made safe for a markdown table cell."""
    return str(text).replace("|", "\\|")


def across_seeds_lines(
    methods: list[dict[str, Any]],
    table: dict[str, dict[str, dict[str, float | None]]],
    groups: list[tuple[str, list[str]]],
    reference: str | None,
    sections: list[tuple[str, str, list[tuple[str, tuple[str, ...], float]]]],
) -> list[str]:
    """The one-row-per-method tables: runs that differ only in the seed as mean ± 95% t-interval."""
    gtable = group_table(table, groups)
    lines = [
        "",
        "## Across seeds: one row per method",
        "",
        "Runs whose configs differ only in `seed` are one method: mean ± half-width of the 95% Student t "
        "interval over its runs (n runs), same test videos; a single value where n = 1. The interval is over "
        "training seeds only: the test videos' sampling error adds to it (per-run bootstrap intervals of the order "
        "controls below). Per-run numbers below.",
    ]
    for key, title, cols in sections:
        lines += ["", f"### {title}", "", "| method | n | " + " | ".join(c for c, _, _ in cols) + " |"]
        lines.append("|---|---:" + "|---:" * len(cols) + "|")
        for name, members in groups:
            cells = [cell(gtable[name][key][c]) for c, _, _ in cols]
            lines.append(f"| {md_cell(name)} | {len(members)} | " + " | ".join(cells) + " |")
        if key == "summary" and reference is not None:
            ref = next(g for g, members in groups if reference in members)
            others = [g for g, _ in groups[1:] if g != ref]
            cmp = comparison_lines(gtable, ref, others, [c for c, _, _ in cols])
            if cmp:
                lines += ["", "Difference of means, and whether the 95% intervals are disjoint:", ""] + cmp
            paired = paired_lines(methods, groups, ref)
            if paired:
                lines += ["", "Paired on the same test videos (seeds averaged per video), points, 95% bootstrap:", ""]
                lines += paired
    return lines


def comparison_lines(
    gtable: dict[str, dict[str, dict[str, dict[str, Any]]]],
    reference: str,
    others: Sequence[str],
    columns: Sequence[str],
    section: str = "summary",
) -> list[str]:
    """One line per other group: the reference's mean minus the other's, per column, and whether the
    two 95% intervals are disjoint ("ahead", "behind") or overlap ("within the intervals")."""
    lines = []
    for other in others:
        parts = []
        for col in columns:
            a, b = gtable[reference][section].get(col), gtable[other][section].get(col)
            if not a or not b or a["mean"] is None or b["mean"] is None:
                continue
            lo_a, hi_a = a["mean"] - (a["ci95"] or 0.0), a["mean"] + (a["ci95"] or 0.0)
            lo_b, hi_b = b["mean"] - (b["ci95"] or 0.0), b["mean"] + (b["ci95"] or 0.0)
            verdict = "ahead" if lo_a > hi_b else "behind" if hi_a < lo_b else "within the intervals"
            parts.append(f"{col} {a['mean'] - b['mean']:+.1f} ({verdict})")
        if parts:
            lines.append(f"* {reference} vs {other}: " + "; ".join(parts))
    return lines


PAIRED = {"ZS frame Acc": ("zero_shot", "frame"), "LP frame Acc": ("linear_probe", "frame")}


def _per_video(methods: dict[str, dict[str, Any]], members: Sequence[str], task: tuple[str, str]) -> dict[str, float]:
    """Per-video accuracy averaged over a group's runs (videos every run scored)."""
    tables = [methods[m]["result"]["recognition"][task[0]][task[1]].get("per_video_accuracy", {}) for m in members]
    shared = set(tables[0]).intersection(*tables[1:]) if tables else set()
    return {v: float(np.mean([t[v] for t in tables])) for v in sorted(shared)}


def paired_lines(
    methods: Sequence[dict[str, Any]], groups: Sequence[tuple[str, Sequence[str]]], reference: str
) -> list[str]:
    """The reference group minus each other group on the same videos (each video's accuracy averaged over
    a group's seeds first): mean difference in points with a 95% bootstrap interval over videos. This
    interval is the test-video sampling error the seed interval leaves out."""
    by_name = {m["name"]: m for m in methods}
    members = dict(groups)
    lines = []
    for other, _ in groups:
        if other == reference:
            continue
        cells = []
        for col, task in PAIRED.items():
            a, b = _per_video(by_name, members[reference], task), _per_video(by_name, members[other], task)
            diff = [a[v] - b[v] for v in a if v in b]
            if diff:
                s = bootstrap_summary(diff)
                cells.append(f"{col} {s['acc']:+.1f} [{s['ci95'][0]:+.1f}, {s['ci95'][1]:+.1f}] (n={s['n']} videos)")
        if cells:
            lines.append(f"* {reference} − {other}: " + "; ".join(cells))
    return lines
