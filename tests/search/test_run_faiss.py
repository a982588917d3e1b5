"""The report's FAISS-vs-exact check: an index built in memory over a split's rows finds what exact
search finds, the text side holds each distinct text once, and nothing is written."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cache_schema as cs
from hierskp.eval.report.index_agreement import index_agreement, side_rows
from hierskp.eval.tasks.embed import embed_split
from hierskp.runs.model import frozen_baseline
from tests.fixtures.synthetic_cache import make_synthetic_cache


@pytest.fixture(scope="module")
def emb(tmp_path_factory):
    root = tmp_path_factory.mktemp("idx")
    store = make_synthetic_cache(root / "c.zarr", n_videos=10, seed=0, vision_dim=16, text_dim=24, op_frames=(3, 5))
    return embed_split(cs.open_cache(store.url), frozen_baseline(store), "test")


def test_sides(emb):
    frames = emb.levels["frame"]
    assert len(side_rows(frames, "text")) == len(set(frames.texts)) < len(side_rows(frames, "video"))
    _, first = np.unique(np.asarray(frames.texts), return_index=True)
    np.testing.assert_array_equal(side_rows(frames, "text")[0], frames.text[min(first)])  # first-seen order


def test_index_top10_agrees_with_exact_search_and_writes_nothing(emb, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    res = index_agreement(emb)
    for key in ("video/t2v", "operation/v2t", "frame/t2v"):
        assert res[key]["agreement"] == 1.0 and res[key]["k"] >= 2 and res[key]["kind"] == "flat"
    assert res["frame/v2t"]["n_corpus"] == len(set(emb.levels["frame"].texts))
    assert not list(tmp_path.iterdir())
    json.dumps(res)  # JSON-able for the report
