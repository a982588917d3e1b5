"""Object-store cache: extraction into s3:// on a moto server bound to 127.0.0.1."""

from __future__ import annotations

import pytest

from cache_schema import open_cache, validate_cache


@pytest.fixture()
def s3_endpoint(monkeypatch):
    boto3 = pytest.importorskip("boto3")
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    # credentials come from the environment (as on a real worker), never from flow parameters
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-east-1",
    }.items():
        monkeypatch.setenv(key, value)
    boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket="hierskp-test")
    yield endpoint
    server.stop()


@pytest.mark.timeout(300)
def test_extract_into_s3_cache_validates(prefect_api, flow_corpus, reference_cache, s3_endpoint):
    from flows.extract_features import extract_features

    url, options = "s3://hierskp-test/cache.zarr", {"endpoint_url": s3_endpoint}
    summary = extract_features(manifest=str(flow_corpus), cache=url, storage_options=options)
    assert (summary["done"], summary["failed"]) == (3, 0)
    report = validate_cache(open_cache(url, mode="r", storage_options=options))
    assert report.ok, report.problems
    assert report.counts() == {"complete": 3}
    again = extract_features(manifest=str(flow_corpus), cache=url, storage_options=options)
    assert again["skipped"] == 3  # completion markers on S3 are honoured too
