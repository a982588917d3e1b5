"""The whole DAG as subflows on an already-extracted cache: extract skips, train, index, report."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pipeline_chains_the_four_stages(prefect_api, flow_corpus, reference_cache, tmp_path):
    from flows.build_index import build_index
    from flows.pipeline import hierskp_pipeline

    result = hierskp_pipeline(
        manifest=str(flow_corpus), cache=reference_cache["cache"], runs=str(tmp_path / "runs"), max_steps=2
    )
    assert result["extract"]["skipped"] == 3 and result["extract"]["done"] == 0
    run = Path(result["run"])
    assert (run / "final").is_dir() and run.parent == tmp_path / "runs"
    assert {i["level"] for i in result["index"]} == {"video", "operation", "frame"}
    assert {i["side"] for i in result["index"]} == {"video", "text"}
    assert all(Path(i["path"]).exists() for i in result["index"])
    report = Path(result["evaluate"]["report"])
    assert report.exists() and "| method |" in report.read_text()
    assert any(k.startswith("heads/") for k in result["evaluate"]["metrics"])
    again = build_index(cache=reference_cache["cache"], run=str(run))  # fingerprinted: loaded, not rebuilt
    assert not any(i["rebuilt"] for i in again)
