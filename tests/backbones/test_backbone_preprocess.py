"""The batched tensor preprocessing reproduces the HF PIL image processors.

Tolerance: resizing differs from PIL by at most 1 grey level on CPU (uint8 resize) and 2 on the
float path used on GPUs, so |diff| <= 2.5/255/min(std) in normalised units; the mean |diff| must
stay tiny (almost every pixel is identical).
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hierskp.backbones.preprocess import preprocess_frames, spec_from_processor

SHAPES = [(48, 64), (64, 48), (33, 47), (20, 26), (32, 32), (120, 160)]  # landscape, portrait, odd, upsample, exact


def _processors():
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    from hierskp.backbones.embedded import build_embedded_processor

    crop = {"height": 32, "width": 32}
    return {
        "clip": CLIPImageProcessorPil(size={"shortest_edge": 40}, crop_size=crop),
        "clip-crop-larger": CLIPImageProcessorPil(size={"shortest_edge": 24}, crop_size=crop),  # zero padding
        "siglip": SiglipImageProcessorPil(size=crop),
        "dinov2": BitImageProcessorPil(size={"shortest_edge": 36}, crop_size=crop),
        "vit-bilinear": ViTImageProcessorPil(size=crop),
        "vit-nearest": ViTImageProcessorPil(size=crop, resample=0),
        "embedded": build_embedded_processor(),
    }


@pytest.fixture(scope="module")
def processors():
    return _processors()


@pytest.mark.parametrize("uint8_resize", [True, False], ids=["cpu-uint8", "float-2pass"])
@pytest.mark.parametrize(
    "name", ["clip", "clip-crop-larger", "siglip", "dinov2", "vit-bilinear", "vit-nearest", "embedded"]
)
def test_tensor_path_matches_processor(name, uint8_resize, processors, frames_factory):
    proc = processors[name]
    spec = spec_from_processor(proc)
    assert spec is not None
    tol = 2.5 / 255 / min(spec.image_std)
    for h, w in SHAPES:
        frames = frames_factory(3, h, w, seed=h * w)
        ref = proc(images=list(frames), return_tensors="pt")["pixel_values"]
        ours = preprocess_frames(torch.from_numpy(frames), spec, uint8_resize=uint8_resize)
        assert ours.shape == ref.shape and ours.dtype == torch.float32
        diff = (ours - ref).abs()
        assert diff.max() <= tol, (name, h, w, diff.max())
        assert diff.mean() <= 2e-3 * tol * 255, (name, h, w, diff.mean())


def test_unsupported_processor_falls_back(processors):
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil

    assert spec_from_processor(CLIPImageProcessorPil(resample=1)) is None  # LANCZOS: let the processor run
    assert spec_from_processor(CLIPImageProcessorPil(size={"shortest_edge": 32, "longest_edge": 64})) is None


def test_rejects_non_uint8(processors):
    spec = spec_from_processor(processors["clip"])
    with pytest.raises(ValueError):
        preprocess_frames(torch.zeros((1, 32, 32, 3)), spec)
    assert np.allclose(spec.output_hw(100, 50), (32, 32))
