"""The training step never waits for the device: its forward and backward make 0 host syncs (counted
at dispatch level, so a CPU run counts what a GPU run would wait for), and its logged numbers are
read back once per `log_every` steps."""

from __future__ import annotations

import pytest
import torch

import cache_schema as cs
from hierskp.dataset.batch import collate
from hierskp.dataset.catalog import catalog
from hierskp.dataset.items import CacheVideoDataset
from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.testing.syncs import SyncCounter
from hierskp.train import load_config
from hierskp.train.objective import compute_losses
from hierskp.train.state import item_spec, param_groups
from hierskp.train.step import PendingSteps, forward_backward, train_step


@pytest.fixture(scope="module")
def setup(tiny_cache):
    cfg = load_config(None, ["model.hidden_dim=16", "model.embed_dim=16", "model.heads=2"], cache=tiny_cache, out="o")
    store = cs.open_cache(tiny_cache)
    videos = catalog(store, ["pretrain"])[:5]
    ds = CacheVideoDataset(tiny_cache, videos, item_spec(cfg))
    batch = collate([ds[i] for i in range(len(videos))])
    torch.manual_seed(0)
    model = HierSKPHeads(HeadsConfig(**cfg.model.model_dump(), vision_dim=16, text_dim=24)).train()
    return model, batch, cfg


def _without_steps(batch, rows):
    """The batch with the step sequences of `rows` emptied (videos without annotated operations)."""
    mask = batch.seq_mask.clone()
    mask[rows] = False
    return type(batch)(**{**batch.__dict__, "seq_mask": mask})


@pytest.mark.parametrize("empty_rows", [[], [1], [0, 2, 3, 4]], ids=["all", "one_without_steps", "one_with_steps"])
def test_forward_backward_makes_no_host_sync(setup, empty_rows):
    model, batch, cfg = setup
    batch = _without_steps(batch, empty_rows)
    model.zero_grad(set_to_none=True)
    with SyncCounter() as syncs:
        res = forward_backward(model, batch, cfg.losses, torch.Generator().manual_seed(0))
    assert syncs.events == []
    assert {"frame", "operation", "op_narration", "video", "video_sequence", "dtw"} <= set(res.parts)
    assert torch.isfinite(res.total)
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    if len(empty_rows) == 4:  # one video with steps: the sequence terms cannot form and are exactly 0
        assert res.parts["video_sequence"] == 0 and res.parts["text_sequence"] == 0


def test_the_counter_sees_planted_syncs(setup):
    model, batch, cfg = setup
    with SyncCounter() as syncs:
        total, parts = compute_losses(model, batch, cfg.losses, torch.Generator().manual_seed(0))
        total.item()  # planted
        keep = batch.seq_mask.any(1)
        seq = batch.seq.clone().requires_grad_()
        seq[keep].sum().backward()  # boolean-mask indexing: forward and backward (index_put)
        bool(parts["dtw"] > 0), int(keep.sum()), keep.nonzero()
    ops = [e.split(" @ ")[0] for e in syncs.events]
    assert (
        ops[0] == "_local_scalar_dense.default" and f"{__name__}:test_the_counter_sees_planted_syncs" in syncs.events[0]
    )
    assert "index.Tensor" in ops and "nonzero.default" in ops and ops.count("_local_scalar_dense.default") == 3
    with SyncCounter() as syncs:
        torch.ones(3).tolist()
    assert syncs.count == 1


def test_whole_step_syncs_only_in_the_optimizer_bookkeeping(setup):
    """clip + AdamW + scheduler: AdamW keeps its step counts on the host (an `.item()` on a CPU tensor,
    no wait for a GPU); nothing else reads back."""
    model, batch, cfg = setup
    opt = torch.optim.AdamW(param_groups(model, 0.05), lr=1e-3)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1.0)
    scaler = torch.amp.GradScaler("cpu", enabled=False)
    gen = torch.Generator().manual_seed(0)
    train_step(model, batch, cfg.losses, opt, scaler, 1.0, gen, None, sched)  # optimizer state exists now
    with SyncCounter() as syncs:
        res = train_step(model, batch, cfg.losses, opt, scaler, 1.0, gen, None, sched)
    assert syncs.events and all(" via torch.optim." in e for e in syncs.events), syncs.events
    assert res.grad_norm is not None and res.grad_norm.dim() == 0


def test_pending_steps_read_back_once_per_flush():
    pending = PendingSteps(log_every=3)
    for step in range(1, 4):
        pending.add(step, {"loss/total": torch.tensor(step * 1.5), "grad_norm": torch.tensor(0.5)}, {"lr": 0.1})
    pending.add(4, {"loss/other": torch.tensor(2.0)})  # the keys may change between steps
    assert pending.due(3) and not pending.due(4) and len(pending) == 4
    with SyncCounter() as syncs:
        records = pending.flush()
    assert syncs.count == 1  # the one .tolist() of the interval (on CUDA: the one copy to the host)
    assert records == [
        {"step": 1, "lr": 0.1, "loss/total": 1.5, "grad_norm": 0.5},
        {"step": 2, "lr": 0.1, "loss/total": 3.0, "grad_norm": 0.5},
        {"step": 3, "lr": 0.1, "loss/total": 4.5, "grad_norm": 0.5},
        {"step": 4, "loss/other": 2.0},
    ]
    assert pending.flush() == [] and len(pending) == 0


def test_forward_backward_runs_clean_under_the_device_guard(setup):
    """The other detector (tags device-resident tensors): no stray host tensor, no sync, no host read."""
    from hierskp.testing.device_guard import DeviceGuard

    model, batch, cfg = setup
    model.zero_grad(set_to_none=True)
    with DeviceGuard() as guard:
        guard.put(model)
        res = forward_backward(model, batch.to("cpu"), cfg.losses, torch.Generator().manual_seed(0))
        assert guard.redirected == [] and guard.syncs == []
        assert guard.is_device(res.total)


def test_loop_logs_every_step_and_checks_before_each_checkpoint(tiny_cache, tmp_path):
    from hierskp.train import train
    from hierskp.train.runlog import read_metrics

    from .conftest import FAST

    seen = []
    over = FAST + ["max_steps=7", "log_every=3", "checkpoint_every=5", "evaluate=false"]
    out = train(
        load_config(None, over, cache=tiny_cache, out=str(tmp_path / "run"), progress=False),
        on_step=lambda step, total, losses: seen.append((step, total, "loss/total" in losses)),
    )
    rows = read_metrics(out / "metrics.jsonl")
    assert [r["step"] for r in rows] == list(range(1, 8)) and seen == [(s, 7, True) for s in range(1, 8)]
    assert all(isinstance(r["loss/total"], float) and isinstance(r["grad_norm"], float) for r in rows)
    assert [p.stem for p in sorted((out / "checkpoints").glob("*.json"))] == ["step_00000005", "step_00000007"]
    with pytest.raises(ValueError, match="log_every"):
        load_config(None, ["log_every=0"], cache=tiny_cache, out="o")
