"""Sampling training examples: hold-out targets per epoch, uniform negatives, a batch's pairs and candidates.

- :func:`hold_out` splits each user's training items into kept edges (the epoch's walks) and targets.
- :class:`NegativeSampler` draws negatives that are not training positives of the user (the path model's BPR loss
  and the BPR baselines use it).
- :func:`batch_pairs`, :func:`allowed_items` and :func:`start_columns` give one user batch's pairs, softmax
  candidates and first-step factors.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..paths.tables import items_with_positives


def hold_out(
    train: sp.csr_matrix,
    share: float,
    rng: np.random.Generator,
    times: sp.csr_matrix | None = None,
    cold_share: float = 0.0,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Split each user's training items into kept edges and targets.

    Args:
        train: ``(n_users, n_items)`` CSR of training positives.
        share: fraction of each user's items that become targets (at least one when the user has two or more).
        rng: the epoch's generator.
        times: ``(n_users, n_items)`` CSR of the positives' timestamps (same pattern as ``train``):
            targets are then each user's most recent items (ties broken at random), else random items.
        cold_share: fraction of the items with positives (drawn uniformly, as
            :func:`~interestgraph.data.cold_item_split` draws cold items) whose every edge becomes a target: they
            are cold for this epoch.

    Returns:
        ``(kept (n_users, n_items) CSR, target_users (m,), target_items (m,))``.
    """
    train = sp.csr_matrix(train)
    counts = np.diff(train.indptr)
    n_targets = np.where(
        counts >= 2, np.maximum(1, np.floor(share * counts + rng.random(len(counts)))).astype(np.int64), 0
    )
    n_targets = np.minimum(n_targets, np.maximum(counts - 1, 0))
    # a random rank per stored entry, then the lowest n_targets ranks of each row are targets
    train.sort_indices()
    keys = rng.random(train.nnz)
    if times is not None:
        t = sp.csr_matrix(times)
        t.sort_indices()
        if t.nnz != train.nnz or not np.array_equal(t.indices, train.indices):
            raise ValueError("times must have the same sparsity pattern as train")
        keys = -t.data + keys * 1e-3  # most recent first; sub-second jitter breaks ties
    rows = np.repeat(np.arange(train.shape[0]), counts)
    order = np.lexsort((keys, rows))
    position = np.empty(train.nnz, dtype=np.int64)
    position[order] = np.arange(train.nnz) - np.repeat(train.indptr[:-1], counts)
    is_target = position < np.repeat(n_targets, counts)
    cols = train.indices
    if cold_share > 0:
        with_positives = items_with_positives(train)
        n_cold = int(round(cold_share * len(with_positives)))
        if n_cold:
            is_target |= np.isin(cols, rng.choice(with_positives, size=n_cold, replace=False))
    kept = sp.csr_matrix((np.ones(int((~is_target).sum())), (rows[~is_target], cols[~is_target])), shape=train.shape)
    return kept, rows[is_target], cols[is_target].astype(np.int64)


class NegativeSampler:
    """Uniform negatives over the items each user has no training positive on.

    Args:
        train: ``(n_users, n_items)`` CSR of training positives.
        seed: seed of the sampler's own generator.
        items: optional item codes to draw negatives from (all items by default).

    Raises:
        ValueError: some user has a training positive on every item of the pool (no negative exists),
            or ``items`` is empty or out of range.
    """

    def __init__(self, train: sp.csr_matrix, seed: int = 0, items: np.ndarray | None = None):
        train = sp.csr_matrix(train)
        self.n_users, self.n_items = train.shape
        if self.n_items < 1:
            raise ValueError("train must have at least one item column")
        self.pool: np.ndarray | None = None
        if items is not None:
            pool = np.unique(np.asarray(items, dtype=np.int64))
            if len(pool) == 0 or pool[0] < 0 or pool[-1] >= self.n_items:
                raise ValueError(
                    f"items: give item codes in 0..{self.n_items - 1} to draw negatives from, got {len(pool)} codes"
                )
            self.pool = pool
        pool_size = self.n_items if self.pool is None else len(self.pool)
        counts = np.diff(train.indptr) if self.pool is None else np.diff(train[:, self.pool].tocsr().indptr)
        if (counts >= pool_size).any():
            raise ValueError(
                f"train: user {int(np.flatnonzero(counts >= pool_size)[0])} has a positive on every item, so no "
                "negative can be sampled"
            )
        coo = train.tocoo()
        self.keys = np.unique(coo.row.astype(np.int64) * self.n_items + coo.col.astype(np.int64))
        self.rng = np.random.default_rng(seed)

    def is_positive(self, users: np.ndarray, items: np.ndarray) -> np.ndarray:
        """``(n,)`` bool: whether each ``(users[k], items[k])`` is a training positive."""
        keys = np.asarray(users, dtype=np.int64) * self.n_items + np.asarray(items, dtype=np.int64)
        if len(self.keys) == 0:
            return np.zeros(len(keys), dtype=bool)
        at = np.minimum(np.searchsorted(self.keys, keys), len(self.keys) - 1)
        return self.keys[at] == keys

    def draw(self, n: int) -> np.ndarray:
        if self.pool is None:
            return self.rng.integers(0, self.n_items, size=n)
        return self.pool[self.rng.integers(0, len(self.pool), size=n)]

    def sample(self, users: np.ndarray) -> np.ndarray:
        """One negative item code per entry of ``users`` (``(n,)`` int64), never a training positive."""
        users = np.asarray(users, dtype=np.int64)
        items = self.draw(len(users))
        todo = np.flatnonzero(self.is_positive(users, items))
        while len(todo):  # resample only the collisions, all at once
            items[todo] = self.draw(len(todo))
            todo = todo[self.is_positive(users[todo], items[todo])]
        return items


def batch_pairs(
    batch: np.ndarray, target_users: np.ndarray, target_items: np.ndarray, negatives: int, sampler
) -> tuple[np.ndarray, ...]:
    """BPR pairs of a user batch: ``(rows, users, positives, negatives)`` ``(m·negatives,)``, ``rows`` the column of
    each user in ``batch``."""
    column = {int(u): k for k, u in enumerate(batch)}
    mask = np.isin(target_users, batch)
    users = np.repeat(target_users[mask], negatives)
    items = np.repeat(target_items[mask], negatives)
    rows = np.array([column[int(u)] for u in users], dtype=np.int64)
    return rows, users, items, sampler.sample(users)


def allowed_items(
    kept: sp.csr_matrix, batch: np.ndarray, candidates: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """``(len(batch), n_items)`` bool: the items a softmax step normalises over for each user of ``batch``:
    the candidates (items with training positives) less the user's kept training items (the walks' starts)."""
    allowed = torch.zeros(len(batch), kept.shape[1], dtype=torch.bool, device=device)
    allowed[:, candidates] = True
    rows = kept[batch].tocoo()
    allowed[torch.from_numpy(rows.row).to(device), torch.from_numpy(rows.col).to(device)] = False
    return allowed


def start_columns(start_weights: sp.csr_matrix | None, batch: np.ndarray, device: torch.device) -> torch.Tensor | None:
    """``(n_items, B)`` first-step factors of a user batch (None when uniform)."""
    return None if start_weights is None else torch.from_numpy(start_weights[batch].toarray().T).float().to(device)


def cold_training_share(config, protocol) -> float:
    """``config.cold_items`` with ``"auto"`` resolved: the protocol's cold fraction for a cold-item protocol, else 0."""
    if config.cold_items != "auto":
        return float(config.cold_items)
    return float(protocol.params.get("cold_fraction", 0.1)) if protocol.method == "cold-item" else 0.0


__all__ = ["NegativeSampler", "allowed_items", "batch_pairs", "cold_training_share", "hold_out", "start_columns"]
