"""Several captions per annotation in the synthetic corpus: additive, from an RNG stream of their own."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cache_schema import caption_pool
from hierskp.ingest.manifest import load_manifest
from hierskp.synth.appearance import sample_nuisance, world_look
from hierskp.synth.config import get_config
from hierskp.synth.corpus import generate_corpus, plan_corpus
from hierskp.synth.render import VideoRenderer


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


def test_generated_corpus_validates_and_frames_do_not_change(tmp_path: Path):
    """The written manifest validates; what is rendered is the same with 1 or 3 captions. Rendered frames
    are compared, not encoded files: x264 output differs between two runs of the same corpus on a loaded box."""
    m3 = generate_corpus(tmp_path / "c3", 3, seed=1, config="tiny", progress=False)
    rows3 = load_manifest(m3).rows
    assert any(r.entry.texts for r in rows3)
    cfg3, cfg1 = get_config("tiny"), get_config("tiny", captions_per_annotation=1)
    assert [json.loads(x) for x in m3.read_text().splitlines()] == [p.record for p in plan_corpus(3, 1, cfg3)]
    for p3, p1 in zip(plan_corpus(3, 1, cfg3), plan_corpus(3, 1, cfg1)):
        assert p3.instance == p1.instance
        frames = []
        for cfg, plan in ((cfg3, p3), (cfg1, p1)):
            rng = np.random.default_rng([1, 2, plan.index])
            renderer = VideoRenderer(plan.instance, cfg, world_look(cfg.world_seed), sample_nuisance(rng, 1.0), rng)
            frames.append(np.stack(list(renderer.frames(0, min(20, plan.instance.n_frames)))))
        assert np.array_equal(frames[0], frames[1])
