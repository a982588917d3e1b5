"""Batched soft-DTW (Cuturi & Blondel, 2017) over anti-diagonals, with an explicit backward.

Layout. Cell (i, j) of the 1-indexed DP table R (i <= N, j <= M) lives at ``buf[i + j, b, i]`` of a
"skewed" buffer ``[N + M + 1, B, N + 1]``: every anti-diagonal is one contiguous ``[B, N + 1]`` row
and its three predecessors are shifted slices of the two previous rows. The skew is a strided view
(no gather). The sweep covers the full width N + 1 on every diagonal (out-of-table cells included)
because per-diagonal slicing costs more than the wasted arithmetic; the shorter sequence is put on
that axis. We store ``X = -R / gamma`` so that the soft-min is two fused, stable ``logaddexp``
calls; borders hold a huge finite negative number instead of -inf.

Backward is the E-matrix recursion in adjoint form: the soft-min weights of all cells are computed
in one vectorised pass, then each diagonal pushes its adjoint to its predecessors (3 ``addcmul_``).
Variable lengths: each pair seeds its own end cell, so cells past its lengths get exactly zero.

Backends (``backend="auto"``): CUDA float32 (and half, upcast) tensors run the Triton kernels of
``soft_dtw_triton`` (one launch per direction, diagonals looped inside) when triton is importable;
CPU float64 runs the numba kernel of ``soft_dtw_numba`` when numba is importable; everything else,
and every fallback, is this module's exact torch path.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor
from torch.autograd.function import once_differentiable

from hierskp.losses._amp import fp32_backward, fp32_forward
from hierskp.losses.costs import pairwise_cost

__all__ = ["soft_dtw", "soft_dtw_divergence", "pairwise_cost", "Backend", "resolve_backend"]

Backend = Literal["auto", "torch", "triton", "numba"]


def _cells(buf: Tensor, n: int, m: int, col0: int) -> Tensor:
    """[B, n, m] strided view of the real cells of a skewed ``[D, B, W]`` buffer.

    Cell (b, i0, j0) (0-indexed) sits at ``buf[i0 + j0 + 2, b, i0 + col0]``.
    """
    _, b, w = buf.shape
    row = b * w
    return buf.as_strided((b, n, m), (w, row + 1, row), buf.storage_offset() + 2 * row + col0)


def _forward_sweep(x: Tensor, q: Tensor, negc: Tensor) -> None:
    """Fill ``x`` (and ``q``) diagonal by diagonal: 3 fused ops per diagonal, no per-cell work."""
    n = negc.shape[2]
    x_lo, x_hi = x[:, :, :n].unbind(0), x[:, :, 1:].unbind(0)
    q_d, c_d = q.unbind(0), negc.unbind(0)
    for d in range(2, x.shape[0]):
        qd = q_d[d]
        torch.logaddexp(x_lo[d - 2], x_lo[d - 1], out=qd)
        torch.logaddexp(qd, x_hi[d - 1], out=qd)
        torch.add(qd, c_d[d], out=x_hi[d])


def _backward_sweep(g: Tensor, w_a: Tensor, w_b: Tensor, w_c: Tensor) -> None:
    """Push each finished diagonal's adjoint to its three predecessors (E-matrix recursion)."""
    n = w_a.shape[2]
    g_lo, g_hi = g[:, :, :n].unbind(0), g[:, :, 1:].unbind(0)
    wa, wb, wc = w_a.unbind(0), w_b.unbind(0), w_c.unbind(0)
    for d in range(g.shape[0] - 1, 1, -1):
        gd = g_hi[d]
        g_lo[d - 1].addcmul_(gd, wb[d])
        g_hi[d - 1].addcmul_(gd, wc[d])
        g_lo[d - 2].addcmul_(gd, wa[d])


def _neg_big(dtype: torch.dtype) -> float:
    """Finite stand-in for -inf: logaddexp absorbs it exactly next to any real value, and
    differences of two such values stay finite (no inf - inf), so no NaN masking is needed.
    Small enough in magnitude that sums over thousands of diagonals cannot overflow."""
    return -1e100 if dtype == torch.float64 else -1e30


class _SoftDTW(torch.autograd.Function):
    @staticmethod
    @fp32_forward
    def forward(  # type: ignore[override]
        ctx, cost: Tensor, gamma: float, end_d: Tensor, end_i: Tensor
    ) -> Tensor:
        bsz, n, m = cost.shape
        nd, big = n + m + 1, _neg_big(cost.dtype)
        # -cost / gamma on real cells, "-inf" elsewhere. Skewing per pair first ([B, D, N], whose
        # rows are written nearly in order) then transposing is ~4x faster than one strided write.
        per_pair = cost.new_full((bsz, nd, n), big)
        torch.mul(cost, -1.0 / gamma, out=per_pair.as_strided((bsz, n, m), (nd * n, n + 1, n), 2 * n))
        negc = per_pair.transpose(0, 1).contiguous()
        x = cost.new_empty((nd, bsz, n + 1))  # the sweep writes x[2:, :, 1:]; set the rest
        x[:2].fill_(big)
        x[2:, :, 0].fill_(big)
        x[0, :, 0] = 0.0
        q = torch.empty_like(negc)  # logsumexp of the three predecessors (soft-min / -gamma)
        _forward_sweep(x, q, negc)
        ctx.save_for_backward(x, q, end_d, end_i)
        return x[end_d, torch.arange(bsz, device=cost.device), end_i] * -gamma

    @staticmethod
    @once_differentiable
    @fp32_backward
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        x, q, end_d, end_i = ctx.saved_tensors
        nd, bsz, w = x.shape
        n, m = w - 1, nd - w
        q = q[2:]
        wts = x.new_empty((3, nd, bsz, n))
        torch.sub(x[:-2, :, :n], q, out=wts[0, 2:])  # from (i-1, j-1)
        torch.sub(x[1:-1, :, :n], q, out=wts[1, 2:])  # from (i-1, j)
        torch.sub(x[1:-1, :, 1:], q, out=wts[2, 2:])  # from (i, j-1)
        # exp() takes a slow path below the dtype's underflow point; weights below ~1e-35 are noise.
        wts[:, 2:].clamp_min_(-700.0 if x.dtype == torch.float64 else -80.0).exp_()
        g = torch.zeros_like(x)
        g[end_d, torch.arange(bsz, device=x.device), end_i] = grad_out.to(x.dtype)
        _backward_sweep(g, wts[0], wts[1], wts[2])
        return _cells(g, n, m, 1).contiguous(), None, None, None


class _SoftDTWTriton(torch.autograd.Function):
    """fp32 Triton kernels (compiled on CUDA, Triton's interpreter on CPU tensors)."""

    @staticmethod
    @fp32_forward
    def forward(ctx, cost: Tensor, gamma: float, end_d: Tensor, end_i: Tensor) -> Tensor:  # type: ignore[override]
        from hierskp.losses import soft_dtw_triton

        out, x, q = soft_dtw_triton.sdtw_forward(cost.float(), gamma, end_d, end_i)
        ctx.save_for_backward(x, q, end_d, end_i)
        return out

    @staticmethod
    @once_differentiable
    @fp32_backward
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        from hierskp.losses import soft_dtw_triton

        x, q, end_d, end_i = ctx.saved_tensors
        return soft_dtw_triton.sdtw_backward(x, q, grad_out, end_d, end_i), None, None, None


class _SoftDTWNumba(torch.autograd.Function):
    """float64 CPU kernel: row-order DP, soft-min weights kept for an exp-free backward."""

    @staticmethod
    @fp32_forward  # float64 inputs are left alone; this only switches autocast off inside
    def forward(ctx, cost: Tensor, gamma: float, xl: Tensor, yl: Tensor) -> Tensor:  # type: ignore[override]
        from hierskp.losses import soft_dtw_numba

        out, weights = soft_dtw_numba.sdtw_forward(cost, gamma, xl, yl)
        ctx.save_for_backward(weights, xl, yl)
        return out

    @staticmethod
    @once_differentiable
    @fp32_backward
    def backward(ctx, grad_out: Tensor):  # type: ignore[override]
        from hierskp.losses import soft_dtw_numba

        weights, xl, yl = ctx.saved_tensors
        return soft_dtw_numba.sdtw_backward(weights, xl, yl, grad_out), None, None, None


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def resolve_backend(cost: Tensor, backend: Backend = "auto") -> str:
    """Which implementation ``soft_dtw`` runs for this cost tensor ("torch", "triton" or "numba")."""
    if backend == "auto":
        if cost.device.type == "cuda" and cost.dtype != torch.float64 and _has("triton"):
            from hierskp.losses.soft_dtw_triton import MAX_WIDTH

            return "triton" if min(cost.shape[1:]) + 1 <= MAX_WIDTH else "torch"
        if cost.device.type == "cpu" and cost.dtype == torch.float64 and _has("numba"):
            return "numba"
        return "torch"
    if backend == "numba" and (cost.device.type != "cpu" or cost.dtype != torch.float64):
        raise ValueError("backend 'numba' runs float64 CPU tensors only")
    if backend not in ("torch", "triton", "numba"):
        raise ValueError(f"unknown soft-DTW backend {backend!r}")
    return backend


def _lengths(lengths: Tensor | None, bsz: int, full: int, device: torch.device, check: bool = True) -> Tensor:
    if lengths is None:
        return torch.full((bsz,), full, dtype=torch.long, device=device)
    lengths = torch.as_tensor(lengths)
    if lengths.shape != (bsz,):
        raise ValueError(f"lengths must have shape ({bsz},), got {tuple(lengths.shape)}")
    # Checked only for host tensors: a check on device lengths would force a sync.
    if check and lengths.device.type == "cpu" and bool(((lengths < 1) | (lengths > full)).any()):
        raise ValueError(f"lengths must lie in [1, {full}]")
    return lengths.to(device=device, dtype=torch.long)


def soft_dtw(
    cost: Tensor,
    gamma: float,
    x_lengths: Tensor | None = None,
    y_lengths: Tensor | None = None,
    *,
    backend: Backend = "auto",
    check_lengths: bool = True,
) -> Tensor:
    """Soft-DTW value of each cost matrix, ``[B, N, M] -> [B]``.

    With lengths, pair b uses ``cost[b, :x_lengths[b], :y_lengths[b]]``; cells past the lengths
    may hold anything (even inf/NaN) and get zero gradient. Differentiable w.r.t. ``cost`` only.
    ``backend``: see the module docstring ("auto" picks by device, dtype and what is installed).
    ``check_lengths``: host lengths outside ``[1, N]``/``[1, M]`` raise (device lengths are never
    read back); False skips that read too, for callers whose lengths are valid by construction.
    """
    if cost.dim() != 3 or not cost.is_floating_point():
        raise ValueError("cost must be a floating-point tensor of shape [B, N, M]")
    if not gamma > 0:
        raise ValueError("gamma must be > 0")
    if cost.dtype in (torch.float16, torch.bfloat16):  # e.g. under autocast: DP needs the range
        cost = cost.float()
    bsz, n, m = cost.shape
    if n == 0 or m == 0:
        raise ValueError("empty sequences")
    xl = _lengths(x_lengths, bsz, n, cost.device, check_lengths)
    yl = _lengths(y_lengths, bsz, m, cost.device, check_lengths)
    if x_lengths is not None or y_lengths is not None:
        valid = (torch.arange(n, device=cost.device)[None, :, None] < xl[:, None, None]) & (
            torch.arange(m, device=cost.device)[None, None, :] < yl[:, None, None]
        )
        cost = torch.where(valid, cost, 0.0)
    if n > m:  # the recursion is symmetric: skew along the shorter axis (narrower diagonals)
        cost, xl, yl = cost.transpose(1, 2), yl, xl
    impl = resolve_backend(cost, backend)
    if impl == "numba":
        return _SoftDTWNumba.apply(cost, float(gamma), xl, yl)
    fn = _SoftDTWTriton if impl == "triton" else _SoftDTW
    return fn.apply(cost, float(gamma), xl + yl, xl)


def soft_dtw_divergence(
    cost_xy: Tensor,
    cost_xx: Tensor,
    cost_yy: Tensor,
    gamma: float,
    x_lengths: Tensor | None = None,
    y_lengths: Tensor | None = None,
) -> Tensor:
    """Soft-DTW divergence ``sdtw(x, y) - (sdtw(x, x) + sdtw(y, y)) / 2`` (Blondel et al., 2021).

    Unlike raw soft-DTW it is zero for identical inputs, so it can serve as a distance-like loss.
    """
    xy = soft_dtw(cost_xy, gamma, x_lengths, y_lengths)
    xx = soft_dtw(cost_xx, gamma, x_lengths, x_lengths)
    yy = soft_dtw(cost_yy, gamma, y_lengths, y_lengths)
    return xy - 0.5 * (xx + yy)
