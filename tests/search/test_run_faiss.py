"""FAISS indices of a run: saved under RUN/index with their fingerprint, loaded when up to date,
rebuilt when the run's heads change, and agreeing with exact search."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
from safetensors.torch import load_file, save_file

import cache_schema as cs
from hierskp.eval.tasks.embed import embed_split
from hierskp.index.store import read_sidecar
from hierskp.runs.model import frozen_baseline, load_run
from hierskp.search.run_indices import build_run_indices, index_agreement, item_ids, search_text, side_rows
from hierskp.train import load_config, train
from tests.fixtures.synthetic_cache import make_synthetic_cache

FAST = [
    "model.hidden_dim=16",
    "model.embed_dim=16",
    "model.heads=2",
    "model.max_video_len=8",
    "model.max_clip_len=8",
    "data.batch_videos=4",
    "optim.warmup_steps=1",
    "checkpoint_every=5",
    "max_steps=3",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    make_synthetic_cache(root / "c.zarr", n_videos=10, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 5))
    cfg = load_config(None, FAST, cache=str(root / "c.zarr"), out=str(root / "run"), progress=False, evaluate=False)
    return cs.open_cache(str(root / "c.zarr")), train(cfg)


def test_stale_index_is_rebuilt_after_the_run_changes(run):
    store, run_dir = run
    first = build_run_indices(store, load_run(run_dir), splits=["test"])
    assert {(r["level"], r["side"]) for r in first} == {
        (lv, s) for lv in ("video", "operation", "frame") for s in ("video", "text")
    }
    assert all(r["rebuilt"] for r in first)
    path = run_dir / "index" / "test" / "operation.video.faiss"
    meta = read_sidecar(path)
    assert meta["source"]["cache_fingerprint_id"] == "synthetic-v1" and meta["source"]["splits"] == ["test"]
    assert len(meta["source"]["heads_sha256"]) == 64
    again = build_run_indices(store, load_run(run_dir), splits=["test"])
    assert not any(r["rebuilt"] for r in again) and {r["reason"] for r in again} == {"up to date"}
    # the run changes (new heads): every index is stale and rebuilt
    heads = run_dir / "final" / "heads.safetensors"
    tensors = load_file(str(heads))
    save_file({k: v + 0.01 if v.is_floating_point() else v for k, v in tensors.items()}, str(heads))
    meta = json.loads((heads.parent / "config.json").read_text())  # new heads record their own checksum
    meta["heads_sha256"] = hashlib.sha256(heads.read_bytes()).hexdigest()
    (heads.parent / "config.json").write_text(json.dumps(meta))
    changed = build_run_indices(store, load_run(run_dir), levels=["operation"], splits=["test"])
    assert all(r["rebuilt"] and "fingerprint" in r["reason"] for r in changed)
    # another split set lives in its own folder and leaves the test indices alone
    other = build_run_indices(store, load_run(run_dir), levels=["video"], splits=["train", "test"])
    assert all(r["rebuilt"] for r in other) and (run_dir / "index" / "train+test" / "video.video.faiss").is_file()
    assert not build_run_indices(store, load_run(run_dir), levels=["operation"], splits=["test"])[0]["rebuilt"]


def test_item_ids_and_sides(run):
    store, run_dir = run
    emb = embed_split(store, load_run(run_dir), "test")
    ops = emb.levels["operation"]
    ids = item_ids("operation", ops)
    assert len(set(ids)) == len(ids) and ids[0] == f"{ops.video_ids[0]}#0"
    assert item_ids("frame", emb.levels["frame"])[1].endswith("@1")
    vectors, text_ids = side_rows("frame", emb.levels["frame"], "text")
    assert len(vectors) == len(set(emb.levels["frame"].texts)) == len(text_ids)


def test_index_top10_agrees_with_exact_search(run, tmp_path):
    store, run_dir = run
    emb = embed_split(store, frozen_baseline(store), "test")
    with pytest.raises(ValueError, match="index_dir"):
        build_run_indices(store, frozen_baseline(store), ["video"], ["test"], embeddings=[emb])
    res = index_agreement(store, frozen_baseline(store), emb, "test", tmp_path / "frozen")
    for key in ("video/t2v", "operation/v2t", "frame/t2v"):
        assert res[key]["agreement"] == 1.0 and res[key]["k"] >= 2
    json.dumps(res)  # JSON-able for the report


def test_search_text_matches_exact_search(run):
    store, run_dir = run
    emb = embed_split(store, load_run(run_dir), "test")
    data = emb.levels["operation"]
    vid = data.video_ids[0]
    raw = store.read_video(vid).text_operations()[:2]
    scores, ids = search_text(load_run(run_dir), store, raw, level="operation", k=3)
    assert scores.shape == ids.shape == (2, 3)
    exact = data.text[:2] @ data.video.T  # the same texts through the same head
    np.testing.assert_allclose(scores, -np.sort(-exact, axis=1)[:, :3], atol=1e-5)
    assert ids[0, 0] == np.asarray(item_ids("operation", data))[np.argmax(exact[0])]
