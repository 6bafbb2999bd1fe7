"""Tuning LightGCN on validation NDCG@20 over a small grid (the issue's 'tuned LightGCN')."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..data.splits import Split
from .lightgcn import LightGCN

DEFAULT_GRID: dict[str, tuple[Any, ...]] = {"lr": (1e-3, 5e-3), "l2": (1e-4, 1e-3), "layers": (2, 3)}


def tune_lightgcn(
    split: Split, grid: Mapping[str, Sequence[Any]] | None = None, **fixed: Any
) -> tuple[LightGCN, pd.DataFrame]:
    """Fit :class:`LightGCN` for every combination of ``grid`` and keep the best on validation NDCG@20.

    Args:
        split: must have a validation part (the choice never looks at test).
        grid: ``{argument: values}``; default ``lr ∈ {1e-3, 5e-3}``, ``l2 ∈ {1e-4, 1e-3}``, ``layers ∈ {2, 3}``.
        **fixed: other :class:`LightGCN` arguments, the same for every configuration.

    Returns:
        ``(best fitted model, table)``: one row per configuration with its grid values,
        ``valid_ndcg@20`` (best over its epochs), ``best_epoch``, ``epochs``, ``train_seconds``
        and ``chosen`` (True on the picked row).

    Raises:
        ValueError: empty grid or grid values, an argument in both ``grid`` and ``fixed``,
            or a split without validation pairs.
    """
    grid = dict(DEFAULT_GRID if grid is None else grid)
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise ValueError(f"grid must name at least one argument, each with at least one value; got {grid!r}")
    clash = sorted(set(grid) & set(fixed))
    if clash:
        raise ValueError(f"grid and fixed both set {clash}")
    if len(split.positive_pairs("valid")) == 0:
        raise ValueError("split has no validation pairs: tuning picks on validation NDCG@20")
    names = list(grid)
    rows, best_model, best_value = [], None, -float("inf")
    for values in itertools.product(*(grid[n] for n in names)):
        config = dict(zip(names, values))
        model = LightGCN(**fixed, **config).fit(split)
        rows.append(
            {
                **config,
                "valid_ndcg@20": model.best_valid_ndcg_,
                "best_epoch": model.best_epoch_,
                "epochs": model.epochs_,
                "train_seconds": round(model.train_seconds_, 2),
            }
        )
        if model.best_valid_ndcg_ > best_value:
            best_model, best_value = model, model.best_valid_ndcg_
    table = pd.DataFrame(rows)
    table["chosen"] = table["valid_ndcg@20"] == best_value
    if table["chosen"].sum() > 1:  # ties: the first configuration (the one returned) is chosen
        first = table.index[table["chosen"]][0]
        table["chosen"] = table.index == first
    return best_model, table
