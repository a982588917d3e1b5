"""A broken video fails alone: the others finish, the failure is named, the flow's state says so."""

from __future__ import annotations

import shutil

import pytest


@pytest.mark.timeout(300)
def test_one_missing_video_fails_alone(prefect_api, flow_corpus, reference_cache, tmp_path):
    from flows.extract_features import extract_features

    corpus, cache = tmp_path / "corpus", tmp_path / "cache.zarr"
    shutil.copytree(flow_corpus.parent, corpus)
    shutil.copytree(reference_cache["cache"], cache)
    missing = sorted((corpus / "videos").iterdir())[0]
    missing.unlink()
    params = {"manifest": str(corpus / "manifest.jsonl"), "cache": str(cache), "retries": 0}

    summary = extract_features(**params, fail_on_error=False)
    failed = [o for o in summary["outcomes"] if o["status"] == "failed"]
    assert (summary["failed"], summary["skipped"]) == (1, 2)
    assert "file not found" in failed[0]["error"] and missing.name in failed[0]["error"]

    state = extract_features(**params, return_state=True)  # default: the run ends Failed
    assert state.is_failed()
    assert "1 video(s) failed" in str(state.message) or "1 video(s) failed" in repr(
        state.result(raise_on_failure=False)
    )
