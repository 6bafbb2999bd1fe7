"""The interest-graph model as an estimator: exact path scores over the user–interest–item graph.

    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
    model = InterestGraphModel(ModelConfig(), TrainConfig()).fit(graph)
    scores = model.score(users)          # (len(users), n_items)
    model.walks(user, item)              # the walks that make the score, exactly

This package sits above :mod:`interestgraph.train` and :mod:`interestgraph.evaluate`; the path model's algebra
lives in :mod:`interestgraph.paths` (see :mod:`interestgraph.paths.scorer`), whose main names are re-exported here.
"""

from ..paths import (
    MODEL_EDGE_TYPES,
    FittedState,
    ModelConfig,
    PathOperator,
    PathScorer,
    build_operator,
    frozen_scores,
    walk_contributions,
)
from ..train import TrainConfig, TrainingReport
from .item_path import Contribution, ItemPathConfig, ItemPathGrid, ItemPathModel, tune_item_path
from .model import InterestGraphModel

__all__ = [
    "MODEL_EDGE_TYPES",
    "Contribution",
    "FittedState",
    "InterestGraphModel",
    "ItemPathConfig",
    "ItemPathGrid",
    "ItemPathModel",
    "ModelConfig",
    "PathOperator",
    "PathScorer",
    "TrainConfig",
    "TrainingReport",
    "build_operator",
    "frozen_scores",
    "tune_item_path",
    "walk_contributions",
]
