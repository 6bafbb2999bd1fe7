"""Filters on a log: k-core, minimum rating, date window.

Each returns a new :class:`InteractionLog` (the catalog is kept whole: items
that lose their interactions stay as text-only items), records what it
removed in ``notes``, and raises :class:`DataError` when nothing is left.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError
from .schema import ITEM_ID, RATING_EVENTS, InteractionLog, parse_timestamps
from .weights import EventWeights


def _keep(log: InteractionLog, keep: np.ndarray, what: str) -> InteractionLog:
    if not keep.any():
        raise DataError(f"{log.source}: the log is empty after filtering ({what})")
    removed = int((~keep).sum())
    if not removed:
        return log
    return log.with_interactions(log.interactions[keep], f"{what} removed {removed} events")


def k_core(
    log: InteractionLog, min_user: int = 5, min_item: int = 5, *, weights: EventWeights | None = None
) -> InteractionLog:
    """Iteratively keep users with >= ``min_user`` distinct positive items and
    items with >= ``min_item`` distinct positive users (all events of removed
    users and items go). Positives follow ``weights`` (default :class:`EventWeights`)."""
    if min_user < 1 or min_item < 1:
        raise ValueError(f"min_user and min_item must be >= 1, got {min_user}, {min_item}")
    weights = weights or EventWeights()
    _, positive = weights.apply(log.interactions, log.source)
    pairs = log.interactions.loc[positive, ["user_id", ITEM_ID]].drop_duplicates()
    while True:
        user_n = pairs["user_id"].map(pairs["user_id"].value_counts())
        item_n = pairs[ITEM_ID].map(pairs[ITEM_ID].value_counts())
        ok = (user_n >= min_user) & (item_n >= min_item)
        if ok.all():
            break
        pairs = pairs[ok]
    keep = (
        log.interactions["user_id"].isin(pairs["user_id"]) & log.interactions[ITEM_ID].isin(pairs[ITEM_ID])
    ).to_numpy()
    return _keep(log, keep, f"k-core (users >= {min_user}, items >= {min_item})")


def filter_min_rating(
    log: InteractionLog, min_rating: float, *, rating_events: tuple[str, ...] = RATING_EVENTS
) -> InteractionLog:
    """Drop rating events below ``min_rating`` (other events are kept)."""
    inter = log.interactions
    low = inter["event"].isin(rating_events).to_numpy() & (inter["value"].to_numpy() < min_rating)
    return _keep(log, ~low, f"min rating {min_rating:g}")


def filter_dates(
    log: InteractionLog, start: str | int | pd.Timestamp | None = None, end: str | int | pd.Timestamp | None = None
) -> InteractionLog:
    """Keep events with ``start <= timestamp < end`` (ISO dates or Unix seconds; None = open)."""
    if not log.has_timestamps:
        raise DataError(f"{log.source}: a date window needs timestamps, and this log has none")
    bounds = []
    for name, value in (("start", start), ("end", end)):
        if value is None:
            bounds.append(None)
            continue
        if isinstance(value, pd.Timestamp):
            value = value.isoformat()
        try:
            bounds.append(
                int(parse_timestamps(pd.Series([value]), column=name, source="filter_dates", now=float("inf"))[0])
            )
        except DataError:
            raise ValueError(f"{name} must be an ISO date or Unix seconds, got {value!r}") from None
    lo, hi = bounds
    if lo is not None and hi is not None and lo >= hi:
        raise ValueError(f"start ({start!r}) must be before end ({end!r})")
    t = log.interactions["timestamp"].to_numpy()
    keep = np.ones(len(t), dtype=bool)
    if lo is not None:
        keep &= t >= lo
    if hi is not None:
        keep &= t < hi
    return _keep(log, keep, f"date window [{start}, {end})")
