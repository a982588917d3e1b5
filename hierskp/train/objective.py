"""The HierSKP objective: per-level contrastive terms, cross-level terms, procedure-aware hard
negatives and the DTW order-alignment loss, each switchable from `LossesConfig`.

Built on `hierskp.losses`; `masked_info_nce` is local because the shared `info_nce` has no way to
drop false negatives (identical texts in one batch) or to up-weight same-procedure negatives.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.dataset.batch import Batch
from hierskp.losses import dtw_alignment_loss, gather_steps, hard_negative_margin_loss, procedure_order_negatives
from hierskp.models.heads import HierSKPHeads

from .config import LossesConfig


def masked_info_nce(
    a: Tensor,
    b: Tensor,
    temperature: Tensor,
    keys: Tensor,
    hard_pairs: Tensor | None = None,
    boost: float = 1.0,
    hard: Tensor | None = None,
    hard_mask: Tensor | None = None,
) -> Tensor:
    """Symmetric InfoNCE over matched rows of a [N, E] and b [N, E] (both L2-normalised).

    Off-diagonal pairs whose text `keys` are equal are removed (they are positives in disguise);
    `hard_pairs` [N, N] (e.g. same video / same procedure) count `boost` times in the denominators;
    `hard` [N, K, E] are extra a->b candidates per row (wrong step orders), `hard_mask` [N, K].
    """
    n = a.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=a.device)
    logits = (a @ b.T) / temperature
    logits = logits.masked_fill((keys[:, None] == keys[None, :]) & ~eye, float("-inf"))
    if hard_pairs is not None and boost > 1.0:
        logits = logits + (hard_pairs & ~eye).to(logits.dtype) * math.log(boost)
    target = torch.arange(n, device=a.device)
    ab = logits
    if hard is not None and hard.shape[1] > 0:
        extra = torch.einsum("ne,nke->nk", a, hard) / temperature
        if hard_pairs is not None and boost > 1.0:
            extra = extra + math.log(boost)
        if hard_mask is not None:
            extra = extra.masked_fill(~hard_mask, float("-inf"))
        ab = torch.cat([logits, extra], dim=1)
    return 0.5 * (F.cross_entropy(ab, target) + F.cross_entropy(logits.T, target))


def _same(x: Tensor) -> Tensor:
    return x[:, None] == x[None, :]


def order_negative_kinds(reverse: bool, shuffles: int) -> list[str]:
    return (["reverse"] if reverse else []) + ["shuffle"] * shuffles


def wrong_orders(batch: Batch, kinds: list[str], generator: torch.Generator | None) -> tuple[Tensor, Tensor]:
    """Permutations [Kn, B, K] of each step sequence and a [B, Kn] mask of those that really change
    the order of operation labels (a permutation of repeated labels is no negative)."""
    lengths = batch.seq_mask.sum(1)
    perms = procedure_order_negatives(
        lengths, kinds, generator, max_len=batch.seq.shape[1]
    )  # generator on lengths' device
    labels = batch.seq_label_keys
    differs = torch.stack([(gather_steps(labels, p) != labels).any(dim=1) for p in perms], dim=1)
    return perms, differs & (lengths >= 2)[:, None]


def compute_losses(
    model: HierSKPHeads, batch: Batch, cfg: LossesConfig, generator: torch.Generator | None = None
) -> tuple[Tensor, dict[str, Tensor]]:
    """Weighted total and the named parts (for logging); parts of disabled terms are absent."""
    c, hn, dtw = cfg.contrastive, cfg.hard_negatives, cfg.dtw
    boost = hn.same_procedure_boost if hn.enabled else 1.0
    parts: dict[str, Tensor] = {}
    weights: dict[str, float] = {}
    same_proc = _same(batch.proc_key)
    use_seq = c.cross_level and c.video_sequence_weight > 0
    v_emb = v_tok = None
    if batch.video is not None and ("video" in c.levels or use_seq or dtw.enabled):
        v_emb, v_tok = model.encode_video(batch.video, batch.video_clip_mask)
    tn = model.encode_text(batch.t_narr) if batch.t_narr is not None else None
    if "frame" in c.levels and batch.windows is not None and batch.windows.shape[0] >= 2:
        f = model.encode_clips(batch.windows, batch.windows_mask)
        parts["frame"] = masked_info_nce(
            f, tn, model.temperature("frame"), batch.narr_key, _same(batch.narr_video), boost
        )
        weights["frame"] = c.weights.get("frame", 1.0)
    if batch.ops is not None and batch.ops.shape[0] >= 2:
        o = model.encode_clips(batch.ops, batch.ops_mask)
        to = model.encode_text(batch.t_ops)
        same_video = _same(batch.op_video)
        if "operation" in c.levels:
            parts["operation"] = masked_info_nce(o, to, model.temperature("operation"), batch.op_key, same_video, boost)
            weights["operation"] = c.weights.get("operation", 1.0)
            if hn.enabled and hn.margin_weight > 0:  # the other operations of the same video
                other = same_video & ~_same(batch.op_key)
                hard_idx = torch.arange(o.shape[0], device=o.device).expand(o.shape[0], -1)
                parts["operation_margin"] = hard_negative_margin_loss(o, to, to[hard_idx], hn.margin, other)
                weights["operation_margin"] = hn.margin_weight
        if c.cross_level and c.op_narration_weight > 0 and tn is not None and batch.narr_op is not None:
            inside = batch.narr_op >= 0
            if int(inside.sum()) > 0:
                agg = torch.zeros_like(o).index_add_(0, batch.narr_op[inside], tn[inside])
                has = agg.norm(dim=-1) > 0
                if int(has.sum()) >= 2:
                    parts["op_narration"] = masked_info_nce(
                        o[has], F.normalize(agg[has], dim=-1), model.temperature("operation"), batch.op_key[has]
                    )
                    weights["op_narration"] = c.op_narration_weight
    if v_emb is not None and "video" in c.levels and v_emb.shape[0] >= 2:
        tv = model.encode_text(batch.t_video)
        parts["video"] = masked_info_nce(v_emb, tv, model.temperature("video"), batch.video_key, same_proc, boost)
        weights["video"] = c.weights.get("video", 1.0)
    has_steps = batch.seq_mask.any(dim=1)
    need_seq = c.cross_level and (c.text_sequence_weight > 0 or use_seq) and int(has_steps.sum()) >= 2
    s = model.encode_sequence(batch.seq, batch.seq_mask) if need_seq else None
    if s is not None and c.text_sequence_weight > 0:  # anchors the video-text projection
        keep = has_steps
        parts["text_sequence"] = masked_info_nce(
            model.encode_text(batch.t_video[keep]), s[keep], model.temperature("sequence"), batch.seq_key[keep]
        )
        weights["text_sequence"] = c.text_sequence_weight
    if v_emb is not None and use_seq and s is not None:
        hard = hard_mask = None
        if hn.enabled and (kinds := order_negative_kinds(hn.reverse, hn.shuffles)):
            perms, hard_mask = wrong_orders(batch, kinds, generator)
            hard = torch.stack([model.encode_sequence(gather_steps(batch.seq, p), batch.seq_mask) for p in perms], 1)
        keep = has_steps
        parts["video_sequence"] = masked_info_nce(
            v_emb[keep],
            s[keep],
            model.temperature("sequence"),
            batch.seq_key[keep],
            same_proc[keep][:, keep],
            boost,
            None if hard is None else hard[keep],
            None if hard_mask is None else hard_mask[keep],
        )
        weights["video_sequence"] = c.video_sequence_weight
        if hn.enabled and hn.margin_weight > 0:
            other_proc = same_proc & ~_same(batch.seq_key) & has_steps[None, :] & has_steps[:, None]
            negs, mask = s.expand(s.shape[0], -1, -1), other_proc
            if hard is not None:
                negs, mask = torch.cat([negs, hard], 1), torch.cat([mask, hard_mask], 1)
            parts["sequence_margin"] = hard_negative_margin_loss(
                v_emb[keep], s[keep], negs[keep], hn.margin, mask[keep]
            )
            weights["sequence_margin"] = hn.margin_weight
    if dtw.enabled and v_tok is not None:
        steps_ok = batch.seq_mask.sum(1) >= 1
        if int(steps_ok.sum()) >= 1:
            vl = batch.video_mask.sum(1)[steps_ok]
            scale = vl.float().mean()
            res = dtw_alignment_loss(
                v_tok[steps_ok],
                model.encode_text(batch.seq[steps_ok]),
                vl,
                batch.seq_mask.sum(1)[steps_ok],
                gamma=dtw.gamma,
                temperature=dtw.temperature,
                margin=float(dtw.margin * scale),
                order_weight=dtw.order_weight,
                kinds=order_negative_kinds(True, dtw.shuffles),
                generator=generator,
            )
            parts["dtw"] = res.loss / scale
            weights["dtw"] = dtw.weight
    if not parts:
        raise ValueError("no loss term is active for this batch: check losses.contrastive.levels and the data")
    total = sum(weights[k] * v for k, v in parts.items())
    return total, parts
