"""Every realistic pair of feature sizes, end to end: real videos -> `extract` with a backbone of a real
family's widths -> `train` -> `evaluate` (frozen baseline included) -> `search` -> `load_model`.

Vision wider than text (DINOv2-B/L and ViT-B with MiniLM), equal (CLIP ViT-B/16 with its own
text tower, SigLIP-B with its own) and narrower (CLIP ViT-B/16 vision with SigLIP-B's text tower). The
embedded default (256 < 384) runs in the rest of the suite. Only DINOv2-B + MiniLM, the case that crashed
`hierskp evaluate`, runs outside the `slow` lane.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import hierskp
from cache_schema import open_cache
from hierskp.eval.report.build import evaluate_runs
from hierskp.experiments.train_and_evaluate import train_and_evaluate
from hierskp.extract import ExtractConfig, extract_manifest
from hierskp.extract.config import ExtractOptions
from hierskp.train import load_config
from tests.sizes.real_configs import build

# family: (vision backbone, text backbone ("default" = MiniLM), vision dim, text dim)
FAMILIES = {
    "dinov2-base+minilm": ("dinov2-base", "default", 768, 384),
    "dinov2-large+minilm": ("dinov2-large", "default", 1024, 384),
    "vit-base+minilm": ("vit-base", "default", 768, 384),
    "siglip-base": ("siglip-base", "siglip-base", 768, 768),
    "clip-vit-b16": ("clip-vit-b16", "clip-vit-b16", 512, 512),
    "clip-vit-b16+siglip-text": ("clip-vit-b16", "siglip-base", 512, 768),
}
FAST_LANE = {"dinov2-base+minilm"}
TRAIN = [
    "model.hidden_dim=32",
    "model.embed_dim=16",
    "model.heads=2",
    "data.batch_videos=2",
    "max_steps=3",
    "evaluate=false",
]


@pytest.fixture(scope="module")
def sized_corpus(tmp_path_factory) -> Path:
    """Three short real H.264 videos: two to train on, one held out."""
    from hierskp.synth import generate_corpus
    from hierskp.synth.config import get_config

    cfg = get_config("tiny", min_duration=6.0, max_duration=8.0).replace(split_fractions=(0.6, 0.0, 0.0, 0.4))
    return generate_corpus(tmp_path_factory.mktemp("sized"), n_videos=3, seed=3, config=cfg, progress=False)


@pytest.fixture(scope="module")
def backbones(tmp_path_factory):
    root, built = tmp_path_factory.mktemp("real_configs"), {}

    def get(name: str) -> str:
        if name == "default":
            return name
        if name not in built:
            built[name] = str(build(name, root))
        return built[name]

    return get


@pytest.mark.parametrize("family", [f if f in FAST_LANE else pytest.param(f, marks=pytest.mark.slow) for f in FAMILIES])
def test_family_extract_train_evaluate_search_load(family, sized_corpus, backbones, tmp_path):
    vision, text, dv, dt = FAMILIES[family]
    cache = str(tmp_path / "cache.zarr")
    options = ExtractOptions(backbone=backbones(vision), text_backbone=backbones(text), device="cpu")
    summary = extract_manifest(ExtractConfig.of(sized_corpus, cache, options), progress=False)
    assert summary.ok, summary.render()
    store = open_cache(cache, "r")
    rec = store.read_video(store.video_ids()[0])
    assert rec.features.shape[1] == dv and rec.text_video().shape[-1] == dt

    cfg = load_config(None, TRAIN, cache=cache, out=str(tmp_path / "run"), progress=False)
    run = train_and_evaluate(cfg)
    report = evaluate_runs(store, [run], tmp_path / "report", progress=False)
    kinds = [m["kind"] for m in report["methods"]]
    assert kinds == ["frozen_baseline", "heads"]
    for method in report["methods"]:
        ops = method["result"]["retrieval"]["operation"]
        assert ops["n"] >= 2 and all(math.isfinite(v) for v in _numbers(ops["v2t"]))

    hits = hierskp.search_library(run, store).search("the surgeon closes the incision", k=2, level="video")
    assert 1 <= len(hits) <= 2 and {h.video_id for h in hits} <= set(store.video_ids())

    model = hierskp.load_model(run)
    video = model.embed_video(rec.features)
    texts = model.embed_texts(["incision", "closure"])
    assert video.shape == (16,) and texts.shape == (2, 16)
    np.testing.assert_allclose(np.linalg.norm(texts, axis=1), 1.0, rtol=1e-5)


def _numbers(tree):
    if isinstance(tree, dict):
        for v in tree.values():
            yield from _numbers(v)
    elif isinstance(tree, int | float) and not isinstance(tree, bool):
        yield float(tree)
