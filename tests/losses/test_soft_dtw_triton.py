"""The Triton soft-DTW kernels against the exact torch path (values and gradients).

On a CPU-only machine the kernels run under Triton's interpreter (CPU tensors); the GPU-marked
test runs the compiled kernels on CUDA. Skipped where triton is not installed (it is optional).
"""

from __future__ import annotations

import pytest
import torch

pytest.importorskip("triton")

from hierskp.losses import pairwise_cost, soft_dtw  # noqa: E402
from hierskp.losses.soft_dtw import resolve_backend  # noqa: E402

CASES = [
    # (B, N, M, x_lengths, y_lengths, gamma, scale)
    (5, 6, 9, [6, 3, 1, 6, 2], [9, 9, 4, 1, 2], 0.1, 2.0),
    (3, 11, 4, [11, 1, 7], [4, 4, 1], 1.0, 1.0),  # N > M: transposed to the short axis
    (2, 7, 7, None, None, 0.01, 3e3),  # costs / gamma far beyond exp's range
]


def _check(case, device: torch.device):
    bsz, n, m, xl, yl, gamma, scale = case
    g = torch.Generator().manual_seed(n * m)
    cost = (torch.rand(bsz, n, m, generator=g, dtype=torch.float64) * scale).to(device)
    lens = [None if v is None else torch.tensor(v, device=device) for v in (xl, yl)]
    w = torch.linspace(0.5, 2.0, bsz, dtype=torch.float64, device=device)
    ref_c = cost.clone().requires_grad_()
    ref = soft_dtw(ref_c, gamma, *lens, backend="torch")
    (ref * w).sum().backward()
    got_c = cost.float().requires_grad_()
    got = soft_dtw(got_c, gamma, *lens, backend="triton")
    (got * w.float()).sum().backward()
    assert got.dtype == got_c.grad.dtype == torch.float32
    torch.testing.assert_close(got.double(), ref.detach(), rtol=1e-5, atol=1e-4)
    tol = 1e-4 if scale < 100 else 2e-3
    torch.testing.assert_close(got_c.grad.double(), ref_c.grad, rtol=tol, atol=tol)
    if xl is not None:
        for b in range(bsz):  # exactly zero past the lengths
            assert (got_c.grad[b, xl[b] :] == 0).all() and (got_c.grad[b, :, yl[b] :] == 0).all()


@pytest.mark.parametrize("case", CASES)
def test_triton_interpreter_matches_exact_path(case):
    _check(case, torch.device("cpu"))


def test_autocast_and_half_inputs_take_fp32():
    cost = torch.rand(2, 4, 5, device="cpu")
    with torch.autocast(device_type="cpu", dtype=torch.bfloat16):
        got = soft_dtw(cost.bfloat16(), 0.1, backend="triton")
    ref = soft_dtw(cost.bfloat16().float(), 0.1, backend="torch")
    assert got.dtype == torch.float32
    torch.testing.assert_close(got, ref, rtol=1e-5, atol=1e-5)


def test_dispatch():
    assert resolve_backend(torch.zeros(1, 2, 2, device="cpu")) == "torch"
    with pytest.raises(ValueError):
        resolve_backend(torch.zeros(1, 2, 2, device="cpu"), "numba")  # float32: numba is float64 only
    if torch.cuda.is_available():
        assert resolve_backend(torch.zeros(1, 2, 2, device="cuda")) == "triton"
        assert resolve_backend(torch.zeros(1, 2, 2, device="cuda", dtype=torch.float64)) == "torch"


@pytest.mark.gpu
@pytest.mark.parametrize("case", CASES)
def test_triton_cuda_matches_exact_path(case):
    _check(case, torch.device("cuda"))


@pytest.mark.gpu
def test_triton_cuda_long_sequences_and_loss():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 200, 32, generator=g).cuda().requires_grad_()
    y = torch.randn(16, 300, 32, generator=g).cuda().requires_grad_()
    xl = torch.randint(1, 201, (16,), generator=g).cuda()
    yl = torch.randint(1, 301, (16,), generator=g).cuda()
    out = {}
    for backend in ("triton", "torch"):
        x.grad = y.grad = None
        v = soft_dtw(pairwise_cost(x, y, x_lengths=xl, y_lengths=yl), 0.1, xl, yl, backend=backend)
        v.sum().backward()
        out[backend] = (v.detach(), x.grad.clone())
    torch.testing.assert_close(out["triton"][0], out["torch"][0], rtol=1e-4, atol=1e-3)
    torch.testing.assert_close(out["triton"][1], out["torch"][1], rtol=1e-3, atol=1e-3)
