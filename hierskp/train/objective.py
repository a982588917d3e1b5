"""The HierSKP objective: per-level contrastive terms, cross-level terms, procedure-aware hard
negatives and the DTW order-alignment loss, each switchable from `LossesConfig`.

One small function per term (`*_loss`), each on already-encoded tensors where it can be;
`compute_losses` encodes what the active terms share, calls the terms in a fixed order (the
order fixes the random draws and the float sum) and returns `weighted_total` of the parts.
All contrastive terms are `hierskp.losses.info_nce`.

No host sync: rows that cannot take part (videos without steps, operations without narrations) are
masked or weighted out instead of indexed away, and a term that cannot form in a batch (fewer than
two such rows) is a zero tensor (`_at_least_two`), not a host-side branch. Only shapes are read.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.dataset.batch import Batch
from hierskp.losses import (
    dtw_alignment_loss,
    gather_steps,
    hard_negative_margin_loss,
    info_nce,
    label_changing_orders,
    negative_kinds,
)
from hierskp.models.heads import HierSKPHeads

from .config import DTWConfig, HardNegativesConfig, LossesConfig
from .order_terms import twin_dtw_loss, video_order_loss


def _same(x: Tensor) -> Tensor:
    return x[:, None] == x[None, :]


def _at_least_two(rows: Tensor) -> Tensor:
    """1.0 when the bool mask `rows` holds >= 2 rows, else 0.0 (a tensor: no host read)."""
    return (rows.sum() >= 2).float()


def frame_loss(f: Tensor, tn: Tensor, batch: Batch, temperature: Tensor, boost: float) -> Tensor:
    """Frame windows vs their narrations; the other narrations of the same video are boosted negatives."""
    assert batch.narr_key is not None and batch.narr_video is not None
    return info_nce(f, tn, temperature, batch.narr_key, _same(batch.narr_video), boost)


def operation_loss(o: Tensor, to: Tensor, batch: Batch, temperature: Tensor, boost: float) -> Tensor:
    """Operation segments vs their texts; the other operations of the same video are boosted negatives."""
    return info_nce(o, to, temperature, batch.op_key, _same(batch.op_video), boost)


def operation_margin_loss(o: Tensor, to: Tensor, batch: Batch, margin: float) -> Tensor:
    """Margin ranking against the other operations (other texts) of the same video."""
    other = _same(batch.op_video) & ~_same(batch.op_key)
    hard_idx = torch.arange(o.shape[0], device=o.device).expand(o.shape[0], -1)
    return hard_negative_margin_loss(o, to, to[hard_idx], margin, other)


def op_narration_loss(o: Tensor, tn: Tensor, batch: Batch, temperature: Tensor) -> Tensor:
    """Cross-level: an operation segment vs the mean of the narrations inside it (0: < 2 such ops)."""
    assert batch.narr_op is not None
    inside = batch.narr_op >= 0
    # narrations outside any operation add zeros to row 0 instead of being indexed away
    agg = torch.zeros_like(o).index_add_(0, batch.narr_op.clamp_min(0), tn * inside[:, None].to(tn.dtype))
    has = agg.norm(dim=-1) > 0
    loss = info_nce(o, F.normalize(agg, dim=-1), temperature, batch.op_key, valid=has)
    return loss * _at_least_two(has)


def video_loss(v_emb: Tensor, tv: Tensor, batch: Batch, temperature: Tensor, boost: float) -> Tensor:
    """Videos vs their descriptions; same-procedure videos are boosted negatives."""
    return info_nce(v_emb, tv, temperature, batch.video_key, _same(batch.proc_key), boost)


def text_sequence_loss(tv: Tensor, s: Tensor, batch: Batch, keep: Tensor, temperature: Tensor) -> Tensor:
    """The video description vs the embedded step sequence: anchors the video-text projection.
    Rows are videos; only those in `keep` (with steps) take part."""
    return info_nce(tv, s, temperature, batch.seq_key, valid=keep)


def order_negatives(
    model: HierSKPHeads, batch: Batch, hn: HardNegativesConfig, generator: torch.Generator | None, twin: bool = False
) -> tuple[Tensor | None, Tensor | None]:
    """([B, Kn, E] step sequences in wrong orders, [B, Kn] mask), or (None, None) when there are none.
    `twin`: the twin procedure's order of the same steps is one more (masked where a video has none)."""
    perms, masks = [], []
    if hn.enabled and (kinds := negative_kinds(hn.reverse, hn.shuffles)):
        lengths = batch.seq_mask.sum(1)
        drawn, hard_mask = label_changing_orders(lengths, batch.seq_label_keys, kinds, generator, batch.seq.shape[1])
        perms, masks = list(drawn), [hard_mask]
    if twin and batch.seq_twin is not None and batch.seq_twin_mask is not None:
        perms.append(batch.seq_twin)
        masks.append(batch.seq_twin_mask[:, None])
    if not perms:
        return None, None
    hard = torch.stack([model.encode_sequence(gather_steps(batch.seq, p), batch.seq_mask) for p in perms], 1)
    return hard, torch.cat(masks, 1)


def video_sequence_loss(
    v_emb: Tensor,
    s: Tensor,
    batch: Batch,
    keep: Tensor,
    temperature: Tensor,
    boost: float,
    hard: Tensor | None,
    hard_mask: Tensor | None,
) -> Tensor:
    """A video vs its ordered step sequence, with its wrong orders as extra negatives (rows in `keep`)."""
    return info_nce(v_emb, s, temperature, batch.seq_key, _same(batch.proc_key), boost, hard, hard_mask, valid=keep)


def sequence_margin_loss(
    v_emb: Tensor, s: Tensor, batch: Batch, keep: Tensor, margin: float, hard: Tensor | None, hard_mask: Tensor | None
) -> Tensor:
    """Margin ranking of a video's sequence above same-procedure sequences and its wrong orders."""
    negs = s.expand(s.shape[0], -1, -1)
    mask = _same(batch.proc_key) & ~_same(batch.seq_key) & keep[None, :] & keep[:, None]
    if hard is not None and hard_mask is not None:
        negs, mask = torch.cat([negs, hard], 1), torch.cat([mask, hard_mask & keep[:, None]], 1)
    return hard_negative_margin_loss(v_emb, s, negs, margin, mask)


def dtw_loss(
    model: HierSKPHeads, v_tok: Tensor, batch: Batch, dtw: DTWConfig, generator: torch.Generator | None
) -> Tensor:
    """Soft-DTW alignment of clip tokens to the step texts, hinged against wrong orders (0: no steps).

    Every video enters the batched soft-DTW; those without steps get one (padding) step and weight 0."""
    assert batch.video_mask is not None
    n_steps = batch.seq_mask.sum(1)
    steps_ok = n_steps >= 1
    w = steps_ok.float()
    vl = batch.video_mask.sum(1)
    scale = ((vl.float() * w).sum() / w.sum().clamp_min(1.0)).clamp_min(1.0)  # mean clips of those videos
    res = dtw_alignment_loss(
        v_tok,
        model.encode_text(batch.seq),
        vl,
        n_steps.clamp_min(1),
        gamma=dtw.gamma,
        temperature=dtw.temperature,
        margin=dtw.margin * scale,
        order_weight=dtw.order_weight,
        kinds=negative_kinds(True, dtw.shuffles),
        generator=generator,
        softmax_over=dtw.softmax_over,
        weights=w,
        check_lengths=False,  # from the masks: in range by construction
    )
    return res.loss / scale * (w.sum() > 0).float()


def weighted_total(parts: dict[str, Tensor], weights: dict[str, float]) -> Tensor:
    """Sum of weight x part, in the parts' order."""
    if not parts:
        raise ValueError("no loss term is active for this batch: check losses.contrastive.levels and the data")
    return sum(weights[k] * v for k, v in parts.items())  # type: ignore[return-value]


class _Terms:
    """The named parts and their weights, in the order they were added (the total sums in that order)."""

    def __init__(self) -> None:
        self.parts: dict[str, Tensor] = {}
        self.weights: dict[str, float] = {}

    def add(self, name: str, value: Tensor | None, weight: float) -> None:
        if value is not None:
            self.parts[name], self.weights[name] = value, weight


@dataclass
class _VideoSide:
    """The video tower's outputs for a batch (all None when no term needs them)."""

    seq: Tensor | None = None
    valid: Tensor | None = None
    clip_emb: Tensor | None = None
    emb: Tensor | None = None
    tok: Tensor | None = None


def compute_losses(
    model: HierSKPHeads, batch: Batch, cfg: LossesConfig, generator: torch.Generator | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """Weighted total and the named parts (for logging); parts of disabled terms are absent.
    The terms run in a fixed order (clips, video, sequences, alignments): the generator's draws follow it."""
    c, hn, dtw, vo = cfg.contrastive, cfg.hard_negatives, cfg.dtw, cfg.video_order
    boost = hn.same_procedure_boost if hn.enabled else 1.0
    terms = _Terms()
    use_seq = c.cross_level and c.video_sequence_weight > 0
    v = _VideoSide()
    need_video = "video" in c.levels or use_seq or dtw.enabled or vo.enabled or cfg.twin_order.dtw_hinge
    if batch.video is not None and need_video:
        v.seq, v.valid, v.clip_emb = model.video_inputs(batch.video, batch.video_clip_mask)
        v.emb, v.tok = model.aggregate_video(v.seq, v.valid)
    tn = model.encode_text(batch.t_narr) if batch.t_narr is not None else None
    _clip_terms(model, batch, cfg, tn, boost, terms)
    if v.emb is not None and "video" in c.levels and v.emb.shape[0] >= 2:
        tv = model.encode_text(batch.t_video)
        terms.add("video", video_loss(v.emb, tv, batch, model.temperature("video"), boost), c.weights.get("video", 1.0))
    s = _sequence_terms(model, batch, cfg, v, boost, generator, terms)
    _alignment_terms(model, batch, cfg, v, s, generator, terms)
    return weighted_total(terms.parts, terms.weights), terms.parts


def _clip_terms(
    model: HierSKPHeads, batch: Batch, cfg: LossesConfig, tn: Tensor | None, boost: float, terms: _Terms
) -> None:
    """Frame windows against narrations; operation clips against their texts and narrations."""
    c, hn = cfg.contrastive, cfg.hard_negatives
    if "frame" in c.levels and batch.windows is not None and batch.windows.shape[0] >= 2 and tn is not None:
        f = model.encode_clips(batch.windows, batch.windows_mask)
        terms.add("frame", frame_loss(f, tn, batch, model.temperature("frame"), boost), c.weights.get("frame", 1.0))
    if batch.ops is not None and batch.ops.shape[0] >= 2:
        o = model.encode_clips(batch.ops, batch.ops_mask)
        to = model.encode_text(batch.t_ops)
        if "operation" in c.levels:
            t_op = model.temperature("operation")
            terms.add("operation", operation_loss(o, to, batch, t_op, boost), c.weights.get("operation", 1.0))
            if hn.enabled and hn.margin_weight > 0:
                terms.add("operation_margin", operation_margin_loss(o, to, batch, hn.margin), hn.margin_weight)
        if c.cross_level and c.op_narration_weight > 0 and tn is not None and batch.narr_op is not None:
            t_op = model.temperature("operation")
            terms.add("op_narration", op_narration_loss(o, tn, batch, t_op), c.op_narration_weight)


def _sequence_terms(
    model: HierSKPHeads,
    batch: Batch,
    cfg: LossesConfig,
    v: _VideoSide,
    boost: float,
    generator: torch.Generator | None,
    terms: _Terms,
) -> Tensor | None:
    """The step-sequence terms (cross-level); returns the sequence embedding when one was computed."""
    c, hn = cfg.contrastive, cfg.hard_negatives
    use_seq = c.cross_level and c.video_sequence_weight > 0
    keep = batch.seq_mask.any(dim=1)  # videos with at least one step
    need_seq = c.cross_level and (c.text_sequence_weight > 0 or use_seq)
    s = model.encode_sequence(batch.seq, batch.seq_mask) if need_seq else None
    seq_ok = _at_least_two(keep)  # the sequence terms need >= 2 videos with steps, else they are 0
    if s is not None and c.text_sequence_weight > 0:
        tv_all = model.encode_text(batch.t_video)
        terms.add(
            "text_sequence",
            text_sequence_loss(tv_all, s, batch, keep, model.temperature("sequence")) * seq_ok,
            c.text_sequence_weight,
        )
    if v.emb is not None and use_seq and s is not None:
        hard, hard_mask = order_negatives(model, batch, hn, generator, cfg.twin_order.negatives)
        t_seq = model.temperature("sequence")
        terms.add(
            "video_sequence",
            video_sequence_loss(v.emb, s, batch, keep, t_seq, boost, hard, hard_mask) * seq_ok,
            c.video_sequence_weight,
        )
        if hn.enabled and hn.margin_weight > 0:
            terms.add(
                "sequence_margin",
                sequence_margin_loss(v.emb, s, batch, keep, hn.margin, hard, hard_mask) * seq_ok,
                hn.margin_weight,
            )
    return s


def _alignment_terms(
    model: HierSKPHeads,
    batch: Batch,
    cfg: LossesConfig,
    v: _VideoSide,
    s: Tensor | None,
    generator: torch.Generator | None,
    terms: _Terms,
) -> None:
    """The soft-DTW terms: tokens and clips against the steps, the video order, the twin hinge."""
    dtw, vo, tw = cfg.dtw, cfg.video_order, cfg.twin_order
    if dtw.enabled and v.tok is not None and v.clip_emb is not None:
        if dtw.inputs in ("tokens", "both"):
            terms.add("dtw", dtw_loss(model, v.tok, batch, dtw, generator), dtw.weight)
        if dtw.inputs in ("clips", "both"):
            terms.add("clip_dtw", dtw_loss(model, v.clip_emb, batch, dtw, generator), dtw.weight)
    if vo.enabled and vo.weight > 0 and v.emb is not None and v.tok is not None:
        s_all = s if s is not None else model.encode_sequence(batch.seq, batch.seq_mask)
        order = video_order_loss(model, batch, v.seq, v.valid, v.emb, v.tok, s_all, vo, dtw, generator)
        terms.add("video_order", order, vo.weight)
    if tw.dtw_hinge and tw.dtw_weight > 0 and v.clip_emb is not None and batch.seq_twin is not None:
        terms.add("twin_dtw", twin_dtw_loss(model, v.clip_emb, batch, v.valid, tw, dtw), tw.dtw_weight)
