"""Scale-out path: the same flow on prefect-dask's DaskTaskRunner extracts identical features."""

from __future__ import annotations

import pytest

from cache_schema import open_cache, validate_cache

from .conftest import assert_same_features


@pytest.mark.timeout(300)
def test_dask_runner_extracts_the_same_features(prefect_api, flow_corpus, reference_cache, tmp_path):
    from flows.extract_features import extract_features

    cache = str(tmp_path / "dask.zarr")
    # an in-process LocalCluster (2 worker threads) keeps CI fast; a real cluster is dask_address="tcp://..."
    summary = extract_features(
        manifest=str(flow_corpus),
        cache=cache,
        runner={
            "dask_address": "local",
            "dask_cluster_kwargs": {"processes": False, "n_workers": 1, "threads_per_worker": 2},
        },
    )
    assert summary["done"] == 3 and summary["failed"] == 0
    assert summary["runner"].startswith("Dask LocalCluster")
    assert validate_cache(open_cache(cache, mode="r")).ok
    assert_same_features(cache, reference_cache["cache"])


def test_reference_run_published_its_artifacts(prefect_api, reference_cache):
    """The table, the summary and the progress bar of the last extract-features run."""
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    with get_client(sync_client=True) as client:
        latest = {}
        for key in ("extract-outcomes", "extract-summary", "extract-progress"):
            found = client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])))
            assert found, f"no artifact {key!r}"
            latest[key] = max(found, key=lambda a: a.created)
    assert latest["extract-progress"].data == 100.0
    assert "done" in str(latest["extract-outcomes"].data)
    assert "extract-features" in str(latest["extract-summary"].data)


def test_server_side_tag_limit_is_honoured(prefect_api, flow_corpus, reference_cache):
    """`prefect concurrency-limit create hierskp-extract 1`: runs still complete (one task at a time)."""
    from prefect import get_client

    from flows.extract_features import extract_features
    from flows.runners import EXTRACT_TAG

    with get_client(sync_client=True) as client:
        client.create_concurrency_limit(tag=EXTRACT_TAG, concurrency_limit=1)
        try:
            summary = extract_features(
                manifest=str(flow_corpus), cache=reference_cache["cache"], runner={"max_workers": 2}
            )
        finally:
            client.delete_concurrency_limit_by_tag(EXTRACT_TAG)
    assert summary["skipped"] == 3
