"""Video-side order terms: what makes the *video* representation, not only the text side, encode
the order of operations.

* `block_shuffle_orders`: wrong clip orders of each video (the reversal and block shuffles of its
  valid prefix), drawn on the device without host syncs;
* `video_order_loss`: the video in a wrong clip order, re-aggregated by the video encoder, must
  score below the original against the video's true step sequence, by a margin, both globally
  (video vs step-sequence embedding) and under soft-DTW of the tokens against the step texts.

* `twin_dtw_loss`: the label-aware hinge: the position-free clip embeddings must align (soft-DTW) with
  the video's steps in their true order better than with the same steps in the twin procedure's
  order (mined from the training annotations, `hierskp.losses.orders.twin_orders`), by a margin.

Text-side wrong orders of the steps are `hierskp.losses.orders`; the DTW term on position-free
clip embeddings is `objective.dtw_loss` run on `HierSKPHeads.video_inputs`' clip embeddings.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from hierskp.dataset.batch import Batch
from hierskp.losses import gather_steps, hard_negative_margin_loss, pairwise_cost, soft_dtw
from hierskp.models.heads import HierSKPHeads

from .config import DTWConfig, TwinOrderConfig, VideoOrderConfig


def block_shuffle_orders(
    lengths: Tensor, blocks: int, shuffles: int, reverse: bool, generator: torch.Generator | None, max_len: int
) -> Tensor:
    """[K, B, L] permutations of each video's valid prefix (padding stays in place): the reversal
    (when `reverse`) and `shuffles` random non-identity orders of `blocks` contiguous blocks."""
    lengths = lengths.long()
    bsz, dev = lengths.shape[0], lengths.device
    pos = torch.arange(max_len, device=dev).expand(bsz, max_len)
    valid = pos < lengths[:, None]
    out = []
    reversed_ = torch.where(valid, lengths[:, None] - 1 - pos, pos)
    if reverse:
        out.append(reversed_)
    nb = max(2, blocks)
    block = (pos * nb) // lengths.clamp_min(1)[:, None]  # block id of each valid position
    block = block.clamp_max(nb - 1)
    for _ in range(shuffles):
        gen_dev = dev if generator is None else generator.device
        rank = torch.rand((bsz, nb), generator=generator, device=gen_dev).to(dev).argsort(dim=1)
        key = torch.where(valid, rank.gather(1, block) * max_len + pos, nb * max_len + pos)
        idx = key.argsort(dim=1)
        same = ((idx == pos) | ~valid).all(dim=1, keepdim=True)  # short videos: blocks kept their order
        out.append(torch.where(same, reversed_, idx))  # never the identity (>= 2 clips)
    return torch.stack(out) if out else torch.zeros(0, bsz, max_len, dtype=torch.long, device=dev)


def _dtw_per_video(tokens: Tensor, steps: Tensor, v_len: Tensor, t_len: Tensor, dtw: DTWConfig) -> Tensor:
    """[B] soft-DTW cost per valid video position of `tokens` against `steps` (training's cost)."""
    cost = pairwise_cost(
        tokens, steps, "neg_log_softmax_cosine", temperature=dtw.temperature, x_lengths=v_len, y_lengths=t_len
    )
    return soft_dtw(cost, dtw.gamma, v_len, t_len, check_lengths=False) / v_len.clamp_min(1).to(cost.dtype)


def video_order_loss(
    model: HierSKPHeads,
    batch: Batch,
    seq: Tensor,
    valid: Tensor,
    v_emb: Tensor,
    v_tok: Tensor,
    s: Tensor,
    cfg: VideoOrderConfig,
    dtw: DTWConfig,
    generator: torch.Generator | None,
) -> Tensor:
    """Margin of the original video over its wrong clip orders against the true steps: the global
    hinge `relu(m - cos(s, v) + cos(s, v_wrong))` plus, with `cfg.dtw_weight`, the per-position
    soft-DTW hinge of the tokens. Videos with < 2 clips or no steps contribute zero (weights, no branch)."""
    lengths = valid.sum(1)
    t_len = batch.seq_mask.sum(1)
    use = ((lengths >= 2) & (t_len >= 1)).to(v_emb.dtype)  # [B]
    perms = block_shuffle_orders(lengths, cfg.blocks, cfg.shuffles, cfg.reverse, generator, seq.shape[1])
    wrong = [model.aggregate_video(gather_steps(seq, p), valid) for p in perms]
    w_emb = torch.stack([e for e, _ in wrong], 1)  # [B, K, E]
    mask = use[:, None].expand(-1, w_emb.shape[1])
    loss = hard_negative_margin_loss(s, v_emb, w_emb, cfg.margin, mask)
    if cfg.dtw_weight > 0:
        steps = model.encode_text(batch.seq)
        v_len, tl = lengths.clamp_min(1), t_len.clamp_min(1)
        pos = _dtw_per_video(v_tok, steps, v_len, tl, dtw)
        neg = torch.stack([_dtw_per_video(t, steps, v_len, tl, dtw) for _, t in wrong], 1)
        hinge = F.relu(cfg.dtw_margin + pos[:, None] - neg) * mask
        loss = loss + cfg.dtw_weight * hinge.sum() / mask.sum().clamp_min(1.0)
    return loss


def twin_dtw_loss(
    model: HierSKPHeads, clip_emb: Tensor, batch: Batch, valid: Tensor, cfg: TwinOrderConfig, dtw: DTWConfig
) -> Tensor:
    """Mean over videos with a twin of `relu(m + dtw(clips, steps) - dtw(clips, steps in twin order))`,
    per video position (0 when no video of the batch has a twin: weights, no branch)."""
    assert batch.seq_twin is not None and batch.seq_twin_mask is not None
    lengths, t_len = valid.sum(1).clamp_min(1), batch.seq_mask.sum(1).clamp_min(1)
    steps = model.encode_text(batch.seq)
    pos = _dtw_per_video(clip_emb, steps, lengths, t_len, dtw)
    neg = _dtw_per_video(clip_emb, gather_steps(steps, batch.seq_twin), lengths, t_len, dtw)
    mask = batch.seq_twin_mask.to(pos.dtype)
    return (F.relu(cfg.dtw_margin + pos - neg) * mask).sum() / mask.sum().clamp_min(1.0)
