"""HierSKP: hierarchical surgical knowledge pretraining on cached frozen-backbone features."""

__version__ = "0.1.0"
