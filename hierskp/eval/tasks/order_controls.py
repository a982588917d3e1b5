"""Order evaluation that text alone cannot pass: twin discrimination and video-side controls.

* **Twin discrimination.** Twins are found from the annotations, not from a list of names: another
  procedure's video with the same multiset of operation labels in a different order. For each
  held-out video that has a twin, the video's steps in its own order are scored against the same
  steps in the twin's order; success = own order higher (a tie counts one half).
  Two step-text variants:
  - ``canonical`` (recommended): each label's text is the mean of the split's cached texts of that
    label, so both orders are made of the same, procedure-neutral sentences. Only the video can
    tell them apart, and a constant query (the mean video) is at chance by construction;
  - ``own_text``: the video's own annotation texts, reordered. Those sentences may name the
    procedure, so a text-side prior can pass part of this test without looking at the video.
Three scorers: ``clip_dtw`` (recommended: soft-DTW of the position-free clip embeddings against the
step texts, so the alignment can only follow content), ``dtw`` (the same on the clip tokens in video
context, which carry learned positions) and ``global`` (video embedding vs the step-sequence
embedding).

* **Time-shuffled control.** The same video features with their clips block-shuffled, scored
  against the true step sequence: success = the original scores higher (a tie: one half).
* **Mean-video control.** The twin test with every query replaced by the split's mean video
  (position-wise mean of the clip features): it must sit near chance (50%).

Every number carries n and a 95% bootstrap interval over videos. The result is an `OrderControls`;
its `to_dict()` is the JSON form (report.json, RUN/eval.json: `order_controls`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hierskp.dataset.procedure_orders import reorder_to, twin_orders
from hierskp.eval.metrics.intervals import bootstrap_summary
from hierskp.eval.metrics.retrieval import expected_first
from hierskp.eval.tasks.embed import LevelEmbeddings, OrderVideo
from hierskp.losses import DEFAULT_ORDER_SCORER, OrderScorer, dtw_order_scores
from hierskp.models.embedders import Embedder

__all__ = ["OrderControls", "order_controls", "reorder_to", "twin_orders", "block_shuffle", "mean_video"]

SCORERS: tuple[str, ...] = ("clip_dtw", "dtw", "global")
TEXT_VARIANTS: tuple[str, ...] = ("canonical", "own_text")
CHANCE = 50.0

Rate = dict[str, Any]  # a `bootstrap_summary`: {"acc": percent, "n": videos, "ci95": [lo, hi]} (+ "chance")


@dataclass(frozen=True)
class OrderControls:
    """The controls of one method on a split; `twin` and the others are None when the split has no
    video with clip features (`n_videos` 0)."""

    n_videos: int
    twin_procedures: list[str] = field(default_factory=list)
    twin: dict[str, dict[str, Rate]] | None = None  # text variant -> scorer -> rate
    mean_video_twin: dict[str, dict[str, Rate]] | None = None  # the same, "chance" added
    time_shuffled: dict[str, Rate] | None = None  # scorer -> rate

    def to_dict(self) -> dict[str, Any]:
        if self.twin is None:
            return {"n_videos": self.n_videos}
        return {
            "n_videos": self.n_videos,
            "twin_procedures": self.twin_procedures,
            "twin": self.twin,
            "mean_video_twin": self.mean_video_twin,
            "time_shuffled": self.time_shuffled,
        }


def _canonical_texts(order: list[OrderVideo]) -> dict[str, torch.Tensor]:
    """label -> mean cached (raw) text embedding of that label's operations in the split."""
    sums: dict[str, list[torch.Tensor]] = defaultdict(list)
    for o in order:
        for lab, row in zip(o.labels, o.steps_raw):
            sums[lab].append(row)
    return {lab: torch.stack(rows).mean(0) for lab, rows in sums.items()}


class _Scorer:
    """Both order scorers of one method on one query (a video embedding and its clip tokens)."""

    def __init__(self, embedder: Embedder, dtw: OrderScorer):
        self.embedder, self.dtw = embedder, dtw

    def embed_video(self, clips: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, ...]:
        emb, tok = self.embedder.video(clips[None], mask[None])
        return emb[0], tok[0], self.embedder.video_clips(clips[None], mask[None])[0], int(mask.any(-1).sum())

    def scores(self, query: tuple[torch.Tensor, ...], seqs_raw: list[torch.Tensor]) -> dict[str, np.ndarray]:
        emb, tok, clip_emb, n_tok = query
        glob = [
            float(self.embedder.sequence(s[None], torch.ones(1, s.shape[0], dtype=torch.bool))[0] @ emb)
            for s in seqs_raw
        ]
        steps = [self.embedder.text(s) for s in seqs_raw]
        dtw = dtw_order_scores(tok, n_tok, steps, *self.dtw).numpy()
        clip_dtw = dtw_order_scores(clip_emb, n_tok, steps, *self.dtw).numpy()
        return {"global": np.asarray(glob), "dtw": dtw, "clip_dtw": clip_dtw}


def mean_video(order: list[OrderVideo]) -> tuple[torch.Tensor, torch.Tensor]:
    """The split's mean video: clip position l is the mean over videos of clip l's mean frame feature."""
    length = max(o.clip_mask.shape[0] for o in order)  # type: ignore[union-attr]
    dim = order[0].clip_features.shape[-1]  # type: ignore[union-attr]
    total, count = torch.zeros(length, dim), torch.zeros(length)
    for o in order:
        m = o.clip_mask.float()  # type: ignore[union-attr]
        per_clip = (o.clip_features * m[..., None]).sum(1) / m.sum(1, keepdim=True).clamp_min(1)  # type: ignore[operator]
        valid = m.any(-1).float() if m.dim() == 2 else m
        total[: m.shape[0]] += per_clip * valid[:, None]
        count[: m.shape[0]] += valid
    return (total / count.clamp_min(1)[:, None])[:, None, :], (count > 0)[:, None]


def block_shuffle(n_valid: int, rng: np.random.Generator, blocks: int = 4) -> np.ndarray:
    """A non-identity permutation of range(n_valid) that moves contiguous blocks of clips."""
    k = max(2, min(blocks, n_valid))
    edges = np.linspace(0, n_valid, k + 1).round().astype(int)
    parts = [np.arange(a, b) for a, b in zip(edges[:-1], edges[1:])]
    perm = rng.permutation(k)
    while np.array_equal(perm, np.arange(k)):
        perm = rng.permutation(k)
    return np.concatenate([parts[i] for i in perm])


@torch.no_grad()
def order_controls(
    embedder: Embedder,
    emb: LevelEmbeddings,
    all_videos: Iterable[tuple[str, Sequence[str]]],
    n_shuffles: int = 3,
    seed: int = 0,
    scorer: OrderScorer = DEFAULT_ORDER_SCORER,
) -> OrderControls:
    """Twin discrimination (both text variants), the mean-video twin control and the time-shuffled
    control, per scorer, in percent with n and a 95% bootstrap interval. `emb`: `embed_split` of the
    split with `embedder`; `all_videos`: (procedure, labels) of the whole cache, to find twins;
    `scorer`: the DTW scorer's gamma and temperature (a run's: `RunModel.order_scorer`)."""
    order = [o for o in emb.order if o.clip_features is not None]
    if not order:
        return OrderControls(n_videos=0)
    twins = twin_orders(all_videos)
    canon = _canonical_texts(order)
    score = _Scorer(embedder, scorer)
    mean_q = score.embed_video(*mean_video(order))
    twin_out: dict[str, dict[str, list[float]]] = {v: {s: [] for s in SCORERS} for v in TEXT_VARIANTS}
    mean_out: dict[str, dict[str, list[float]]] = {v: {s: [] for s in SCORERS} for v in TEXT_VARIANTS}
    shuffled: dict[str, list[float]] = {s: [] for s in SCORERS}
    rng = np.random.default_rng(seed)
    for o in order:
        query = score.embed_video(o.clip_features, o.clip_mask)  # type: ignore[arg-type]
        twin = twins.get((o.procedure, tuple(o.labels)))
        if twin is not None:
            perm = torch.from_numpy(reorder_to(o.labels, twin))
            canon_seq = torch.stack([canon[lab] for lab in o.labels])
            for variant, seq in (("canonical", canon_seq), ("own_text", o.steps_raw)):
                for target, q in ((twin_out, query), (mean_out, mean_q)):
                    sc = score.scores(q, [seq, seq[perm]])
                    for s in SCORERS:
                        target[variant][s].append(expected_first(sc[s][0], sc[s][1:]))
        n_valid = int(query[-1])
        if n_valid >= 2:
            per: dict[str, list[float]] = {s: [] for s in SCORERS}
            sc_true = score.scores(query, [o.steps_raw])
            for _ in range(n_shuffles):
                p = torch.from_numpy(block_shuffle(n_valid, rng))
                clips, mask = o.clip_features.clone(), o.clip_mask.clone()  # type: ignore[union-attr]
                clips[:n_valid], mask[:n_valid] = clips[p], mask[p]
                shuf = score.embed_video(clips, mask)
                sc_shuf = score.scores(shuf, [o.steps_raw])
                for s in SCORERS:
                    per[s].append(expected_first(sc_true[s][0], sc_shuf[s]))
            for s in SCORERS:
                shuffled[s].append(float(np.mean(per[s])))
    twin_procs = sorted({o.procedure for o in order if (o.procedure, tuple(o.labels)) in twins})
    return OrderControls(
        n_videos=len(order),
        twin_procedures=twin_procs,
        twin={v: {s: bootstrap_summary(twin_out[v][s], seed=seed) for s in SCORERS} for v in TEXT_VARIANTS},
        mean_video_twin={
            v: {s: {**bootstrap_summary(mean_out[v][s], seed=seed), "chance": CHANCE} for s in SCORERS}
            for v in TEXT_VARIANTS
        },
        time_shuffled={s: bootstrap_summary(shuffled[s], seed=seed) for s in SCORERS},
    )
