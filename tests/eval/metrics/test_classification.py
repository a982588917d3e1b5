"""Recognition metrics vs scikit-learn, zero-shot argmax, deterministic linear probe."""

from __future__ import annotations

import numpy as np
import pytest

sk_metrics = pytest.importorskip("sklearn.metrics")  # via tslearn in the [test] extra
accuracy_score, f1_score = sk_metrics.accuracy_score, sk_metrics.f1_score

from hierskp.eval.metrics.classification import (  # noqa: E402 - after the optional sklearn import
    macro_f1,
    recognition_metrics,
    zero_shot_predict,
)
from hierskp.eval.tasks.frame_probe import train_linear_probe  # noqa: E402


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


def _surgvlp_reference(y, p, vids):
    """SurgVLP's tests/zero_shot.py protocol, written out: per video, accuracy and sklearn's
    f1_score(average='macro') with its default labels (the classes in that video's truth or
    predictions); then the plain mean over videos."""
    accs, f1s = [], []
    for v in dict.fromkeys(vids):
        t = [a for a, w in zip(y, vids) if w == v]
        q = [b for b, w in zip(p, vids) if w == v]
        accs.append(sum(a == b for a, b in zip(t, q)) / len(t))
        scores = []
        for c in sorted(set(t) | set(q)):
            tp = sum(a == c and b == c for a, b in zip(t, q))
            scores.append(2 * tp / (sum(a == c for a in t) + sum(b == c for b in q)))
        f1s.append(sum(scores) / len(scores))
    return sum(accs) / len(accs), sum(f1s) / len(f1s)


@pytest.mark.parametrize("seed", range(4))
def test_per_video_metrics_follow_surgvlp_when_videos_hold_different_phases(seed):
    rng = np.random.default_rng(seed)
    y, p, vids = [], [], []
    for v in range(5):  # each video sees its own few phases, as real procedures do
        present = rng.choice(7, size=rng.integers(1, 5), replace=False)
        n = int(rng.integers(5, 60))
        t = rng.choice(present, n)
        y += t.tolist()
        p += np.where(rng.uniform(size=n) < 0.5, t, rng.integers(0, 7, n)).tolist()
        vids += [f"v{v}"] * n
    m = recognition_metrics(y, p, vids)
    ref_acc, ref_f1 = _surgvlp_reference(y, p, vids)
    assert m["video_accuracy"] == pytest.approx(ref_acc)
    assert m["video_macro_f1"] == pytest.approx(ref_f1)
    y, p, vids = np.array(y), np.array(p), np.array(vids)
    sk = np.mean([f1_score(y[vids == v], p[vids == v], average="macro") for v in np.unique(vids)])
    assert m["video_macro_f1"] == pytest.approx(sk)
