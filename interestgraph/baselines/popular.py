"""Most-popular baseline: every user gets the same ranking, by training positives per item."""

from __future__ import annotations

import numpy as np
import torch

from ..data.splits import Split
from .fitted import FittedIds


class MostPopular(FittedIds):
    """``score(u, i)`` = number of training positives of item ``i`` (the same for every user).

    Attributes:
        counts_: ``(n_items,)`` float32 training positives per item.
        user_ids_, item_ids_: the split's user and item IDs (code → ID); read them as ``user_ids`` / ``item_ids``.
        seen_: ``(n_users, n_items)`` CSR of the training positives; read it as ``seen``.
    """

    def fit(self, split: Split) -> MostPopular:
        """Count each item's training positives."""
        train = split.positive_matrix("train")
        self.user_ids_, self.item_ids_ = split.log.user_ids, split.log.item_ids
        self.seen_ = train
        self.counts_ = torch.from_numpy(np.asarray(train.sum(axis=0), dtype=np.float32).ravel())
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32: the counts, one row per user."""
        self._fitted()
        return self.counts_.expand(len(np.asarray(users)), -1).clone()

    def _fitted(self) -> MostPopular:
        if not hasattr(self, "counts_"):
            raise RuntimeError("MostPopular is not fitted; call fit(split) first")
        return self
