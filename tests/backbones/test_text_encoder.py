"""load_text_encoder: the bundled all-MiniLM-L6-v2 default and CLIP / SigLIP text towers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from hierskp.backbones import load_text_encoder

PHRASES = [
    "retract the thyroid lobe",
    "thyroid lobe retraction",
    "close the skin",
    "ligate the superior thyroid artery",
    "identify the recurrent laryngeal nerve",
]


@pytest.fixture(scope="module")
def minilm():
    return load_text_encoder(device="cpu")


def test_default_is_minilm_and_normalised(minilm):
    emb = minilm.encode(PHRASES)
    assert emb.shape == (len(PHRASES), 384) and emb.dtype == torch.float32 and minilm.dim == 384
    assert torch.allclose(emb.norm(dim=1), torch.ones(len(PHRASES)), atol=1e-5)
    fp = minilm.fingerprint
    assert fp["architecture"] == "BertModel" and fp["dim"] == 384 and fp["preprocessing"]["max_length"] == 256
    assert len(fp["fingerprint_id"]) == 16


def test_semantics(minilm):
    a, b, c = minilm.encode(PHRASES[:3])
    assert a @ b > a @ c + 0.3, (float(a @ b), float(a @ c))


def test_batching_and_order(minilm):
    together = minilm.encode(PHRASES, batch_size=64)
    one_by_one = torch.cat([minilm.encode([p]) for p in PHRASES])
    assert torch.allclose(together, one_by_one, atol=1e-5)
    assert torch.allclose(minilm.encode(PHRASES[::-1], batch_size=2), together.flip(0), atol=1e-5)
    assert minilm.encode([]).shape == (0, 384)
    with pytest.raises(TypeError):
        minilm.encode("a single string")


def test_matches_sentence_transformers(minilm):
    st = pytest.importorskip("sentence_transformers")
    from hierskp.backbones.text import default_text_model_path

    ref = st.SentenceTransformer(str(default_text_model_path()), device="cpu").encode(PHRASES, convert_to_tensor=True)
    assert torch.allclose(minilm.encode(PHRASES), F.normalize(ref, dim=-1), atol=1e-4)


@pytest.mark.parametrize("name", ["clip", "siglip"])
def test_dual_tower_text(name, tiny_models):
    model = tiny_models[name].model
    enc = load_text_encoder(str(tiny_models[name].path), device="cpu")
    emb = enc.encode(PHRASES[:3])
    batch = enc.tokenizer(
        PHRASES[:3],
        padding="max_length" if name == "siglip" else True,
        truncation=True,
        max_length=enc.max_length,
        return_tensors="pt",
    )
    with torch.no_grad():
        ref = model.get_text_features(
            input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
        ).pooler_output
    assert emb.shape == (3, ref.shape[1]) and enc.dim == ref.shape[1]
    assert torch.allclose(emb, F.normalize(ref, dim=-1), atol=1e-5)
    assert not any("vision" in k for k in enc.model.state_dict())
