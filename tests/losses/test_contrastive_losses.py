"""InfoNCE, hard negatives and margin ranking on tiny inputs with hand-computed values."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from hierskp.losses import hard_negative_margin_loss, info_nce, masked_mean

E = torch.eye(2, dtype=torch.float64)


def test_info_nce_known_value():
    # logits = I (temperature 1): each row's CE is log(1 + e^-1), in both directions.
    loss = info_nce(E, E, 1.0)
    assert math.isclose(loss.item(), math.log(1 + math.exp(-1)), rel_tol=1e-12)
    # temperature 0.1: log(1 + e^-10)
    loss = info_nce(E, E, torch.tensor(0.1, dtype=torch.float64))
    assert math.isclose(loss.item(), math.log(1 + math.exp(-10)), rel_tol=1e-9)


def test_info_nce_asymmetric_batch_matches_manual():
    torch.manual_seed(0)
    a, b = F.normalize(torch.randn(5, 8, dtype=torch.float64), dim=1), F.normalize(torch.randn(5, 8), dim=1).double()
    logits = a @ b.T / 0.07
    t = torch.arange(5)
    ab = -torch.log_softmax(logits, 1)[t, t].mean()
    ba = -torch.log_softmax(logits, 0)[t, t].mean()
    torch.testing.assert_close(info_nce(a, b, 0.07), 0.5 * (ab + ba))
    torch.testing.assert_close(info_nce(a, b, 0.07, symmetric=False), ab)


def test_info_nce_hard_negatives_known_value_and_mask():
    hard = -E.unsqueeze(1)  # each query's own hard negative, cos = -1
    loss = info_nce(E, E, 1.0, hard=hard)
    e = math.e
    v2t = -math.log(e / (e + 1 + 1 / e))
    t2v = math.log(1 + 1 / e)
    assert math.isclose(loss.item(), 0.5 * (v2t + t2v), rel_tol=1e-12)
    masked = info_nce(E, E, 1.0, hard=hard, hard_mask=torch.zeros(2, 1, dtype=torch.bool))
    assert math.isclose(masked.item(), math.log(1 + 1 / e), rel_tol=1e-12)


def test_info_nce_same_procedure_boost():
    # every off-diagonal pair is a hard pair, boosted e times: the negative's logit 0 becomes 1,
    # as large as the positive's, so each row's CE is log 2 in both directions
    pairs = torch.ones(2, 2, dtype=torch.bool)
    assert math.isclose(info_nce(E, E, 1.0, hard_pairs=pairs, boost=math.e).item(), math.log(2), rel_tol=1e-12)
    assert info_nce(E, E, 1.0, hard_pairs=pairs, boost=1.0) == info_nce(E, E, 1.0)  # boost 1: no change


def test_temperature_is_learnable():
    temperature = torch.tensor(0.07, requires_grad=True)
    torch.manual_seed(0)
    a, b = F.normalize(torch.randn(4, 6), dim=1), F.normalize(torch.randn(4, 6), dim=1)
    info_nce(a, b, temperature).backward()
    assert temperature.grad is not None and temperature.grad.abs() > 0


def test_margin_loss_known_values():
    a = E
    pos = E
    neg = torch.stack([torch.tensor([[0.0, 1.0], [1.0, 0.0]]), torch.tensor([[1.0, 0.0], [0.0, 1.0]])]).double()
    # query 0: cos(pos)=1, negs cos 0 and 1 -> hinge 0.2-1+0=0 (clipped), 0.2 ; query 1: negs cos 1, 0 -> 0.2, 0
    loss = hard_negative_margin_loss(a, pos, neg, margin=0.2)
    assert math.isclose(loss.item(), 0.4 / 4, rel_tol=1e-12)
    mask = torch.tensor([[True, True], [False, False]])
    assert math.isclose(hard_negative_margin_loss(a, pos, neg, 0.2, mask).item(), 0.1, rel_tol=1e-12)


def test_masked_mean():
    x = torch.arange(12, dtype=torch.float64).view(2, 3, 2)
    out = masked_mean(x, torch.tensor([1, 3]))
    torch.testing.assert_close(out, torch.tensor([[0.0, 1.0], [8.0, 9.0]], dtype=torch.float64))
    torch.testing.assert_close(masked_mean(x), x.mean(1))


def test_info_nce_keys_drop_false_negatives():
    torch.manual_seed(0)
    a = F.normalize(torch.randn(4, 5, dtype=torch.float64), dim=1)
    b = F.normalize(torch.randn(4, 5, dtype=torch.float64), dim=1)
    keys = torch.tensor([7, 3, 7, 1])  # rows 0 and 2 share a caption
    logits = a @ b.T
    keep = torch.ones(4, 4, dtype=torch.bool)
    keep[0, 2] = keep[2, 0] = False
    t = torch.arange(4)
    ab = torch.stack([-torch.log_softmax(logits[i][keep[i]], 0)[keep[i][: i + 1].sum() - 1] for i in range(4)])
    ba = torch.stack([-torch.log_softmax(logits[:, i][keep[:, i]], 0)[keep[: i + 1, i].sum() - 1] for i in range(4)])
    torch.testing.assert_close(info_nce(a, b, 1.0, keys=keys), 0.5 * (ab.mean() + ba.mean()))
    torch.testing.assert_close(info_nce(a, b, 1.0, keys=t), info_nce(a, b, 1.0))
