"""The path model's mathematics, below the trainer: configuration, the typed operator, the scorer, refined
similarity edges, the graph tables it walks on, the frozen fitted state, scoring and walk enumeration.

    from interestgraph.paths import ModelConfig, PathScorer, build_operator
    operator = build_operator(graph, ModelConfig())
    scorer = PathScorer.from_graph(ModelConfig(), graph, operator.types)

Layering: this package imports only the base utilities, :mod:`interestgraph.data` and :mod:`interestgraph.graph`;
:mod:`interestgraph.train` trains a :class:`PathScorer`, and :mod:`interestgraph.model` wraps both in the estimator.
"""

from .components import (
    COMPONENTS,
    MAX_DENSE_ITEMS,
    ChebyshevFilter,
    DenseSizeError,
    IdealLowPass,
    InterestPaths,
    ItemAggregates,
    ItemComponent,
    ItemData,
    LinearFilter,
    RidgeCooccurrence,
    SpectralLowPass,
    SquaredFilter,
    TextNeighbours,
    Transitions,
    check_dense,
    cooccurrence,
    csr_from_tensors,
    csr_tensors,
    transition_counts,
)
from .config import JsonConfig, ModelConfig, check_number
from .operator import MODEL_EDGE_TYPES, PathOperator, normalise_block
from .refine import SimilarityRefiner
from .scorer import GATE_BOUND, PathScorer, cold_mask
from .state import FittedState, build_state, frozen_weights
from .tables import (
    SECONDS_PER_DAY,
    build_operator,
    first_step_kind,
    first_step_matrix,
    graph_tables,
    items_with_positives,
    observed_without_positives,
    recency_weights,
    split_pair_times,
    train_pair_times,
    user_interest_rows,
)
from .walks import frozen_scores, walk_contributions

__all__ = [
    "COMPONENTS",
    "GATE_BOUND",
    "MAX_DENSE_ITEMS",
    "MODEL_EDGE_TYPES",
    "SECONDS_PER_DAY",
    "ChebyshevFilter",
    "DenseSizeError",
    "FittedState",
    "IdealLowPass",
    "InterestPaths",
    "ItemAggregates",
    "ItemComponent",
    "ItemData",
    "JsonConfig",
    "LinearFilter",
    "ModelConfig",
    "PathOperator",
    "PathScorer",
    "RidgeCooccurrence",
    "SimilarityRefiner",
    "SpectralLowPass",
    "SquaredFilter",
    "TextNeighbours",
    "Transitions",
    "build_operator",
    "build_state",
    "check_dense",
    "check_number",
    "cold_mask",
    "cooccurrence",
    "csr_from_tensors",
    "csr_tensors",
    "first_step_kind",
    "first_step_matrix",
    "frozen_scores",
    "frozen_weights",
    "graph_tables",
    "items_with_positives",
    "normalise_block",
    "observed_without_positives",
    "recency_weights",
    "split_pair_times",
    "train_pair_times",
    "transition_counts",
    "user_interest_rows",
    "walk_contributions",
]
