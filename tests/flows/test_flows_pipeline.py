"""The whole DAG as subflows on an already-extracted cache: extract skips, train, index, report."""

from __future__ import annotations

from pathlib import Path

import pytest

import hierskp
from hierskp.search import SEARCH_LEVELS


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_pipeline_chains_the_four_stages(prefect_api, flow_corpus, reference_cache, tmp_path):
    from flows.build_index import build_index
    from flows.pipeline import hierskp_pipeline

    params = {"manifest": str(flow_corpus), "cache": reference_cache["cache"], "runs": str(tmp_path / "runs")}
    state = hierskp_pipeline(params={**params, "max_steps": 2}, return_state=True)  # a dict: as a deployment passes it
    result = state.result()
    assert result["extract"]["skipped"] == 3 and result["extract"]["done"] == 0
    run = Path(result["run"])
    assert (run / "final").is_dir() and run.parent == tmp_path / "runs"
    # build-index built the search indices, every level, and nothing else: the report wrote no index
    assert [i["level"] for i in result["index"]] == list(SEARCH_LEVELS)
    assert all(Path(i["path"]).exists() for i in result["index"])
    indices = {p.relative_to(run) for p in (run / "index").rglob("*") if p.is_file()}
    assert indices and all(p.parts[:2] == ("index", "search") for p in indices), indices
    # the new run's search index is warm: the first query embeds nothing but itself, and writes nothing
    before = _files(run)
    for level in SEARCH_LEVELS:
        lib = hierskp.search_library(run, reference_cache["cache"])
        assert lib.search("closure", k=1, level=level) and lib.embedded_rows == 0, level
    assert _files(run) == before
    report = Path(result["evaluate"]["report"])
    assert report.exists() and "| method |" in report.read_text()
    assert any(k.startswith("heads/") for k in result["evaluate"]["metrics"])
    _assert_artifacts_on_the_launched_run(state.state_details.flow_run_id)
    again = build_index(cache=reference_cache["cache"], run=str(run))  # fingerprinted: loaded, not rebuilt
    assert not any(i["rebuilt"] for i in again) and _files(run) == before


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in root.rglob("*") if p.is_file()}


def _assert_artifacts_on_the_launched_run(run_id) -> None:  # noqa: ANN001
    """Every stage ran as a subflow; their artifacts sit on the pipeline run the user launched."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterFlowRunId

    with get_client(sync_client=True) as client:
        found = client.read_artifacts(
            artifact_filter=ArtifactFilter(flow_run_id=ArtifactFilterFlowRunId(any_=[run_id]))
        )
    by_key = {a.key: a for a in found}
    expected = {"extract-progress", "extract-outcomes", "extract-summary", "train-progress", "train-summary"}
    assert expected | {"build-index", "evaluate-metrics", "evaluate-report", "pipeline-summary"} <= set(by_key)
    assert by_key["train-progress"].data == 100.0 and by_key["extract-progress"].data == 100.0
    assert "nan" not in str(by_key["extract-summary"].data) and "None" not in str(by_key["extract-summary"].data)
