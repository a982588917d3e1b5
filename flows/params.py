"""The parameters the `hierskp-pipeline` and `retrain` flows share, declared once.

    prefect deployment run hierskp-pipeline/local --param params='{"manifest": "M", "cache": "C"}'

Both flows take one `params: PipelineParams` (what to extract, where, and how to train) next to
their own few options; the deployment's schema carries every field's type, bound and description,
so the UI's run form explains them and the server refuses a bad value before any flow run exists.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from flows.runners import RunnerOptions
from hierskp.extract.config import ExtractOptions


class PipelineParams(BaseModel):
    """A corpus (manifest), the feature cache it is extracted into, the runs folder, and the training."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    manifest: str = Field(min_length=1, description="the videos' manifest (JSON Lines); an absolute path")
    cache: str = Field(min_length=1, description="the feature cache (Zarr): a path or an s3:// URL")
    runs: str = Field(default="runs", min_length=1, description="the runs folder: RUNS/<run id>/, RUNS/current")
    extraction: ExtractOptions = ExtractOptions()
    storage_options: dict[str, Any] | None = Field(default=None, description="fsspec options of an s3:// cache")
    runner: RunnerOptions = RunnerOptions()
    train_config: str | None = Field(default=None, description="a training config: a YAML path or a packaged name")
    overrides: list[str] = Field(default_factory=list, description="training `key=value` overrides (hierskp --set)")
    seed: int = 0
    epochs: int | None = Field(default=None, ge=1, description="training epochs (default: the config's)")
    max_steps: int | None = Field(default=None, ge=1, description="training steps; wins over epochs")

    def extract_kwargs(self) -> dict[str, Any]:
        """The `extract-features` flow's arguments."""
        return {
            "manifest": self.manifest,
            "cache": self.cache,
            "extraction": self.extraction,
            "storage_options": self.storage_options,
            "runner": self.runner,
        }

    def train_kwargs(self, out: str, extra_overrides: list[str] | None = None) -> dict[str, Any]:
        """The `train-hierskp` flow's arguments for a run folder `out` (evaluation is the flows' own step)."""
        return {
            "cache": self.cache,
            "out": out,
            "config": self.train_config,
            "overrides": [*self.overrides, *(extra_overrides or [])],
            "seed": self.seed,
            "epochs": self.epochs,
            "max_steps": self.max_steps,
            "evaluate": False,
        }
