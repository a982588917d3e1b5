"""The stage-3 evaluation report: the frozen-feature baseline and one or more runs, side by side.

    evaluate_runs(store, [full_run, ablation_run, ...], out, split="test") -> report dict

For each method: text-video retrieval at the three levels, both directions (exactly the numbers
`hierskp.eval.tasks.retrieval.split_metrics` writes to RUN/eval.json), order-sensitive retrieval,
operation recognition (zero-shot and linear probe, per frame and per segment), temporal action
localization (ActivityNet mAP) and a check that top-10 search through an in-memory FAISS index
agrees with exact search. Writes OUT/report.json, OUT/report.md, PNG figures and the detection
JSON files, each atomically (temp + rename). The first run is the reference ("HierSKP"); the
others are named by their config differences from it unless `names` are given. Each method's result
is a `MethodResult` (its `to_dict()` is report.json's `methods[i].result`); the headline metrics, the
summary columns and the flat numbers for flows come from the one registry, `report_headline`.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

import hierskp
from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import split_video_ids
from hierskp.eval.metrics.retrieval import keyed_retrieval_ranks
from hierskp.eval.report import plots
from hierskp.eval.report.groups import SEED_KEYS, group_table, seed_groups
from hierskp.eval.report.headline import EVAL_JSON, TASKS, flat
from hierskp.eval.report.index_agreement import index_agreement
from hierskp.eval.report.render import render_markdown
from hierskp.eval.tasks.embed import LEVELS, LevelData, embed_split
from hierskp.eval.tasks.frame_probe import fit_frame_probe
from hierskp.eval.tasks.localization import localization_eval
from hierskp.eval.tasks.prompt_templates import cache_labels, label_prompts, templates_of
from hierskp.eval.tasks.prompts import encode_prompts, load_prompts
from hierskp.eval.tasks.recognition import recognition_eval, task_inputs
from hierskp.eval.tasks.retrieval import SplitMetrics, run_eval_result, split_metrics
from hierskp.files import strict_json
from hierskp.files.atomic import atomic_write_text
from hierskp.files.outdir import claim_output_dir
from hierskp.runs.encoders import HierSKPModel
from hierskp.runs.folder import read_run_config
from hierskp.runs.model import RunModel, frozen_baseline, load_run

BASELINE = "frozen baseline"
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


def run_configs(runs: Sequence[Path], ignore: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Each run's flattened training config without the settings that do not change what is learned."""
    return [{k: v for k, v in flatten(read_run_config(r)["config"]).items() if k not in IGNORED | ignore} for r in runs]


def method_names(
    runs: Sequence[Path], names: Sequence[str] | None = None, ignore: frozenset[str] = frozenset()
) -> list[tuple[str, dict[str, Any]]]:
    """(name, {key: [reference value, this run's value]}) per run, the first run being the reference;
    keys in `ignore` neither name a run nor count as a difference."""
    configs = run_configs(runs, ignore)
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
    texts, cols = level.text[first], np.arange(len(uniq))
    return {
        "v2t": keyed_retrieval_ranks(level.video, texts, inv, cols),  # in row blocks: no [N, U] matrix
        "t2v": keyed_retrieval_ranks(texts, level.video, cols, inv),
    }


def recall_curve(ranks: np.ndarray, kmax: int = CURVE_K) -> list[float]:
    return [float(100.0 * np.mean(ranks <= k)) for k in range(1, kmax + 1)]


@dataclass(frozen=True)
class MethodResult:
    """One method's evaluation on a split; `to_dict()` is report.json's `methods[i].result`."""

    retrieval: SplitMetrics
    recall_curves: dict[str, dict[str, list[float]]]  # level -> direction -> R@1..R@50
    recognition: dict[str, Any]
    localization: dict[str, Any]
    index: dict[str, Any]
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "retrieval": self.retrieval.to_dict(),
            "recall_curves": self.recall_curves,
            "recognition": self.recognition,
            "localization": self.localization,
            "index": self.index,
            "seconds": self.seconds,
        }


def evaluate_method(
    store: CacheStore,
    model: RunModel,
    split: str,
    name: str,
    out: Path,
    progress: bool = True,
    prompts: dict[str, np.ndarray] | None = None,
) -> tuple[MethodResult, dict[str, Any]]:
    """(the results, in-memory extras for the figures) of one loaded method; each split is
    embedded once at the three levels and once per frame."""
    t0 = time.perf_counter()
    slug = re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("_") or "method"
    emb = embed_split(store, model, split)
    retrieval = split_metrics(store, model, split, emb)
    curves = {
        lvl: {d: recall_curve(r) for d, r in level_ranks(emb.levels[lvl]).items()}
        for lvl in LEVELS
        if len(emb.levels[lvl].video_ids) >= 2
    }
    inputs = task_inputs(store, model, split, progress=progress, test_levels=emb, prompts=prompts)
    probe = fit_frame_probe(inputs.train)
    recognition, preds = recognition_eval(inputs, probe)
    localization = localization_eval(store, inputs, split, out / "detection", slug, probe)
    index = index_agreement(emb)  # in memory: the report writes no index
    result = MethodResult(retrieval, curves, recognition, localization, index, round(time.perf_counter() - t0, 2))
    return result, {"curves": curves, "preds": preds, "inputs": inputs}


def headline_metrics(report: dict[str, Any], run: int = 0) -> dict[str, float | None]:
    """Flat numbers for dashboards/flows: every `report_headline.HEADLINE` metric ("heads/video/R@1",
    "frozen_baseline/order_dtw/acc", "heads/ZS frame Acc", ...) of the baseline and of the run at
    position `run`: the RUN/eval.json part (`hierskp.eval.tasks.retrieval.headline`) first, then the tasks."""
    base, head = report["methods"][0], report["methods"][1 + run]
    results = {"heads": head["result"], "frozen_baseline": base["result"]}
    return {**flat(results, EVAL_JSON), **flat(results, TASKS)}


def as_run_eval(report: dict[str, Any], run: int = 0) -> dict[str, Any]:
    """The run's results in RUN/eval.json's format (`hierskp.eval.tasks.retrieval.evaluate_run`), for callers
    (flows/retrain) that read it: the retrieval part is the same `split_metrics` computation."""
    return run_eval_result(
        report["split"],
        report["cache"]["fingerprint_id"],
        report["methods"][1 + run]["result"]["retrieval"],
        report["methods"][0]["result"]["retrieval"],
    )


def evaluate_runs(
    store: CacheStore,
    runs: Sequence[str | Path],
    out: str | Path,
    split: str = "test",
    names: Sequence[str] | None = None,
    progress: bool = True,
    prompts: str | Path | None = None,
    prompt_templates: str | None = None,
) -> dict[str, Any]:
    """Evaluate the frozen baseline and every run on `split`; write the report into `out`; return it.
    `prompts`: a YAML file of class prompts for zero-shot recognition and TAL (`hierskp.eval.tasks.prompts`);
    `prompt_templates`: the label names in a template set instead (`hierskp.eval.tasks.prompt_templates`);
    default: each class's training captions."""
    t0 = time.perf_counter()
    out = claim_output_dir(out, "report", legacy=("report.json",))
    runs = [Path(r) for r in runs]
    n_videos = len(split_video_ids(store, split))
    if not n_videos:
        raise ValueError(f"{store.url}: no complete video in split {split!r}: nothing to evaluate")
    models = [load_run(r) for r in runs]  # each run's heads, loaded once
    for m in models:
        m.check_cache(store)
    encoded, prompts = _class_prompts(store, models, prompts, prompt_templates)
    named = [(BASELINE, None, {})] + [(n, r, d) for r, (n, d) in zip(runs, method_names(runs, names))]
    groups = seed_groups(
        [{}] + run_configs(runs),
        [n for n, _, _ in named],
        [BASELINE] + [n for n, _ in method_names(runs, names, ignore=SEED_KEYS)],
    )
    loaded = [frozen_baseline(store)] + models
    methods, extras = [], {}
    for (name, run, diff), model in tqdm(
        list(zip(named, loaded)), desc="evaluate", unit="method", disable=not progress
    ):
        result, extras[name] = evaluate_method(store, model, split, name, out, progress, encoded)
        methods.append(
            {
                "name": name,
                "kind": "frozen_baseline" if run is None else "heads",
                "run": None if run is None else str(run),
                "config_diff": diff,
                "result": result.to_dict(),
            }
        )
    report = _report(store, split, out, methods, extras, encoded, prompts, groups)
    report["seconds"] = round(time.perf_counter() - t0, 2)
    markdown, table = render_markdown(report)
    report["table"] = table
    report["group_table"] = group_table(table, groups)
    atomic_write_text(out / "report.json", strict_json.dumps(report, indent=1, default=float))
    atomic_write_text(out / "report.md", markdown)
    return report


def _class_prompts(
    store: CacheStore, models: list[RunModel], prompts: str | Path | None, prompt_templates: str | None
) -> tuple[dict[str, np.ndarray] | None, str | Path | None]:
    """(the zero-shot classes' embedded prompts, their source) when a prompts file or a template set is
    given; (None, None) for the default, each class's training captions."""
    encoded = None
    if prompts is not None and prompt_templates is not None:
        raise ValueError("give --prompts or --prompt-templates, not both")
    if prompts is not None or prompt_templates is not None:
        texts = (
            load_prompts(prompts)
            if prompts is not None
            else label_prompts(cache_labels(store), templates_of(prompt_templates))  # type: ignore[arg-type]
        )
        encoded = encode_prompts(texts, HierSKPModel(models[0]).text_encoder())  # the cache's encoder, checked
        prompts = prompts if prompts is not None else f"templates {prompt_templates}"
    return encoded, prompts


def _report(
    store: CacheStore,
    split: str,
    out: Path,
    methods: list[dict[str, Any]],
    extras: dict[str, Any],
    encoded: dict[str, np.ndarray] | None,
    prompts: str | Path | None,
    groups: list[tuple[str, list[str]]],
) -> dict[str, Any]:
    """The report without its timing and tables; draws the figures."""
    report: dict[str, Any] = {
        "split": split,
        "cache": {"url": store.url, "fingerprint_id": store.fingerprint_id},
        "created_at": dt.datetime.now(dt.UTC).isoformat(),
        "code_version": hierskp.__version__,
        "methods": methods,
        "prompts": {"source": str(prompts), "labels": sorted(encoded)}
        if encoded is not None
        else {"source": "training captions (mean embedding of each class's operation texts)"},
        "figures": plots.report_figures(out, methods, extras, split),
        "groups": [{"name": g, "methods": members} for g, members in groups],
    }
    return report
