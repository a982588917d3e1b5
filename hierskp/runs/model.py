"""A trained run loaded once: heads, configs and the fingerprint of the cache it was trained on.

    model = load_run(run_dir)          # the run's heads (eval mode) behind the `Embedder` interface
    base = frozen_baseline(store)      # the same interface over mean-pooled frozen features

Evaluation takes a `RunModel`, never a run folder, so a report loads each run's heads once.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hierskp.dataset.cache import CacheStore
from hierskp.dataset.items import ItemSpec
from hierskp.losses.dtw_alignment import DEFAULT_ORDER_SCORER, OrderScorer
from hierskp.models.embedders import Embedder, FrozenEmbedder, HeadsEmbedder
from hierskp.models.heads import HierSKPHeads, load_heads

from .folder import HEADS_FILE, check_cache, heads_dir, is_finished, read_run_config

DEFAULT_TRAIN_SPLITS: tuple[str, ...] = ("pretrain", "train")


@dataclass
class RunModel:
    """What evaluation needs of one method: an embedder, the item layout it was trained with, and
    where it came from (`run_dir` None: the frozen baseline)."""

    embedder: Embedder
    spec: ItemSpec
    fingerprint_id: str
    run_dir: Path | None = None
    config: dict[str, Any] = field(default_factory=dict)  # RUN/config.json (empty for the baseline)
    heads: HierSKPHeads | None = None
    _sha256: str | None = None

    @property
    def method(self) -> str:
        return self.embedder.method

    @property
    def train_splits(self) -> tuple[str, ...]:
        """The splits the heads were trained on (the baseline saw none: the default ones)."""
        data = self.config.get("config", {}).get("data", {})
        return tuple(data.get("train_splits", DEFAULT_TRAIN_SPLITS))

    @property
    def order_scorer(self) -> OrderScorer:
        """The DTW order scorer's gamma and temperature: the run's `losses.dtw` (the baseline: the defaults)."""
        dtw = self.config.get("config", {}).get("losses", {}).get("dtw", {})
        default = DEFAULT_ORDER_SCORER
        return OrderScorer(float(dtw.get("gamma", default.gamma)), float(dtw.get("temperature", default.temperature)))

    @property
    def cache_info(self) -> dict[str, Any]:
        """The trained-on cache's root metadata (backbone and text backbone fingerprints)."""
        return dict(self.config.get("cache_info", {}))

    def heads_sha256(self) -> str:
        """sha256 of RUN/final/heads.safetensors ("frozen_baseline" without a run)."""
        if self.run_dir is None:
            return "frozen_baseline"
        if self._sha256 is None:
            h = hashlib.sha256()
            with open(heads_dir(self.run_dir) / HEADS_FILE, "rb") as fh:
                while chunk := fh.read(1 << 22):
                    h.update(chunk)
            self._sha256 = h.hexdigest()
        return self._sha256

    def check_cache(self, store: CacheStore) -> None:
        """Refuse a cache holding another backbone's features (the baseline takes any)."""
        if self.run_dir is not None:
            check_cache(self.fingerprint_id, store, self.run_dir)


def load_run(run_dir: str | Path, device: str = "cpu") -> RunModel:
    """Load RUN/final (heads, eval mode) and RUN/config.json once."""
    run_dir = Path(run_dir)
    if not is_finished(run_dir):
        raise FileNotFoundError(f"{run_dir}: not a finished run folder (no final/{HEADS_FILE})")
    cache = read_run_config(run_dir).get("cache_url", "CACHE")
    recover = (
        f"rewrite them from the run's last checkpoint with `hierskp train --cache {cache} --out {run_dir} "
        "--resume`, or train a new run"
    )
    model, meta = load_heads(heads_dir(run_dir), device=device, recover=recover)
    data = meta.get("train_config", {}).get("data", {})
    spec = ItemSpec(
        frame_window=int(data.get("frame_window", 4)),
        max_clip_len=model.cfg.max_clip_len,
        max_video_len=model.cfg.max_video_len,
        video_clip_len=model.cfg.video_clip_len,
    )
    return RunModel(
        embedder=HeadsEmbedder(model),
        spec=spec,
        fingerprint_id=str(meta["cache_fingerprint_id"]),
        run_dir=run_dir,
        config=read_run_config(run_dir),
        heads=model,
        _sha256=meta.get("heads_sha256"),  # verified by load_heads
    )


def frozen_baseline(store: CacheStore) -> RunModel:
    """Mean-pooled frozen features and cached text embeddings (see `hierskp.models.embedders`)."""
    rec = store.read_video(store.video_ids()[0])
    embedder = FrozenEmbedder(int(rec.features.shape[1]), int(rec.text_video().shape[-1]))
    return RunModel(embedder=embedder, spec=ItemSpec(), fingerprint_id=store.fingerprint_id)


def load_method(store: CacheStore, run_dir: str | Path | None, device: str = "cpu") -> RunModel:
    """The run at `run_dir` checked against `store`, or the frozen baseline of `store` (None)."""
    if run_dir is None:
        return frozen_baseline(store)
    model = load_run(run_dir, device)
    model.check_cache(store)
    return model
