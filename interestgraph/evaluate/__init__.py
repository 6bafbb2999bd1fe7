"""Evaluation: one stated protocol (full ranking, seen items masked), metrics, paired comparisons.

from interestgraph.evaluate import evaluate, compare
result = evaluate(model.fit(split), split, cutoffs=(10, 20))   # any Recommender
print(result.describe())          # metrics with the protocol that made them
compare(result_a, result_b)       # paired bootstrap CI + Wilcoxon p-value
"""

from .harness import (
    ACTIVITY_BUCKETS,
    RECOMMENDER_MEMBERS,
    EvaluationResult,
    Recommender,
    average_runs,
    compare,
    evaluate,
    missing_members,
    paired_difference,
    positive_matrix,
)
from .metrics import METRICS, ranking_metrics
from .planted import planted_recovery

__all__ = [
    "ACTIVITY_BUCKETS",
    "METRICS",
    "RECOMMENDER_MEMBERS",
    "EvaluationResult",
    "Recommender",
    "average_runs",
    "compare",
    "evaluate",
    "missing_members",
    "paired_difference",
    "planted_recovery",
    "positive_matrix",
    "ranking_metrics",
]
