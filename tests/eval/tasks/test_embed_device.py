"""Evaluation embedding keeps device discipline: run under the CPU device guard it creates no
stray host tensors, reads nothing back but its outputs (one `.cpu()` each), makes no host sync,
and gives the same numbers as a plain run."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import cache_schema as cs
from hierskp.dataset.items import ItemSpec
from hierskp.eval.tasks.embed import embed_split, resolve_embed_device
from hierskp.models.embedders import HeadsEmbedder
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.runs.model import RunModel, frozen_baseline
from hierskp.testing.device_guard import DeviceGuard


@pytest.fixture(scope="module")
def store(tiny_cache):
    return cs.open_cache(tiny_cache)


def _heads_model(store) -> RunModel:
    torch.manual_seed(0)
    cfg = HeadsConfig(
        vision_dim=16, text_dim=24, hidden_dim=16, embed_dim=16, heads=2, max_video_len=16, max_clip_len=8
    )
    heads = HierSKPHeads(cfg).eval()
    spec = ItemSpec(max_clip_len=cfg.max_clip_len, max_video_len=cfg.max_video_len, video_clip_len=cfg.video_clip_len)
    return RunModel(embedder=HeadsEmbedder(heads), spec=spec, fingerprint_id=store.fingerprint_id, heads=heads)


def _same(a, b) -> None:
    """Equal up to float32 round-off (under a torch-function mode the transformer's eval fast path is off)."""
    for level in a.levels:
        np.testing.assert_allclose(a.levels[level].video, b.levels[level].video, rtol=0, atol=1e-6)
        np.testing.assert_allclose(a.levels[level].text, b.levels[level].text, rtol=0, atol=1e-6)
        assert a.levels[level].video_ids == b.levels[level].video_ids
    assert [o.video_id for o in a.order] == [o.video_id for o in b.order]
    for x, y in zip(a.order, b.order, strict=True):
        assert x.n_tokens == y.n_tokens
        for name in ("embedding", "tokens", "steps_raw", "steps"):
            torch.testing.assert_close(getattr(x, name), getattr(y, name), rtol=0, atol=1e-6)


@pytest.mark.parametrize("method", ["heads", "frozen_baseline"])
def test_embed_split_runs_clean_under_the_device_guard(store, method):
    model = _heads_model(store) if method == "heads" else frozen_baseline(store)
    ref = embed_split(store, model, "test")
    with DeviceGuard() as guard:
        if model.heads is not None:
            guard.put(model.heads)
        emb = embed_split(store, model, "test", device="cpu")
        assert guard.redirected == [] and guard.syncs == []
        outputs = [emb.levels[k].video for k in emb.levels] + [o.tokens for o in emb.order]
        assert not any(isinstance(t, torch.Tensor) and guard.is_device(t) for t in outputs)  # all back on the host
    assert emb.levels["video"].video.shape[0] == 4 and len(emb.order) > 0
    assert all(isinstance(emb.levels[k].video, np.ndarray) for k in emb.levels)
    _same(emb, ref)


def test_the_guard_catches_a_host_tensor_in_the_embedder(store):
    """Test of the test: a frozen embedder whose projection stays on the host (what the baseline did
    before it moved it to the inputs' device) fails under the guard."""
    model = frozen_baseline(store)

    class HostProjection(type(model.embedder)):  # type: ignore[misc]
        def text(self, t):  # type: ignore[no-untyped-def]
            return torch.nn.functional.normalize(t @ self.pt, dim=-1)

    model.embedder.__class__ = HostProjection
    with DeviceGuard() as guard, pytest.raises(Exception, match="host tensor"):
        embed_split(store, model, "test")
    assert guard.redirected == []


def test_the_device_is_resolved_once_from_the_heads(store):
    model = _heads_model(store)
    assert resolve_embed_device(model) == torch.device("cpu")
    assert resolve_embed_device(model, "meta") == torch.device("meta")
    assert resolve_embed_device(frozen_baseline(store)) == torch.device("cpu")


@pytest.mark.gpu
def test_embed_split_on_cuda_matches_cpu(store):
    model = _heads_model(store)
    ref = embed_split(store, model, "test", device="cpu")
    emb = embed_split(store, model, "test", device="cuda")
    for level in ref.levels:
        np.testing.assert_allclose(emb.levels[level].video, ref.levels[level].video, atol=1e-4)
    assert all(o.tokens.device.type == "cpu" for o in emb.order)
