"""The embedded default backbone: deterministic build, atomic write, round trip through load_vision_encoder."""

from __future__ import annotations

import threading

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from hierskp.backbones import EMBEDDED_NAME, load_vision_encoder, weights_sha256
from hierskp.backbones.embedded import (
    EXPECTED_TENSOR_SHA256,
    MARKER,
    build_embedded_model,
    tensor_sha256,
    write_embedded_backbone,
)


@pytest.fixture(scope="module")
def embedded_path(tmp_path_factory):
    return write_embedded_backbone(tmp_path_factory.mktemp("home") / "backbones" / EMBEDDED_NAME)


@pytest.fixture(scope="module")
def embedded(embedded_path):
    return load_vision_encoder(str(embedded_path), device="cpu")


def test_weights_identical_everywhere(embedded_path, tmp_path):
    """Same tensors as on the machine that pinned EXPECTED_TENSOR_SHA256, and same files in a second build."""
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    assert tensor_sha256(build_embedded_model()) == EXPECTED_TENSOR_SHA256
    assert torch.equal(torch.random.get_rng_state(), state)  # building leaves the global RNG alone
    other = write_embedded_backbone(tmp_path / "second")
    assert weights_sha256(other) == weights_sha256(embedded_path)


def test_round_trip_matches_in_memory_model(embedded, frames_factory):
    frames = frames_factory(6, 240, 320)
    pixels = embedded.model_inputs(torch.from_numpy(frames))["pixel_values"]
    with torch.no_grad():
        ref = build_embedded_model()(pixel_values=pixels).image_embeds
    out = embedded.encode(frames)
    assert out.shape == (6, 256) and embedded.dim == 256
    assert torch.allclose(out, ref, atol=1e-6)
    assert embedded.fingerprint["architecture"] == "CLIPVisionModelWithProjection"


def test_name_resolves_via_hierskp_home(embedded, tmp_path, monkeypatch):
    monkeypatch.setenv("HIERSKP_HOME", str(tmp_path / "home"))
    for name in ("embedded", "embedded-vit-tiny"):
        enc = load_vision_encoder(name, device="cpu")
        assert enc.fingerprint["resolved_path"] == str((tmp_path / "home" / "backbones" / EMBEDDED_NAME).resolve())
        assert enc.fingerprint["model"] == EMBEDDED_NAME
        assert enc.fingerprint["fingerprint_id"] == embedded.fingerprint["fingerprint_id"]


def test_concurrent_writers(tmp_path):
    target = tmp_path / "backbones" / EMBEDDED_NAME
    errors: list[BaseException] = []

    def work():
        try:
            write_embedded_backbone(target)
        except BaseException as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert (target / MARKER).is_file() and (target / "model.safetensors").is_file()
    assert [p.name for p in target.parent.iterdir()] == [EMBEDDED_NAME]  # no temp dirs left behind


def _probe_images(height=240, width=320):
    yy, xx = np.mgrid[0:height, 0:width]
    solids = {
        "red": (200, 30, 30),
        "green": (30, 180, 40),
        "blue": (30, 40, 200),
        "tissue": (220, 140, 140),
        "grey": (128, 128, 128),
        "dark": (30, 20, 20),
    }
    images = {k: np.broadcast_to(np.array(c, np.uint8), (height, width, 3)) for k, c in solids.items()}
    patterns = {
        "stripes": np.sin(xx / 3.0) > 0,
        "checker": (xx // 8 + yy // 8) % 2 == 0,
        "noise": np.random.default_rng(0).random((height, width)) > 0.5,
    }
    tissue = np.array(solids["tissue"], np.float64)
    for k, mask in patterns.items():
        images[f"tissue-{k}"] = (tissue * (0.6 + 0.4 * mask[..., None])).astype(np.uint8)
    return list(images), np.stack(list(images.values()))


def test_features_separate_visually_different_images(embedded):
    names, images = _probe_images()
    emb = embedded.encode(images)
    centred = F.normalize(emb - emb.mean(0), dim=-1)
    cos = centred @ centred.T
    pairs = {(a, b): float(cos[i, j]) for i, a in enumerate(names) for j, b in enumerate(names) if i < j}
    print("centred cosine, worst pairs:", sorted(pairs.items(), key=lambda kv: -kv[1])[:4])
    print("red/green", pairs[("red", "green")], "tissue/tissue-stripes", pairs[("tissue", "tissue-stripes")])
    assert pairs[("red", "green")] < 0.0
    assert max(pairs.values()) < 0.95
    assert pairs[("tissue", "tissue-stripes")] < 0.8
