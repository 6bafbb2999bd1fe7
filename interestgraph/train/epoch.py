"""The walk graph of one training epoch, and the full training graph's, from raw edge tables.

Every epoch hides targets (:func:`~interestgraph.train.sampling.hold_out`) and walks the remaining edges:
:func:`epoch_graph` builds that graph's operator, first-step weights, torch blocks, GCN structure and cold mask.
:func:`full_graph` builds the operator and structure of all training edges (what validation freezes and what the
refined similarity tables are re-read into).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..graph.propagation import to_torch_csr
from ..paths.config import ModelConfig
from ..paths.operator import PathOperator
from ..paths.scorer import cold_mask
from ..paths.tables import build_operator, first_step_matrix

SIMILARITY_TYPES = ("interest-interest", "item-item")


class NoBar:
    """A progress bar that shows nothing (processes other than rank 0)."""

    def update(self, n: int = 1) -> None:
        pass

    def write(self, *args, **kwargs) -> None:
        pass

    def close(self) -> None:
        pass


def refined_tables(config: ModelConfig, tables: dict[str, sp.csr_matrix]) -> dict[str, sp.csr_matrix] | None:
    """The current refined similarity tables (``config.similarity_edges="refined"``), else None."""
    if config.similarity_edges != "refined":
        return None
    return {kind: table for kind, table in tables.items() if kind in SIMILARITY_TYPES}


def epoch_graph(
    graph,
    config: ModelConfig,
    tables: dict[str, sp.csr_matrix],
    not_cold: np.ndarray | None,
    kept: sp.csr_matrix,
    device: torch.device,
):
    """The walk graph of one hold-out: ``(operator, first-step weights or None, torch blocks, GCN structure, cold
    mask)``, with the user–item edges ``kept`` and the refined similarity ``tables`` when they are refined."""
    operator = build_operator(graph, config, user_item=kept, replace=refined_tables(config, tables))
    start_weights = first_step_matrix(graph, config, user_item=kept)
    return (
        operator,
        start_weights,
        operator.torch_blocks(device=device),
        to_torch_csr(operator.structure(), device=device),
        cold_mask(operator, device, not_cold),
    )


def full_graph(
    graph, config: ModelConfig, tables: dict[str, sp.csr_matrix], device: torch.device
) -> tuple[PathOperator, torch.Tensor]:
    """The full training graph's ``(operator, GCN structure)`` from the raw ``tables``."""
    operator = PathOperator.from_tables(
        tables, len(graph.users), len(graph.items), len(graph.interests), exponent=config.exponent
    )
    return operator, to_torch_csr(operator.structure(), device=device)


def refresh_similarity(
    graph,
    scorer,
    tables: dict[str, sp.csr_matrix],
    operator: PathOperator,
    structure: torch.Tensor,
    not_cold: np.ndarray | None,
    device: torch.device,
) -> tuple[PathOperator, torch.Tensor]:
    """Recompute the refined similarity tables from the current parameters into ``tables`` (in place); returns the
    full training graph's ``(operator, GCN structure)`` rebuilt with them (unchanged tables when nothing is
    refined)."""
    if len(scorer.refiners):
        cold = cold_mask(operator, device, not_cold)
        tables.update(scorer.refined_tables(structure, cold))
    return full_graph(graph, scorer.config, tables, device)


@torch.no_grad()
def init_coefficients(
    scorer,
    operator: PathOperator,
    structure: torch.Tensor,
    rng: np.random.Generator,
    device: torch.device,
    not_cold: np.ndarray | None = None,
) -> None:
    """Scale ``c_k`` so each walk length starts with unit spread over items (BPR's sigmoid needs O(1) gaps)."""
    blocks = operator.torch_blocks(device=device)
    cold = cold_mask(operator, device, not_cold)
    s, p = scorer.gates(scorer.node_vectors(structure, cold), cold)
    sample = np.sort(rng.choice(operator.n_users, size=min(64, operator.n_users), replace=False))
    n = operator.n_nodes
    y = torch.zeros(n, len(sample), device=device)
    y[torch.from_numpy(sample).to(device), torch.arange(len(sample), device=device)] = 1.0
    lo, hi = operator.n_users, operator.n_users + operator.n_items
    for k in range(scorer.config.max_length):
        y = scorer.apply_weights(blocks, s, p, y)
        spread = float(y[lo:hi].std())
        scorer.length_coef[k] = 1.0 / spread if spread > 0 else 1.0


__all__ = ["NoBar", "epoch_graph", "full_graph", "init_coefficients", "refined_tables", "refresh_similarity"]
