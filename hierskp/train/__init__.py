"""Stage 2: train the HierSKP heads on the cached features and text embeddings only."""

from .config import TrainConfig, load_config
from .loop import train

__all__ = ["TrainConfig", "load_config", "train"]
