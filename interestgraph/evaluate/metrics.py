"""Top-K ranking metrics from a relevance matrix, per user (binary relevance).

Inputs: ``hits`` ``(n_users, K_max)`` bool, True where the item ranked at
that position is relevant (a held-out positive), and ``n_relevant``
``(n_users,)`` the number of relevant items of each user (users with none
are not evaluated). For a cutoff ``k <= K_max``:

* ``recall@k``    = hits in the top k / n_relevant
* ``precision@k`` = hits in the top k / k
* ``ndcg@k``      = Σ_j hit_j / log2(j + 2) over the top k, divided by the
  ideal DCG over ``min(n_relevant, k)`` positions
* ``hit@k``       = 1 if any hit in the top k
* ``mrr@k``       = 1 / rank of the first hit within the top k (0 if none)
* ``map@k``       = Σ_j precision@(j+1) · hit_j over the top k, divided by ``min(n_relevant, k)``

These are the definitions of ``torch_geometric.metrics`` (checked in the tests).
"""

from __future__ import annotations

from collections.abc import Iterable

import torch

METRICS = ("recall", "precision", "ndcg", "hit", "mrr", "map")


def ranking_metrics(hits: torch.Tensor, n_relevant: torch.Tensor, cutoffs: Iterable[int]) -> dict[str, torch.Tensor]:
    """Per-user metrics at every cutoff.

    Args:
        hits: ``(n_users, K_max)`` bool relevance of the ranked items.
        n_relevant: ``(n_users,)`` relevant items per user (>= 1).
        cutoffs: the ``k`` values (each <= ``K_max``).

    Returns:
        ``{"recall@10": (n_users,) float64, ...}`` for every metric and cutoff.
    """
    hits = hits.to(torch.float64)
    n_rel = n_relevant.to(torch.float64)
    if (n_rel < 1).any():
        raise ValueError("n_relevant must be >= 1 for every evaluated user")
    k_max = hits.shape[1]
    positions = torch.arange(1, k_max + 1, dtype=torch.float64, device=hits.device)
    discount = 1.0 / torch.log2(positions + 1.0)
    ideal = torch.cumsum(discount, dim=0)
    cum_hits = torch.cumsum(hits, dim=1)
    precision_at = cum_hits / positions
    out: dict[str, torch.Tensor] = {}
    for k in sorted({int(c) for c in cutoffs}):
        if not 1 <= k <= k_max:
            raise ValueError(f"cutoff {k} must be in [1, {k_max}]")
        h = hits[:, :k]
        found = cum_hits[:, k - 1]
        denom = torch.minimum(n_rel, torch.tensor(float(k), dtype=torch.float64))
        first = torch.where(h.any(dim=1), h.argmax(dim=1).to(torch.float64) + 1.0, torch.full_like(found, float("inf")))
        out[f"recall@{k}"] = found / n_rel
        out[f"precision@{k}"] = found / k
        out[f"ndcg@{k}"] = (h * discount[:k]).sum(dim=1) / ideal[denom.long() - 1]
        out[f"hit@{k}"] = (found > 0).to(torch.float64)
        out[f"mrr@{k}"] = 1.0 / first
        out[f"map@{k}"] = (precision_at[:, :k] * h).sum(dim=1) / denom
    return out
