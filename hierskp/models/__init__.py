"""Trainable stage-2 heads (temporal aggregators + projections into a shared video-text space)."""

from .heads import TEMPERATURE_LEVELS, HeadsConfig, HierSKPHeads, ModelConfig, load_heads, save_heads
from .temporal import AttentionPool, TemporalAggregator, sinusoidal_positions

__all__ = [
    "AttentionPool",
    "HeadsConfig",
    "HierSKPHeads",
    "ModelConfig",
    "TEMPERATURE_LEVELS",
    "TemporalAggregator",
    "load_heads",
    "save_heads",
    "sinusoidal_positions",
]
