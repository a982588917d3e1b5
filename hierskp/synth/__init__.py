"""Embedded synthetic corpus: procedure-structured open-surgery-like videos with
hierarchical (video / operation / frame) annotations, used when the real data is absent.

`generate_corpus(out_dir, n_videos, seed, config)` is the entry point; the heavy modules
(numpy rendering, PyAV) load only when it is first used.
"""

from __future__ import annotations

from typing import Any

from hierskp.synth.config import PRESETS, SynthConfig, get_config

__all__ = ["PRESETS", "SynthConfig", "get_config", "generate_corpus", "plan_corpus"]


def __getattr__(name: str) -> Any:
    if name in ("generate_corpus", "plan_corpus"):
        from hierskp.synth import corpus

        return getattr(corpus, name)
    raise AttributeError(f"module 'hierskp.synth' has no attribute {name!r}")
