"""Backbones with the REAL widths of the families users run, random weights, cut to one layer.

Hidden, intermediate, head and projection sizes are those of the published checkpoints' config.json
(openai/clip-vit-base-patch16, google/siglip-base-patch16-224, facebook/dinov2-base, facebook/dinov2-large,
google/vit-base-patch16-224-in21k). Cut for speed: one layer, 32-px images (4 patches; DINOv2 28 px), and
the MiniLM word-piece vocabulary for the text towers (their own tokenizers cannot be fetched offline).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

CUT = {"num_hidden_layers": 1}


def _clip_vision() -> dict[str, Any]:
    return dict(hidden_size=768, intermediate_size=3072, num_attention_heads=12, patch_size=16, image_size=32, **CUT)


def _text(tokenizer: Any, **sizes: Any) -> dict[str, Any]:
    ids = dict(vocab_size=tokenizer.vocab_size, bos_token_id=101, eos_token_id=102, pad_token_id=0)
    return dict(**sizes, **ids, **CUT)


def _save(path: Path, model: Any, processor: Any, tokenizer: Any = None) -> Path:
    model.save_pretrained(path)
    processor.save_pretrained(path)
    if tokenizer is not None:
        tokenizer.save_pretrained(path)
    return path


def build(name: str, root: Path) -> Path:
    """Write backbone NAME (see FAMILIES in the test) under ROOT and return its folder."""
    import torch
    import transformers as tf
    from transformers.models.bit.image_processing_pil_bit import BitImageProcessorPil
    from transformers.models.clip.image_processing_pil_clip import CLIPImageProcessorPil
    from transformers.models.siglip.image_processing_pil_siglip import SiglipImageProcessorPil
    from transformers.models.vit.image_processing_pil_vit import ViTImageProcessorPil

    from hierskp.backbones.text import default_text_model_path

    tf.utils.logging.disable_progress_bar()
    torch.manual_seed(0)
    tok = tf.AutoTokenizer.from_pretrained(default_text_model_path())
    crop = {"height": 32, "width": 32}
    path = root / name
    if name == "clip-vit-b16":  # vision 768 -> projection 512, text 512 -> projection 512
        text = _text(tok, hidden_size=512, intermediate_size=2048, num_attention_heads=8, max_position_embeddings=77)
        cfg = tf.CLIPConfig(text_config=text, vision_config=_clip_vision(), projection_dim=512)
        proc = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size=crop)
        return _save(path, tf.CLIPModel(cfg).eval(), proc, tok)
    if name == "siglip-base":  # vision 768 (attention-pool head), text 768 (projection_size = hidden)
        text = _text(tok, hidden_size=768, intermediate_size=3072, num_attention_heads=12, max_position_embeddings=64)
        cfg = tf.SiglipConfig(text_config=text, vision_config=_clip_vision())
        return _save(path, tf.SiglipModel(cfg).eval(), SiglipImageProcessorPil(size=crop), tok)
    if name in ("dinov2-base", "dinov2-large"):  # CLS 768 / 1024
        big = name == "dinov2-large"
        sizes = dict(hidden_size=1024, num_attention_heads=16) if big else dict(hidden_size=768, num_attention_heads=12)
        cfg = tf.Dinov2Config(**sizes, mlp_ratio=4, patch_size=14, image_size=28, **CUT)
        proc = BitImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 28, "width": 28})
        return _save(path, tf.Dinov2Model(cfg).eval(), proc)
    if name == "vit-base":  # CLS 768
        cfg = tf.ViTConfig(
            hidden_size=768, intermediate_size=3072, num_attention_heads=12, patch_size=16, image_size=32
        )
        cfg.num_hidden_layers = 1
        return _save(path, tf.ViTModel(cfg, add_pooling_layer=False).eval(), ViTImageProcessorPil(size=crop))
    raise ValueError(f"unknown test backbone {name!r}")
