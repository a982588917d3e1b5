"""HierSKP: hierarchical surgical knowledge pretraining on cached frozen-backbone features.

The public surface is `hierskp.api`: `hierskp.load_model(run_dir)` (a run as text and video encoders)
and `hierskp.search_library(run_dir, cache)` (search a cache's videos by text);
`hierskp.open_cache(url)` opens a feature cache (`hierskp.dataset.cache`); all three are
imported on first use, so `import hierskp` (and `hierskp --help`) stays light.
"""

from __future__ import annotations

from importlib import metadata
from pathlib import Path
from typing import Any


def _version() -> str:
    """The installed distribution's version (pyproject.toml says it once); a source tree that was never
    installed reads it from its pyproject.toml, and anything else is "0+unknown"."""
    try:
        return metadata.version("hierskp")
    except metadata.PackageNotFoundError:
        pyproject = Path(__file__).resolve().parents[1] / "pyproject.toml"
        if pyproject.is_file():
            import tomllib

            return str(tomllib.loads(pyproject.read_text())["project"]["version"])
        return "0+unknown"


__version__ = _version()
__all__ = ["load_model", "open_cache", "search_library", "__version__"]


def __getattr__(name: str) -> Any:
    if name == "load_model":
        from hierskp.api import load_model

        return load_model
    if name == "open_cache":  # the README's `hierskp.open_cache(url)`: the cache store API
        from hierskp.dataset.cache import open_cache

        return open_cache
    if name == "search_library":
        from hierskp.api import search_library

        return search_library
    raise AttributeError(f"module 'hierskp' has no attribute {name!r}")
