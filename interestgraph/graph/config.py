"""``GraphConfig``: the settings of an interest-graph build, stored with every graph.

Its own module so that the builder (:mod:`.build`) and the graph it returns (:mod:`.interest_graph`, which reads the
settings back from a saved manifest) both import it without importing each other.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from ..data.weights import EventWeights
from ..interests.extract import InterestConfig

__all__ = ["GraphConfig"]


@dataclass(frozen=True)
class GraphConfig:
    """How the interest graph is built.

    Attributes:
        interests: interest extraction settings.
        weights: event weights (the protocol fixes the rating threshold).
        half_life_days: time decay of behavioural weights (None: no decay).
        tag_weight: weight of a user's own tag toward ``w(v|u)`` (before normalisation).
        text_weight: weight of a query/review mapped to an interest (times its cosine).
        user_interest_top_k: interests kept per user (None: all).
        interest_k, interest_threshold: interest–interest neighbours per interest and minimum cosine.
        item_k, item_threshold: item–item text neighbours (0 turns them off) and minimum cosine.
        knn_dtype: ``"bfloat16"`` candidates re-ranked in float32, or ``"float32"`` exact.
    """

    interests: InterestConfig = field(default_factory=InterestConfig)
    weights: EventWeights = field(default_factory=EventWeights)
    half_life_days: float | None = 180.0
    tag_weight: float = 1.0
    text_weight: float = 0.5
    user_interest_top_k: int | None = 64
    interest_k: int = 10
    interest_threshold: float = 0.5
    item_k: int = 10
    item_threshold: float = 0.6
    knn_dtype: str = "bfloat16"

    def __post_init__(self) -> None:
        if self.half_life_days is not None and not self.half_life_days > 0:
            raise ValueError(f"half_life_days must be > 0 or None, got {self.half_life_days!r}")
        for name in ("tag_weight", "text_weight"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        for name in ("interest_k", "item_k"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)!r}")
        if self.user_interest_top_k is not None and self.user_interest_top_k < 1:
            raise ValueError(f"user_interest_top_k must be >= 1 or None, got {self.user_interest_top_k!r}")
        if self.knn_dtype not in ("bfloat16", "float32"):
            raise ValueError(f"knn_dtype must be 'bfloat16' or 'float32', got {self.knn_dtype!r}")

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["weights"] = self.weights.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GraphConfig:
        data = dict(data)
        interests = dict(data.pop("interests", {}))
        for key in ("fields", "tag_events", "text_events"):
            if interests.get(key) is not None:
                interests[key] = tuple(interests[key])
        weights = dict(data.pop("weights", {}))
        if "rating_events" in weights:
            weights["rating_events"] = tuple(weights["rating_events"])
        return cls(interests=InterestConfig(**interests), weights=EventWeights(**weights), **data)
