"""Order-sensitive retrieval: does a video match its own step sequence better than the same steps
in a wrong order (reversed, shuffled) and better than other videos' sequences?

Two scorers, reported separately:
  * "global": cosine between the video embedding and the step-sequence aggregator's embedding;
  * "dtw": minus the soft-DTW cost (per video position) between the video's position embeddings and
    the step texts, on the -log softmax cosine cost used in training. Needs no segment annotations.
The frozen baseline's sequence embedding is a bag of steps, so its "global" score cannot see order
(every wrong order ties: a fair coin, `expected_first`, puts it at chance); its "dtw" score is
order-aware but lives in random projections.
The result is an `OrderRetrieval`; its `to_dict()` is the JSON form (report.json, RUN/eval.json: `order`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from hierskp.eval.metrics.retrieval import TIE_TOLERANCE, expected_first, metrics_from_ranks, retrieval_ranks
from hierskp.eval.tasks.embed import LevelEmbeddings
from hierskp.losses import DEFAULT_ORDER_SCORER, OrderScorer, distinct_wrong_orders, dtw_order_scores
from hierskp.models.embedders import Embedder


@dataclass(frozen=True)
class OrderRetrieval:
    """Per scorer ("global", "dtw"): order_accuracy, pairwise_accuracy, R@1/R@5/R@10/MedR/MeanR; no
    scorer when the split has fewer than two videos with >= 2 operations (`n_videos`)."""

    n_videos: int
    n_wrong_orders: int | None = None
    scorers: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        if self.n_wrong_orders is None:
            return {"n_videos": self.n_videos}
        return {"n_videos": self.n_videos, "n_wrong_orders": self.n_wrong_orders, **self.scorers}


@torch.no_grad()
def order_retrieval(
    embedder: Embedder,
    emb: LevelEmbeddings,
    n_shuffles: int = 4,
    seed: int = 0,
    scorer: OrderScorer = DEFAULT_ORDER_SCORER,
) -> OrderRetrieval:
    """Per scorer: `order_accuracy` (true order strictly above every wrong order of the same steps),
    `pairwise_accuracy` (over all (true, wrong order) pairs) and R@1/R@5/MedR/MeanR, where the
    candidates are every video's true sequence plus the query's own wrong orders (other videos
    with the very same label order count as correct). Accuracies count a tie as a fair coin
    (`expected_first`); ranks count it against the query (`retrieval_ranks`).
    `emb`: `embed_split` of the split with the same embedder (its videos with >= 2 operations);
    `scorer`: the DTW scorer's gamma and temperature (a run's: `RunModel.order_scorer`)."""
    if len(emb.order) < 2:
        return OrderRetrieval(n_videos=len(emb.order))
    rng = np.random.default_rng(seed)
    vids = [o.embedding for o in emb.order]
    toks = [o.tokens for o in emb.order]
    lens = [o.n_tokens for o in emb.order]
    seqs = [o.steps_raw for o in emb.order]
    steps = [o.steps for o in emb.order]
    labels = [o.labels for o in emb.order]
    n = len(vids)
    true_seq = torch.stack([embedder.sequence(s[None], torch.ones(1, s.shape[0], dtype=torch.bool))[0] for s in seqs])
    results: dict[str, dict[str, Any]] = {}
    per_scorer: dict[str, dict[str, list]] = {k: {"rows": [], "acc": [], "pairs": []} for k in ("global", "dtw")}
    for i in range(n):
        perms = distinct_wrong_orders(labels[i], n_shuffles, rng)
        wrong_seq = [seqs[i][p] for p in perms]
        g_true = (true_seq @ vids[i]).numpy()
        g_wrong = np.array(
            [
                float(embedder.sequence(s[None], torch.ones(1, s.shape[0], dtype=torch.bool))[0] @ vids[i])
                for s in wrong_seq
            ]
        )
        d_all = dtw_order_scores(toks[i], lens[i], steps + [steps[i][p] for p in perms], *scorer).numpy()
        for name, true_scores, wrong in (("global", g_true, g_wrong), ("dtw", d_all[:n], d_all[n:])):
            wrong = np.where(np.abs(wrong - true_scores[i]) <= TIE_TOLERANCE, true_scores[i], wrong)  # ranks: a tie
            row = np.full(n + n_shuffles + 1, -np.inf)
            row[:n], row[n : n + len(wrong)] = true_scores, wrong
            per_scorer[name]["rows"].append(row)
            per_scorer[name]["acc"].append(expected_first(true_scores[i], wrong))
            per_scorer[name]["pairs"] += [expected_first(true_scores[i], w[None]) for w in wrong]
    relevant = np.zeros((n, n + n_shuffles + 1), dtype=bool)
    relevant[:, :n] = np.array([[labels[i] == labels[j] for j in range(n)] for i in range(n)])
    for name, d in per_scorer.items():
        sims = np.stack(d["rows"])
        sims = np.where(np.isfinite(sims), sims, np.nanmin(sims[np.isfinite(sims)]) - 1.0)
        results[name] = {
            "order_accuracy": 100.0 * float(np.mean(d["acc"])),
            "pairwise_accuracy": 100.0 * float(np.mean(d["pairs"])) if d["pairs"] else float("nan"),
            **metrics_from_ranks(retrieval_ranks(sims, relevant)),
        }
    return OrderRetrieval(n_videos=n, n_wrong_orders=n_shuffles + 1, scorers=results)
