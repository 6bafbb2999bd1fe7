"""The path model's scorer and walk functions under their earlier module name (they live in
:mod:`interestgraph.paths`; :mod:`interestgraph.recommend` imports them from here)."""

from ..paths.scorer import GATE_BOUND, PathScorer, cold_mask
from ..paths.walks import frozen_scores, walk_contributions

__all__ = ["GATE_BOUND", "PathScorer", "cold_mask", "frozen_scores", "walk_contributions"]
