"""Procedure grammar, splits and texts: cheap checks that need no video encoding."""

from __future__ import annotations

import numpy as np
import pytest

from hierskp.synth.config import get_config
from hierskp.synth.corpus import assign_procedures, assign_splits, plan_corpus
from hierskp.synth.grammar import OPERATIONS, PROCEDURE_TYPES, PROCEDURES, sample_instance
from hierskp.synth.texts import TextSampler


def test_some_procedure_types_share_operation_sets_in_different_orders() -> None:
    pairs = []
    for i, a in enumerate(PROCEDURE_TYPES):
        for b in PROCEDURE_TYPES[i + 1 :]:
            sa, sb = [s.op for s in PROCEDURES[a]], [s.op for s in PROCEDURES[b]]
            if sorted(sa) == sorted(sb) and sa != sb:
                pairs.append((a, b))
    assert len(pairs) >= 2, pairs
    assert 5 <= len(PROCEDURE_TYPES) <= 8 and 10 <= len(OPERATIONS) <= 14


@pytest.mark.parametrize("preset", ["tiny", "demo", "bench"])
def test_instances_are_contiguous_frame_aligned_and_narrated(preset: str) -> None:
    cfg = get_config(preset)
    rng = np.random.default_rng(0)
    for k in range(40):
        inst = sample_instance(rng, PROCEDURE_TYPES[k % len(PROCEDURE_TYPES)], cfg)
        assert cfg.min_duration - 1 / cfg.fps <= inst.duration <= cfg.max_duration + 1 / cfg.fps
        segs = inst.segments
        assert segs[0].start == 0 and segs[-1].end == inst.duration
        for a, b in zip(segs[:-1], segs[1:]):
            assert a.end == b.start
        for s in segs:
            assert s.start < s.end
            assert abs(s.start * cfg.fps - round(s.start * cfg.fps)) < 1e-6  # on the frame grid
            assert len(s.phases) >= cfg.min_narrations
            assert all(s.start <= p.time < s.end for p in s.phases)
        if cfg.ops_range:
            assert cfg.ops_range[0] <= len(segs) <= cfg.ops_range[1]


def test_full_procedures_keep_their_typical_order() -> None:
    cfg, rng = get_config("demo"), np.random.default_rng(1)
    for proc in PROCEDURE_TYPES:
        typical = [s.op for s in PROCEDURES[proc]]
        ops = [s.op for s in sample_instance(rng, proc, cfg).segments]
        assert ops[0] == typical[0] and ops[-1] == typical[-1]
        assert set(ops) <= set(typical)


def test_splits_cover_every_procedure_in_test_and_follow_fractions() -> None:
    rng = np.random.default_rng(3)
    procs = assign_procedures(rng, 50)
    counts = [procs.count(p) for p in PROCEDURE_TYPES]
    assert max(counts) - min(counts) <= 1
    splits = assign_splits(rng, procs, (0.3, 0.15, 0.15, 0.4))
    assert [splits.count(s) for s in ("pretrain", "train", "val", "test")] == [14, 8, 8, 20]
    assert {p for p, s in zip(procs, splits) if s == "test"} == set(PROCEDURE_TYPES)
    with pytest.raises(ValueError, match="4 values"):
        get_config("demo", split_fractions=(0.6, 0.2, 0.2))


def test_plan_is_deterministic_and_seed_dependent() -> None:
    cfg = get_config("demo")
    a = [p.record for p in plan_corpus(12, 5, cfg)]
    assert a == [p.record for p in plan_corpus(12, 5, cfg)]
    assert a != [p.record for p in plan_corpus(12, 6, cfg)]


def test_val_and_test_split_texts_use_held_out_phrasings() -> None:
    sampler = TextSampler(get_config("demo").heldout_fraction)
    plans = plan_corpus(40, 0, get_config("demo"))
    seen, test = set(), []
    for p in plans:
        texts = [o["text"] for o in p.record["operations"]] + [f["text"] for f in p.record["frames"]]
        if p.split in ("val", "test"):
            test += texts
        else:
            assert not any(sampler.is_heldout(t) for t in texts)
            seen.update(texts)
    assert np.mean([sampler.is_heldout(t) for t in test]) > 0.9
    assert np.mean([t not in seen for t in test]) > 0.9
    assert all(p.record["text"] != q.record["text"] for p in plans for q in plans if p is not q)
