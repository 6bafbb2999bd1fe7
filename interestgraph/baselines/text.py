"""Text-only content baseline: cosine between a user's text profile and each item's text vector."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ..data.splits import Split
from .fitted import FittedIds


class TextContent(FittedIds):
    """Content model from item text alone.

    Item vectors ``V`` ``(n_items, d)`` = ``encoder.encode(split.log.item_texts())`` (unit rows);
    a user's profile is the mean of ``V`` over their training positives, normalised to unit
    length; ``score(u, i) = profile_u · V_i`` (cosine). Items with no training positive (cold
    items) get real scores from their text. Users with no training positive score 0 everywhere.

    Args:
        encoder: any object with ``encode(texts) -> (n, d)`` L2-normalised tensor;
            ``None`` uses :class:`interestgraph.encoder.TextEncoder` (all-MiniLM-L6-v2).

    Fitted attributes: ``item_vectors_`` ``(n_items, d)``, ``profiles_`` ``(n_users, d)``, float32;
    ``user_ids_`` / ``item_ids_`` the split's IDs and ``seen_`` its training positives (CSR), read through the
    recommender contract's :attr:`user_ids`, :attr:`item_ids` and :attr:`seen`.
    """

    def __init__(self, encoder: Any = None):
        self.encoder = encoder

    def fit(self, split: Split) -> TextContent:
        """Encode every item's text and build the user profiles from the training positives."""
        encoder = self.encoder
        if encoder is None:
            from ..encoder import TextEncoder

            encoder = TextEncoder()
        elif not callable(getattr(encoder, "encode", None)):
            raise ValueError(f"encoder must have an encode(texts) method, got {type(encoder).__name__}")
        vectors = torch.as_tensor(encoder.encode(split.log.item_texts())).detach().to("cpu", torch.float32)
        if vectors.ndim != 2 or vectors.shape[0] != split.log.n_items:
            raise ValueError(f"encoder.encode returned shape {tuple(vectors.shape)}, expected ({split.log.n_items}, d)")
        self.item_vectors_ = torch.nn.functional.normalize(vectors, dim=1)
        train = split.positive_matrix("train")
        self.user_ids_, self.item_ids_ = split.log.user_ids, split.log.item_ids
        self.seen_ = train
        sums = torch.from_numpy(np.asarray(train @ self.item_vectors_.numpy(), dtype=np.float32))
        self.profiles_ = torch.nn.functional.normalize(sums, dim=1)  # mean then normalise == normalise the sum
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 cosine of profile and item vector."""
        self._fitted()
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        return self.profiles_[users] @ self.item_vectors_.T

    def _fitted(self) -> TextContent:
        if not hasattr(self, "profiles_"):
            raise RuntimeError("TextContent is not fitted; call fit(split) first")
        return self
