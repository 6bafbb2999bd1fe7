"""New users without retraining: fold a handful of items into the frozen walk graph.

A user who is not in the graph but names a few items (a new account, a basket, a
session) gets the edges a training user with those items would have had:

    W[u, j] = γ_user-item · s_j · d_u^{-a} · d_j^{-a}        for each given item j

(``d_u`` the number of given items, ``d_j`` the item's training degree, ``a`` the
model's exponent, ``s_j`` the item's frozen gate; the user's own gate and pair
factors, which a new user does not have, are taken as 1 and 0). Every other weight
stays frozen, so the scores are the same walk sums as for a known user,
``f(u, i) = Σ_k c_k Σ_walks r(u, x_1) Π W``, and explain the same way; for a
training user's own items they equal that user's scores up to the constant factor
of the user's gate (and exactly so in ranking) when pair gates are off.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from ..graph.propagation import to_torch_csr
from ..ops import check_positive_int
from ..paths.walks import walk_contributions
from .contract import require_walks
from .topk import item_titles, resolve_items


def fold_in_first_step(model, items, *, extra: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Item codes of ``items`` (in the order given: the last is the most recent) and their first-step weights ``(m,)``.

    Args:
        extra: further first steps the new user takes beside these items (a query), counted in
            ``d_u`` and as more recent than every item.

    Raises:
        ValueError: no items, repeated items, or a model whose user–item weights are not binary.
    """
    require_walks(model, "fold_in_first_step()")
    model.fitted_state()
    codes = resolve_items(model, items)
    if len(codes) == 0:
        raise ValueError("items: give at least one item the new user liked")
    if len(np.unique(codes)) != len(codes):
        raise ValueError("items: an item is listed twice")
    if model.config.user_item_weights != "binary":
        raise ValueError(
            "fold-in needs binary user-item weights; this model was trained with "
            f"user_item_weights={model.config.user_item_weights!r}"
        )
    degree = np.asarray(model.seen.sum(axis=0)).ravel()[codes]
    a = model.config.exponent
    gates = model.gates_of(model.n_users + codes, "user-item")
    weight = model.type_weights["user-item"] * gates * float(len(codes) + extra) ** -a * np.maximum(degree, 1.0) ** -a
    kind = model.first_step
    if kind == "order":
        rank = np.arange(len(codes))[::-1] + extra  # 0 for the last (latest) item
        weight = weight * np.power(0.5, rank / model.config.first_step_half_life_items)
    return codes, weight


def walk_sums(
    adjacency,
    coefficients: np.ndarray,
    first_nodes: np.ndarray,
    first_weights: np.ndarray,
    n_users: int,
    n_items: int,
    *,
    dtype: torch.dtype = torch.float64,
) -> np.ndarray:
    """``(n_items,)`` ``Σ_k c_k Σ_walks Π w`` over walks whose first step goes to ``first_nodes`` with
    ``first_weights``.

    Args:
        adjacency: ``W`` ``(N', N')`` scipy CSR (``N' >= N``: nodes folded in after the graph's may follow).
        coefficients: ``c_1..c_L``.
        first_nodes, first_weights: ``(m,)`` node indices and weights of the first step.
    """
    y = torch.zeros(adjacency.shape[0], 1, dtype=dtype)
    y[torch.from_numpy(np.asarray(first_nodes, dtype=np.int64)), 0] = torch.from_numpy(
        np.asarray(first_weights, dtype=np.float64)
    ).to(dtype)
    w = to_torch_csr(adjacency, dtype=dtype)
    total = coefficients[0] * y[n_users : n_users + n_items, 0].clone()
    for k in range(1, len(coefficients)):
        y = w @ y
        total += coefficients[k] * y[n_users : n_users + n_items, 0]
    return total.numpy()


def fold_in_scores(model, items, *, dtype: torch.dtype = torch.float64) -> np.ndarray:
    """``(n_items,)`` walk scores for a new user who liked ``items`` (IDs; last = most recent)."""
    require_walks(model, "fold_in_scores()")
    codes, weight = fold_in_first_step(model, items)
    return walk_sums(
        model.adjacency, model.coefficients, model.n_users + codes, weight, model.n_users, model.n_items, dtype=dtype
    )


def recommend_for_items(model, items, k: int = 20, *, exclude_given: bool = True) -> pd.DataFrame:
    """Top-``k`` for a user who is not in the graph, from the items they liked (no retraining).

    The interest-graph model folds the items into its walk graph (:func:`fold_in_scores`); the item-path model
    averages its paths from them and adds its popularity prior (:meth:`~interestgraph.model.ItemPathModel.fold_in`).

    Returns:
        ``(k, 4)`` DataFrame ``rank``, ``item_id``, ``title`` (None where the model has no titles), ``score``.
    """
    check_positive_int("k", k)
    if hasattr(type(model), "fold_in"):
        codes = resolve_items(model, items)
        scores = model.fold_in([list(model.item_ids[codes])])[0].double().numpy()
    else:
        require_walks(model, "recommend_for_items()")
        codes = resolve_items(model, items)
        scores = fold_in_scores(model, items)
    if exclude_given:
        scores[codes] = -np.inf
    top = np.argsort(-scores, kind="stable")[:k]
    top = top[np.isfinite(scores[top])]
    return pd.DataFrame(
        {
            "rank": np.arange(1, len(top) + 1),
            "item_id": model.item_ids[top],
            "title": item_titles(model, len(model.item_ids))[top],
            "score": scores[top],
        }
    )


def fold_in_walks(model, items, item) -> list[tuple[tuple[int, ...], float]]:
    """The walks from the new user (node ``-1``) to ``item`` with their contributions; they sum to its fold-in score."""
    require_walks(model, "fold_in_walks()")
    codes, weight = fold_in_first_step(model, items)
    target = model.n_users + int(resolve_items(model, [item])[0])
    return walk_contributions(model.adjacency, model.coefficients, -1, target, first=(model.n_users + codes, weight))
