"""Scoring with frozen weights and enumerating the walks that make a score.

``W`` is the materialised ``(N, N)`` effective adjacency of a fitted model (symmetric), ``c`` its walk-length
coefficients: ``f(u, i) = Σ_k c_k (W^k)[u, i]`` (:func:`frozen_scores`), and :func:`walk_contributions` lists the
walks whose contributions add up to that score exactly (:mod:`interestgraph.paths.scorer` has the algebra).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch


def frozen_scores(
    adjacency: torch.Tensor,
    coefficients: torch.Tensor,
    users: torch.Tensor,
    n_users: int,
    n_items: int,
    start: torch.Tensor | None = None,
    span: tuple[int, int] | None = None,
) -> torch.Tensor:
    """``(B, n_items)`` ``Σ_k c_k (W^k)[u, items]`` from a materialised ``W`` (sparse CSR ``(N, N)``).

    Args:
        adjacency: ``W``; its dtype sets the computation's.
        coefficients: ``(L,)`` ``c_1..c_L``.
        users: ``(B,)`` user codes.
        start: optional ``(B, n_items)`` first-step factors ``r(u, j)``.
        span: ``(lo, hi)`` node range whose walk sums are returned, ``(B, hi - lo)``, instead of the items
            (the interests, say: the walk mass the model sends from each user to each interest).
    """
    lo, hi = span if span is not None else (n_users, n_users + n_items)
    n = adjacency.shape[0]
    y = torch.zeros(n, len(users), dtype=adjacency.dtype, device=adjacency.device)
    y[users.to(adjacency.device), torch.arange(len(users), device=adjacency.device)] = 1.0
    total = torch.zeros(hi - lo, len(users), dtype=adjacency.dtype, device=adjacency.device)
    for k in range(len(coefficients)):
        y = adjacency @ y
        if k == 0 and start is not None:
            y[n_users : n_users + n_items] *= start.T.to(device=adjacency.device, dtype=adjacency.dtype)
        total = total + coefficients[k].to(adjacency.dtype) * y[lo:hi]
    return total.T


def walk_contributions(
    adjacency: sp.csr_matrix,
    coefficients: np.ndarray,
    source: int,
    target: int,
    start: dict[int, float] | None = None,
    first: tuple[np.ndarray, np.ndarray] | None = None,
) -> list[tuple[tuple[int, ...], float]]:
    """Every walk of length ``1..L`` from node ``source`` to node ``target`` with its contribution.

    Args:
        adjacency: ``W`` ``(N, N)`` CSR (symmetric).
        coefficients: ``c_1..c_L``.
        source, target: node indices (a user and an item for a recommendation).
        start: optional first-step factors ``{first node: r}`` for the source's item
            neighbours (nodes not in it, such as interests, keep factor 1).
        first: optional ``(nodes, weights)`` of the source's first steps, used instead of its row
            of ``W`` (a node folded in from outside the graph, such as a new user; ``source`` is
            then only its label in the returned walks).

    Returns:
        ``[(nodes, c_k · r · Π w), ...]`` with ``nodes = (source, ..., target)``; their sum is
        the score ``f(source, target)`` exactly (up to float rounding).
    """
    w = sp.csr_matrix(adjacency)
    out: list[tuple[tuple[int, ...], float]] = []
    row = lambda a: (w.indices[w.indptr[a] : w.indptr[a + 1]], w.data[w.indptr[a] : w.indptr[a + 1]])
    target_nbrs, target_w = row(target)  # W symmetric: W[b, target] = W[target, b]
    into_target = dict(zip(target_nbrs.tolist(), target_w.tolist()))
    length = len(coefficients)
    first, first_w = row(source) if first is None else (np.asarray(first[0]), np.asarray(first[1], dtype=np.float64))
    if start is not None:
        first_w = first_w * np.array([start.get(a, 1.0) for a in first.tolist()])
    for a, wa in zip(first.tolist(), first_w.tolist()):
        if length >= 1 and a == target:  # the length-1 walk: W symmetric, so W[source, target] is this step
            out.append(((source, target), float(coefficients[0]) * wa))
        if length >= 2 and a in into_target:
            out.append(((source, a, target), float(coefficients[1]) * wa * into_target[a]))
        if length >= 3:
            second, second_w = row(a)
            for b, wb in zip(second.tolist(), second_w.tolist()):
                if b in into_target:
                    out.append(((source, a, b, target), float(coefficients[2]) * wa * wb * into_target[b]))
    return out
