"""The stage-3 evaluation report: the frozen-feature baseline and one or more runs, side by side.

    evaluate_runs(store, [full_run, ablation_run, ...], out, split="test") -> report dict

For each method: text-video retrieval at the three levels, both directions (exactly the numbers
`hierskp.train.evaluate.split_metrics` writes to RUN/eval.json), order-sensitive retrieval,
operation recognition (zero-shot and linear probe, per frame and per segment), temporal action
localization (ActivityNet mAP) and a check that top-10 search through the run's FAISS indices
agrees with exact search. Writes OUT/report.json, OUT/report.md, PNG figures and the detection
JSON files, each atomically (temp + rename). The first run is the reference ("HierSKP"); the
others are named by their config differences from it unless `names` are given.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import hierskp
from cache_schema import CacheStore
from hierskp.eval import report_plots as plots
from hierskp.eval.embed import LEVELS, LevelData, embed_split
from hierskp.eval.localization import localization_eval
from hierskp.eval.recognition_eval import fit_frame_probe, recognition_eval, task_inputs
from hierskp.eval.retrieval import retrieval_ranks
from hierskp.eval.run_index import index_agreement
from hierskp.train.evaluate import headline as train_headline
from hierskp.train.evaluate import split_metrics
from hierskp.train.rundir import read_run_config

BASELINE = "frozen baseline"
PROTOCOL = (
    "Protocol. Retrieval: exact cosine over each level's distinct texts (identical texts are equally relevant), "
    "R@K in percent. Order: true step order vs the reversed and 4 shuffled orders and the other videos' sequences. "
    "Recognition: zero-shot = argmax cosine to one prompt per class (the mean embedded training-split operation "
    "text of the class); LP = logistic regression fitted on the train split; frame labels from the annotated "
    "segments; Acc/F1 in percent. TAL: per-frame class posteriors (zero-shot: softmax at a temperature "
    "calibrated on the train split; head: the per-frame probe), 5-frame smoothing, argmax + threshold proposals, "
    "per-class NMS, ActivityNet mAP in percent at tIoU 0.3:0.1:0.7."
)
SUMMARY = "Summary (R@1: mean of both directions; Acc: per-video mean)"
CURVE_K = 50
# run settings that do not change what is learned: never part of an ablation's name
IGNORED = {
    "out",
    "cache",
    "progress",
    "evaluate",
    "device",
    "threads",
    "amp",
    "checkpoint_every",
    "keep_checkpoints",
    "data.num_workers",
    "data.mp_context",
}


def flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in tree.items():
        out.update(flatten(v, f"{prefix}{k}.") if isinstance(v, dict) else {f"{prefix}{k}": v})
    return out


def method_names(runs: Sequence[Path], names: Sequence[str] | None = None) -> list[tuple[str, dict[str, Any]]]:
    """(name, {key: [reference value, this run's value]}) per run, the first run being the reference."""
    configs = [{k: v for k, v in flatten(read_run_config(r)["config"]).items() if k not in IGNORED} for r in runs]
    out: list[tuple[str, dict[str, Any]]] = []
    for i, (run, cfg) in enumerate(zip(runs, configs)):
        diff = {
            k: [configs[0].get(k, "(absent)"), cfg.get(k, "(absent)")]
            for k in sorted(set(cfg) | set(configs[0]))
            if cfg.get(k) != configs[0].get(k)
        }
        # keys only one of the two configs has (code versions apart) are listed, never used as a name
        shared = [f"{k}={v[1]}" for k, v in diff.items() if k in cfg and k in configs[0]]
        auto = "HierSKP" if i == 0 else (", ".join(shared) or Path(run).name)
        name = names[i] if names and i < len(names) else auto
        if name in {n for n, _ in out} | {BASELINE}:
            name = f"{name} ({Path(run).name})"
        out.append((name, diff))
    return out


def level_ranks(level: LevelData) -> dict[str, np.ndarray]:
    """v2t/t2v ranks over a level's distinct texts (as `level_retrieval_metrics`: equal texts are equally relevant)."""
    uniq, first, inv = np.unique(np.asarray(level.texts), return_index=True, return_inverse=True)
    sim = level.video @ level.text[first].T
    rel = inv[:, None] == np.arange(len(uniq))[None, :]
    return {"v2t": retrieval_ranks(sim, rel), "t2v": retrieval_ranks(sim.T, rel.T)}


def recall_curve(ranks: np.ndarray, kmax: int = CURVE_K) -> list[float]:
    return [float(100.0 * np.mean(ranks <= k)) for k in range(1, kmax + 1)]


def evaluate_method(
    store: CacheStore, run_dir: Path | None, split: str, name: str, out: Path, progress: bool = True
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON-able results, in-memory extras for the figures) of one method."""
    t0 = time.perf_counter()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "method"
    retrieval = split_metrics(store, run_dir, split)
    emb = embed_split(store, run_dir, split)
    curves = {
        lvl: {d: recall_curve(r) for d, r in level_ranks(emb.levels[lvl]).items()}
        for lvl in LEVELS
        if len(emb.levels[lvl].video_ids) >= 2
    }
    inputs = task_inputs(store, run_dir, split, progress=progress, test_levels=emb)
    probe = fit_frame_probe(inputs.train)
    recognition, preds = recognition_eval(inputs, probe)
    localization = localization_eval(store, inputs, split, out / "detection", slug, probe)
    index_dir = Path(run_dir) / "index" if run_dir is not None else out / "index" / slug
    index = index_agreement(store, run_dir, emb, split, index_dir)
    result = {
        "retrieval": retrieval,
        "recall_curves": curves,
        "recognition": recognition,
        "localization": localization,
        "index": index,
        "seconds": round(time.perf_counter() - t0, 2),
    }
    return result, {"curves": curves, "preds": preds, "inputs": inputs}


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _sections() -> list[tuple[str, str, list[tuple[str, tuple[str, ...], float]]]]:
    """(key, title, [(column, path into a method's result, scale)]): retrieval is in percent already,
    recognition and mAP are fractions shown in percent."""
    r = ("retrieval",)
    summary = [(f"{lvl} R@1", r + (lvl, "mean_R@1"), 1.0) for lvl in LEVELS] + [
        ("order acc (dtw)", r + ("order", "dtw", "order_accuracy"), 1.0),
        ("ZS frame Acc", ("recognition", "zero_shot", "frame", "video_accuracy"), 100.0),
        ("LP frame Acc", ("recognition", "linear_probe", "frame", "video_accuracy"), 100.0),
        ("TAL ZS avg mAP", ("localization", "zero_shot", "average_mAP"), 100.0),
        ("TAL head avg mAP", ("localization", "probe", "average_mAP"), 100.0),
    ]
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
            "Order-sensitive retrieval (true step order vs reversed/shuffled orders and other videos)",
            [
                (f"{s} {h}", r + ("order", s, k), 1.0)
                for s in ("global", "dtw")
                for h, k in (("order acc", "order_accuracy"), ("pairwise", "pairwise_accuracy"), ("R@1", "R@1"))
            ],
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
                    for k in ("mAP@0.3", "mAP@0.4", "mAP@0.5", "mAP@0.6", "mAP@0.7", "average_mAP")
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
            cells.append(f"{k} {d.mean():+.1f} ± {se:.1f} (n={len(d)})" if len(d) else f"{k} -")
        lines.append(f"* {_cell(m['name'])}: " + ", ".join(cells))
    return lines if len(methods) > 1 else []


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|")


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
    lines += ["", PROTOCOL]
    table: dict[str, dict[str, dict[str, float | None]]] = {m["name"]: {} for m in methods}
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
    lines += [
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


def headline_metrics(report: dict[str, Any], run: int = 0) -> dict[str, float]:
    """Flat numbers for dashboards/flows: `hierskp.train.evaluate.headline` keys ("heads/video/R@1",
    "frozen_baseline/order_dtw/acc", ...) of the baseline and of the run at position `run`, plus the
    report's summary columns ("heads/ZS frame Acc", "heads/TAL ZS avg mAP", ...)."""
    base, head = report["methods"][0], report["methods"][1 + run]
    out = train_headline({"heads": head["result"]["retrieval"], "frozen_baseline": base["result"]["retrieval"]})
    for prefix, m in (("heads", head), ("frozen_baseline", base)):
        out.update(
            {
                f"{prefix}/{c}": v
                for c, v in report["table"][m["name"]]["summary"].items()
                if v is not None and "R@1" not in c and "order" not in c
            }
        )
    return out


def as_run_eval(report: dict[str, Any], run: int = 0) -> dict[str, Any]:
    """The run's results in RUN/eval.json's format (`hierskp.train.evaluate.evaluate_run`), for callers
    (flows/retrain) that read it: the retrieval part is the same `split_metrics` computation."""
    return {
        "split": report["split"],
        "cache_fingerprint_id": report["cache"]["fingerprint_id"],
        "heads": report["methods"][1 + run]["result"]["retrieval"],
        "frozen_baseline": report["methods"][0]["result"]["retrieval"],
    }


def evaluate_runs(
    store: CacheStore,
    runs: Sequence[str | Path],
    out: str | Path,
    split: str = "test",
    names: Sequence[str] | None = None,
    progress: bool = True,
) -> dict[str, Any]:
    """Evaluate the frozen baseline and every run on `split`; write the report into `out`; return it."""
    t0 = time.perf_counter()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    runs = [Path(r) for r in runs]
    n_videos = sum(store.read_video(v).annotations.get("split") == split for v in store.video_ids())
    if not n_videos:
        raise ValueError(f"{store.url}: no complete video in split {split!r}: nothing to evaluate")
    for r in runs:
        if not (r / "final" / "heads.safetensors").is_file():
            raise FileNotFoundError(f"{r}: not a finished run folder (no final/heads.safetensors)")
    named = [(BASELINE, None, {})] + [(n, r, d) for r, (n, d) in zip(runs, method_names(runs, names))]
    methods, extras = [], {}
    for name, run, diff in tqdm(named, desc="evaluate", unit="method", disable=not progress):
        result, extras[name] = evaluate_method(store, run, split, name, out, progress)
        methods.append(
            {
                "name": name,
                "kind": "frozen_baseline" if run is None else "heads",
                "run": None if run is None else str(run),
                "config_diff": diff,
                "result": result,
            }
        )
    report: dict[str, Any] = {
        "split": split,
        "cache": {"url": store.url, "fingerprint_id": store.fingerprint_id},
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "code_version": hierskp.__version__,
        "methods": methods,
        "figures": plots.report_figures(out, methods, extras, split),
    }
    report["seconds"] = round(time.perf_counter() - t0, 2)
    markdown, table = render_markdown(report)
    report["table"] = table
    _write_text(out / "report.json", json.dumps(report, indent=1, default=float))
    _write_text(out / "report.md", markdown)
    return report
