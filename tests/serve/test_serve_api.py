"""The web app's API and safety rules, on a real run and cache through the real app (in process)."""

from __future__ import annotations

from pathlib import Path

import pytest
import zarr
from fastapi.testclient import TestClient

from cache_schema import open_cache
from hierskp.cli.serve import is_loopback
from hierskp.serve.api import MAX_QUERY
from hierskp.serve.app import create_app
from hierskp.serve.library import ServeLibrary

pytestmark = pytest.mark.slow  # a real extraction and training first (the session's `library`)


@pytest.fixture(scope="module")
def served(library, tmp_path_factory):
    """(client, library data, state dir) over a private copy, so tests may tamper with files."""
    lib = library.copy(tmp_path_factory.mktemp("copy"))
    state = tmp_path_factory.mktemp("state")
    app = create_app(ServeLibrary(lib.run, str(lib.cache), videos=lib.corpus, state_dir=state))
    with TestClient(app) as client:
        yield client, lib, state


def snapshot(*folders: Path) -> dict[str, tuple[int, int]]:
    return {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for f in folders for p in sorted(f.rglob("*"))}


def test_search_hits_carry_time_split_and_annotated_operation(served):
    client, lib, _ = served
    body = client.get("/api/search", params={"q": "the surgeon closes the skin", "k": 3}).json()
    assert len(body["hits"]) == 3 and body["level"] == "moment"
    ids = set(open_cache(str(lib.cache)).video_ids())
    for hit in body["hits"]:
        assert hit["video_id"] in ids and 0 <= hit["start"] < hit["end"] and hit["split"]
    ops = client.get("/api/search", params={"q": "dissection", "level": "operation", "k": 2}).json()["hits"]
    assert all(h["operation"] for h in ops)  # an operation hit lies inside its own annotated operation
    test = client.get("/api/search", params={"q": "dissection", "split": "test", "k": 5}).json()["hits"]
    assert test and {h["split"] for h in test} == {"test"}


def test_video_is_served_with_range_requests(served):
    client, lib, _ = served
    vid = open_cache(str(lib.cache)).video_ids()[0]
    data = (lib.corpus / "videos" / f"{vid}.mp4").read_bytes()
    part = client.get(f"/media/video/{vid}", headers={"Range": "bytes=100-1099"})
    assert part.status_code == 206 and part.content == data[100:1100]
    assert part.headers["content-range"] == f"bytes 100-1099/{len(data)}"
    whole = client.get(f"/media/video/{vid}")
    assert whole.status_code == 200 and whole.content == data


def test_thumbnail_is_decoded_once_then_read_from_disk(served):
    client, lib, state = served
    vid = open_cache(str(lib.cache)).video_ids()[1]
    thumbs = client.app.state.library.thumbs
    first = client.get(f"/media/thumb/{vid}", params={"t": 3.0})
    assert first.status_code == 200 and first.content[:2] == b"\xff\xd8"  # a JPEG
    decoded = thumbs.decoded
    again = client.get(f"/media/thumb/{vid}", params={"t": 3.0})
    assert again.content == first.content and thumbs.decoded == decoded
    assert list((state / "thumbs").rglob("*.jpg"))  # in the state folder, not the run or the cache
    other = client.get(f"/media/thumb/{vid}", params={"t": 7.0})
    assert other.content != first.content and thumbs.decoded == decoded + 1


def test_video_page_data(served):
    client, lib, _ = served
    vid = open_cache(str(lib.cache)).video_ids()[0]
    v = client.get(f"/api/videos/{vid}").json()
    assert v["status"] == "complete" and v["playable"] and v["operations"] and v["predicted"]
    assert v["provenance"]["decoder"] in ("decord", "pyav") and v["provenance"]["fps"] == 1.0
    labels = {op["label"] for op in v["operations"]}
    assert {p["label"] for p in v["predicted"]} <= labels | {
        op["label"]
        for other in open_cache(str(lib.cache)).video_ids()
        for op in client.get(f"/api/videos/{other}").json()["operations"]
    }
    for image in ("strip", "similarity"):
        r = client.get(f"/media/{image}/{vid}.png")
        assert r.status_code == 200 and r.content[:4] == b"\x89PNG"
    assert client.get("/openapi.json").json()["paths"].keys() >= {
        "/api/search",
        "/api/videos",
        "/api/videos/{video_id}",
    }


def test_path_traversal_is_refused(served, tmp_path):
    client, lib, _ = served
    for path in ("/media/video/..%2F..%2F..%2Fetc%2Fpasswd", "/media/video/../../etc/passwd", "/media/video/%2e%2e",
                 "/media/thumb/..%2Fcache?t=1", "/api/videos/..%2Frun", "/media/video/videos%2Fsynth_s3_00000.mp4"):  # fmt: skip
        r = client.get(path)
        assert r.status_code == 404, (path, r.status_code)
        assert b"root:" not in r.content
    # a provenance that points outside the videos folder (a tampered or foreign cache) is not followed
    vid = open_cache(str(lib.cache)).video_ids()[2]
    group = zarr.open_group(str(lib.cache / "videos" / vid), mode="r+")
    prov = dict(group.attrs["provenance"])
    group.attrs["provenance"] = {**prov, "source": {**prov["source"], "path": "../../../../../../etc/hostname"}}
    try:
        r = client.get(f"/media/video/{vid}")
        assert r.status_code == 409 and "outside" in r.json()["detail"]
        # nor a symlink inside the folder that leads out of it
        link = lib.corpus / "videos" / "link.mp4"
        (tmp_path / "secret.mp4").write_bytes(b"secret")
        link.symlink_to(tmp_path / "secret.mp4")
        group.attrs["provenance"] = {**prov, "source": {**prov["source"], "path": "videos/link.mp4"}}
        r = client.get(f"/media/video/{vid}")
        assert r.status_code == 409 and "outside" in r.json()["detail"] and b"secret" not in r.content
    finally:
        group.attrs["provenance"] = prov


def test_a_file_not_in_the_cache_is_not_served(served):
    client, lib, _ = served
    (lib.corpus / "videos" / "extra.mp4").write_bytes((lib.corpus / "videos" / "synth_s3_00000.mp4").read_bytes())
    for name in ("extra", "extra.mp4", "manifest.jsonl", "synth_info.json"):
        r = client.get(f"/media/video/{name}")
        assert r.status_code == 404 and "no video" in r.json()["detail"], name
    assert client.get("/api/videos/extra").status_code == 404
    assert client.get("/media/thumb/extra", params={"t": 1}).status_code == 404


def test_huge_query_and_unknown_ids_get_clear_4xx(served):
    client, _, _ = served
    r = client.get("/api/search", params={"q": "a" * 10_000})
    assert r.status_code == 422 and r.json() == {
        "detail": f"query q is 10000 characters long; at most {MAX_QUERY} are accepted"
    }
    assert client.get("/api/search", params={"q": "   "}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "level": "frame"}).status_code == 422
    assert client.get("/api/search", params={"q": "x", "k": 10**9}).status_code == 422
    r = client.get("/api/search", params={"q": "x", "split": "nosuchsplit"})
    assert r.status_code == 404 and "nosuchsplit" in r.json()["detail"]
    r = client.get("/api/videos/" + "v" * 5000)
    assert r.status_code == 404 and "no video" in r.json()["detail"] and "Traceback" not in r.text


def test_read_only_and_a_changed_cache_is_picked_up(served):
    client, lib, state = served
    before = snapshot(lib.run, lib.cache)
    hits = client.get("/api/search", params={"q": "irrigation", "level": "video", "k": 10}).json()
    assert snapshot(lib.run, lib.cache) == before  # nothing written to the run or the cache
    assert hits["index"]["rows"] == 5
    gone = hits["hits"][0]["video_id"]
    open_cache(str(lib.cache), "a").delete_video(gone)
    again = client.get("/api/search", params={"q": "irrigation", "level": "video", "k": 10}).json()
    assert again["index"]["rebuilt"] and again["index"]["rows"] == 4
    assert gone not in {h["video_id"] for h in again["hits"]}
    assert client.get(f"/media/video/{gone}").status_code == 404
    counts = client.get("/api/videos").json()["counts"]
    assert sum(c["complete"] for c in counts.values()) == 4


def test_loopback_detection():
    assert is_loopback("127.0.0.1") and is_loopback("localhost") and is_loopback("::1")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.0.2.1")
