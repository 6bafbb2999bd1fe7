"""The fitted state of a path model: one frozen object, built by one function.

Everything a fitted :class:`~interestgraph.model.InterestGraphModel` scores, explains, saves, folds in and forgets
with lives in a :class:`FittedState`. :func:`build_state` is the only constructor the package uses: fitting,
loading, forgetting users and adding items all end in it, and it checks that the parts fit together (shapes
against the node layout). The object is frozen: a step that changes a fitted model (adding items, forgetting
users) builds a new state and replaces the old one whole; the arrays are not copied, and nothing writes to them.

:func:`frozen_weights` turns a scorer's current parameters into the frozen arrays (``W``, ``c``, gates, ``γ``);
loading takes them from the files instead, so a loaded model scores with exactly the saved numbers.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from .operator import PathOperator
from .scorer import PathScorer, cold_mask


@dataclass(frozen=True, eq=False)
class FittedState:
    """What a fitted path model holds (frozen: replace the whole object to change it).

    Attributes:
        scorer: the trained :class:`PathScorer` (for further training, folding in and re-freezing).
        adjacency: ``W``, ``(N, N)`` float64 CSR, symmetric: the frozen effective edge weights.
        coefficients: ``(L,)`` float64 ``c_1..c_L``.
        node_gates: ``(N,)`` float64 frozen gates ``s`` (``(N, T)`` with typed gates).
        type_weights: ``{edge type: γ_t}`` in block order.
        layout: ``{"user": U, "item": I, "interest": V}``.
        seen: ``(U, I)`` CSR of the training positives (excluded from rankings).
        start: ``(U, I)`` float64 CSR of the first-step weights ``r(u, j)``, or None when uniform.
        first_step: the first-step weighting in use (``"uniform"``, ``"order"`` or ``"recency"``).
        user_ids, item_ids: code → original ID.
        degrees: ``{edge type: (N,) float64}`` raw per-type degrees (what a folded-in node is normalised against).
        tables: ``{edge type: raw (n_src, n_dst) CSR}`` the operator was built from (None in models saved before
            they were stored): what adding items re-normalises with.
        not_cold: ``(I,)`` bool items with events but no positive (known, never cold), or None.
        user_interest: ``(U, V)`` CSR ``w(v|u)`` rows (``ModelConfig.user_interest_mean``), or None.
        nodes: the node table (``node``, ``type``, ``id``, ``label``, ``aliases``, ``added``), or None to derive it
            from ``graph`` when asked.
        operator: the training graph's :class:`PathOperator` (None after loading).
        graph: the training graph (None after loading or adding items).
        facts: the manifest a loaded model was read from (None after fitting).
        keyword_terms: the TF-IDF terms (``term``, ``idf``) the graph mined keywords with, or None.
        encoder_state: the fine-tuned encoder's trainable tensors, or None.
        encoder_tuning: how the encoder was fine-tuned (mode, settings, digest), or None.
        added_items: one row per item added after training, or None.
        forgotten_users: how many users were forgotten (never who).
    """

    scorer: PathScorer
    adjacency: sp.csr_matrix
    coefficients: np.ndarray
    node_gates: np.ndarray
    type_weights: dict[str, float]
    layout: dict[str, int]
    seen: sp.csr_matrix
    start: sp.csr_matrix | None
    first_step: str
    user_ids: pd.Index
    item_ids: pd.Index
    degrees: dict[str, np.ndarray] = field(default_factory=dict)
    tables: dict[str, sp.csr_matrix] | None = None
    not_cold: np.ndarray | None = None
    user_interest: sp.csr_matrix | None = None
    nodes: pd.DataFrame | None = None
    operator: PathOperator | None = None
    graph: Any = None
    facts: dict[str, Any] | None = None
    keyword_terms: pd.DataFrame | None = None
    encoder_state: dict[str, torch.Tensor] | None = None
    encoder_tuning: dict[str, Any] | None = None
    added_items: pd.DataFrame | None = None
    forgotten_users: int = 0

    @property
    def n_nodes(self) -> int:
        return sum(self.layout.values())

    def replace(self, **changes: Any) -> FittedState:
        """A new state with ``changes`` (through :func:`build_state`, so it is checked the same way)."""
        return build_state(**{**{f.name: getattr(self, f.name) for f in dataclasses.fields(self)}, **changes})


def frozen_weights(
    scorer: PathScorer, operator: PathOperator, structure: torch.Tensor, not_cold: np.ndarray | None = None
) -> dict[str, Any]:
    """``adjacency`` (``W``), ``coefficients``, ``node_gates`` and ``type_weights`` from ``scorer``'s current
    parameters on ``operator`` (``structure``: its normalised GCN structure; ``not_cold``: ``(I,)`` bool items
    without user edges that are not new), as :func:`build_state` takes them."""
    cold = cold_mask(operator, structure.device, not_cold)
    gates, _, gamma = scorer.frozen_gates(structure, cold)
    return {
        "adjacency": scorer.effective_adjacency(operator, structure, cold),
        "coefficients": scorer.length_coefficients(),
        "node_gates": gates,
        "type_weights": dict(zip(operator.types, gamma.tolist())),
    }


def build_state(
    *,
    scorer: PathScorer,
    adjacency: sp.spmatrix,
    coefficients: np.ndarray,
    node_gates: np.ndarray,
    type_weights: dict[str, float],
    layout: dict[str, int],
    seen: sp.spmatrix,
    start: sp.spmatrix | None,
    first_step: str,
    user_ids: pd.Index,
    item_ids: pd.Index,
    **optional: Any,
) -> FittedState:
    """The one constructor of :class:`FittedState`: checks that the parts fit the node layout and returns the
    frozen state (``optional``: the other fields of :class:`FittedState`).

    Raises:
        ValueError: a part whose shape does not fit ``layout`` (named), or an unknown field.
    """
    unknown = sorted(set(optional) - {f.name for f in dataclasses.fields(FittedState)})
    if unknown:
        raise ValueError(f"build_state: unknown fields {unknown}")
    layout = {k: int(layout[k]) for k in ("user", "item", "interest")}
    n, users, items = sum(layout.values()), layout["user"], layout["item"]
    adjacency = sp.csr_matrix(adjacency)
    if adjacency.shape != (n, n):
        raise ValueError(f"adjacency: shape {adjacency.shape}, the layout {layout} needs ({n}, {n})")
    coefficients = np.asarray(coefficients, dtype=np.float64)
    node_gates = np.asarray(node_gates, dtype=np.float64)
    if node_gates.shape[0] != n:
        raise ValueError(f"node_gates: {node_gates.shape[0]} rows for {n} nodes")
    for name, matrix in (("seen", seen), ("start", start)):
        if matrix is not None and matrix.shape != (users, items):
            raise ValueError(f"{name}: shape {matrix.shape}, the layout needs ({users}, {items})")
    if len(user_ids) != users or len(item_ids) != items:
        raise ValueError(f"user_ids / item_ids: {len(user_ids)} / {len(item_ids)} IDs for {users} users, {items} items")
    not_cold = optional.get("not_cold")
    if not_cold is not None and len(not_cold) != items:
        raise ValueError(f"not_cold: {len(not_cold)} entries for {items} items")
    degrees = optional.get("degrees") or {}
    if any(len(d) != n for d in degrees.values()):
        raise ValueError(f"degrees: every edge type needs {n} entries")
    tables = optional.get("tables")
    optional.update(
        degrees={kind: np.asarray(d, dtype=np.float64) for kind, d in degrees.items()},
        tables=None if tables is None else {kind: sp.csr_matrix(t) for kind, t in tables.items()},
        not_cold=None if not_cold is None else np.asarray(not_cold, dtype=bool),
    )
    adjacency.sort_indices()
    return FittedState(
        scorer=scorer,
        adjacency=adjacency,
        coefficients=coefficients,
        node_gates=node_gates,
        type_weights=dict(type_weights),
        layout=layout,
        seen=sp.csr_matrix(seen),
        start=None if start is None else sp.csr_matrix(start),
        first_step=str(first_step),
        user_ids=user_ids,
        item_ids=item_ids,
        **optional,
    )


__all__ = ["FittedState", "build_state", "frozen_weights"]
