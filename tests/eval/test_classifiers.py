"""Recognition metrics vs scikit-learn, zero-shot argmax, deterministic linear probe."""

from __future__ import annotations

import numpy as np
import pytest

sk_metrics = pytest.importorskip("sklearn.metrics")  # via tslearn in the [test] extra
accuracy_score, f1_score = sk_metrics.accuracy_score, sk_metrics.f1_score

from hierskp.eval.classifiers import (  # noqa: E402 - after the optional sklearn import
    macro_f1,
    recognition_metrics,
    train_linear_probe,
    zero_shot_predict,
)


@pytest.mark.parametrize("seed", range(5))
def test_pooled_and_per_video_match_sklearn(seed):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 7, 500)
    p = np.where(rng.uniform(size=500) < 0.6, y, rng.integers(0, 7, 500))
    vids = rng.integers(0, 6, 500)
    m = recognition_metrics(y, p, vids)
    assert m["accuracy"] == pytest.approx(accuracy_score(y, p))
    assert m["macro_f1"] == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    per_acc = [accuracy_score(y[vids == v], p[vids == v]) for v in np.unique(vids)]
    per_f1 = [f1_score(y[vids == v], p[vids == v], average="macro", zero_division=0) for v in np.unique(vids)]
    assert m["video_accuracy"] == pytest.approx(np.mean(per_acc))
    assert m["video_macro_f1"] == pytest.approx(np.mean(per_f1))
    assert m["video_macro_f1_std"] == pytest.approx(np.std(per_f1))


def test_macro_f1_with_fixed_labels_and_strings():
    assert macro_f1(["a", "b"], ["a", "a"]) == pytest.approx((2 / 3 + 0) / 2)
    assert macro_f1([0, 0], [0, 0], labels=[0, 1]) == pytest.approx(0.5)  # absent class scores 0


def test_zero_shot_is_argmax_of_cosine():
    rng = np.random.default_rng(0)
    cls = rng.standard_normal((5, 16))
    emb = rng.standard_normal((40, 16))
    want = (emb / np.linalg.norm(emb, axis=1, keepdims=True)) @ (cls / np.linalg.norm(cls, axis=1, keepdims=True)).T
    assert (zero_shot_predict(emb, cls) == want.argmax(1)).all()
    assert (zero_shot_predict(cls * 3.0, cls) == np.arange(5)).all()


@pytest.mark.parametrize("optimizer", ["lbfgs", "adamw"])
def test_linear_probe_learns_and_is_deterministic(optimizer):
    rng = np.random.default_rng(0)
    centers = rng.standard_normal((4, 32)) * 2
    ytr, yte = rng.integers(0, 4, 400), rng.integers(0, 4, 200)
    xtr = centers[ytr] + rng.standard_normal((400, 32))
    xte = centers[yte] + rng.standard_normal((200, 32))
    labels = np.array(["cut", "clip", "suture", "burn"])
    kw = dict(optimizer=optimizer, steps=100, seed=3)
    probe = train_linear_probe(xtr, labels[ytr], **kw)
    m = recognition_metrics(labels[yte], probe.predict(xte), yte % 3)
    assert m["accuracy"] > 0.9 and m["macro_f1"] > 0.9 and "video_accuracy" in m
    a = train_linear_probe(xtr, ytr, **kw)
    b = train_linear_probe(xtr, ytr, **kw)
    assert np.array_equal(a.weight, b.weight) and np.array_equal(a.bias, b.bias)
    assert set(np.unique(a.predict(xte))) <= {0, 1, 2, 3}
