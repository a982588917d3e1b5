"""Checkpoints round-trip exactly (model, optimizer, scheduler, RNG) and hold no pickle."""

from __future__ import annotations

import json
import random
import struct

import numpy as np
import torch

from hierskp.models.heads import HeadsConfig, HierSKPHeads
from hierskp.train.checkpoint import list_checkpoints, load_checkpoint, save_checkpoint
from hierskp.train.state import param_groups, warmup_cosine

CFG = HeadsConfig(vision_dim=6, text_dim=5, hidden_dim=16, embed_dim=8, heads=2, max_clip_len=4, max_video_len=4)


def _setup(seed: int):  # type: ignore[no-untyped-def]
    torch.manual_seed(seed)
    model = HierSKPHeads(CFG)
    opt = torch.optim.AdamW(param_groups(model, 0.1), lr=1e-2)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(2, 10, 0.1))
    return model, opt, sched


def _step(model, opt, sched) -> None:  # type: ignore[no-untyped-def]
    x, mask = torch.randn(3, 4, 2, 6), torch.ones(3, 4, 2, dtype=torch.bool)
    v, tok = model.encode_video(x, mask)
    loss = (v @ model.encode_text(torch.randn(3, 5)).T).sum() + tok.sum() + model.temperature("video")
    opt.zero_grad()
    loss.backward()
    opt.step()
    sched.step()


def test_round_trip_is_exact(tmp_path):
    model, opt, sched = _setup(0)
    for _ in range(3):
        _step(model, opt, sched)
    random.seed(5)
    np.random.seed(6)
    save_checkpoint(tmp_path, 3, model, opt, sched, extra={"total_steps": 10})
    expect_rand = (torch.rand(4), np.random.rand(3), random.random())
    _step(model, opt, sched)
    expect_params = {k: v.clone() for k, v in model.state_dict().items()}

    model2, opt2, sched2 = _setup(1)  # other init, other RNG
    meta = load_checkpoint(list_checkpoints(tmp_path)[-1], model2, opt2, sched2)
    assert meta["step"] == 3 and meta["total_steps"] == 10
    got_rand = (torch.rand(4), np.random.rand(3), random.random())
    assert torch.equal(got_rand[0], expect_rand[0]) and np.array_equal(got_rand[1], expect_rand[1])
    assert got_rand[2] == expect_rand[2]
    assert sched2.last_epoch == 3
    torch.manual_seed(123)
    _step(model2, opt2, sched2)
    torch.manual_seed(123)
    model3, opt3, sched3 = _setup(2)
    load_checkpoint(tmp_path / "step_00000003.json", model3, opt3, sched3, restore_rng=False)
    torch.manual_seed(123)
    _step(model3, opt3, sched3)
    for k, v in model3.state_dict().items():
        assert torch.equal(v, model2.state_dict()[k]), k
    assert opt3.state_dict()["param_groups"] == opt2.state_dict()["param_groups"]
    assert set(expect_params) == set(model2.state_dict())


def test_files_hold_no_pickle_and_old_ones_are_pruned(tmp_path):
    model, opt, sched = _setup(0)
    _step(model, opt, sched)
    for step in range(1, 6):
        save_checkpoint(tmp_path, step, model, opt, sched, keep=2)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == [
        "step_00000004.json",
        "step_00000004.safetensors",
        "step_00000005.json",
        "step_00000005.safetensors",
    ]
    raw = (tmp_path / "step_00000005.safetensors").read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])  # a safetensors file: JSON header + raw tensor bytes
    assert any(k.startswith("optim/") for k in header) and any(k.startswith("model/") for k in header)
    meta = json.loads((tmp_path / "step_00000005.json").read_text())
    assert set(meta) >= {"step", "optimizer", "scheduler", "rng"}
    for path in tmp_path.iterdir():
        data = path.read_bytes()
        assert not data.startswith(b"\x80") and b"PK\x03\x04" not in data[:4]  # neither pickle nor torch zip
