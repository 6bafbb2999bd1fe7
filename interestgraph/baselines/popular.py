"""Most-popular baseline: every user gets the same ranking, by training positives per item."""

from __future__ import annotations

import numpy as np
import torch

from ..data.splits import Split
from ..evaluate import positive_matrix


class MostPopular:
    """``score(u, i)`` = number of training positives of item ``i`` (the same for every user).

    Fitted attributes: ``counts_`` ``(n_items,)`` float32.
    """

    def fit(self, split: Split) -> MostPopular:
        """Count each item's training positives."""
        self.counts_ = torch.from_numpy(
            np.asarray(positive_matrix(split, "train").sum(axis=0), dtype=np.float32).ravel()
        )
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32: the counts, one row per user."""
        if not hasattr(self, "counts_"):
            raise RuntimeError("MostPopular is not fitted; call fit(split) first")
        return self.counts_.expand(len(np.asarray(users)), -1).clone()
