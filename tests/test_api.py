"""`hierskp.load_model`: a run trained on one corpus, applied to features and free text of another
corpus extracted with the same backbones, agrees with the evaluation path and guards its text encoder."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch

import hierskp
from hierskp.dataset.catalog import catalog
from hierskp.eval.tasks.embed import embed_split
from hierskp.eval.tasks.order import order_retrieval
from hierskp.eval.tasks.order_controls import order_controls
from hierskp.eval.tasks.retrieval import annotated_orders, split_metrics
from hierskp.losses import DEFAULT_ORDER_SCORER, OrderScorer, dtw_order_scores
from hierskp.runs.encoders import TextEncoderMismatch
from hierskp.runs.model import frozen_baseline, load_run
from hierskp.train import load_config, train
from tests.fixtures.synthetic_cache import make_synthetic_cache

FAST = ["model.hidden_dim=32", "model.embed_dim=32", "model.heads=2", "data.batch_videos=4", "max_steps=8"]
SCORER = (0.5, 0.2)  # the run's own DTW gamma and temperature (not the 0.1 defaults): the scorer must use them


@pytest.fixture(scope="module")
def corpora(tmp_path_factory):
    from hierskp.backbones import load_text_encoder

    enc = load_text_encoder("default", device="cpu")
    root = tmp_path_factory.mktemp("api")
    kw = {"vision_dim": 16, "op_frames": (3, 6), "text_encoder": enc}
    trained_on = make_synthetic_cache(root / "a.zarr", n_videos=10, seed=0, **kw)
    other = make_synthetic_cache(root / "b.zarr", n_videos=5, seed=7, **kw)  # another corpus, same backbones
    dtw = [f"losses.dtw.gamma={SCORER[0]}", f"losses.dtw.temperature={SCORER[1]}"]
    cfg = load_config(
        None, FAST + dtw + ["evaluate=false"], cache=trained_on.url, out=str(root / "run"), progress=False
    )
    return other, train(cfg), enc


def test_embeddings_match_the_evaluation_path_on_another_corpus(corpora):
    other, run, enc = corpora
    model = hierskp.load_model(run, text_encoder=enc)
    emb = embed_split(other, load_run(run), "test")  # same backbone fingerprint: accepted
    (video,) = catalog(other, ["test"])
    feats = other.read_video(video.video_id).features
    np.testing.assert_allclose(model.embed_video(feats), emb.levels["video"].video[0], atol=1e-5)
    (a, b) = video.op_rows[1]
    np.testing.assert_allclose(model.embed_segment(feats[a:b]), emb.levels["operation"].video[1], atol=1e-5)
    texts = list(video.op_texts)
    t = model.embed_texts(texts)
    assert t.dtype == np.float32 and t.shape == (len(texts), 32)
    np.testing.assert_allclose(np.linalg.norm(t, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(t, emb.levels["operation"].text[: len(texts)], atol=1e-5)  # cached rows, same encoder
    o = emb.order[0]
    expected = float(dtw_order_scores(o.tokens, o.n_tokens, [o.steps], *SCORER)[0])
    assert model.order_score(feats, texts, scorer="dtw") == pytest.approx(expected, abs=1e-5)
    clips = load_run(run).embedder.video_clips(o.clip_features[None], o.clip_mask[None])[0]
    expected = float(dtw_order_scores(clips, o.n_tokens, [o.steps], *SCORER)[0])
    assert model.order_score(feats, texts) == pytest.approx(expected, abs=1e-5)  # clip-DTW, the default
    assert model.order_score(feats, texts[::-1]) != pytest.approx(expected, abs=1e-6)  # order matters
    with pytest.raises(ValueError, match="scorer"):
        model.order_score(feats, texts, scorer="global")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="16"):
        model.embed_video(np.zeros((5, 8), np.float32))


def test_text_encoder_of_another_fingerprint_is_refused(corpora, tmp_path):
    _, run, enc = corpora
    copy = shutil.copytree(run, tmp_path / "run")
    cfg = json.loads((copy / "config.json").read_text())
    cfg["cache_info"]["text_backbone"]["fingerprint_id"] = "0123456789abcdef"
    (copy / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(TextEncoderMismatch, match="0123456789abcdef"):
        hierskp.load_model(copy, text_encoder=enc)
    lazy = hierskp.load_model(copy)  # loads the recorded encoder on first use, then refuses it
    with pytest.raises(TextEncoderMismatch, match="0123456789abcdef"):
        lazy.embed_texts(["a"])
    assert torch.is_grad_enabled()  # no global state changed by the API


def test_recorded_text_encoder_is_loaded(corpora):
    other, run, _ = corpora
    model = hierskp.load_model(run)  # no encoder given: the recorded one (the bundled MiniLM)
    (video,) = catalog(other, ["test"])
    rows = other.read_video(video.video_id).text_operations()
    expected = model.heads.encode_text(torch.from_numpy(np.asarray(rows, np.float32))).detach().numpy()
    np.testing.assert_allclose(model.embed_texts(list(video.op_texts)), expected, atol=1e-5)


def test_evaluation_scores_order_with_the_runs_gamma_and_temperature(corpora):
    other, run, _ = corpora
    model = load_run(run)
    assert model.order_scorer == SCORER and frozen_baseline(other).order_scorer == DEFAULT_ORDER_SCORER
    emb = embed_split(other, model, "pretrain")  # 3 videos (test has 1)
    got = split_metrics(other, model, "pretrain", emb).to_dict()
    assert got["order"] == order_retrieval(model.embedder, emb, scorer=OrderScorer(*SCORER)).to_dict()
    default = order_retrieval(model.embedder, emb).to_dict()
    assert got["order"]["dtw"] != default["dtw"]  # the default would score otherwise
    controls = order_controls(model.embedder, emb, annotated_orders(other), scorer=OrderScorer(*SCORER)).to_dict()
    assert json.dumps(got["order_controls"], sort_keys=True) == json.dumps(controls, sort_keys=True)  # NaN == NaN
