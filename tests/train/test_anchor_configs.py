"""The anchors as named configs (packaged hierskp/configs/*.yaml): they load, train through `hierskp train`'s code path,
and mean what their comments say."""

from __future__ import annotations

import pytest
import torch

from hierskp.configs import CONFIGS_DIR
from hierskp.experiments.ablation import ANCHORS
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train import load_config, train
from hierskp.train.objective import compute_losses
from tests.train.conftest import FAST


@pytest.mark.parametrize("name", sorted(ANCHORS))
def test_anchor_config_trains_with_the_same_heads_and_budget(name, tiny_cache, tmp_path):
    cfg = load_config(
        ANCHORS[name],  # the packaged configuration, by name
        FAST + ["max_steps=2", "evaluate=false"],
        cache=tiny_cache,
        out=str(tmp_path / name),
    )
    default = load_config(None, FAST, cache=tiny_cache, out="-")
    assert cfg.max_steps == 2 and cfg.model.hidden_dim == default.model.hidden_dim
    run = train(cfg.model_copy(update={"progress": False}))
    assert (run / "final" / "heads.safetensors").is_file()


def test_hecvl_and_peskavlp_are_order_blind_except_for_peskavlp_dtw():
    hec = load_config(CONFIGS_DIR / "hecvl.yaml", cache="c", out="o")
    pes = load_config(CONFIGS_DIR / "peskavlp.yaml", cache="c", out="o")
    assert not hec.losses.dtw.enabled and not hec.losses.hard_negatives.enabled and not hec.losses.video_order.enabled
    d = pes.losses.dtw
    assert d.enabled and d.inputs == "clips" and d.softmax_over == "x" and d.shuffles == 0 and d.margin == 0.0
    # positions: none makes the step-sequence encoder a bag of steps, as HecVL's mean of child texts
    torch.manual_seed(0)
    heads = HierSKPHeads(HeadsConfig(**hec.model.model_dump(), vision_dim=8, text_dim=12)).eval()
    steps, mask = torch.randn(1, 5, 12), torch.ones(1, 5, dtype=torch.bool)
    with torch.no_grad():
        a = heads.encode_sequence(steps, mask)
        b = heads.encode_sequence(steps[:, [4, 2, 0, 1, 3]], mask)
    torch.testing.assert_close(a, b, atol=1e-5, rtol=1e-5)
    ordered = HierSKPHeads(
        HeadsConfig(**load_config(None, cache="c", out="o").model.model_dump(), vision_dim=8, text_dim=12)
    ).eval()
    with torch.no_grad():
        assert not torch.allclose(
            ordered.encode_sequence(steps, mask), ordered.encode_sequence(steps[:, [4, 2, 0, 1, 3]], mask)
        )


def test_peskavlp_objective_has_only_the_clip_dtw_order_term(tiny_cache):
    import cache_schema as cs
    from hierskp.dataset.batch import collate
    from hierskp.dataset.catalog import catalog
    from hierskp.dataset.items import CacheVideoDataset
    from hierskp.train.state import item_spec

    cfg = load_config(
        CONFIGS_DIR / "peskavlp.yaml",
        ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2"],
        cache=tiny_cache,
        out="o",
    )
    videos = catalog(cs.open_cache(tiny_cache), ["pretrain"])[:4]
    ds = CacheVideoDataset(tiny_cache, videos, item_spec(cfg))
    batch = collate([ds[i] for i in range(len(videos))])
    heads = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), vision_dim=16, text_dim=24))
    _, parts = compute_losses(heads, batch, cfg.losses, torch.Generator().manual_seed(0))
    assert "clip_dtw" in parts and "dtw" not in parts and "video_order" not in parts and "sequence_margin" not in parts
