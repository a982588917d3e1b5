"""Several captions per annotation in the synthetic corpus: additive, from an RNG stream of their own."""

from __future__ import annotations

import json
from pathlib import Path

import av
import numpy as np

from hierskp.data.manifest import caption_pool, load_manifest
from hierskp.synth.config import get_config
from hierskp.synth.corpus import generate_corpus, plan_corpus


def _decode(path: Path) -> np.ndarray:
    with av.open(str(path)) as c:
        return np.stack([f.to_ndarray(format="rgb24") for f in c.decode(video=0)])


def _strip(record: dict) -> dict:
    out = {k: v for k, v in record.items() if k != "texts"}
    for level in ("operations", "frames"):
        out[level] = [{k: v for k, v in x.items() if k != "texts"} for x in record[level]]
    return out


def test_paraphrases_are_additive_on_the_demo_plan():
    """Default 3 captions vs 1 (the corpus before `texts`): every other field is identical."""
    many = plan_corpus(40, 0, get_config("demo"))
    one = plan_corpus(40, 0, get_config("demo", captions_per_annotation=1))
    assert [_strip(p.record) for p in many] == [p.record for p in one]
    assert not any("texts" in json.dumps(p.record) for p in one)
    train = [p.record for p in many if p.split in ("pretrain", "train")]
    held = [p.record for p in many if p.split in ("val", "test")]
    assert train and held and not any("texts" in json.dumps(r) for r in held)
    for r in train:
        nodes = [r, *r["operations"], *r["frames"]]
        for node in nodes:
            assert 1 <= len(node["texts"]) <= 2
            assert len(caption_pool(node["text"], node["texts"])) == len(node["texts"]) + 1  # all distinct
    n_extra = sum(len(n["texts"]) for r in train for n in [r, *r["operations"], *r["frames"]])
    n_nodes = sum(1 + len(r["operations"]) + len(r["frames"]) for r in train)
    assert n_extra >= 1.8 * n_nodes  # nearly every annotation gets its two paraphrases


def test_generated_corpus_validates_and_videos_do_not_change(tmp_path: Path):
    m3 = generate_corpus(tmp_path / "c3", 3, seed=1, config="tiny", progress=False)
    cfg1 = get_config("tiny", captions_per_annotation=1)
    m1 = generate_corpus(tmp_path / "c1", 3, seed=1, config=cfg1, progress=False)
    rows3 = load_manifest(m3).rows
    assert any(r.entry.texts for r in rows3)
    assert [_strip(json.loads(x)) for x in m3.read_text().splitlines()] == [
        json.loads(x) for x in m1.read_text().splitlines()
    ]
    for r in rows3:  # decoded pixels, not mp4 bytes (the container records a creation time)
        a, b = (_decode(m.parent / r.entry.video) for m in (m3, m1))
        assert a.shape == b.shape and np.array_equal(a, b)
