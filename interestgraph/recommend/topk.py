"""Batched top-K recommendation from any fitted recommender: the interest-graph model or a baseline.

:func:`recommend` needs only the :class:`~interestgraph.evaluate.Recommender` contract (``score``, ``user_ids``,
``item_ids``, ``seen``; see :mod:`.contract`), so a ``MostPopular``, an ``ItemKNN`` or a ``LightGCN`` ranks
exactly like the path model, training items excluded the same way.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
import torch

from ..ops import check_positive_int, mask_seen
from ..progress import progress
from .contract import check_recommender, item_ids, seen, user_ids


def _codes(index: pd.Index, values, what: str) -> np.ndarray:
    """Codes of ``values`` in ``index``, matching the ID itself or its string form."""
    values = list(values)
    codes = index.get_indexer(values) if len(values) else np.zeros(0, dtype=np.int64)
    missing = [v for v, c in zip(values, codes) if c < 0]
    if missing:  # IDs typed on a command line arrive as strings
        as_text = pd.Index([str(x) for x in index])
        codes = np.where(codes >= 0, codes, as_text.get_indexer([str(v) for v in values]))
        missing = [v for v, c in zip(values, codes) if c < 0]
    if missing:
        shown = ", ".join(repr(v) for v in missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise KeyError(f"{what}: {len(missing)} unknown ID(s) {shown} (the model knows {len(index):,})")
    return codes.astype(np.int64)


def plain_id(value):
    """A numpy scalar ID as the Python value JSON can hold (other IDs unchanged)."""
    return value.item() if isinstance(value, np.generic) else value


def resolve_users(model, users) -> np.ndarray:
    """User codes of ``users`` (original IDs or their string form); all users when ``users`` is None."""
    ids = user_ids(model)
    if users is None:
        return np.arange(len(ids))
    if isinstance(users, (str, bytes)) or not isinstance(users, Iterable):
        users = [users]
    return _codes(ids, users, "users")


def resolve_items(model, items) -> np.ndarray:
    """Item codes of ``items`` (original IDs or their string form)."""
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        items = [items]
    return _codes(item_ids(model), items, "items")


def item_titles(model, n_items: int) -> np.ndarray:
    """The items' titles when the model knows them (the path model's ``nodes`` table, the item-path model's
    ``titles_``), else None per item."""
    titles = getattr(model, "titles_", None)
    if titles is not None and len(titles) == n_items:
        return np.asarray(titles, dtype=object)
    nodes = getattr(model, "nodes", None) if hasattr(type(model), "nodes") else None
    if nodes is None:
        return np.full(n_items, None, dtype=object)
    return nodes.loc[nodes["type"] == "item", "label"].to_numpy()


def recommend(
    model,
    users=None,
    k: int = 20,
    *,
    exclude_seen: bool = True,
    candidates=None,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> pd.DataFrame:
    """Top-``k`` items per user by the model's score.

    Args:
        model: any fitted :class:`~interestgraph.evaluate.Recommender`: a fitted or loaded
            :class:`~interestgraph.model.InterestGraphModel`, or a fitted baseline (``MostPopular``, ``ItemKNN``,
            ``TextContent``, ``BPRMF``, ``LightGCN``).
        users: one user ID, a list of them, or None for every user.
        k: list length per user (fewer when fewer items are eligible).
        exclude_seen: leave out the user's training items (``model.seen``).
        candidates: optional item IDs to rank among (others are never recommended).
        batch_size: users scored at once (``batch_size × n_items`` scores in memory).
        device: where the path model's walk products run (``"cuda"`` for a GPU); ``None`` lets the model choose.
            Only for a model whose ``score`` takes ``device`` (the path model).

    Returns:
        ``(len(users) · k', 5)`` DataFrame ``user_id``, ``rank`` (1-based), ``item_id``, ``title`` (None for a
        model that holds no titles), ``score`` (the model's score; for the path model the exact walk sum in
        float32 products), best first per user.

    Raises:
        TypeError: ``model`` does not meet the recommender contract (what it lacks is named).
        ValueError: ``k`` or ``batch_size`` is not a positive integer.
        KeyError: a user or candidate ID the model does not know.
    """
    check_recommender(model)
    check_positive_int("k", k)
    check_positive_int("batch_size", batch_size)
    codes = resolve_users(model, users)
    user_index, item_index = user_ids(model), item_ids(model)
    n_items = len(item_index)
    allowed = None
    if candidates is not None:
        allowed = torch.zeros(n_items, dtype=torch.bool)
        allowed[torch.from_numpy(resolve_items(model, candidates))] = True
    labels = item_titles(model, n_items)
    excluded = seen(model) if exclude_seen else None
    out_users, out_items, out_scores, out_ranks = [], [], [], []
    bar = progress(total=len(codes), desc="recommend", unit="user") if len(codes) > batch_size else None
    for start in range(0, len(codes), batch_size):
        batch = codes[start : start + batch_size]
        scores = (model.score(batch) if device is None else model.score(batch, device=device)).detach().cpu()
        if tuple(scores.shape) != (len(batch), n_items):
            raise ValueError(f"model.score returned shape {tuple(scores.shape)}, expected ({len(batch)}, {n_items})")
        if allowed is not None:
            scores[:, ~allowed] = -torch.inf
        if excluded is not None:
            mask_seen(scores, excluded, batch)
        top = torch.topk(scores, min(k, n_items), dim=1)
        # one array per batch, not per user: thousands of small long-lived allocations between the batches'
        # large temporary ones fragment the heap, and resident memory then grows with the number of users
        values, indices = top.values.numpy(), top.indices.numpy()
        valid = np.isfinite(
            values
        )  # -inf (seen, not a candidate) sorts last: the valid entries are a prefix of each row
        out_users.append(np.repeat(batch, valid.sum(axis=1)))
        out_items.append(indices[valid])
        out_scores.append(values[valid])
        out_ranks.append(np.cumsum(valid, axis=1)[valid])
        if bar is not None:
            bar.update(len(batch))
    if bar is not None:
        bar.close()
    users_flat = np.concatenate(out_users) if out_users else np.zeros(0, dtype=np.int64)
    items_flat = np.concatenate(out_items) if out_items else np.zeros(0, dtype=np.int64)
    return pd.DataFrame(
        {
            "user_id": user_index[users_flat],
            "rank": np.concatenate(out_ranks) if out_ranks else np.zeros(0, dtype=np.int64),
            "item_id": item_index[items_flat],
            "title": labels[items_flat],
            "score": np.concatenate(out_scores).astype(np.float64) if out_scores else np.zeros(0),
        }
    )
