"""The stage-3 evaluation report: the frozen-feature baseline and one or more runs, side by side.

    evaluate_runs(store, [full_run, ablation_run, ...], out, split="test") -> report dict

For each method: text-video retrieval at the three levels, both directions (exactly the numbers
`hierskp.eval.heldout.split_metrics` writes to RUN/eval.json), order-sensitive retrieval,
operation recognition (zero-shot and linear probe, per frame and per segment), temporal action
localization (ActivityNet mAP) and a check that top-10 search through the run's FAISS indices
agrees with exact search. Writes OUT/report.json, OUT/report.md, PNG figures and the detection
JSON files, each atomically (temp + rename). The first run is the reference ("HierSKP"); the
others are named by their config differences from it unless `names` are given.
"""

from __future__ import annotations

import datetime as dt
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
from hierskp import strict_json
from hierskp.eval import report_plots as plots
from hierskp.eval.embed import LEVELS, LevelData, embed_split
from hierskp.eval.heldout import headline as run_headline
from hierskp.eval.heldout import run_eval_result, split_metrics
from hierskp.eval.localization import localization_eval
from hierskp.eval.prompt_templates import cache_labels, label_prompts, templates_of
from hierskp.eval.prompts import encode_prompts, load_prompts
from hierskp.eval.recognition_task import fit_frame_probe, recognition_eval, task_inputs
from hierskp.eval.report_groups import SEED_KEYS, group_table, seed_groups
from hierskp.eval.report_render import render_markdown
from hierskp.eval.retrieval import keyed_retrieval_ranks
from hierskp.eval.run_faiss import index_agreement
from hierskp.outdir import claim_output_dir
from hierskp.runs.api import HierSKPModel
from hierskp.runs.folder import INDEX_DIR, read_run_config
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


def evaluate_method(
    store: CacheStore,
    model: RunModel,
    split: str,
    name: str,
    out: Path,
    progress: bool = True,
    prompts: dict[str, np.ndarray] | None = None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(JSON-able results, in-memory extras for the figures) of one loaded method; each split is
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
    index_dir = model.run_dir / INDEX_DIR if model.run_dir is not None else out / "index" / slug
    index = index_agreement(store, model, emb, split, index_dir)
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


def headline_metrics(report: dict[str, Any], run: int = 0) -> dict[str, float]:
    """Flat numbers for dashboards/flows: `hierskp.eval.heldout.headline` keys ("heads/video/R@1",
    "frozen_baseline/order_dtw/acc", ...) of the baseline and of the run at position `run`, plus the
    report's summary columns ("heads/ZS frame Acc", "heads/TAL ZS avg mAP", ...)."""
    base, head = report["methods"][0], report["methods"][1 + run]
    out = run_headline({"heads": head["result"]["retrieval"], "frozen_baseline": base["result"]["retrieval"]})
    for prefix, m in (("heads", head), ("frozen_baseline", base)):
        out.update(
            {
                f"{prefix}/{c}": v
                for c, v in report["table"][m["name"]]["summary"].items()
                if v is not None and not any(k in c for k in ("R@1", "order", "twin", "ctrl"))
            }
        )
    return out


def as_run_eval(report: dict[str, Any], run: int = 0) -> dict[str, Any]:
    """The run's results in RUN/eval.json's format (`hierskp.eval.heldout.evaluate_run`), for callers
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
    `prompts`: a YAML file of class prompts for zero-shot recognition and TAL (`hierskp.eval.prompts`);
    `prompt_templates`: the label names in a template set instead (`hierskp.eval.prompt_templates`);
    default: each class's training captions."""
    t0 = time.perf_counter()
    out = claim_output_dir(out, "report", legacy=("report.json",))
    runs = [Path(r) for r in runs]
    n_videos = sum(store.read_video(v).annotations.get("split") == split for v in store.video_ids())
    if not n_videos:
        raise ValueError(f"{store.url}: no complete video in split {split!r}: nothing to evaluate")
    models = [load_run(r) for r in runs]  # each run's heads, loaded once
    for m in models:
        m.check_cache(store)
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
                "result": result,
            }
        )
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
    report["seconds"] = round(time.perf_counter() - t0, 2)
    markdown, table = render_markdown(report)
    report["table"] = table
    report["group_table"] = group_table(table, groups)
    _write_text(out / "report.json", strict_json.dumps(report, indent=1, default=float))
    _write_text(out / "report.md", markdown)
    return report
