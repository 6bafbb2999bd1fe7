"""The interest-graph model: exact path scores over the user–interest–item graph.

    from interestgraph.model import InterestGraphModel, ModelConfig
    model = InterestGraphModel(ModelConfig()).fit(graph)
    scores = model.score(users)          # (len(users), n_items)
    model.walks(user, item)              # the walks that make the score, exactly

See :mod:`interestgraph.model.path_model` for the algebra.
"""

from .config import ModelConfig, TrainConfig
from .model import InterestGraphModel, build_operator
from .operator import MODEL_EDGE_TYPES, PathOperator
from .path_model import PathScorer, frozen_scores, walk_contributions

__all__ = [
    "MODEL_EDGE_TYPES",
    "InterestGraphModel",
    "ModelConfig",
    "PathOperator",
    "PathScorer",
    "TrainConfig",
    "build_operator",
    "frozen_scores",
    "walk_contributions",
]
