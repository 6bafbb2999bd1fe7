"""Validation grids and tuning of the linear item–item baselines (EASE, GF-CF, ChebyCF).

Every setting is chosen on the split's validation part by NDCG@20 (the
harness's full ranking, training items masked); the model is fitted on the
training part only, so the chosen model is the one whose test figure is
reported, once. The grids are stated here and printed with every result:

* ``EASE``:    ``l2 ∈ {50, 100, 200, 500, 1000, 2000}``                           (6 settings)
* ``GFCF``:    ``k ∈ {64, 256}`` × ``alpha ∈ {0, 0.1, 0.3, 0.5, 1.0}``               (10 settings)
* ``ChebyCF``: ``order ∈ {8}`` × ``flatness ∈ {1, 1.5, 2, 3}`` × ``alpha ∈ {0, 0.2}``
  × ``beta ∈ {0.1, 0.2, 0.3, 0.4, 0.5}``, ``ideal_rank`` 256                       (40 settings)

  (widened from ``flatness ∈ {1, 1.5, 2}``, ``beta ∈ {0.2, …, 0.5}`` after that grid's
  validation choice sat on its edges on ml-latest-small, ``flatness = 2``, ``beta = 0.2``)

GF-CF's ``k`` and ChebyCF's ideal rank are capped at ``min(n_users, n_items) − 1``
by the SVD; configurations that share an SVD reuse it (see :mod:`.filters`).
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from ..data.splits import Split
from ..evaluate import evaluate
from ..progress import progress
from .ease import EASE
from .filters import GFCF, ChebyCF

EASE_GRID: dict[str, tuple[Any, ...]] = {"l2": (50.0, 100.0, 200.0, 500.0, 1000.0, 2000.0)}
GFCF_GRID: dict[str, tuple[Any, ...]] = {"k": (64, 256), "alpha": (0.0, 0.1, 0.3, 0.5, 1.0)}
CHEBYCF_GRID: dict[str, tuple[Any, ...]] = {
    "order": (8,),
    "flatness": (1.0, 1.5, 2.0, 3.0),
    "alpha": (0.0, 0.2),
    "beta": (0.1, 0.2, 0.3, 0.4, 0.5),
}

#: the CLI / benchmark name of each model: (class, default grid)
LINEAR_MODELS: dict[str, tuple[type, dict[str, tuple[Any, ...]]]] = {
    "ease": (EASE, EASE_GRID),
    "gfcf": (GFCF, GFCF_GRID),
    "chebycf": (ChebyCF, CHEBYCF_GRID),
}


def grid_configs(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """Every combination of ``grid`` (the first argument varies slowest), with duplicates of configurations that
    cannot differ removed: with ``alpha == 0`` the ideal pass's rank (``k`` / ``ideal_rank``) does not matter."""
    names = list(grid)
    configs, seen = [], set()
    for values in itertools.product(*(grid[n] for n in names)):
        config = dict(zip(names, values))
        key = tuple(
            (n, None if n in ("k", "ideal_rank") and config.get("alpha", 1) == 0 else v) for n, v in config.items()
        )
        if key not in seen:
            seen.add(key)
            configs.append(config)
    return configs


def tune_grid(
    make: Callable[..., Any],
    split: Split,
    grid: Mapping[str, Sequence[Any]],
    *,
    metric: str = "ndcg@20",
    name: str | None = None,
    **fixed: Any,
) -> tuple[Any, pd.DataFrame]:
    """Fit ``make(**fixed, **config)`` on the training part for every configuration of ``grid`` and keep the best
    on the validation part's ``metric``.

    Returns:
        ``(best fitted model, table)``: one row per configuration with its values, ``valid_<metric>``,
        ``valid_recall@20``, ``fit_seconds``, ``valid_seconds`` and ``chosen`` (True on the first best row).

    Raises:
        ValueError: empty grid or grid values, an argument in both ``grid`` and ``fixed``,
            or a split without validation pairs.
    """
    grid = dict(grid)
    if not grid or any(len(v) == 0 for v in grid.values()):
        raise ValueError(f"grid must name at least one argument, each with at least one value; got {grid!r}")
    clash = sorted(set(grid) & set(fixed))
    if clash:
        raise ValueError(f"grid and fixed both set {clash}")
    if len(split.positive_pairs("valid")) == 0:
        raise ValueError(f"split has no validation pairs: tuning picks on validation {metric}")
    configs = grid_configs(grid)
    label = name or getattr(make, "__name__", "model")
    rows, best_model, best_value = [], None, -float("inf")
    bar = progress(total=len(configs), desc=f"tune {label}", unit="config")
    for config in configs:
        started = time.perf_counter()
        model = make(**fixed, **config).fit(split)
        fit_seconds = time.perf_counter() - started
        result = evaluate(model, split, part="valid", cutoffs=(20,), name=label)
        value = result.metrics[metric]
        rows.append(
            {
                **config,
                f"valid_{metric}": value,
                "valid_recall@20": result.metrics["recall@20"],
                "fit_seconds": round(fit_seconds, 3),
                "valid_seconds": round(result.seconds, 3),
            }
        )
        if value > best_value:
            best_model, best_value = model, value
        else:
            del model
        bar.update(1)
    bar.close()
    table = pd.DataFrame(rows)
    chosen = int(table.index[table[f"valid_{metric}"] == best_value][0])
    table["chosen"] = table.index == chosen
    return best_model, table


def tune_linear(
    name: str, split: Split, grid: Mapping[str, Sequence[Any]] | None = None, **fixed: Any
) -> tuple[Any, pd.DataFrame]:
    """Tune one of :data:`LINEAR_MODELS` (``"ease"``, ``"gfcf"``, ``"chebycf"``) on validation NDCG@20 over its
    default grid (or ``grid``); ``fixed`` are other constructor arguments. See :func:`tune_grid`."""
    if name not in LINEAR_MODELS:
        raise ValueError(f"name must be one of {', '.join(LINEAR_MODELS)}, got {name!r}")
    cls, default = LINEAR_MODELS[name]
    return tune_grid(cls, split, default if grid is None else grid, name=name, **fixed)


def describe_grid(grid: Mapping[str, Sequence[Any]]) -> str:
    """``"l2 ∈ {50, 100}"``-style text of a grid, with its number of configurations."""
    parts = " × ".join(
        f"{n} ∈ {{{', '.join(f'{v:g}' if isinstance(v, float) else str(v) for v in vs)}}}" for n, vs in grid.items()
    )
    return f"{parts} ({len(grid_configs(grid))} configurations)"
