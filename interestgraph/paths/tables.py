"""The graph-side tables of the path model: raw edge tables per type, recency and first-step weights, the
:class:`~interestgraph.paths.operator.PathOperator` of a graph, and the item sets training and fold-in need.

Everything here reads an :class:`~interestgraph.graph.InterestGraph` (its training edges and split) and a
:class:`~interestgraph.paths.config.ModelConfig`; nothing here trains.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from ..data.schema import ITEM_ID
from ..graph.interest_graph import EDGE_ENDS, InterestGraph
from .config import ModelConfig
from .operator import PathOperator

SECONDS_PER_DAY = 86_400.0


def train_pair_times(graph: InterestGraph) -> sp.csr_matrix:
    """``(n_users, n_items)`` CSR of each training positive's first timestamp (Unix s, float64), same pattern as the
    positives."""
    return split_pair_times(graph.split)


def split_pair_times(split) -> sp.csr_matrix:
    """:func:`train_pair_times` of a :class:`~interestgraph.data.Split` (no graph needed)."""
    log = split.log
    pairs = split.positive_pairs("train")
    rows = log.user_ids.get_indexer(pairs["user_id"])
    cols = log.item_ids.get_indexer(pairs[ITEM_ID])
    # +1 keeps timestamp 0 (logs without time) as a stored entry
    return sp.csr_matrix(
        (pairs["timestamp"].to_numpy(dtype=np.float64) + 1.0, (rows, cols)), shape=(log.n_users, log.n_items)
    )


def recency_weights(
    pattern: sp.spmatrix,
    times: sp.csr_matrix,
    half_life_days: float | None = None,
    *,
    half_life_items: float | None = None,
) -> sp.csr_matrix:
    """``pattern``'s entries weighted ``0.5 ** ((t_last(u) - t) / half_life_days)``, ``t_last(u)`` the user's latest
    entry in ``pattern``; with ``half_life_items`` instead, ``0.5 ** (rank / half_life_items)``, ``rank`` 0 for the
    user's latest entry (ties share the better rank)."""
    kept = sp.csr_matrix(pattern, dtype=np.float64)
    kept.sort_indices()
    t = sp.csr_matrix(times)
    t.sort_indices()
    stamped = t.multiply(kept.astype(bool)).tocsr()
    stamped.sort_indices()
    last = np.zeros(stamped.shape[0])
    has = np.diff(stamped.indptr) > 0
    last[has] = np.maximum.reduceat(stamped.data, stamped.indptr[:-1][has])
    counts = np.diff(stamped.indptr)
    if half_life_items is not None:
        rows = np.repeat(np.arange(stamped.shape[0]), counts)
        order = np.lexsort((-stamped.data, rows))  # per row, latest first
        rank = np.empty(stamped.nnz, dtype=np.float64)
        rank[order] = np.arange(stamped.nnz) - np.repeat(stamped.indptr[:-1], counts)
        return sp.csr_matrix(
            (np.power(0.5, rank / half_life_items), stamped.indices, stamped.indptr), shape=stamped.shape
        )
    age_days = (np.repeat(last, counts) - stamped.data) / SECONDS_PER_DAY
    return sp.csr_matrix(
        (np.power(0.5, age_days / half_life_days), stamped.indices, stamped.indptr), shape=stamped.shape
    )


def first_step_kind(config: ModelConfig, graph: InterestGraph) -> str:
    """``config.first_step_weights`` with ``"auto"`` resolved for ``graph``'s split (``"order"`` if temporal, else
    ``"uniform"``)."""
    if config.first_step_weights != "auto":
        return config.first_step_weights
    return "order" if graph.split.protocol.is_temporal else "uniform"


def first_step_matrix(
    graph: InterestGraph, config: ModelConfig, user_item: sp.spmatrix | None = None
) -> sp.csr_matrix | None:
    """``(n_users, n_items)`` CSR ``r(u, j)`` of the first walk step from ``u`` to its item ``j`` (None when uniform).

    Args:
        user_item: the user–item edges the walks use (the trainer's kept edges); the training
            positives by default. Ranks and ages are taken within these edges.
    """
    kind = first_step_kind(config, graph)
    if kind == "uniform":
        return None
    pattern = user_item if user_item is not None else graph.split.positive_matrix("train")
    if kind == "order":
        return recency_weights(pattern, train_pair_times(graph), half_life_items=config.first_step_half_life_items)
    return recency_weights(pattern, train_pair_times(graph), config.first_step_half_life_days)


def graph_tables(
    graph: InterestGraph,
    config: ModelConfig,
    user_item: sp.spmatrix | None = None,
    replace: dict[str, sp.spmatrix] | None = None,
) -> dict[str, sp.csr_matrix]:
    """Raw ``(n_src, n_dst)`` matrices of the edge types in ``config.edge_types``.

    Args:
        user_item: replaces the graph's user–item edges (the trainer's kept edges); binary
            training positives by default (``config.user_item_weights``).
        replace: ``{type: table}`` used instead of the graph's (the refined similarity tables).
    """
    n = {"user": len(graph.users), "item": len(graph.items), "interest": len(graph.interests)}
    tables: dict[str, sp.csr_matrix] = {}
    for kind in config.edge_types:
        src, dst = EDGE_ENDS[kind]
        if replace and kind in replace:
            tables[kind] = sp.csr_matrix(replace[kind], dtype=np.float64)
            continue
        if kind == "user-item" and (user_item is not None or config.user_item_weights in ("recency", "order")):
            pattern = user_item if user_item is not None else graph.split.positive_matrix("train")
            if config.user_item_weights == "recency":
                tables[kind] = recency_weights(pattern, train_pair_times(graph), config.recency_half_life_days)
            elif config.user_item_weights == "order":
                tables[kind] = recency_weights(
                    pattern, train_pair_times(graph), half_life_items=config.recency_half_life_items
                )
            else:
                tables[kind] = sp.csr_matrix(pattern, dtype=np.float64)
            continue
        if kind not in graph.edges:
            raise ValueError(f"edge_types: the graph has no {kind!r} edges (built with {', '.join(graph.edges)})")
        table = graph.edges[kind]
        weight = table["weight"].to_numpy(dtype=np.float64)
        if kind == "user-item" and config.user_item_weights == "binary":
            weight = np.ones_like(weight)
        tables[kind] = sp.csr_matrix(
            (weight, (table["src"].to_numpy(), table["dst"].to_numpy())), shape=(n[src], n[dst])
        )
    return tables


def build_operator(
    graph: InterestGraph,
    config: ModelConfig,
    user_item: sp.spmatrix | None = None,
    replace: dict[str, sp.spmatrix] | None = None,
) -> PathOperator:
    """The :class:`PathOperator` of ``graph`` for ``config`` (optionally with other user–item edges, or other tables:
    see :func:`graph_tables`)."""
    return PathOperator.from_tables(
        graph_tables(graph, config, user_item, replace),
        len(graph.users),
        len(graph.items),
        len(graph.interests),
        exponent=config.exponent,
    )


def user_interest_rows(graph) -> sp.csr_matrix:
    """``(n_users, n_interests)`` CSR of ``w(v|u)`` with each user's row summing to 1 (empty rows stay empty)."""
    if "user-interest" not in graph.edges:
        raise ValueError("user_interest_mean needs the graph's user-interest edges")
    table = graph.edges["user-interest"]
    m = sp.csr_matrix(
        (table["weight"].to_numpy(dtype=np.float64), (table["src"].to_numpy(), table["dst"].to_numpy())),
        shape=(len(graph.users), len(graph.interests)),
    )
    sums = np.asarray(m.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ m)


def items_with_positives(train: sp.spmatrix) -> np.ndarray:
    """Sorted codes of the items with at least one training positive."""
    return np.flatnonzero(np.diff(sp.csc_matrix(train).indptr) > 0)


def observed_without_positives(split, train: sp.csr_matrix) -> np.ndarray:
    """``(n_items,)`` bool: items with training events but no training positive (known, and not new)."""
    events = split.train
    observed = np.zeros(train.shape[1], dtype=bool)
    observed[split.log.item_ids.get_indexer(events["item_id"].unique())] = True
    observed[items_with_positives(train)] = False
    return observed
