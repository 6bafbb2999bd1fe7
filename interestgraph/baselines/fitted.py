"""The recommender contract's ID and seen-item properties, shared by the baselines fitted on a split.

A baseline that stores the split's IDs as ``user_ids_`` / ``item_ids_`` and its training positives as ``seen_`` (or
the attribute named by ``seen_attribute``), and defines ``_fitted()`` (which raises ``RuntimeError`` until ``fit``),
gets :attr:`~FittedIds.user_ids`, :attr:`~FittedIds.item_ids` and :attr:`~FittedIds.seen` from :class:`FittedIds`.
"""

from __future__ import annotations

import pandas as pd
import scipy.sparse as sp

__all__ = ["FittedIds"]


class FittedIds:
    """``user_ids``, ``item_ids`` and ``seen`` read from the fitted ``*_`` attributes (checked by ``_fitted()``)."""

    #: the attribute holding the ``(n_users, n_items)`` CSR of training positives
    seen_attribute = "seen_"

    def _fitted(self):  # each baseline names itself in its own "not fitted" error
        raise NotImplementedError

    @property
    def user_ids(self) -> pd.Index:
        """Original user IDs, code → ID (the fitted split's log order)."""
        return self._fitted().user_ids_

    @property
    def item_ids(self) -> pd.Index:
        """Original item IDs, code → ID (the fitted split's log order)."""
        return self._fitted().item_ids_

    @property
    def seen(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` CSR of the training positives, the items left out of a user's recommendations."""
        return getattr(self._fitted(), self.seen_attribute)
