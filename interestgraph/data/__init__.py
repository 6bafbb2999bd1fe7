"""Behaviour-log data layer: canonical form, readers, validation, weights, filters, splits.

Typical use::

    from interestgraph.data import load_movielens, split_log
    log = load_movielens("../shared/datasets/ml-latest-small")
    split = split_log(log, "rs-4")
    print(split.describe())

Everything downstream reads :class:`InteractionLog` and :class:`Split`.
"""

from .filters import filter_dates, filter_min_rating, k_core
from .formats import load_source
from .formats.movielens import load_movielens
from .protocols import PROTOCOLS, split_log
from .readers import read_log, read_table
from .schema import INTERACTION_COLUMNS, InteractionLog, parse_timestamps
from .splits import (
    PARTS,
    Protocol,
    Split,
    cold_item_split,
    given_split,
    global_time_split,
    leave_last_out_split,
    user_ratio_split,
)
from .storage import load_dataset, save_dataset
from .synthetic import PlantedTruth, SyntheticConfig, SyntheticData, generate_synthetic
from .weights import DEFAULT_EVENT_WEIGHTS, EventWeights

__all__ = [
    "DEFAULT_EVENT_WEIGHTS",
    "INTERACTION_COLUMNS",
    "PARTS",
    "PROTOCOLS",
    "EventWeights",
    "InteractionLog",
    "PlantedTruth",
    "Protocol",
    "Split",
    "SyntheticConfig",
    "SyntheticData",
    "cold_item_split",
    "filter_dates",
    "filter_min_rating",
    "generate_synthetic",
    "given_split",
    "global_time_split",
    "k_core",
    "leave_last_out_split",
    "load_dataset",
    "load_movielens",
    "load_source",
    "parse_timestamps",
    "read_log",
    "read_table",
    "save_dataset",
    "split_log",
    "user_ratio_split",
]
