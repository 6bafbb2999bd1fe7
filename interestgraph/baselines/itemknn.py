"""ItemKNN: item–item cosine similarity over the training user–item matrix, top-k neighbours.

With ``R`` the ``(n_users, n_items)`` 0/1 matrix of training positives,

    sim(i, j) = R[:, i] · R[:, j] / (‖R[:, i]‖ ‖R[:, j]‖ + shrink),   sim(i, i) = 0,

each item ``i`` keeps its ``k`` most similar items ``N_k(i)`` (ties broken by
item code), and

    score(u, i) = Σ_{j ∈ train(u) ∩ N_k(i)} sim(j, i).

The similarity is computed in blocks of items (dense ``block × n_items``), so
memory stays bounded; the kept neighbours form a sparse ``(n_items, n_items)``
matrix ``W`` with at most ``k`` entries per row, and scores are ``R[users] @ Wᵀ``.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..data.splits import Split
from .fitted import FittedIds


class ItemKNN(FittedIds):
    """Item-based k-nearest-neighbours with cosine similarity (see the module docstring).

    Args:
        k: neighbours kept per item.
        shrink: added to the cosine denominator (damps similarities from few co-occurrences).
        block_size: items per block of the similarity computation.

    Fitted attributes: ``neighbours_`` ``(n_items, n_items)`` CSR, row ``i`` holding
    ``sim(i, j)`` for ``j ∈ N_k(i)``; ``train_`` the ``(n_users, n_items)`` CSR of training positives (also
    :attr:`seen`); ``user_ids_`` / ``item_ids_`` the split's IDs (read as :attr:`user_ids` / :attr:`item_ids`).
    """

    seen_attribute = "train_"  # the training positives it scores with are the seen items

    def __init__(self, k: int = 100, shrink: float = 0.0, block_size: int = 1024):
        self.k = k
        self.shrink = shrink
        self.block_size = block_size

    def fit(self, split: Split) -> ItemKNN:
        """Compute the top-k cosine neighbours of every item from the training positives."""
        if not isinstance(self.k, (int, np.integer)) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if (
            not isinstance(self.shrink, (int, float))
            or isinstance(self.shrink, bool)
            or not np.isfinite(self.shrink)
            or self.shrink < 0
        ):
            raise ValueError(f"shrink must be a number >= 0, got {self.shrink!r}")
        if (
            not isinstance(self.block_size, (int, np.integer))
            or isinstance(self.block_size, bool)
            or self.block_size < 1
        ):
            raise ValueError(f"block_size must be a positive integer, got {self.block_size!r}")
        train = split.positive_matrix("train").astype(np.float32)
        self.train_ = train
        self.user_ids_, self.item_ids_ = split.log.user_ids, split.log.item_ids
        n_items = train.shape[1]
        by_item = sp.csr_matrix(train.T)  # (n_items, n_users)
        norms = np.sqrt(np.asarray(by_item.multiply(by_item).sum(axis=1), dtype=np.float64).ravel())
        k = min(int(self.k), max(n_items - 1, 1))
        rows, cols, vals = [], [], []
        for start in range(0, n_items, self.block_size):
            stop = min(start + self.block_size, n_items)
            dots = torch.from_numpy((by_item[start:stop] @ train).toarray().astype(np.float64))  # (block, n_items)
            denom = torch.from_numpy(np.outer(norms[start:stop], norms)) + float(self.shrink)
            sim = torch.where(denom > 0, dots / torch.where(denom > 0, denom, 1.0), torch.zeros_like(dots))
            sim[torch.arange(stop - start), torch.arange(start, stop)] = 0.0
            # stable top-k: largest similarity first, lower item code on ties
            order = torch.argsort(-sim, dim=1, stable=True)[:, :k]
            top = torch.gather(sim, 1, order)
            keep = top > 0
            rows.append((torch.arange(start, stop).unsqueeze(1).expand_as(order))[keep].numpy())
            cols.append(order[keep].numpy())
            vals.append(top[keep].numpy())
        self.neighbours_ = sp.csr_matrix(
            (np.concatenate(vals).astype(np.float32), (np.concatenate(rows), np.concatenate(cols))),
            shape=(n_items, n_items),
        )
        self._scorer = sp.csr_matrix(self.neighbours_.T)  # (n_items, n_items): column i holds N_k(i)
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 ``Σ_{j ∈ train(u)} W[i, j]``."""
        self._fitted()
        users = np.asarray(users, dtype=np.int64)
        return torch.from_numpy(np.asarray((self.train_[users] @ self._scorer).toarray(), dtype=np.float32))

    def _fitted(self) -> ItemKNN:
        if not hasattr(self, "neighbours_"):
            raise RuntimeError("ItemKNN is not fitted; call fit(split) first")
        return self
