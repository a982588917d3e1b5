"""Scheduled retraining: only new videos are extracted, and every promotion decision is recorded."""

from __future__ import annotations

import json
import shutil

import pytest

import hierskp
from hierskp.eval.report.headline import PROMOTION
from hierskp.runs.promotion import RunRegistry

from .conftest import make_corpus


def _add_video(manifest, extra_manifest) -> str:
    """Append the one video of another corpus to `manifest` (file copied next to the others)."""
    line = extra_manifest.read_text().splitlines()[0]
    entry = json.loads(line)
    shutil.copy(extra_manifest.parent / entry["video"], manifest.parent / entry["video"])
    with manifest.open("a") as fh:
        fh.write(line + "\n")
    return entry["video_id"]


@pytest.mark.slow
@pytest.mark.timeout(480)
def test_retrain_extracts_only_new_videos_and_records_decisions(prefect_api, flow_corpus, tmp_path):
    from flows.params import PipelineParams
    from flows.retrain import retrain

    corpus = tmp_path / "corpus"
    shutil.copytree(flow_corpus.parent, corpus)
    manifest, cache, runs = corpus / "manifest.jsonl", str(tmp_path / "cache.zarr"), tmp_path / "runs"
    params = {"params": PipelineParams(manifest=str(manifest), cache=cache, runs=str(runs), max_steps=3)}

    first = retrain(**params)
    assert sorted(o["video_id"] for o in first["extract"]["outcomes"]) == sorted(first["diff"]["new"])
    assert first["decision"]["promote"] and "no current run" in first["decision"]["reason"]
    assert first["start"]["init_from"] is None  # nothing to warm-start from
    registry = RunRegistry(runs)
    assert registry.current() == first["decision"]["candidate"]
    served = hierskp.search_library(registry.run_dir(registry.current()), cache)  # promoted: its index is warm
    assert served.search("closure", k=1) and served.embedded_rows == 0

    new_id = _add_video(manifest, make_corpus(tmp_path / "extra", n_videos=1, seed=9))
    second = retrain(**params)
    assert second["diff"]["new"] == [new_id]
    assert second["start"]["init_from"] == str(registry.run_dir(first["decision"]["candidate"]))  # warm start
    assert [(o["video_id"], o["status"]) for o in second["extract"]["outcomes"]] == [(new_id, "done")]
    decision = second["decision"]
    assert decision["incumbent"] == first["decision"]["candidate"]
    assert decision["incumbent_metrics"], "the current run was re-scored on today's held-out set"
    promotion = [m.name for m in PROMOTION]  # exactly the headline registry's promotion metrics
    assert list(decision["candidate_metrics"]) == promotion and list(decision["incumbent_metrics"]) == promotion
    assert decision["reason"]
    if decision["decided_by"] is not None:
        assert not decision["promote"] and decision["decided_by"] in promotion
    expected_current = decision["candidate"] if decision["promote"] else decision["incumbent"]
    assert registry.current() == expected_current
    recorded = json.loads((runs / decision["candidate"] / "decision.json").read_text())
    assert recorded["reason"] == decision["reason"] and recorded["promote"] == decision["promote"]

    third = retrain(**params)  # nothing changed: no extraction, no training, a recorded skip
    assert third["extract"] is None and third["decision"]["candidate"] is None
    assert registry.current() == expected_current
    log = registry.decisions()
    assert [d["candidate"] for d in log] == [first["decision"]["candidate"], decision["candidate"], None]
    assert all(d["reason"] for d in log)
