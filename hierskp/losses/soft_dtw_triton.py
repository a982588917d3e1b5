"""Soft-DTW forward and backward as two Triton kernels: one program per pair, diagonals looped inside.

The torch path launches a few small ops per anti-diagonal (about 1,200 launches for one forward and
backward at 64 x 128): on a GPU that is launch-bound. Here each pair is one program that walks its
own ``xl + yl - 1`` anti-diagonals in a loop, with a block barrier between diagonals, so one call is
one launch per direction whatever the lengths.

Layout and math follow ``soft_dtw.py``: a skewed buffer ``X[b, d, i] = -R[i, d - i] / gamma``
(``[B, N + M + 1, N + 1]``, N the shorter side), borders at a finite "-inf". Backward is the
E-matrix recursion in gather form: cell (i, j) collects from its three successors with weights
``exp(X[pred] - q[succ])``, ``q`` the successor's log-sum-exp saved by the forward (recomputing
it as ``X + cost / gamma`` loses fp32 digits when cost / gamma is large), reading the successors' adjoints straight from
the gradient being written; cells past a pair's lengths stay exactly zero. Arithmetic is fp32.

Triton ships with CUDA builds of torch; it is optional here. ``TRITON_INTERPRET``-style CPU runs
(``interpret=True``) serve the tests on machines without a GPU. Because the kernels are built for
the interpreter after triton was imported, they use only core builtins (``tl.full``, ``tl.where``,
...), not helpers that triton.language itself defines with ``@triton.jit`` (``tl.zeros``, ...).
The interpreter checks the arithmetic and indexing, not the compiled code: never run on a GPU yet.
"""

from __future__ import annotations

import functools

import torch
import triton
import triton.language as tl
from torch import Tensor

__all__ = ["sdtw_forward", "sdtw_backward", "MAX_WIDTH"]

MAX_WIDTH = 4096  # N + 1 must fit one program's block (registers); longer problems use the torch path
_BIG = -1e30


def _fwd(
    cost, x, qbuf, out, end_d, end_i, n, m, s_cb, s_cn, s_cm, s_xb, s_xd, inv_gamma, gamma, big, BLOCK: tl.constexpr
):
    b = tl.program_id(0)
    i = tl.arange(0, BLOCK)
    in_row = i <= n
    xrow = x + b * s_xb + i
    qrow = qbuf + b * s_xb + i
    crow = cost + b * s_cb
    # diagonals 0 and 1: all borders except R[0, 0] = 0
    tl.store(xrow, tl.where(i == 0, 0.0, big), mask=in_row)
    tl.store(xrow + s_xd, tl.full((BLOCK,), big, tl.float32), mask=in_row)
    d_end = tl.load(end_d + b)
    i_end = tl.load(end_i + b)
    tl.debug_barrier()
    for d in range(2, d_end + 1):
        j = d - i
        real = (i >= 1) & in_row & (j >= 1) & (j <= m)
        prev1 = xrow + (d - 1) * s_xd
        prev2 = xrow + (d - 2) * s_xd
        a = tl.load(prev2 - 1, mask=real, other=big)  # (i-1, j-1)
        u = tl.load(prev1 - 1, mask=real, other=big)  # (i-1, j)
        v = tl.load(prev1, mask=real, other=big)  # (i, j-1)
        mx = tl.maximum(tl.maximum(a, u), v)
        q = mx + tl.log(tl.exp(a - mx) + tl.exp(u - mx) + tl.exp(v - mx))
        c = tl.load(crow + (i - 1) * s_cn + (j - 1) * s_cm, mask=real, other=0.0).to(tl.float32)
        tl.store(xrow + d * s_xd, tl.where(real, q - c * inv_gamma, big), mask=in_row)
        tl.store(qrow + d * s_xd, q, mask=real)
        tl.debug_barrier()
    val = tl.load(x + b * s_xb + d_end * s_xd + i_end)
    tl.store(out + b, -gamma * val)


def _bwd(x, qbuf, grad, g_out, end_d, end_i, n, m, s_xb, s_xd, s_gb, s_gn, s_gm, BLOCK: tl.constexpr):  # fmt: skip
    b = tl.program_id(0)
    i = tl.arange(0, BLOCK)
    xrow = x + b * s_xb + i
    qrow = qbuf + b * s_xb + i
    grow = grad + b * s_gb
    d_end = tl.load(end_d + b)
    xl = tl.load(end_i + b)
    yl = d_end - xl
    seed = tl.load(g_out + b).to(tl.float32)
    for k in range(0, d_end - 1):
        d = d_end - k
        j = d - i
        cell = (i >= 1) & (i <= xl) & (j >= 1) & (j <= yl)
        x_here = tl.load(xrow + d * s_xd, mask=cell, other=0.0)
        down = cell & (i + 1 <= xl)  # successor (i+1, j): diagonal d+1, index i+1
        right = cell & (j + 1 <= yl)  # successor (i, j+1): diagonal d+1, index i
        diag = down & (j + 1 <= yl)  # successor (i+1, j+1): diagonal d+2, index i+1
        # q (log-sum-exp of the predecessors) of each successor, as the forward computed it
        q_down = tl.load(qrow + (d + 1) * s_xd + 1, mask=down, other=0.0)
        q_right = tl.load(qrow + (d + 1) * s_xd, mask=right, other=0.0)
        q_diag = tl.load(qrow + (d + 2) * s_xd + 1, mask=diag, other=0.0)
        # 0-indexed grad cell of (i, j) is (i - 1, j - 1)
        e_down = tl.load(grow + i * s_gn + (j - 1) * s_gm, mask=down, other=0.0)
        e_right = tl.load(grow + (i - 1) * s_gn + j * s_gm, mask=right, other=0.0)
        e_diag = tl.load(grow + i * s_gn + j * s_gm, mask=diag, other=0.0)
        w_down = tl.exp(tl.minimum(x_here - q_down, 0.0))
        w_right = tl.exp(tl.minimum(x_here - q_right, 0.0))
        w_diag = tl.exp(tl.minimum(x_here - q_diag, 0.0))
        e = tl.where(down, e_down * w_down, 0.0) + tl.where(right, e_right * w_right, 0.0)
        e = e + tl.where(diag, e_diag * w_diag, 0.0)
        e = tl.where((i == xl) & (j == yl), seed, e)
        tl.store(grow + (i - 1) * s_gn + (j - 1) * s_gm, e, mask=cell)
        tl.debug_barrier()


@functools.cache
def _kernels(interpret: bool):
    """(forward, backward) kernels; ``interpret`` builds them for Triton's CPU interpreter."""
    knobs = triton.knobs.runtime
    old = knobs.interpret
    knobs.interpret = interpret
    try:
        return triton.jit(_fwd), triton.jit(_bwd)
    finally:
        knobs.interpret = old


def _launch_opts(width: int) -> tuple[int, int]:
    block = max(16, triton.next_power_of_2(width))
    return block, max(1, min(8, block // 64))


def sdtw_forward(cost: Tensor, gamma: float, end_d: Tensor, end_i: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """``cost [B, N, M]`` (N <= M preferred) -> (values [B] fp32, skewed X and Q buffers for backward)."""
    bsz, n, m = cost.shape
    if n + 1 > MAX_WIDTH:
        raise ValueError(f"shorter side {n} exceeds the kernel's width {MAX_WIDTH - 1}")
    x = torch.empty((bsz, n + m + 1, n + 1), dtype=torch.float32, device=cost.device)
    q = torch.empty_like(x)
    out = torch.empty((bsz,), dtype=torch.float32, device=cost.device)
    block, warps = _launch_opts(n + 1)
    fwd, _ = _kernels(cost.device.type == "cpu")
    end_d, end_i = end_d.to(torch.int32).contiguous(), end_i.to(torch.int32).contiguous()
    fwd[(bsz,)](
        cost, x, q, out, end_d, end_i, n, m, *cost.stride(), x.stride(0), x.stride(1),
        1.0 / gamma, gamma, _BIG, BLOCK=block, num_warps=warps,
    )  # fmt: skip
    return out, x, q


def sdtw_backward(x: Tensor, q: Tensor, grad_out: Tensor, end_d: Tensor, end_i: Tensor) -> Tensor:
    """Gradient of ``sum(grad_out * values)`` w.r.t. the cost (fp32, zero past each pair's lengths)."""
    bsz, nd, w = x.shape
    n, m = w - 1, nd - w
    grad = torch.zeros((bsz, n, m), dtype=torch.float32, device=x.device)
    block, warps = _launch_opts(n + 1)
    _, bwd = _kernels(x.device.type == "cpu")
    end_d, end_i = end_d.to(torch.int32).contiguous(), end_i.to(torch.int32).contiguous()
    bwd[(bsz,)](
        x, q, grad, grad_out.to(torch.float32).contiguous(), end_d, end_i, n, m,
        x.stride(0), x.stride(1), *grad.stride(), BLOCK=block, num_warps=warps,
    )  # fmt: skip
    return grad
