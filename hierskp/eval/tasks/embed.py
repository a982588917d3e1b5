"""Embed a split of the cache at the three HierSKP levels, with a loaded run or the frozen baseline.

    embed_split(store, load_run(run_dir), split="test") -> LevelEmbeddings
    embed_split(store, frozen_baseline(store), "test")  -> the frozen-feature baseline

One pass over the split also keeps what the order scorers need (each video's embedding, its
clip tokens in context and its ordered step texts), so a split is embedded once per method.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hierskp.dataset.batch import Batch, collate
from hierskp.dataset.cache import CacheStore
from hierskp.dataset.catalog import CachedVideo, catalog
from hierskp.dataset.items import CacheVideoDataset, ItemSpec
from hierskp.eval.metrics.retrieval import keyed_retrieval_ranks, metrics_from_ranks
from hierskp.runs.model import RunModel

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
class OrderVideo:
    """One video as the order scorers see it (torch, CPU)."""

    video_id: str
    labels: list[str]  # operation labels in annotated order
    embedding: torch.Tensor  # [E] video embedding
    tokens: torch.Tensor  # [L, E] clip embeddings in video context (first `n_tokens` valid)
    n_tokens: int
    steps_raw: torch.Tensor  # [K, Dt] cached operation-text embeddings, in order
    steps: torch.Tensor  # [K, E] the same through the text head
    procedure: str = ""
    clip_features: torch.Tensor | None = None  # [L, C, Dv] the model's video input (the controls re-embed it)
    clip_mask: torch.Tensor | None = None  # [L, C]


@dataclass
class LevelEmbeddings:
    split: str
    method: str  # "heads" | "frozen_baseline"
    run_dir: str | None
    fingerprint_id: str
    levels: dict[str, LevelData] = field(default_factory=dict)
    order: list[OrderVideo] = field(default_factory=list)  # videos with >= 2 operations


def iter_batches(store: CacheStore, index: list[CachedVideo], spec: ItemSpec, batch_videos: int = 8) -> Iterator[Batch]:
    """Deterministic evaluation batches (no jitter, every narration) in index order."""
    ds = CacheVideoDataset(store.url, index, spec)
    ds._store, ds._pid = store, os.getpid()  # reuse the caller's open handle
    for start in range(0, len(index), batch_videos):
        yield collate([ds[i] for i in range(start, min(len(index), start + batch_videos))])


def _l(arrs: list[torch.Tensor], e: int) -> np.ndarray:
    return torch.cat(arrs).numpy().astype(np.float32) if arrs else np.zeros((0, e), np.float32)


def resolve_embed_device(model: RunModel, device: str | torch.device | None = None) -> torch.device:
    """`device` when given, else where the run's heads are (the frozen baseline: the CPU)."""
    if device is not None:
        return torch.device(device)
    param = None if model.heads is None else next(model.heads.parameters(), None)
    return torch.device("cpu") if param is None else param.device


@torch.no_grad()
def embed_split(
    store: CacheStore,
    model: RunModel,
    split: str = "test",
    batch_videos: int = 8,
    device: str | torch.device | None = None,
) -> LevelEmbeddings:
    """Embeddings of every complete video of `split` at the video, operation and frame levels
    (refusing a cache of another fingerprint than the run's).

    The device is resolved once (`resolve_embed_device`; heads elsewhere are moved there): each
    batch is collated on the host, moved there explicitly, and every output comes back with one
    `.cpu()`. Sizes and ids are read from the host copy of the batch, never from the device."""
    model.check_cache(store)
    dev = resolve_embed_device(model, device)
    if model.heads is not None:
        model.heads.to(dev)
    embedder, spec = model.embedder, model.spec
    index = catalog(store, [split])
    order: list[OrderVideo] = []
    out = {k: {"video": [], "text": []} for k in LEVELS}
    meta: dict[str, dict[str, list[Any]]] = {k: {"ids": [], "texts": [], "labels": [], "times": []} for k in LEVELS}
    for host in iter_batches(store, index, spec, batch_videos):
        batch = host.to(dev)
        entries = [index[i] for i in host.index.tolist()]
        order += _embed_batch(embedder, host, batch, entries, out)
        _add_meta(meta, entries)
    levels = _levels(out, meta)
    run_dir = None if model.run_dir is None else str(model.run_dir)
    return LevelEmbeddings(split, embedder.method, run_dir, store.fingerprint_id, levels, order)


def _embed_batch(
    embedder: Any, host: Any, batch: Any, entries: list[Any], out: dict[str, dict[str, list[torch.Tensor]]]
) -> list[OrderVideo]:
    """Append one batch's embeddings (on the host) to `out`; the batch's videos with >= 2 operations, for
    the order tasks."""
    order: list[OrderVideo] = []
    assert host.video_mask is not None
    n_steps, n_tokens = host.seq_mask.sum(1).tolist(), host.video_mask.sum(1).tolist()
    v_emb, v_tok = embedder.video(batch.video, batch.video_clip_mask)
    v_emb_host, v_tok_host = v_emb.cpu(), v_tok.cpu()
    out["video"]["video"].append(v_emb_host)
    for b, e in enumerate(entries):
        if e.n_ops >= 2:
            seq = batch.seq[b, : n_steps[b]]
            order.append(
                OrderVideo(
                    e.video_id,
                    list(e.op_labels),
                    v_emb_host[b],
                    v_tok_host[b],
                    int(n_tokens[b]),
                    host.seq[b, : n_steps[b]],
                    embedder.text(seq).cpu(),
                    e.procedure,
                    batch.video[b].cpu(),
                    batch.video_clip_mask[b].cpu(),
                )
            )
    out["video"]["text"].append(embedder.text(batch.t_video).cpu())
    if batch.ops is not None and batch.ops.shape[0]:
        out["operation"]["video"].append(embedder.clips(batch.ops, batch.ops_mask).cpu())
        out["operation"]["text"].append(embedder.text(batch.t_ops).cpu())
    if batch.windows is not None and batch.windows.shape[0]:
        out["frame"]["video"].append(embedder.clips(batch.windows, batch.windows_mask).cpu())
        out["frame"]["text"].append(embedder.text(batch.t_narr).cpu())
    return order


def _add_meta(meta: dict[str, dict[str, list[Any]]], entries: list[Any]) -> None:
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


def _levels(
    out: dict[str, dict[str, list[torch.Tensor]]], meta: dict[str, dict[str, list[Any]]]
) -> dict[str, LevelData]:
    e_dim = next((t.shape[1] for k in LEVELS for t in out[k]["video"]), 1)
    return {
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
    texts, cols = level.text[first], np.arange(len(uniq))  # one text-side row per unique key
    v2t = metrics_from_ranks(keyed_retrieval_ranks(level.video, texts, inv, cols))  # in row blocks
    t2v = metrics_from_ranks(keyed_retrieval_ranks(texts, level.video, cols, inv))
    return {
        "n": len(keys),
        "n_texts": len(uniq),
        "v2t": v2t,
        "t2v": t2v,
        "mean_R@1": 0.5 * (v2t["R@1"] + t2v["R@1"]),
        "mean_R@5": 0.5 * (v2t["R@5"] + t2v["R@5"]),
    }
