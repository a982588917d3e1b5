"""load_vision_encoder on tiny real CLIP / SigLIP / DINOv2 / ViT checkpoints, loaded by path."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hierskp.backbones import ArchSpec, load_vision_encoder, register_vision_architecture
from hierskp.backbones.registry import VISION_ARCHS

ARCHS = ["clip", "siglip", "dinov2", "vit"]
EXPECTED = {
    "clip": ("CLIPVisionModelWithProjection", "image_embeds"),
    "siglip": ("SiglipVisionModel", "pooler_output"),
    "dinov2": ("Dinov2Model", "pooler_output"),
    "vit": ("ViTModel", "CLS"),
}


@pytest.mark.parametrize("name", ARCHS)
def test_shapes_dims_and_determinism(name, tiny_models, loaded_encoders, frames_factory):
    enc = loaded_encoders[name]
    frames = frames_factory(7, 48, 64)
    out = enc.encode(frames, batch_size=3)
    assert out.shape == (7, tiny_models[name].dim) and out.dtype == torch.float32
    assert enc.dim == tiny_models[name].dim and enc.device == torch.device("cpu")
    assert torch.isfinite(out).all()
    # micro-batch size must not change results; repeated calls are identical
    assert torch.allclose(out, enc.encode(frames, batch_size=7), atol=1e-5)
    assert torch.equal(out, enc.encode(frames, batch_size=3))
    assert torch.allclose(out, enc.encode(torch.from_numpy(frames)), atol=1e-5)
    arch, pooling = EXPECTED[name]
    assert type(enc.model).__name__ == arch and pooling in enc.arch.pooling
    assert enc.fingerprint["architecture"] == arch and enc.fingerprint["dim"] == enc.dim
    assert not enc.model.training and not any(p.requires_grad for p in enc.model.parameters())
    assert enc.preprocess is not None  # standard processors take the fast tensor path


def _reference(name, model, pixels):
    """The embedding as the original dual-tower / full model defines it."""
    with torch.no_grad():
        if name in ("clip", "siglip"):
            return model.get_image_features(pixel_values=pixels).pooler_output
        out = model(pixel_values=pixels)
        return out.pooler_output if name == "dinov2" else out.last_hidden_state[:, 0]


@pytest.mark.parametrize("name", ARCHS)
def test_matches_original_model(name, tiny_models, loaded_encoders, frames_factory):
    enc = loaded_encoders[name]
    frames = frames_factory(5, 50, 44, seed=3)
    hf_pixels = enc.processor(images=list(frames), return_tensors="pt")["pixel_values"]
    ref = _reference(name, tiny_models[name].model, hf_pixels)
    out = enc.encode(frames)
    # same pixels -> same numbers; our tensor preprocessing is within 2 grey levels of PIL
    with torch.no_grad():
        exact = enc.arch.pool(enc.model(pixel_values=hf_pixels), {"pixel_values": hf_pixels})
    assert torch.allclose(exact, ref, atol=1e-5)
    assert F.cosine_similarity(out, ref).min() > 0.999


def test_siglip2_runs_through_its_processor(tiny_models, loaded_encoders, frames_factory):
    """SigLIP2 packs variable-size patch grids: no tensor path, the processor's outputs go to the model."""
    enc = loaded_encoders["siglip2"]
    assert enc.preprocess is None and type(enc.model).__name__ == "Siglip2VisionModel"
    frames = frames_factory(3, 48, 64)
    inputs = enc.processor(images=list(frames), return_tensors="pt")
    with torch.no_grad():
        ref = tiny_models["siglip2"].model.get_image_features(**inputs).pooler_output
    assert torch.allclose(enc.encode(frames, batch_size=2), ref, atol=1e-5)
    assert enc.fingerprint["preprocessing"]["max_num_patches"] == 16


def test_vision_tower_only_from_full_checkpoint(loaded_encoders):
    for name in ("clip", "siglip", "siglip2"):
        model = loaded_encoders[name].model
        assert not any("text" in k for k in model.state_dict())


def test_hf_processor_fallback_agrees(loaded_encoders, frames_factory):
    enc = loaded_encoders["clip"]
    frames = frames_factory(4, 60, 80, seed=5)
    fast = enc.encode(frames)
    spec, enc.preprocess = enc.preprocess, None
    try:
        slow = enc.encode(frames)
    finally:
        enc.preprocess = spec
    assert F.cosine_similarity(fast, slow).min() > 0.999


def test_input_validation_and_empty(loaded_encoders):
    enc = loaded_encoders["vit"]
    assert enc.encode(np.zeros((0, 32, 32, 3), np.uint8)).shape == (0, enc.dim)
    with pytest.raises(ValueError):
        enc.encode(np.zeros((2, 32, 32, 3), np.float32))
    with pytest.raises(ValueError):
        enc.encode(np.zeros((2, 3, 32, 32), np.uint8))


def test_bf16_autocast_on_cpu(tiny_models, loaded_encoders, frames_factory):
    enc = load_vision_encoder(str(tiny_models["dinov2"].path), device="cpu", dtype="bfloat16")
    frames = frames_factory(3, 40, 40)
    out = enc.encode(frames)
    assert out.dtype == torch.float32 and enc.fingerprint["dtype"] == "bfloat16"
    assert F.cosine_similarity(out, loaded_encoders["dinov2"].encode(frames)).min() > 0.98
    assert enc.fingerprint["fingerprint_id"] != loaded_encoders["dinov2"].fingerprint["fingerprint_id"]


def test_registry_adds_architecture(tiny_models, loaded_encoders, frames_factory):
    def mean_tokens(out, inputs):
        return out.last_hidden_state[:, 1:].mean(1)

    saved = VISION_ARCHS["vit"]
    register_vision_architecture(
        "vit", ArchSpec(mean_tokens, "mean of patch tokens", "ViTModel", load_kwargs={"add_pooling_layer": False})
    )
    try:
        enc = load_vision_encoder(str(tiny_models["vit"].path), device="cpu")
    finally:
        register_vision_architecture("vit", saved)
    frames = frames_factory(2, 32, 32)
    with torch.no_grad():
        hidden = (
            tiny_models["vit"]
            .model(pixel_values=enc.model_inputs(torch.from_numpy(frames))["pixel_values"])
            .last_hidden_state
        )
    assert torch.allclose(enc.encode(frames), hidden[:, 1:].mean(1), atol=1e-5)
    assert enc.fingerprint["pooling"] == "mean of patch tokens"
    assert enc.fingerprint["fingerprint_id"] != loaded_encoders["vit"].fingerprint["fingerprint_id"]


def test_refuses_checkpoint_with_missing_weights(tiny_models):
    """A ViT saved without its pooler must not be loaded with a random pooler."""
    saved = VISION_ARCHS["vit"]
    register_vision_architecture("vit", ArchSpec(lambda o, i: o.pooler_output, "pooler", "ViTModel"))
    try:
        with pytest.raises(ValueError, match="missing"):
            load_vision_encoder(str(tiny_models["vit"].path), device="cpu")
    finally:
        register_vision_architecture("vit", saved)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,tol", [("float32", 1e-4), ("bfloat16", 5e-2)])
def test_embedded_encode_on_cuda_matches_cpu(dtype, tol):
    from hierskp.backbones import load_vision_encoder

    frames = np.random.default_rng(1).integers(0, 255, (7, 120, 160, 3), dtype=np.uint8)
    ref = load_vision_encoder("embedded", device="cpu", dtype="float32").encode(frames)
    gpu = load_vision_encoder("embedded", device="cuda", dtype=dtype, batch_size=3)
    out = gpu.encode(frames)
    assert out.device.type == "cpu" and out.dtype == torch.float32
    assert gpu.fingerprint["dtype"] == dtype
    assert ((out - ref).norm(dim=1) / ref.norm(dim=1)).max() < tol
