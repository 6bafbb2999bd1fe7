"""Event weights: how strongly each event says "this user is interested in this item".

Policy, applied per event row (``value`` is a rating for rating events, a
count for the others):

* rating events (``rating``, ``review``): a rating ``>= positive_threshold``
  is positive interest with weight ``events[event]`` (``rating_weight="binary"``)
  or ``events[event] * (rating - threshold + 1)`` (``"linear"``). A rating
  below the threshold is **not** positive interest: with ``negative="drop"``
  its weight is 0 (it makes no edge); with ``negative="negative"`` its weight
  is ``-events[event]`` (binary) or ``-events[event] * (threshold - rating)``
  (linear), for models that learn from explicit dislikes. Either way it is
  never a positive.
* count events (view, click, purchase, ...): weight ``events[event] * g(count)``
  with ``g`` = 1 for any count > 0 (``"binary"``), ``log2(1 + count)``
  (``"log"``, so a count of 1 weighs 1) or ``count`` (``"linear"``). Positive
  when the weight is > 0.
* side events (``tag``, ``query`` by default, weight 0) carry text but are
  not positives on their own; they travel with their (user, item) pair.

An event type with no entry in ``events`` is an error that names it: a
weight has to be a decision, not a silent default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError, describe_rows
from .schema import RATING_EVENTS

DEFAULT_EVENT_WEIGHTS: dict[str, float] = {
    "interaction": 1.0,
    "view": 1.0,
    "click": 1.0,
    "like": 2.0,
    "share": 2.0,
    "cart": 2.0,
    "purchase": 3.0,
    "rating": 1.0,
    "review": 1.0,
    "tag": 0.0,
    "query": 0.0,
}


@dataclass(frozen=True)
class EventWeights:
    """Map from event type (and rating) to interaction strength; see the module docstring.

    Attributes:
        events: base weight per event type (>= 0).
        rating_events: events whose value is a rating.
        positive_threshold: ratings at or above it are positive interest.
        rating_weight: ``"binary"`` or ``"linear"`` in the rating above the threshold.
        count_weight: ``"binary"``, ``"log"`` or ``"linear"`` in the count.
        negative: ``"drop"`` (weight 0) or ``"negative"`` (negative weight) for low ratings.
    """

    events: Mapping[str, float] = field(default_factory=lambda: dict(DEFAULT_EVENT_WEIGHTS))
    rating_events: tuple[str, ...] = RATING_EVENTS
    positive_threshold: float = 4.0
    rating_weight: Literal["binary", "linear"] = "binary"
    count_weight: Literal["binary", "log", "linear"] = "log"
    negative: Literal["drop", "negative"] = "drop"

    def __post_init__(self) -> None:
        if self.rating_weight not in ("binary", "linear"):
            raise ValueError(f"rating_weight must be 'binary' or 'linear', got {self.rating_weight!r}")
        if self.count_weight not in ("binary", "log", "linear"):
            raise ValueError(f"count_weight must be 'binary', 'log' or 'linear', got {self.count_weight!r}")
        if self.negative not in ("drop", "negative"):
            raise ValueError(f"negative must be 'drop' or 'negative', got {self.negative!r}")
        if not np.isfinite(self.positive_threshold):
            raise ValueError(f"positive_threshold must be finite, got {self.positive_threshold!r}")
        for name, weight in self.events.items():
            if not (np.isfinite(weight) and weight >= 0):
                raise ValueError(f"events[{name!r}] must be a finite weight >= 0, got {weight!r}")

    def to_dict(self) -> dict:
        """JSON-serialisable form, for manifests and printed protocols."""
        return {
            "events": dict(self.events),
            "rating_events": list(self.rating_events),
            "positive_threshold": self.positive_threshold,
            "rating_weight": self.rating_weight,
            "count_weight": self.count_weight,
            "negative": self.negative,
        }

    def apply(self, interactions: pd.DataFrame, source: str = "interactions") -> tuple[np.ndarray, np.ndarray]:
        """Weight every event row.

        Args:
            interactions: canonical interactions (``event`` and ``value`` columns).

        Returns:
            ``(weight, positive)``: float64 and bool arrays of shape ``(n_events,)``.

        Raises:
            DataError: an event type has no weight in ``events``.
        """
        events = interactions["event"]
        kinds = pd.Categorical(events)  # a few distinct event types over many rows
        names_known = np.array([c in self.events for c in kinds.categories], dtype=bool)
        known = names_known[kinds.codes]
        if not known.all():
            bad = np.flatnonzero(~known)
            names = sorted(pd.unique(events.iloc[bad]).tolist())
            raise DataError(
                f"{source}: event type(s) {', '.join(map(repr, names))} have no weight ({describe_rows(bad)}); add "
                f"them to EventWeights.events, e.g. EventWeights(events={{**DEFAULT_EVENT_WEIGHTS, {names[0]!r}: 1.0}})"
            )
        base = np.array([self.events[c] for c in kinds.categories], dtype=np.float64)[kinds.codes]
        value = interactions["value"].to_numpy(dtype=np.float64)
        is_rating = np.array([c in self.rating_events for c in kinds.categories], dtype=bool)[kinds.codes]

        above = value >= self.positive_threshold
        if self.rating_weight == "binary":
            rating_pos = base
            rating_neg = -base
        else:
            rating_pos = base * (value - self.positive_threshold + 1.0)
            rating_neg = -base * (self.positive_threshold - value)
        rating_w = np.where(above, rating_pos, rating_neg if self.negative == "negative" else 0.0)

        if self.count_weight == "binary":
            count_w = base * (value > 0)
        elif self.count_weight == "log":
            count_w = base * np.log2(1.0 + np.maximum(value, 0.0))
        else:
            count_w = base * value
        weight = np.where(is_rating, rating_w, count_w)
        positive = np.where(is_rating, above & (base > 0), count_w > 0)
        return weight.astype(np.float64), positive.astype(bool)
