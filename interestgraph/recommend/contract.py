"""The recommender contract as :mod:`interestgraph.recommend` reads it, and the path-model check for walks.

:func:`~interestgraph.recommend.recommend` ranks items for any fitted
:class:`~interestgraph.evaluate.Recommender` (``score``, ``user_ids``, ``item_ids``, ``seen``): the interest-graph
model and every baseline. The rest of this package (explanations, fold-in of a new user's items, free-text
intents) follows the walks of the interest graph, so it needs the path model itself; :func:`require_walks` turns a
model without walks into a ``TypeError`` that says so, instead of an ``AttributeError`` deep inside.
"""

from __future__ import annotations

import pandas as pd
import scipy.sparse as sp

from ..evaluate.harness import missing_members

__all__ = ["check_recommender", "item_ids", "require_walks", "seen", "user_ids"]


def check_recommender(model) -> None:
    """``TypeError`` naming what ``model`` lacks of the :class:`~interestgraph.evaluate.Recommender` contract."""
    missing = missing_members(model)
    if missing:
        raise TypeError(
            f"model: {type(model).__name__} is not a recommender; it lacks {', '.join(missing)} "
            "(a fitted model needs score(users), user_ids, item_ids and seen: see interestgraph.evaluate.Recommender)"
        )


def _member(model, name: str):
    check_recommender(model)
    return getattr(model, name)


def user_ids(model) -> pd.Index:
    """The model's user IDs, code → ID."""
    return _member(model, "user_ids")


def item_ids(model) -> pd.Index:
    """The model's item IDs, code → ID."""
    return _member(model, "item_ids")


def seen(model) -> sp.csr_matrix:
    """``(n_users, n_items)`` CSR of each user's items left out of recommendations (their training positives)."""
    return sp.csr_matrix(_member(model, "seen"))


def require_walks(model, what: str) -> None:
    """``TypeError`` unless ``model`` is the interest-graph path model (it has ``walks``), which ``what`` needs.

    Args:
        model: the model handed to ``what``.
        what: the function or view that follows walks (named in the message).
    """
    if not hasattr(type(model), "walks"):
        raise TypeError(
            f"{what} follows walks through the interest graph, so it needs an InterestGraphModel "
            f"(fitted or loaded), not {type(model).__name__}; recommend() ranks items for any recommender"
        )
