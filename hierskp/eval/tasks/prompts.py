"""User class prompts for zero-shot recognition and localization (`hierskp evaluate --prompts FILE`).

    skin_closure: ["skin closure", "the surgeon closes the skin"]
    irrigation: "irrigation of the surgical field"     # one string is fine too

Each label's prompts go through the run's text encoder (the one recorded in the cache fingerprint)
and then each method's text head; the label's prompt is the normalised mean (prompt ensembling, as
SurgVLP's zero-shot protocol). Labels need no training captions: a class the model never saw in
training can be predicted. Without a prompts file, a class's prompt is the mean of its training captions.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from hierskp.models.embedders import Embedder


class PromptsError(ValueError):
    """The prompts file is unreadable or not a mapping of label -> prompt string(s)."""


def load_prompts(path: str | Path) -> dict[str, list[str]]:
    """label -> non-empty prompt strings, validated; errors name the file, the label and the value."""
    path = Path(path)
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise PromptsError(f"{path}: cannot read the prompts file: {exc}") from None
    if not isinstance(tree, dict) or not tree:
        raise PromptsError(f"{path}: expected a mapping of label -> prompt string(s), got {type(tree).__name__}")
    out: dict[str, list[str]] = {}
    for label, value in tree.items():
        texts = [value] if isinstance(value, str) else value
        if (
            not isinstance(label, str)
            or not label.strip()
            or not isinstance(texts, list)
            or not texts
            or not all(isinstance(t, str) and t.strip() for t in texts)
        ):
            raise PromptsError(
                f"{path}: label {label!r}: expected a non-empty string or list of non-empty strings, got {value!r}"
            )
        out[label] = [t.strip() for t in texts]
    if len(out) < 2:
        raise PromptsError(f"{path}: at least 2 labels are needed for recognition, got {list(out)}")
    return out


def encode_prompts(prompts: dict[str, list[str]], text_encoder: Any) -> dict[str, np.ndarray]:
    """label -> [n, Dt] raw sentence embeddings from the cache's text encoder (done once per report)."""
    return {label: text_encoder.encode(texts).float().cpu().numpy() for label, texts in prompts.items()}


@torch.no_grad()
def prompt_classes(encoded: dict[str, np.ndarray], embedder: Embedder) -> tuple[list[str], np.ndarray]:
    """(sorted labels, [C, E] unit prompts): per label, the normalised mean of its prompts through `embedder`."""
    classes = sorted(encoded)
    rows = []
    for c in classes:
        emb = embedder.text(torch.from_numpy(np.asarray(encoded[c], dtype=np.float32))).float().cpu().numpy()
        mean = emb.mean(axis=0)
        rows.append(mean / max(float(np.linalg.norm(mean)), 1e-12))
    return classes, np.stack(rows).astype(np.float32)
