"""Losses under CPU bf16 autocast: no dtype crash in the custom backwards, values close to fp32."""

from __future__ import annotations

import pytest
import torch

from hierskp.losses import dtw_alignment_loss, info_nce, pairwise_cost, soft_dtw

CPU = torch.device("cpu")


def _seqs(seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(4, 12, 32, generator=g, device=CPU)
    y = torch.randn(4, 7, 32, generator=g, device=CPU)
    return x, y


def _bf16():
    return torch.autocast(device_type="cpu", dtype=torch.bfloat16)


def test_sqeuclidean_backward_under_bf16_autocast():
    """Used to raise 'Input dtypes must be the same' (bf16 grad against the fp32 saved inputs)."""
    x, y = (t.requires_grad_() for t in _seqs())
    with _bf16():
        cost = pairwise_cost(x, y)
        value = soft_dtw(cost, 0.1).sum()
    value.backward()
    assert cost.dtype == torch.float32  # computed in fp32 under autocast
    assert x.grad.dtype == torch.float32 and torch.isfinite(x.grad).all()
    x32, y32 = (t.detach().clone().requires_grad_() for t in (x, y))
    soft_dtw(pairwise_cost(x32, y32), 0.1).sum().backward()
    torch.testing.assert_close(x.grad, x32.grad, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize("kind", ["sqeuclidean", "cosine", "neg_log_softmax_cosine"])
def test_soft_dtw_bf16_autocast_within_1e2_of_fp32(kind):
    x, y = _seqs(1)
    lens = torch.tensor([12, 5, 9, 1]), torch.tensor([7, 7, 2, 3])
    ref = soft_dtw(pairwise_cost(x, y, kind, x_lengths=lens[0], y_lengths=lens[1]), 0.1, *lens)
    with _bf16():
        # inputs that an autocast region hands over in bf16 (e.g. a Linear's output)
        got = soft_dtw(
            pairwise_cost(x.bfloat16(), y.bfloat16(), kind, x_lengths=lens[0], y_lengths=lens[1]), 0.1, *lens
        )
        same = soft_dtw(pairwise_cost(x, y, kind, x_lengths=lens[0], y_lengths=lens[1]), 0.1, *lens)
    assert got.dtype == same.dtype == torch.float32
    torch.testing.assert_close(same, ref, rtol=1e-5, atol=1e-5)  # fp32 inputs: fp32 math, unchanged
    assert ((got - ref).abs() / ref.abs().clamp_min(1e-3)).max() < 1e-2


def test_dtw_alignment_loss_bf16_autocast_within_1e2_of_fp32():
    g = torch.Generator().manual_seed(2)
    lin = torch.nn.Linear(32, 32).to(CPU)
    v_raw, t = torch.randn(3, 15, 32, generator=g), torch.randn(3, 5, 32, generator=g)
    v_len, t_len = torch.tensor([15, 9, 4]), torch.tensor([5, 3, 2])

    def run(autocast: bool):
        lin.zero_grad()
        with torch.autocast(device_type="cpu", dtype=torch.bfloat16, enabled=autocast):
            out = dtw_alignment_loss(lin(v_raw), t, v_len, t_len, generator=torch.Generator().manual_seed(0))
        out.loss.backward()
        return out, lin.weight.grad.clone()

    ref, g_ref = run(False)
    got, g_got = run(True)
    for a, b in zip(got, ref):
        assert a.dtype == torch.float32
        assert abs(float(a.detach()) - float(b.detach())) <= 1e-2 * abs(float(b)) + 1e-4
    assert ((g_got - g_ref).norm() / g_ref.norm()) < 5e-2  # bf16 Linear: grads are close, not equal


def test_info_nce_logits_in_fp32_under_autocast():
    x, y = _seqs(3)
    a, b = x[:, 0].bfloat16(), y[:, 0].bfloat16()
    scale = torch.tensor(4.6)  # temperature 0.01: logits up to 100, where a bf16 step is 0.5
    with _bf16():
        got = info_nce(a, b, scale)
    ref = info_nce(a.float(), b.float(), scale)
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


@pytest.mark.gpu
def test_dtw_alignment_loss_cuda_bf16_autocast_within_1e2_of_cpu_fp32():
    g = torch.Generator().manual_seed(4)
    v, t = torch.randn(4, 20, 32, generator=g), torch.randn(4, 6, 32, generator=g)
    v_len, t_len = torch.tensor([20, 9, 4, 13]), torch.tensor([6, 3, 2, 5])
    ref = dtw_alignment_loss(v, t, v_len, t_len, generator=torch.Generator().manual_seed(0))
    with torch.autocast(device_type="cuda", dtype=torch.bfloat16):
        got = dtw_alignment_loss(
            v.cuda(), t.cuda(), v_len.cuda(), t_len.cuda(), generator=torch.Generator().manual_seed(0)
        )
    for a, b in zip(got, ref):
        assert a.dtype == torch.float32 and abs(float(a) - float(b)) <= 1e-2 * abs(float(b)) + 1e-4
