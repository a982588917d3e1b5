"""Embed a split of the cache at the three HierSKP levels, with trained heads or the frozen baseline.

    embed_split(store, run_dir, split="test") -> LevelEmbeddings
    embed_split(store, None, split="test")    -> the frozen-feature baseline

Frozen baseline (no training): windows, segments and videos are mean-pooled backbone features,
texts are the cached sentence embeddings. When the two dimensions are equal (a paired encoder
such as CLIP) they are compared directly. Otherwise there is no shared space at all, and the
baseline is honest about it: both sides go through fixed, seeded random orthogonal projections
into min(Dv, Dt) dimensions, so cross-modal scores are at chance level by construction.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import torch
import torch.nn.functional as F

from cache_schema import CacheStore
from hierskp.eval.retrieval import retrieval_metrics
from hierskp.models.heads import HierSKPHeads, load_heads
from hierskp.train.batch import Batch, collate
from hierskp.train.data import CacheVideoDataset, ItemSpec
from hierskp.train.index import VideoIndex, build_index
from hierskp.train.rundir import check_cache

LEVELS: tuple[str, ...] = ("video", "operation", "frame")


@dataclass
class LevelData:
    """Row i of `video` (video side) and row i of `text` (text side) are a positive pair."""

    video: np.ndarray  # [N, E] float32, L2-normalised
    text: np.ndarray  # [N, E]
    video_ids: list[str]
    texts: list[str]  # the annotation text of each pair; identical strings are equally relevant
    labels: list[str]  # procedure (video), operation label (operation), narration text (frame)
    times: np.ndarray  # [N, 2] seconds covered by the video side


@dataclass
class LevelEmbeddings:
    split: str
    method: str  # "heads" | "frozen_baseline"
    run_dir: str | None
    fingerprint_id: str
    levels: dict[str, LevelData] = field(default_factory=dict)


class Embedder(Protocol):
    method: str

    def clips(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...
    def video(self, x: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...
    def text(self, t: torch.Tensor) -> torch.Tensor: ...
    def sequence(self, t: torch.Tensor, mask: torch.Tensor) -> torch.Tensor: ...


class HeadsEmbedder:
    method = "heads"

    def __init__(self, model: HierSKPHeads):
        self.model = model.eval()

    def clips(self, x, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_clips(x, mask)

    def video(self, x, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_video(x, mask)

    def text(self, t):  # type: ignore[no-untyped-def]
        return self.model.encode_text(t)

    def sequence(self, t, mask):  # type: ignore[no-untyped-def]
        return self.model.encode_sequence(t, mask)


def _orthonormal(in_dim: int, out_dim: int, gen: torch.Generator) -> torch.Tensor:
    """[in_dim, out_dim] with orthonormal columns (out_dim <= in_dim): keeps within-modality cosines."""
    q, _ = torch.linalg.qr(torch.randn(in_dim, out_dim, generator=gen))
    return q


class FrozenEmbedder:
    """Mean pooling + identity (equal dims) or seeded random orthogonal projections (see module doc)."""

    method = "frozen_baseline"

    def __init__(self, vision_dim: int, text_dim: int, seed: int = 0):
        gen = torch.Generator().manual_seed(seed)
        e = min(vision_dim, text_dim)
        same = vision_dim == text_dim
        self.pv = torch.eye(e) if same else _orthonormal(vision_dim, e, gen)
        self.pt = torch.eye(e) if same else _orthonormal(text_dim, e, gen)

    def clips(self, x, mask):  # type: ignore[no-untyped-def]
        w = mask.float().unsqueeze(-1)
        return F.normalize(((x * w).sum(1) / w.sum(1).clamp_min(1)) @ self.pv, dim=-1)

    def video(self, x, mask):  # type: ignore[no-untyped-def]
        b, n, c, d = x.shape
        flat = self.clips(x.reshape(b, n * c, d), mask.reshape(b, n * c))
        return flat, self.clips(x.reshape(b * n, c, d), mask.reshape(b * n, c)).reshape(b, n, -1)

    def text(self, t):  # type: ignore[no-untyped-def]
        return F.normalize(t @ self.pt, dim=-1)

    def sequence(self, t, mask):  # type: ignore[no-untyped-def]
        return self.clips(t @ self.pt, mask)  # a bag of steps: blind to order by construction


def load_embedder(store: CacheStore, run_dir: str | Path | None, device: str = "cpu") -> tuple[Embedder, ItemSpec]:
    """The run's heads (refusing a cache of another fingerprint) or the frozen baseline, and the
    item layout (window size, pooling lengths) the run was trained with."""
    if run_dir is None:
        vid = store.video_ids()[0]
        rec = store.read_video(vid)
        return FrozenEmbedder(int(rec.features.shape[1]), int(rec.text_video().shape[-1])), ItemSpec()
    model, meta = load_heads(Path(run_dir) / "final", device=device)
    check_cache(meta["cache_fingerprint_id"], store, run_dir)
    data = meta.get("train_config", {}).get("data", {})
    spec = ItemSpec(
        frame_window=int(data.get("frame_window", 4)),
        max_clip_len=model.cfg.max_clip_len,
        max_video_len=model.cfg.max_video_len,
        video_clip_len=model.cfg.video_clip_len,
    )
    return HeadsEmbedder(model), spec


def iter_batches(store: CacheStore, index: list[VideoIndex], spec: ItemSpec, batch_videos: int = 8) -> Iterator[Batch]:
    """Deterministic evaluation batches (no jitter, every narration) in index order."""
    ds = CacheVideoDataset(store.url, index, spec)
    ds._store, ds._pid = store, os.getpid()  # reuse the caller's open handle
    for start in range(0, len(index), batch_videos):
        yield collate([ds[i] for i in range(start, min(len(index), start + batch_videos))])


def _l(arrs: list[torch.Tensor], e: int) -> np.ndarray:
    return torch.cat(arrs).numpy().astype(np.float32) if arrs else np.zeros((0, e), np.float32)


@torch.no_grad()
def embed_split(
    store: CacheStore, run_dir: str | Path | None, split: str = "test", batch_videos: int = 8, device: str = "cpu"
) -> LevelEmbeddings:
    """Embeddings of every complete video of `split` at the video, operation and frame levels."""
    embedder, spec = load_embedder(store, run_dir, device)
    index = build_index(store, [split])
    out = {k: {"video": [], "text": []} for k in LEVELS}
    meta: dict[str, dict[str, list[Any]]] = {k: {"ids": [], "texts": [], "labels": [], "times": []} for k in LEVELS}
    for batch in iter_batches(store, index, spec, batch_videos):
        batch = batch.to(device)
        entries = [index[int(i)] for i in batch.index]
        out["video"]["video"].append(embedder.video(batch.video, batch.video_clip_mask)[0].cpu())
        out["video"]["text"].append(embedder.text(batch.t_video).cpu())
        if batch.ops is not None and batch.ops.shape[0]:
            out["operation"]["video"].append(embedder.clips(batch.ops, batch.ops_mask).cpu())
            out["operation"]["text"].append(embedder.text(batch.t_ops).cpu())
        if batch.windows is not None and batch.windows.shape[0]:
            out["frame"]["video"].append(embedder.clips(batch.windows, batch.windows_mask).cpu())
            out["frame"]["text"].append(embedder.text(batch.t_narr).cpu())
        for e in entries:
            _add(meta["video"], [e.video_id], [e.video_text], [e.procedure], [(0.0, float(e.n_frames))])
            _add(meta["operation"], [e.video_id] * e.n_ops, list(e.op_texts), list(e.op_labels), e.op_times.tolist())
            _add(
                meta["frame"],
                [e.video_id] * len(e.narr_texts),
                list(e.narr_texts),
                list(e.narr_texts),
                [(t, t) for t in e.narr_times.tolist()],
            )
    e_dim = next((t.shape[1] for k in LEVELS for t in out[k]["video"]), 1)
    levels = {
        k: LevelData(
            _l(out[k]["video"], e_dim),
            _l(out[k]["text"], e_dim),
            meta[k]["ids"],
            meta[k]["texts"],
            meta[k]["labels"],
            np.asarray(meta[k]["times"], dtype=np.float64).reshape(-1, 2),
        )
        for k in LEVELS
    }
    return LevelEmbeddings(
        split, embedder.method, None if run_dir is None else str(run_dir), store.fingerprint_id, levels
    )


def _add(m: dict[str, list[Any]], ids: list[str], texts: list[str], labels: list[str], times: list[Any]) -> None:
    m["ids"] += ids
    m["texts"] += texts
    m["labels"] += labels
    m["times"] += [tuple(t) for t in times]


def level_retrieval_metrics(level: LevelData, relevance: str = "texts") -> dict[str, Any]:
    """v2t and t2v retrieval over the unique texts of a level; every item whose text (or label,
    with relevance="labels") equals the query's is relevant, since identical strings have identical
    embeddings and no model can rank one copy above another."""
    keys = level.texts if relevance == "texts" else level.labels
    if len(keys) < 2:
        return {"n": len(keys)}
    uniq, first, inv = np.unique(np.asarray(keys), return_index=True, return_inverse=True)
    texts = level.text[first]  # one text-side row per unique key
    sim = level.video @ texts.T  # [N items, U texts]
    rel = inv[:, None] == np.arange(len(uniq))[None, :]
    v2t, t2v = retrieval_metrics(sim, rel), retrieval_metrics(sim.T, rel.T)
    return {
        "n": len(keys),
        "n_texts": len(uniq),
        "v2t": v2t,
        "t2v": t2v,
        "mean_R@1": 0.5 * (v2t["R@1"] + t2v["R@1"]),
        "mean_R@5": 0.5 * (v2t["R@5"] + t2v["R@5"]),
    }
