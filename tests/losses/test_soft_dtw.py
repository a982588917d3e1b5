"""soft_dtw against tslearn and a plain per-cell numpy reference (value and gradient)."""

from __future__ import annotations

from importlib.util import find_spec

import numpy as np
import pytest
import torch
from tslearn.metrics import SoftDTW

from hierskp.losses import pairwise_cost, soft_dtw, soft_dtw_divergence

GAMMAS = (0.01, 0.1, 1.0)
# float64 CPU backends checked against the oracles: the torch path and, where numba is installed, the numba kernel
BACKENDS = [
    "torch",
    pytest.param("numba", marks=pytest.mark.skipif(find_spec("numba") is None, reason="numba not installed")),
]


def _softmin(a: float, b: float, c: float, gamma: float) -> float:
    z = -np.array([a, b, c]) / gamma
    zmax = z.max()
    if np.isinf(zmax):
        return np.inf
    return -gamma * (zmax + np.log(np.exp(z - zmax).sum()))


def ref_soft_dtw(cost: np.ndarray, gamma: float) -> tuple[float, np.ndarray]:
    """Cuturi & Blondel (2017), Algorithms 1 and 2, one cell at a time."""
    n, m = cost.shape
    r = np.full((n + 2, m + 2), np.inf)
    r[0, 0] = 0.0
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            r[i, j] = cost[i - 1, j - 1] + _softmin(r[i - 1, j - 1], r[i - 1, j], r[i, j - 1], gamma)
    value = r[n, m]
    c = np.zeros((n + 2, m + 2))
    c[1 : n + 1, 1 : m + 1] = cost
    e = np.zeros((n + 2, m + 2))
    r[:, m + 1] = -np.inf
    r[n + 1, :] = -np.inf
    r[n + 1, m + 1] = r[n, m]
    e[n + 1, m + 1] = 1.0
    for j in range(m, 0, -1):
        for i in range(n, 0, -1):
            a = np.exp((r[i + 1, j] - r[i, j] - c[i + 1, j]) / gamma)
            b = np.exp((r[i, j + 1] - r[i, j] - c[i, j + 1]) / gamma)
            d = np.exp((r[i + 1, j + 1] - r[i, j] - c[i + 1, j + 1]) / gamma)
            e[i, j] = e[i + 1, j] * a + e[i, j + 1] * b + e[i + 1, j + 1] * d
    return value, e[1 : n + 1, 1 : m + 1]


def _batch(seed: int, shape=(6, 9, 7)):
    rng = np.random.default_rng(seed)
    cost = rng.random(shape) * 2.0
    xl = np.array([9, 4, 1, 9, 6, 2])[: shape[0]].clip(max=shape[1])
    yl = np.array([7, 7, 3, 1, 5, 2])[: shape[0]].clip(max=shape[2])
    return cost, xl, yl


def _ours(cost: np.ndarray, gamma: float, xl=None, yl=None, weights=None, backend="auto"):
    c = torch.tensor(cost, dtype=torch.float64, requires_grad=True, device="cpu")
    xl_t = None if xl is None else torch.tensor(xl)
    yl_t = None if yl is None else torch.tensor(yl)
    v = soft_dtw(c, gamma, xl_t, yl_t, backend=backend)
    w = torch.ones_like(v) if weights is None else torch.tensor(weights, dtype=torch.float64)
    (v * w).sum().backward()
    return v.detach().numpy(), c.grad.numpy()


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("gamma", GAMMAS)
@pytest.mark.parametrize("shape", [(6, 9, 7), (6, 5, 8)])
def test_matches_numpy_reference_and_tslearn_variable_lengths(gamma, shape, backend):
    cost, xl, yl = _batch(int(gamma * 100) + shape[1], shape)
    weights = np.linspace(0.5, 2.0, shape[0])
    val, grad = _ours(cost, gamma, xl, yl, weights, backend)
    for b in range(shape[0]):
        sub = cost[b, : xl[b], : yl[b]]
        ref_v, ref_g = ref_soft_dtw(sub, gamma)
        ts = SoftDTW(sub.copy(), gamma=gamma)
        ts_v, ts_g = ts.compute(), ts.grad()
        np.testing.assert_allclose(val[b], ref_v, rtol=1e-5)
        np.testing.assert_allclose(val[b], ts_v, rtol=1e-5)
        np.testing.assert_allclose(grad[b, : xl[b], : yl[b]], weights[b] * ref_g, rtol=1e-5, atol=1e-12)
        np.testing.assert_allclose(grad[b, : xl[b], : yl[b]], weights[b] * ts_g, rtol=1e-5, atol=1e-12)
        assert np.all(grad[b, xl[b] :, :] == 0) and np.all(grad[b, :, yl[b] :] == 0)


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("shape", [(2, 1, 1), (2, 1, 5), (2, 6, 1), (3, 12, 30), (3, 30, 12)])
def test_full_lengths_edge_shapes(shape, backend):
    cost = np.random.default_rng(1).normal(size=shape)  # negative costs too
    val, grad = _ours(cost, 0.1, backend=backend)
    for b in range(shape[0]):
        ref_v, ref_g = ref_soft_dtw(cost[b], 0.1)
        np.testing.assert_allclose(val[b], ref_v, rtol=1e-5)
        np.testing.assert_allclose(grad[b], ref_g, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_large_costs_small_gamma_are_finite(dtype):
    """Costs/gamma far beyond exp's range: no overflow, no inf - inf, in both precisions."""
    cost = np.random.default_rng(2).random((3, 20, 33)) * 5e3
    c = torch.tensor(cost, dtype=dtype, requires_grad=True)
    val = soft_dtw(c, 0.01, torch.tensor([20, 7, 1]), torch.tensor([33, 2, 33]))
    val.sum().backward()
    assert torch.isfinite(val).all() and torch.isfinite(c.grad).all()
    tol = 1e-5 if dtype == torch.float64 else 1e-3
    for b, (n, m) in enumerate([(20, 33), (7, 2), (1, 33)]):
        ref_v, ref_g = ref_soft_dtw(cost[b, :n, :m], 0.01)
        np.testing.assert_allclose(val[b].item(), ref_v, rtol=1e-5)
        np.testing.assert_allclose(c.grad[b, :n, :m].double().numpy(), ref_g, rtol=tol, atol=tol)


@pytest.mark.parametrize("backend", BACKENDS)
def test_padding_garbage_is_ignored(backend):
    cost, xl, yl = _batch(3)
    dirty = cost.copy()
    for b in range(cost.shape[0]):
        dirty[b, xl[b] :, :] = np.nan
        dirty[b, :, yl[b] :] = np.inf
    v1, g1 = _ours(cost, 0.1, xl, yl, backend=backend)
    v2, g2 = _ours(dirty, 0.1, xl, yl, backend=backend)
    np.testing.assert_array_equal(v1, v2)
    np.testing.assert_array_equal(g1, g2)


@pytest.mark.parametrize("backend", BACKENDS)
def test_gradcheck_tiny(backend):
    torch.manual_seed(0)
    for n, m in [(3, 4), (4, 2)]:
        c = torch.rand(2, n, m, dtype=torch.float64, requires_grad=True, device="cpu")
        assert torch.autograd.gradcheck(lambda x: soft_dtw(x, 0.5, backend=backend), (c,))
        lens = (torch.tensor([n, 2]), torch.tensor([1, m]))
        assert torch.autograd.gradcheck(lambda x, lens=lens: soft_dtw(x, 0.3, *lens, backend=backend), (c,))


def test_float32_close_to_float64():
    cost = torch.rand(4, 16, 24, dtype=torch.float64)
    c32 = cost.float().requires_grad_()
    c64 = cost.clone().requires_grad_()
    soft_dtw(c32, 0.1).sum().backward()
    soft_dtw(c64, 0.1).sum().backward()
    assert c32.grad.dtype == torch.float32
    torch.testing.assert_close(soft_dtw(c32, 0.1).double(), soft_dtw(c64, 0.1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(c32.grad.double(), c64.grad, rtol=1e-4, atol=1e-5)


def test_small_gamma_approaches_dtw():
    cost = np.random.default_rng(4).random((1, 8, 10))
    val, _ = _ours(cost, 1e-3)
    d = np.full((9, 11), np.inf)
    d[0, 0] = 0
    for i in range(1, 9):
        for j in range(1, 11):
            d[i, j] = cost[0, i - 1, j - 1] + min(d[i - 1, j - 1], d[i - 1, j], d[i, j - 1])
    assert abs(val[0] - d[8, 10]) < 0.05


def test_divergence_identical_is_zero_and_positive_otherwise():
    torch.manual_seed(0)
    x = torch.randn(3, 10, 4, dtype=torch.float64)
    y = torch.randn(3, 12, 4, dtype=torch.float64)
    xl, yl = torch.tensor([10, 6, 3]), torch.tensor([12, 5, 9])
    same = soft_dtw_divergence(pairwise_cost(x, x), pairwise_cost(x, x), pairwise_cost(x, x), 1.0, xl, xl)
    assert same.abs().max() < 1e-9
    diff = soft_dtw_divergence(pairwise_cost(x, y), pairwise_cost(x, x), pairwise_cost(y, y), 1.0, xl, yl)
    assert (diff > 0).all()


def test_pairwise_costs():
    torch.manual_seed(0)
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    y = torch.randn(2, 7, 3, dtype=torch.float64, requires_grad=True)
    torch.testing.assert_close(pairwise_cost(x, y), torch.cdist(x, y) ** 2)
    assert torch.autograd.gradcheck(lambda a, b: pairwise_cost(a, b), (x, y))
    cos = torch.nn.functional.cosine_similarity(x[:, :, None], y[:, None], dim=-1)
    torch.testing.assert_close(pairwise_cost(x, y, "cosine"), 1 - cos)
    yl = torch.tensor([7, 4])
    c = pairwise_cost(x, y, "neg_log_softmax_cosine", temperature=0.5, y_lengths=yl)
    torch.testing.assert_close(torch.exp(-c[1, :, :4]).sum(-1), torch.ones(5, dtype=torch.float64))
    assert (c[1, :, 4:] == 0).all()
    torch.testing.assert_close(c[0], -torch.log_softmax(cos[0] / 0.5, dim=-1))


def test_input_validation():
    c = torch.rand(2, 3, 4)
    with pytest.raises(ValueError):
        soft_dtw(c, 0.0)
    with pytest.raises(ValueError):
        soft_dtw(c, 0.1, torch.tensor([0, 3]))
    with pytest.raises(ValueError):
        soft_dtw(c, 0.1, None, torch.tensor([5, 3]))
    with pytest.raises(ValueError):
        soft_dtw(c[0], 0.1)
