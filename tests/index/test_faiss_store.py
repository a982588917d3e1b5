"""FAISS indices: tuned IVF/HNSW recall vs exact, persistence, staleness, no pickle."""

from __future__ import annotations

import json

import faiss
import numpy as np
import pytest

from hierskp.index.store import (
    build_index,
    fingerprint,
    load_index,
    load_or_build,
    read_sidecar,
    save_index,
    search,
)
from tests.fixtures.clustered import clustered_embeddings


@pytest.fixture(scope="module")
def corpus():
    x, centers = clustered_embeddings(30_000, 128, 300, noise=0.8, seed=0)
    queries, _ = clustered_embeddings(1000, 128, 300, noise=0.8, seed=1, centers=centers)
    _, exact = faiss.knn(queries, x, 10, metric=faiss.METRIC_INNER_PRODUCT)
    return x, queries, exact


def recall_at_10(approx: np.ndarray, exact: np.ndarray) -> float:
    return float(np.mean([len(set(a) & set(e)) / 10 for a, e in zip(approx, exact)]))


@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
def test_default_settings_reach_recall_on_fresh_queries(corpus, kind):
    x, queries, exact = corpus
    if kind == "hnsw":  # graph construction is the slow part on 2 cores: a smaller corpus
        x = x[:5_000]
        exact = faiss.knn(queries, x, 10, metric=faiss.METRIC_INNER_PRODUCT)[1]
    ei = build_index(x, kind=kind)
    _, pos = search(ei, queries, 10)
    assert recall_at_10(pos, exact) >= 0.99, ei.params
    assert ei.params["tuned_recall_at_10"] >= 0.99
    if kind == "ivf":
        assert ei.params["nlist"] == int(round(4 * np.sqrt(len(x))))
        assert ei.params["nprobe"] < ei.params["nlist"]  # it is not silently exhaustive


def test_flat_is_exact_and_maps_ids(corpus):
    x, queries, exact = corpus
    ids = np.array([f"clip{i:05d}" for i in range(len(x))])
    ei = build_index(x * 3.0, ids)  # unnormalised input is normalised
    scores, pos = search(ei, queries[:50] * 0.5, 10)
    assert (pos == exact[:50]).mean() > 0.999  # float ties may swap neighbours
    want = (queries[:50] / np.linalg.norm(queries[:50], axis=1, keepdims=True)) @ x[pos[0]].T
    assert np.allclose(scores[0], want[0], atol=1e-5)
    assert ei.ids_of(pos[:, 0]).tolist() == [f"clip{i:05d}" for i in exact[:50, 0]]
    s, p = search(build_index(x[:3]), queries[:2], 5)  # k > ntotal: padded
    assert (p[:, 3:] == -1).all() and np.isneginf(s[:, 3:]).all()


def test_save_reload_identical_and_stale_rebuilds(tmp_path, corpus):
    x, queries, _ = corpus
    x = x[:5000]
    path = tmp_path / "clips.faiss"
    src = {"checkpoint_sha256": "abc", "cache_fingerprint": "f1"}
    ids = np.arange(100, 5100)
    first = load_or_build(path, x, ids, src, kind="ivf", n_tune=300)
    assert first.rebuilt and first.reason == "no index saved"
    side = read_sidecar(path)
    assert side["fingerprint"] == fingerprint(x, ids, src) and side["params"]["nprobe"] >= 1
    assert side["source"] == src and side["kind"] == "ivf"

    again = load_or_build(path, x, ids, src, kind="ivf", n_tune=300)
    assert not again.rebuilt and again.reason == "up to date"
    s1, p1 = search(first.index, queries, 10)
    s2, p2 = search(again.index, queries, 10)
    assert np.array_equal(p1, p2) and np.array_equal(s1, s2)
    assert np.array_equal(again.index.ids, ids)
    assert again.index.params["nprobe"] == first.index.params["nprobe"]

    res = load_or_build(path, x, ids, src, kind="flat")
    assert res.rebuilt and "build config differs" in res.reason and "'kind'" in res.reason
    changed = x.copy()
    changed[17] = -changed[17]
    for args in [(changed, ids, src), (x, ids + 1, src), (x, ids, {**src, "cache_fingerprint": "f2"})]:
        res = load_or_build(path, *args, kind="flat")
        assert res.rebuilt and "fingerprint differs" in res.reason
        assert not load_or_build(path, *args, kind="flat").rebuilt
    assert load_or_build(path, x, ids, src, kind="flat").rebuilt  # back to the original data
    res = load_or_build(path, x, ids, src, kind="flat", target_recall=0.95)
    assert res.rebuilt and "['target_recall']" in res.reason


def test_damaged_files_are_never_used(tmp_path, corpus):
    x = corpus[0][:2000]
    path = tmp_path / "i.faiss"
    load_or_build(path, x, None, {"run": 1})
    with open(path, "r+b") as fh:  # same size, different bytes
        fh.seek(200)
        fh.write(b"\x00\x01\x02\x03")
    res = load_or_build(path, x, None, {"run": 1})
    assert res.rebuilt and "unusable" in res.reason
    assert not load_or_build(path, x, None, {"run": 1}).rebuilt
    path.with_name("i.faiss.json").write_text("{truncated")
    res = load_or_build(path, x, None, {"run": 1})
    assert res.rebuilt and "sidecar" in res.reason


def test_files_hold_no_pickle(tmp_path, corpus):
    x = corpus[0][:1000]
    ei = build_index(x, np.array([f"v{i}" for i in range(1000)]), kind="hnsw", n_tune=200)
    save_index(ei, tmp_path / "h.faiss", {"a": 1})
    ids = np.load(tmp_path / "h.faiss.ids.npy", allow_pickle=False)
    assert ids.dtype.kind == "U" and ids[3] == "v3"
    json.loads((tmp_path / "h.faiss.json").read_text())
    back = load_index(tmp_path / "h.faiss")
    assert back.kind == "hnsw" and faiss.downcast_index(back.index.index).hnsw.efSearch == ei.params["ef_search"]
    # string ids hash independently of numpy's fixed string width
    assert fingerprint(x, np.array(["a", "bb"] + ["c"] * 998)) == fingerprint(x, ["a", "bb"] + ["c"] * 998)


def test_auto_prefers_flat_when_ivf_cannot_prune(monkeypatch):
    import hierskp.index.build as ib

    monkeypatch.setattr(ib, "AUTO_FLAT_MAX", 1000)
    x = np.random.default_rng(0).standard_normal((4000, 64)).astype(np.float32)  # no clusters at all
    ei = build_index(x, kind="auto", n_tune=200)
    assert ei.kind == "flat" and ei.params["auto_rejected_ivf"]["scan_fraction"] > 0.25
    clustered = clustered_embeddings(4000, 64, 40, noise=0.5, seed=0)[0]
    assert build_index(clustered, kind="auto", n_tune=200).kind == "ivf"


def test_load_or_build_from_calls_make_only_to_build(tmp_path):
    from hierskp.index.store import load_or_build_from

    calls = []

    def make():
        calls.append(1)
        return np.random.default_rng(len(calls)).normal(size=(20, 8)).astype(np.float32), np.arange(20)

    path = tmp_path / "lazy.faiss"
    first = load_or_build_from(path, {"model": "a", "data": 1}, make)
    assert first.rebuilt and calls == [1]
    again = load_or_build_from(path, {"data": 1, "model": "a"}, make)  # same source, any key order
    assert not again.rebuilt and again.reason == "up to date" and calls == [1]
    assert again.index.index.ntotal == 20
    changed = load_or_build_from(path, {"model": "b", "data": 1}, make)
    assert changed.rebuilt and "fingerprint" in changed.reason and calls == [1, 1]
    path.write_bytes(b"junk")  # a damaged index file is rebuilt, not served
    assert load_or_build_from(path, {"model": "b", "data": 1}, make).rebuilt and len(calls) == 3


def test_unchanged_files_are_hashed_once_and_a_rewrite_is_still_refused(tmp_path, corpus, monkeypatch):
    """A repeated load of a large index must not re-hash gigabytes: the stat recorded after one hash
    vouches for unchanged files; a rewrite (new mtime) is hashed again and refused."""
    import os

    from hierskp.index import store as faiss_store

    x = corpus[0][:2000]
    path = tmp_path / "i.faiss"
    load_or_build(path, x, None, {"run": 1})
    old = 1_000_000_000  # written long ago: past the racy window
    for p in (path, tmp_path / "i.faiss.ids.npy"):
        os.utime(p, (old, old))
    hashed, digest = [], faiss_store._file_digest
    monkeypatch.setattr(faiss_store, "_file_digest", lambda p: hashed.append(p.name) or digest(p))
    assert load_index(path).index.ntotal == 2000 and len(hashed) == 2
    back = load_index(path)
    assert len(hashed) == 2  # nothing hashed again
    assert np.array_equal(search(back, x[:3], 1)[1][:, 0], [0, 1, 2])
    with open(path, "r+b") as fh:  # same size, different bytes, a new mtime
        fh.seek(200)
        fh.write(b"\x00\x01\x02\x03")
    with pytest.raises(ValueError, match="differ from the sidecar"):
        load_index(path)
