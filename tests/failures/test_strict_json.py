"""Issue 20, class 11: every JSON file a small end-to-end run writes parses with a strict parser
(no bare NaN/Infinity); an undefined number is null."""

from __future__ import annotations

import json
import shutil

import cache_schema as cs
from hierskp.eval.report.build import evaluate_runs
from hierskp.eval.tasks.retrieval import evaluate_run
from hierskp.runs.folder import read_eval_result, write_eval_result
from hierskp.runs.model import load_run
from hierskp.runs.promotion import RunRegistry


def _strict(text: str):
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def test_every_json_file_of_a_small_run_is_strict_json(finished_run, tiny_cache, tmp_path):
    store = cs.open_cache(tiny_cache)
    evaluate_run(store, load_run(finished_run), "test")
    result = read_eval_result(finished_run)
    result["undefined_metric"] = float("nan")  # e.g. a metric with no positives
    write_eval_result(finished_run, result)
    evaluate_runs(store, [finished_run], tmp_path / "report", progress=False)
    registry = RunRegistry(tmp_path / "runs")
    for name in ("a", "b"):
        shutil.copytree(finished_run, registry.run_dir(name))
    registry.decide("a", {"R@1": 0.5}, None)
    registry.decide("b", {"R@1": float("nan")}, {"R@1": float("inf")})
    files = [p for p in tmp_path.rglob("*") if p.suffix in (".json", ".jsonl") and p.is_file()]
    assert {"eval.json", "report.json", "decisions.jsonl", "metrics.jsonl", "config.json"} <= {p.name for p in files}
    for path in files:
        for line in path.read_text().splitlines() if path.suffix == ".jsonl" else [path.read_text()]:
            _strict(line)  # raises on NaN / Infinity, naming it
    assert _strict((finished_run / "eval.json").read_text())["undefined_metric"] is None
