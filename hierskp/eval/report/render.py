"""Rendering of the evaluation report: the tables of report.md from a report dict.

`render_markdown(report) -> (markdown, table)`; `table[method][section][column]` holds the values
in display units (percent), which `hierskp evaluate` prints and flows turn into artifacts. The summary
columns are the headline registry's (`hierskp.eval.report.headline.SUMMARY`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from hierskp.eval.metrics.detection import DEFAULT_TIOU
from hierskp.eval.metrics.retrieval import TIE_TOLERANCE
from hierskp.eval.report.groups import across_seeds_lines
from hierskp.eval.report.groups import md_cell as _cell
from hierskp.eval.report.headline import SUMMARY as SUMMARY_METRICS
from hierskp.eval.tasks.embed import LEVELS
from hierskp.eval.tasks.order_controls import SCORERS
from hierskp.numfmt import mean_ci

PROTOCOL = (
    "Protocol. Retrieval: exact cosine over each level's distinct texts (identical texts are equally relevant), "
    "R@K in percent. Order retrieval: true step order vs the reversed and 4 shuffled orders and the other videos' "
    "sequences (passable from the text side alone: a wrong order of the query's own steps is often implausible). "
    "Order controls: twin discrimination = own order vs a twin procedure's order of the same labels (canonical: "
    "the same label-mean step texts on both sides, so only the video decides; own text: the video's annotation "
    "texts); time-shuffled = original vs block-shuffled clips on the true steps; mean video = the twin test with "
    "the split's mean video as every query (chance: 50); n and 95% bootstrap intervals below. "
    f"Ties (within {TIE_TOLERANCE:g}): accuracies count a fair coin (1/2 against one order; k tied at the top: 1/(1+k)), ranks count them against the query. "
    "Recognition: zero-shot = argmax cosine to one prompt per class (the mean embedded training-split operation "
    "text of the class); LP = logistic regression fitted on the train split; frame labels from the annotated "
    "segments; Acc/F1 in percent. TAL: per-frame class posteriors (zero-shot: softmax at a temperature "
    "calibrated on the train split; head: the per-frame probe), 5-frame smoothing, argmax + threshold proposals, "
    f"per-class NMS, ActivityNet mAP in percent at tIoU {', '.join(f'{t:g}' for t in DEFAULT_TIOU)}."
)
SUMMARY = "Summary (R@1: mean of both directions; Acc: per-video mean)"


def _sections() -> list[tuple[str, str, list[tuple[str, tuple[str, ...], float]]]]:
    """(key, title, [(column, path into a method's result, scale)]): retrieval is in percent already,
    recognition and mAP are fractions shown in percent."""
    r = ("retrieval",)
    summary = [(m.column, m.path, m.scale) for m in SUMMARY_METRICS]  # the headline registry's columns
    out = [("summary", SUMMARY, summary)]
    out += [
        (
            f"retrieval/{lvl}",
            f"Text-video retrieval: {lvl} level",
            [(f"{d} {m}", r + (lvl, d, m), 1.0) for d in ("v2t", "t2v") for m in ("R@1", "R@5", "R@10", "MedR")],
        )
        for lvl in LEVELS
    ]
    out.append(
        (
            "order",
            "Order retrieval, text-passable (true step order vs reversed/shuffled orders and other videos)",
            [
                (f"{s} {h}", r + ("order", s, k), 1.0)
                for s in ("global", "dtw")
                for h, k in (("order acc", "order_accuracy"), ("pairwise", "pairwise_accuracy"), ("R@1", "R@1"))
            ],
        )
    )
    oc = r + ("order_controls",)
    out.append(
        (
            "order_controls",
            "Order controls (video-side; twin and mean video chance = 50)",
            [(f"twin {s}", oc + ("twin", "canonical", s, "acc"), 1.0) for s in SCORERS]
            + [(f"twin own-text {s}", oc + ("twin", "own_text", s, "acc"), 1.0) for s in SCORERS]
            + [(f"shuffled {s}", oc + ("time_shuffled", s, "acc"), 1.0) for s in SCORERS]
            + [(f"mean-video {s}", oc + ("mean_video_twin", "canonical", s, "acc"), 1.0) for s in SCORERS],
        )
    )
    for avg, key in (("per-video mean", "video_"), ("pooled", "")):
        out.append(
            (
                f"recognition/{'per_video' if key else 'pooled'}",
                f"Operation recognition, {avg} (ZS: zero-shot, LP: linear probe)",
                [
                    (f"{mo} {u} {h}", ("recognition", m, u, key + k), 100.0)
                    for mo, m in (("ZS", "zero_shot"), ("LP", "linear_probe"))
                    for u in ("frame", "segment")
                    for h, k in (("Acc", "accuracy"), ("F1", "macro_f1"))
                ],
            )
        )
    for det, title in (("zero_shot", "zero-shot (prompt similarity)"), ("probe", "linear localization head")):
        out.append(
            (
                f"tal/{det}",
                f"Temporal action localization, {title}: ActivityNet mAP",
                [
                    (k.replace("average_mAP", "avg"), ("localization", det, k), 100.0)
                    for k in (*(f"mAP@{t:g}" for t in DEFAULT_TIOU), "average_mAP")
                ],
            )
        )
    return out


def _paired(methods: list[dict[str, Any]]) -> list[str]:
    """Per-video frame accuracy minus the baseline's on the same videos: mean ± standard error."""
    paths = {"ZS": ("zero_shot", "frame"), "LP": ("linear_probe", "frame")}
    base = {k: methods[0]["result"]["recognition"][a][b].get("per_video_accuracy", {}) for k, (a, b) in paths.items()}
    lines = ["", "Paired per-video difference from the frozen baseline (frame Acc, points, mean ± s.e.):", ""]
    for m in methods[1:]:
        cells = []
        for k, (a, b) in paths.items():
            mine = m["result"]["recognition"][a][b].get("per_video_accuracy", {})
            d = 100 * np.array([mine[v] - base[k][v] for v in mine if v in base[k]])
            se = d.std(ddof=1) / np.sqrt(len(d)) if len(d) > 1 else float("nan")
            cells.append(f"{k} {mean_ci(d.mean(), se, len(d), decimals=1, signed=True)}" if len(d) else f"{k} -")
        lines.append(f"* {_cell(m['name'])}: " + ", ".join(cells))
    return lines if len(methods) > 1 else []


def _order_control_lines(methods: list[dict[str, Any]]) -> list[str]:
    """The controls with their n and 95% bootstrap intervals, one line per method and scorer."""
    lines = ["", "With n (videos) and 95% bootstrap intervals:", ""]
    for m in methods:
        oc = m["result"].get("retrieval", {}).get("order_controls", {})
        if "twin" not in oc:
            continue
        for s in SCORERS:
            parts = [
                (name, node)
                for name, node in (
                    ("twin", oc["twin"]["canonical"][s]),
                    ("twin own-text", oc["twin"]["own_text"][s]),
                    ("shuffled", oc["time_shuffled"][s]),
                    ("mean video", oc["mean_video_twin"]["canonical"][s]),
                )
            ]
            cells = [f"{n} {v['acc']:.1f} [{v['ci95'][0]:.1f}, {v['ci95'][1]:.1f}] (n={v['n']})" for n, v in parts]
            lines.append(f"* {_cell(m['name'])}, {s}: " + "; ".join(cells))
    procs = sorted(
        {
            p
            for m in methods
            for p in m["result"].get("retrieval", {}).get("order_controls", {}).get("twin_procedures", [])
        }
    )
    if procs:
        lines.append(f"* twin procedures found in the annotations: {', '.join(procs)}")
    return lines


def _get(result: dict[str, Any], path: tuple[str, ...]) -> float | None:
    node: Any = result
    for key in path:
        if not isinstance(node, dict) or key not in node:
            return None
        node = node[key]
    return float(node) if isinstance(node, (int, float)) else None


def render_markdown(report: dict[str, Any]) -> tuple[str, dict[str, dict[str, dict[str, float | None]]]]:
    """(report.md text, table {method: {section key: {column: value}}} in display units)."""
    methods = report["methods"]
    head = _header_lines(report, methods)
    table: dict[str, dict[str, dict[str, float | None]]] = {m["name"]: {} for m in methods}
    lines = ["", "## Per run"] + _per_run_lines(methods, table) + _index_and_detection_lines(methods)
    groups = [(g["name"], g["methods"]) for g in report.get("groups", [])]
    if any(len(members) > 1 for _, members in groups):
        reference = methods[1]["name"] if len(methods) > 1 else None
        head += across_seeds_lines(methods, table, groups, reference, _sections())
    lines = head + lines
    fig = report["figures"]
    lines += [
        "",
        "## Figures",
        "",
        "![recall@K](recall_curves.png)",
        "",
        f"Zero-shot per-frame confusion of {fig['best_method']}:",
        "",
        "![confusion](confusion_matrix.png)",
        "",
        "![timeline](timeline.png)",
        "",
    ]
    return "\n".join(lines), table


def _header_lines(report: dict[str, Any], methods: list[dict[str, Any]]) -> list[str]:
    lines = [
        f"# HierSKP evaluation report ({report['split']} split)",
        "",
        f"Cache `{report['cache']['url']}` (fingerprint `{report['cache']['fingerprint_id']}`), "
        f"{report['created_at']}, {report['seconds']:.0f} s.",
        "",
        "| method | run | differs from HierSKP in |",
        "|---|---|---|",
    ]
    for m in methods:
        diff = "; ".join(f"`{k}`: {a} → {b}" for k, (a, b) in m["config_diff"].items()) or "-"
        run = m["run"] or "(no training: mean-pooled backbone features)"
        lines.append(f"| {_cell(m['name'])} | {run} | {_cell(diff)} |")
    src = report.get("prompts", {}).get("source") or "training captions"
    protocol = PROTOCOL
    if not src.startswith("training captions"):  # a prompts file replaced them as the zero-shot classes' texts
        protocol = PROTOCOL.replace(
            "one prompt per class (the mean embedded training-split operation text of the class)",
            f"one prompt per class (the class's prompts from {src}, embedded and averaged)",
        )
    lines += ["", protocol, "", f"Zero-shot class prompts: {_cell(src)}."]
    return lines


def _per_run_lines(methods: list[dict[str, Any]], table: dict[str, dict[str, dict[str, float | None]]]) -> list[str]:
    lines: list[str] = []
    for key, title, cols in _sections():
        lines += [
            "",
            f"### {title}",
            "",
            "| method | " + " | ".join(c for c, _, _ in cols) + " |",
            "|---" + "|---:" * len(cols) + "|",
        ]
        for m in methods:
            vals = [_get(m["result"], path) for _, path, _ in cols]
            vals = [None if v is None else v * scale for v, (_, _, scale) in zip(vals, cols)]
            table[m["name"]][key] = {c: v for (c, _, _), v in zip(cols, vals)}
            cells = ["-" if v is None else f"{v:.1f}" for v in vals]
            lines.append(f"| {_cell(m['name'])} | " + " | ".join(cells) + " |")
        if key == "summary":
            lines += _paired(methods)
        if key == "order_controls":
            lines += _order_control_lines(methods)
    return lines


def _index_and_detection_lines(methods: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "### FAISS index vs exact search (top-10 agreement, ties interchangeable)",
        "",
        "| method | " + " | ".join(f"{lvl} {d}" for lvl in LEVELS for d in ("t2v", "v2t")) + " |",
        "|---" + "|---:" * 2 * len(LEVELS) + "|",
    ]
    for m in methods:
        idx = m["result"]["index"]
        lines.append(
            f"| {_cell(m['name'])} | "
            + " | ".join(
                f"{idx[f'{lvl}/{d}']['agreement']:.3f}" if f"{lvl}/{d}" in idx else "-"
                for lvl in LEVELS
                for d in ("t2v", "v2t")
            )
            + " |"
        )
    det = [(m["name"], m["result"]["localization"]) for m in methods]
    lines += [
        "",
        "Reproduce a TAL row from its files, in the report folder: `hierskp eval detection "
        "--ground-truth detection/ground_truth.json --predictions <file>`:",
        "",
    ]
    lines += [
        f"* {_cell(n)}, {d}: `detection/{Path(loc[d]['predictions_file']).name}`"
        for n, loc in det
        for d in ("zero_shot", "probe")
        if "predictions_file" in loc.get(d, {})
    ]
    return lines
