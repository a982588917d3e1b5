"""The CPU device guard: it fails on planted device mistakes, and the losses, the heads' training
step and the vision encoder's ``encode`` run clean under it."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierskp.losses import dtw_alignment_loss, info_nce, pairwise_cost, soft_dtw
from hierskp.models import HeadsConfig, HierSKPHeads
from hierskp.testing.device_guard import DeviceGuard, DeviceMixError

THIS = __name__.split(".")[0]


def _sloppy_positions(x: torch.Tensor) -> torch.Tensor:
    return x + torch.arange(x.shape[1])  # planted: no device=, fine on CPU, a crash on CUDA


def test_planted_host_tensor_fails():
    with DeviceGuard() as guard:
        x = guard.put(torch.randn(3, 4))
        assert guard.is_device(x * 2) and guard.is_device(x[:, :2].sum(0))
        with pytest.raises(DeviceMixError, match="host tensor"):
            x + torch.ones(3, 4)  # untagged host tensor next to a device one
        x + torch.tensor(1.0)  # 0-dim host scalars are fine, as on CUDA
        x + torch.ones(3, 4).to(x.device)  # an explicit move is fine


def test_planted_factory_without_device_fails():
    with DeviceGuard(packages=("hierskp", THIS)) as guard:
        x = guard.put(torch.randn(2, 5, device="cpu"))
        with pytest.raises(DeviceMixError, match="without device="):
            _sloppy_positions(x)
    assert guard.redirected == [f"{__name__}:_sloppy_positions"]


def test_host_syncs_are_counted():
    with DeviceGuard() as guard:
        x = guard.put(torch.randn(4, device="cpu"))
        bool((x > 0).any()), float(x.sum()), x.max().item(), x[x > 0]
        torch.tensor(1.0).item()  # host tensors don't count
    assert [s.split(":")[0] for s in guard.syncs] == ["__bool__", "__float__", "item", "__getitem__"]


def test_host_reads_of_device_tensors_fail():
    with DeviceGuard() as guard:
        x = guard.put(torch.randn(2, 2))
        with pytest.raises(DeviceMixError, match="numpy"):
            (x + 1).numpy()
        with pytest.raises(DeviceMixError, match="tolist"):
            x.tolist()
        assert isinstance((x + 1).cpu().numpy(), np.ndarray)


def test_losses_run_clean():
    g = torch.Generator().manual_seed(0)
    with DeviceGuard() as guard:
        dev = torch.device("cpu")
        x = guard.put(torch.randn(3, 9, 16, generator=g).requires_grad_())
        y = guard.put(torch.randn(3, 5, 16, generator=g).requires_grad_())
        xl, yl = guard.put(torch.tensor([9, 4, 1], device=dev)), guard.put(torch.tensor([5, 2, 5], device=dev))
        total = soft_dtw(pairwise_cost(x, y, x_lengths=xl, y_lengths=yl), 0.1, xl, yl).sum()
        total = total + soft_dtw(pairwise_cost(x, y, "cosine").double(), 0.1).sum()  # float64 kernel
        total = total + dtw_alignment_loss(x, y, xl, yl, generator=torch.Generator().manual_seed(0)).loss
        scale = guard.put(torch.tensor(2.0, device=dev))
        total = total + info_nce(x[:, 0], y[:, 0], scale, keys=guard.put(torch.arange(3, device=dev)))
        total.backward()
        assert guard.is_device(total) and guard.redirected == []
    assert torch.isfinite(x.grad).all() and x.grad.device.type == "cpu"


def test_heads_forward_backward_run_clean():
    torch.manual_seed(0)
    cfg = HeadsConfig(vision_dim=6, text_dim=5, hidden_dim=16, embed_dim=8, heads=2, max_clip_len=6, max_video_len=6)
    model = HierSKPHeads(cfg).train()
    dev = torch.device("cpu")
    with DeviceGuard() as guard:
        guard.put(model)
        clips = model.encode_clips(guard.put(torch.randn(4, 5, 6)), guard.put(torch.ones(4, 5, dtype=torch.bool)))
        vmask = torch.ones(2, 3, 4, dtype=torch.bool, device=dev)
        vmask[1, 2] = False  # a shorter video, and one all-padding clip row
        video, tokens = model.encode_video(guard.put(torch.randn(2, 3, 4, 6)), vmask)
        text = model.encode_text(guard.put(torch.randn(4, 5)))
        smask = torch.ones(2, 4, dtype=torch.bool, device=dev)
        seq = model.encode_sequence(guard.put(torch.randn(2, 4, 5)), smask)
        loss = info_nce(clips, text, model.temperature("frame").reciprocal().log()) + video.sum() + seq.sum()
        loss = loss + tokens.pow(2).mean()
        assert guard.syncs == []  # the forward never waits for the device (safe_mask is branch-free)
        loss.backward()
        assert guard.redirected == []
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in model.parameters())
    assert model.vis_in[1].weight.grad is not None


def test_vision_encode_runs_clean():
    from hierskp.backbones import load_vision_encoder

    enc = load_vision_encoder("embedded", device="cpu", dtype="float32")
    frames = np.random.default_rng(0).integers(0, 255, (5, 40, 60, 3), dtype=np.uint8)
    ref = enc.encode(frames, batch_size=2)
    with DeviceGuard() as guard:
        guard.put(enc.model)
        out = enc.encode(frames, batch_size=2)
        assert guard.redirected == []
    assert not guard.is_device(out)  # one copy back to the host
    torch.testing.assert_close(out, ref)
