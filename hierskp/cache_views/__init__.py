"""Views of a feature cache for people and other tools: the per-video plot and the ActionFormer-style feature export."""
