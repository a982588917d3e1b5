"""Training losses: soft-DTW, contrastive (one InfoNCE, hard negatives), procedure-order negatives and alignment."""

from hierskp.losses.contrastive import hard_negative_margin_loss, info_nce, masked_mean
from hierskp.losses.costs import pairwise_cost, sequence_mask
from hierskp.losses.dtw_alignment import (
    DEFAULT_ORDER_SCORER,
    DTWAlignmentLoss,
    OrderScorer,
    dtw_alignment_loss,
    dtw_order_scores,
)
from hierskp.losses.orders import (
    distinct_wrong_orders,
    gather_steps,
    label_changing_orders,
    negative_kinds,
    procedure_order_negatives,
)
from hierskp.losses.soft_dtw import soft_dtw, soft_dtw_divergence

__all__ = [
    "DEFAULT_ORDER_SCORER",
    "DTWAlignmentLoss",
    "OrderScorer",
    "distinct_wrong_orders",
    "dtw_alignment_loss",
    "dtw_order_scores",
    "gather_steps",
    "hard_negative_margin_loss",
    "label_changing_orders",
    "negative_kinds",
    "info_nce",
    "masked_mean",
    "pairwise_cost",
    "procedure_order_negatives",
    "sequence_mask",
    "soft_dtw",
    "soft_dtw_divergence",
]
