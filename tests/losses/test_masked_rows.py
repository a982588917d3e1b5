"""Rows masked out of a loss (`valid=` / `weights=`) do not change it: the loss equals the loss of
the remaining rows indexed out, whatever the masked rows hold (even huge or NaN-free garbage)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from hierskp.losses import dtw_alignment_loss, info_nce


def _unit(*shape: int, seed: int) -> torch.Tensor:
    return F.normalize(torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=torch.float64), dim=-1)


def test_info_nce_masked_rows_equal_indexed_rows():
    a, b, hard = _unit(6, 8, seed=0), _unit(6, 8, seed=1), _unit(6, 3, 8, seed=2)
    keys = torch.tensor([0, 1, 2, 1, 4, 5])
    pairs = torch.tensor([0, 0, 1, 1, 2, 2])[:, None] == torch.tensor([0, 0, 1, 1, 2, 2])[None, :]
    hard_mask = torch.rand(6, 3, generator=torch.Generator().manual_seed(3)) > 0.3
    valid = torch.tensor([True, False, True, True, False, True])
    got = info_nce(a, b, 0.07, keys, pairs, 2.0, hard, hard_mask, valid=valid)
    want = info_nce(a[valid], b[valid], 0.07, keys[valid], pairs[valid][:, valid], 2.0, hard[valid], hard_mask[valid])
    torch.testing.assert_close(got, want, rtol=1e-12, atol=1e-12)
    # what the masked rows hold does not matter
    a2, b2 = a.clone(), b.clone()
    a2[~valid], b2[~valid] = 1e3 * _unit(2, 8, seed=7), -a[~valid]
    torch.testing.assert_close(info_nce(a2, b2, 0.07, keys, pairs, 2.0, hard, hard_mask, valid=valid), got)
    # no gradient reaches the masked rows, and none is NaN
    a3 = a.clone().requires_grad_()
    info_nce(a3, b, 0.07, keys, valid=valid).backward()
    assert torch.isfinite(a3.grad).all() and (a3.grad[~valid] == 0).all() and (a3.grad[valid] != 0).any()


def test_info_nce_without_valid_rows_is_zero():
    a, b = _unit(3, 4, seed=0), _unit(3, 4, seed=1)
    assert info_nce(a, b, 0.1, valid=torch.zeros(3, dtype=torch.bool)) == 0
    assert info_nce(a, b, 0.1, valid=torch.tensor([False, True, False])) == 0  # one row: nothing to contrast


def test_dtw_alignment_weighted_rows_equal_indexed_rows():
    v, t = _unit(5, 7, 8, seed=4), _unit(5, 4, 8, seed=5)
    vl, tl = torch.tensor([7, 5, 6, 7, 3]), torch.tensor([4, 3, 1, 2, 4])
    w = torch.tensor([1.0, 0.0, 1.0, 1.0, 0.0])
    keep = w > 0
    got = dtw_alignment_loss(v, t, vl, tl, margin=0.3, kinds=("reverse",), weights=w)
    want = dtw_alignment_loss(v[keep], t[keep], vl[keep], tl[keep], margin=0.3, kinds=("reverse",))
    for g, e in zip(got, want, strict=True):
        torch.testing.assert_close(g, e, rtol=1e-12, atol=1e-12)
    v2 = v.clone()
    v2[~keep] = _unit(2, 7, 8, seed=9)  # other content in the weighted-out rows
    torch.testing.assert_close(
        dtw_alignment_loss(v2, t, vl, tl, margin=0.3, kinds=("reverse",), weights=w).loss, got.loss
    )
