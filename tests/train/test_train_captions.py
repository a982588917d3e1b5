"""Several captions per annotation in training: one drawn per item and step, seeded, resumable."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from safetensors.torch import load_file

from hierskp.dataset.catalog import catalog, text_key
from hierskp.dataset.items import CacheVideoDataset, ItemSpec
from hierskp.train import load_config, train
from hierskp.train.checkpoint import list_checkpoints
from hierskp.train.state import item_spec
from tests.fixtures.synthetic_cache import add_extra_captions, make_synthetic_cache

from .conftest import FAST


def _synthetic(path):
    return make_synthetic_cache(path, n_videos=10, seed=1, vision_dim=16, text_dim=24, op_frames=(3, 6))


@pytest.fixture(scope="module")
def cap_cache(tmp_path_factory):
    path = tmp_path_factory.mktemp("cap") / "cap.zarr"
    add_extra_captions(_synthetic(path), n_extra=2)
    return str(path)


@pytest.fixture(scope="module")
def plain_cache(tmp_path_factory):
    """The same cache without extra captions (layout minor 0 videos)."""
    path = tmp_path_factory.mktemp("plain") / "plain.zarr"
    _synthetic(path)
    return str(path)


def _dataset(cache: str, captions: str) -> CacheVideoDataset:
    from cache_schema import open_cache

    spec = ItemSpec(frame_window=4, max_clip_len=8, max_video_len=16, max_narrations=8, frame_jitter=1)
    return CacheVideoDataset(cache, catalog(open_cache(cache)), ItemSpec(**{**spec.__dict__, "captions": captions}))


def test_catalog_reads_the_pools(cap_cache):
    from cache_schema import open_cache

    v = catalog(open_cache(cap_cache))[0]
    assert v.video_alts == (f"{v.video_text} (paraphrase 1)", f"{v.video_text} (paraphrase 2)")
    assert len(v.op_alts) == v.n_ops and all(len(a) == 2 for a in v.op_alts + v.narr_alts)


def test_items_draw_uniformly_from_the_pool_and_reproducibly(cap_cache):
    ds_all, ds_one = _dataset(cap_cache, "all"), _dataset(cap_cache, "primary")
    entry = ds_all.videos[0]
    pool = [entry.video_text, *entry.video_alts]
    drawn = Counter()
    op_first = set()
    for seed in range(150):
        item = ds_all[(0, seed)]
        drawn[pool.index(next(t for t in pool if text_key(t) == item["video_key"]))] += 1
        op_first.add(int(item["op_keys"][0]))
        again = ds_all[(0, seed)]
        np.testing.assert_array_equal(item["t_ops"], again["t_ops"])  # same (item, seed): same captions
        primary = ds_one[(0, seed)]
        # the caption draws have their own stream: windows and narration subsets are unchanged
        np.testing.assert_array_equal(item["narr_sel"], primary["narr_sel"])
        for a, b in zip(item["windows"], primary["windows"]):
            np.testing.assert_array_equal(a, b)
    assert sorted(drawn) == [0, 1, 2] and min(drawn.values()) >= 30  # ~50 each of 150
    assert len(op_first) == 3
    one = ds_one[(0, 5)]
    assert one["video_key"] == text_key(entry.video_text)
    assert one["op_keys"].tolist() == [text_key(t) for t in entry.op_texts]
    # a drawn paraphrase's embedding is its cached row, not the primary's
    item = next(ds_all[(0, s)] for s in range(50) if ds_all[(0, s)]["video_key"] != text_key(entry.video_text))
    assert not np.allclose(item["t_video"], one["t_video"])


def test_config_switch_and_default():
    cfg = load_config(None, [], cache="c", out="o")
    assert cfg.data.captions == "all" and item_spec(cfg).captions == "all"
    assert item_spec(load_config(None, ["data.captions=primary"], cache="c", out="o")).captions == "primary"
    with pytest.raises(ValueError, match="captions"):
        load_config(None, ["data.captions=some"], cache="c", out="o")
    assert ItemSpec().captions == "primary"  # evaluation reads the primary text


class _Stop(Exception):
    pass


def test_training_with_several_captions_resumes_exactly(cap_cache, plain_cache, tmp_path):
    args = FAST + ["max_steps=10", "checkpoint_every=4", "evaluate=false", "verify_cache=cheap"]

    def cfg(out, *extra, cache=cap_cache):
        return load_config(None, args + list(extra), cache=cache, out=str(tmp_path / out), progress=False)

    def stop_at_7(step, total, losses):
        if step == 7:
            raise _Stop

    with pytest.raises(_Stop):
        train(cfg("resumed"), on_step=stop_at_7)
    assert [c.stem for c in list_checkpoints(tmp_path / "resumed/checkpoints")][-1] == "step_00000004"
    train(cfg("resumed"), resume=True)
    train(cfg("straight"))
    train(cfg("primary", "data.captions=primary"))
    train(cfg("plain", cache=plain_cache))  # default captions=all on a cache without extra captions
    names = ("resumed", "straight", "primary", "plain")
    heads = {n: load_file(str(tmp_path / n / "final/heads.safetensors")) for n in names}
    for k in heads["straight"]:
        assert (heads["resumed"][k] - heads["straight"][k]).abs().max().item() < 1e-5, k
        # captions=primary trains exactly as on the cache without extra captions (as before they existed)
        assert (heads["primary"][k] - heads["plain"][k]).abs().max().item() == 0.0, k
    assert any((heads["primary"][k] - heads["straight"][k]).abs().max().item() > 1e-4 for k in heads["straight"])
