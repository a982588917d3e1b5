"""Procedure-order negatives and the DTW alignment loss."""

from __future__ import annotations

import pytest
import torch

from hierskp.losses import (
    dtw_alignment_loss,
    gather_steps,
    pairwise_cost,
    procedure_order_negatives,
    soft_dtw,
)


def test_negatives_are_permutations_of_the_valid_prefix():
    lengths = torch.tensor([5, 2, 1, 3, 6])
    g = torch.Generator().manual_seed(0)
    idx = procedure_order_negatives(lengths, generator=g)
    assert idx.shape == (2, 5, 6)
    for k in range(2):
        for b, n in enumerate(lengths.tolist()):
            row = idx[k, b]
            assert sorted(row[:n].tolist()) == list(range(n))
            assert row[n:].tolist() == list(range(n, 6))
            if n >= 2:
                assert row[:n].tolist() != list(range(n))
    assert idx[0, 0, :5].tolist() == [4, 3, 2, 1, 0]
    again = procedure_order_negatives(lengths, generator=torch.Generator().manual_seed(0))
    assert torch.equal(idx, again)
    with pytest.raises(ValueError):
        procedure_order_negatives(lengths, kinds=("rotate",))


def test_shuffle_never_identity_for_pairs():
    idx = procedure_order_negatives(
        torch.full((200,), 2), kinds=("shuffle",), generator=torch.Generator().manual_seed(1)
    )
    assert (idx[0] == torch.tensor([1, 0])).all()


def test_gather_steps():
    t = torch.arange(24.0).view(2, 4, 3)
    idx = procedure_order_negatives(torch.tensor([3, 4]), kinds=("reverse",))[0]
    out = gather_steps(t, idx)
    assert torch.equal(out[0], t[0, [2, 1, 0, 3]]) and torch.equal(out[1], t[1].flip(0))


def _procedure(seed: int, steps: int = 5, reps: int = 3, dim: int = 16):
    g = torch.Generator().manual_seed(seed)
    t = torch.nn.functional.normalize(torch.randn(2, steps, dim, generator=g), dim=-1)
    v = t.repeat_interleave(reps, dim=1) + 0.1 * torch.randn(2, steps * reps, dim, generator=g)
    return v, t


def test_alignment_prefers_true_order():
    v, t = _procedure(0)
    true = dtw_alignment_loss(v, t, generator=torch.Generator().manual_seed(0))
    rev = dtw_alignment_loss(v, t.flip(1), generator=torch.Generator().manual_seed(0))
    assert true.alignment < rev.alignment
    assert true.order < rev.order
    assert true.loss < rev.loss
    # The wrong orders are really worse under soft-DTW for the true pairing.
    cost = pairwise_cost(v, t, "neg_log_softmax_cosine", temperature=0.1)
    assert (soft_dtw(cost, 0.1) < soft_dtw(cost.flip(2), 0.1)).all()


def test_negative_costs_equal_recomputed_and_padding_gets_no_grad():
    v, t = _procedure(1)
    v = v.double().requires_grad_()
    t = t.double().requires_grad_()
    vl, tl = torch.tensor([15, 9]), torch.tensor([5, 3])
    out = dtw_alignment_loss(v, t, vl, tl, kinds=("reverse",), margin=10.0)
    # Recompute the reversed term explicitly from reordered text embeddings.
    idx = procedure_order_negatives(tl, ("reverse",), max_len=5)[0]
    pos = soft_dtw(pairwise_cost(v, t, "neg_log_softmax_cosine", x_lengths=vl, y_lengths=tl), 0.1, vl, tl)
    neg = soft_dtw(
        pairwise_cost(v, gather_steps(t, idx), "neg_log_softmax_cosine", x_lengths=vl, y_lengths=tl), 0.1, vl, tl
    )
    expected_order = torch.relu(pos - neg + 10.0).mean()
    torch.testing.assert_close(out.order, expected_order)
    torch.testing.assert_close(out.alignment, pos.mean())
    out.loss.backward()
    assert torch.isfinite(v.grad).all() and torch.isfinite(t.grad).all()
    assert (v.grad[1, 9:] == 0).all() and (t.grad[1, 3:] == 0).all()
    assert v.grad[1, :9].abs().sum() > 0


def test_training_steps_reduce_loss():
    v, t = _procedure(2)
    w = torch.nn.Parameter(torch.eye(16) + 0.3 * torch.randn(16, 16, generator=torch.Generator().manual_seed(3)))
    opt = torch.optim.SGD([w], lr=0.05)
    losses = []
    for step in range(15):
        opt.zero_grad()
        out = dtw_alignment_loss(v @ w, t, generator=torch.Generator().manual_seed(step))
        out.loss.backward()
        opt.step()
        losses.append(out.loss.item())
    assert losses[-1] < losses[0]


def test_no_negative_kinds_gives_pure_alignment():
    v, t = _procedure(4)
    out = dtw_alignment_loss(v, t, kinds=())
    assert out.order == 0 and torch.equal(out.loss, out.alignment)
    cost = pairwise_cost(v, t, "neg_log_softmax_cosine", temperature=0.1)
    torch.testing.assert_close(out.alignment, soft_dtw(cost, 0.1).mean())
