"""Argument checks and score masks shared by every recommender and the ranking code."""

from __future__ import annotations

import numpy as np
import torch


def check_positive_int(name: str, value, minimum: int = 1) -> None:
    """``ValueError`` naming ``name`` unless ``value`` is an integer >= ``minimum``."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        kind = "a positive integer" if minimum == 1 else f"an integer >= {minimum}"
        raise ValueError(f"{name} must be {kind}, got {value!r}")


def mask_seen(scores: torch.Tensor, seen, users: np.ndarray) -> None:
    """Set, in place, the ``(B, n_items)`` ``scores`` of each user's training items (``seen``: ``(n_users, n_items)``
    CSR) to -inf."""
    rows = seen[users]
    r = np.repeat(np.arange(len(users)), np.diff(rows.indptr))
    scores[torch.from_numpy(r), torch.from_numpy(rows.indices.astype(np.int64))] = -torch.inf
