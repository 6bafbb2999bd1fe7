"""The closed-form item–item path model: ``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]``.

    from interestgraph.model import ItemPathConfig, ItemPathModel, tune_item_path
    model = ItemPathModel(ItemPathConfig()).fit(graph)
    scores = model.score(users)                # (len(users), n_items)
    model.explain(user, item)                  # [(history item j, component c, r(u,j)·θ_c·F_c[j,i]), ...]
    best, tried = tune_item_path(graph)        # θ chosen on the split's validation part, every try recorded

``j`` runs over the user's training items, ``r(u, j)`` is the first step (1, or ``0.5 ** (rank / h)`` with rank 0
the user's latest item), and the ``F_c`` are the named components of :mod:`interestgraph.paths.components`
(a ridge co-occurrence backbone — EASE, optionally with interests as side rows —, item → interest → item paths,
text neighbours, an ideal low-pass). Every score is the exact sum of the terms :meth:`ItemPathModel.explain` lists.

Design choice: the walk families that carry most of the path model's score (u→j→u'→i, u→j→v→i, u→j→j'→i) are
item-to-item, so they are built once as closed-form item × item matrices instead of being trained on
sampled-subgraph mini-batches: the fit then costs one pass over the log plus item × item algebra (it grows with the
log and the catalogue, not with edges × user batches), and the few weights ``θ`` are chosen on validation. What
it measured, against EASE and the graph filters tuned the same way, is in ``docs/evaluation.md`` ("The
item–item path model") and the prototype's record, ``docs/research/item_path/README.md``.

This version keeps every component dense (``max_dense_items``); sparse / low-rank components for large
catalogues, saving and loading, separate weights for cold items and the CLI are not part of it.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..evaluate import evaluate
from ..graph.interest_graph import InterestGraph
from ..ops import check_positive_int
from ..paths import ModelConfig, first_step_kind, first_step_matrix
from ..paths.components import (
    MAX_DENSE_ITEMS,
    IdealLowPass,
    InterestPaths,
    ItemComponent,
    ItemData,
    RidgeCooccurrence,
    TextNeighbours,
)
from ..paths.config import JsonConfig, check_number
from ..progress import progress

COMPONENT_NAMES = ("ridge", "interest", "text", "lowpass")


class Contribution(NamedTuple):
    """One term of a score: ``value = r(u, j) · θ_c · F_c[j, i]``."""

    history_item: int
    component: str
    value: float


@dataclass
class ItemPathConfig(JsonConfig):
    """The item–item path model.

    Attributes:
        theta: ``{component: θ_c}`` over ``"ridge"``, ``"interest"``, ``"text"``, ``"lowpass"``; a component with
            θ 0 (or absent) is not fitted. Weights may be negative.
        ridge: EASE's λ.
        side_weight: interests as side rows of the ridge (collective EASE), relative to the users' weight; 0 = plain
            EASE.
        interest_exponent: the item-degree exponent of the interest paths.
        text_k: text neighbours kept per item.
        lowpass_rank: the ideal low-pass's rank.
        first_step_weights: ``"uniform"``, ``"order"`` (``0.5 ** (rank / first_step_half_life_items)``) or
            ``"auto"`` (``"order"`` on temporal splits, as :class:`~interestgraph.paths.ModelConfig`).
        first_step_half_life_items: the order half-life, in items.
        max_dense_items: the largest catalogue (candidate items) for which dense item × item matrices are built.
        dtype: ``"float32"`` or ``"float64"`` (exact explanations to the last digit).
        batch_size: users per scoring product when rescaling the components.
    """

    theta: dict[str, float] = field(
        default_factory=lambda: {"ridge": 1.0, "interest": 0.1, "text": 0.05, "lowpass": 0.05}
    )
    ridge: float = 100.0
    side_weight: float = 0.3
    interest_exponent: float = 0.5
    text_k: int = 50
    lowpass_rank: int = 64
    first_step_weights: str = "auto"
    first_step_half_life_items: float = 5.0
    max_dense_items: int = MAX_DENSE_ITEMS
    dtype: str = "float32"
    batch_size: int = 4096

    def __post_init__(self) -> None:
        unknown = set(self.theta) - set(COMPONENT_NAMES)
        if unknown:
            raise ValueError(f"theta: unknown components {sorted(unknown)}; choose from {', '.join(COMPONENT_NAMES)}")
        for name, value in self.theta.items():
            check_number(f"theta[{name!r}]", value, -np.inf)
        if not any(value != 0 for value in self.theta.values()):
            raise ValueError("theta: at least one component needs a nonzero weight")
        check_number("ridge", self.ridge, 0.0, low_open=True)
        check_number("side_weight", self.side_weight, 0.0)
        check_number("interest_exponent", self.interest_exponent, 0.0, 1.0)
        check_positive_int("text_k", self.text_k)
        check_positive_int("lowpass_rank", self.lowpass_rank)
        if self.first_step_weights not in ("auto", "uniform", "order"):
            raise ValueError(
                f"first_step_weights must be 'auto', 'uniform' or 'order', got {self.first_step_weights!r}"
            )
        check_number("first_step_half_life_items", self.first_step_half_life_items, 0.0, low_open=True)
        check_positive_int("max_dense_items", self.max_dense_items)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        check_positive_int("batch_size", self.batch_size)

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32


class ItemPathModel:
    """``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]`` over the split's candidate items; meets the evaluation harness's
    :class:`~interestgraph.evaluate.Recommender` contract.

    Components are fitted on the candidate items (items with a training positive, plus the split's cold items);
    other items score 0. Each component is rescaled once so that ``‖H F_c‖_F`` (``H`` all users' first steps)
    equals the ridge backbone's (the first fitted component's when there is no ridge), so the θ are comparable.

    Attributes:
        components_: ``{name: fitted ItemComponent}`` (rescaled).
        theta_: ``{name: θ_c}`` of the fitted components.
        skipped_: ``{name: reason}`` for components with nonzero θ the graph could not feed (no interests, no text).
        first_step_: ``"uniform"`` or ``"order"``.
        active_items_: ``(n_active,)`` item codes the components cover.
        history_: ``(n_users, n_active)`` CSR of ``r(u, j)``.
        combined_: ``(n_active, n_active)`` ``Σ_c θ_c F_c``.
    """

    def __init__(self, config: ItemPathConfig | None = None) -> None:
        self.config = config if config is not None else ItemPathConfig()

    # ------------------------------------------------------------------ fit
    def fit(self, graph: InterestGraph) -> ItemPathModel:
        """Fit every component with nonzero θ on ``graph``'s training positives, interests and item vectors."""
        config = self.config
        split = graph.split
        log = split.log
        train = split.positive_matrix("train")
        active = np.sort(log.item_ids.get_indexer(split.candidate_items))
        data = ItemData(
            positives=sp.csr_matrix(train[:, active]),
            item_interest=_item_interest(graph, active),
            item_vectors=None if graph.item_vectors is None else graph.item_vectors[torch.from_numpy(active)],
        )
        wanted = [name for name in COMPONENT_NAMES if config.theta.get(name, 0.0) != 0]
        skipped: dict[str, str] = {}
        if "interest" in wanted and data.item_interest is None:
            skipped["interest"] = "the graph has no item-interest edges"
        if "text" in wanted and data.item_vectors is None:
            skipped["text"] = "the graph has no item vectors"
        wanted = [name for name in wanted if name not in skipped]
        if not wanted:
            raise ValueError(f"no component can be fitted: {skipped}")
        components: dict[str, ItemComponent] = {}
        for name in progress(wanted, desc="item-path components", unit="component"):
            components[name] = self._component(name, data).fit(data)
        kind = first_step_kind(ModelConfig(first_step_weights=config.first_step_weights), graph)
        history = self._history(graph, kind, active)
        reference = None
        for component in components.values():
            if reference is None:
                reference = _product_norm(component, history, config.batch_size)
                continue
            norm = _product_norm(component, history, config.batch_size)
            if norm > 0 and reference > 0:
                component.rescale(reference / norm)
        self._set_state(graph, components, {n: float(config.theta[n]) for n in components}, skipped, kind, active)
        self.history_ = history
        return self

    def _component(self, name: str, data: ItemData) -> ItemComponent:
        config = self.config
        common = dict(max_dense_items=config.max_dense_items, dtype=config.torch_dtype)
        if name == "ridge":
            side = config.side_weight if data.item_interest is not None else 0.0
            return RidgeCooccurrence(config.ridge, side, **common)
        if name == "interest":
            return InterestPaths(config.interest_exponent, **common)
        if name == "text":
            return TextNeighbours(config.text_k, **common)
        return IdealLowPass(config.lowpass_rank, **common)

    def _history(self, graph: InterestGraph, kind: str, active: np.ndarray) -> sp.csr_matrix:
        train = graph.split.positive_matrix("train")
        if kind == "uniform":
            history = sp.csr_matrix(train, dtype=np.float64)
            history.data[:] = 1.0
        else:
            step = ModelConfig(
                first_step_weights="order", first_step_half_life_items=self.config.first_step_half_life_items
            )
            history = first_step_matrix(graph, step)
        return sp.csr_matrix(history[:, active])

    def _set_state(self, graph, components, theta, skipped, kind, active) -> None:
        """The fitted state, set in one place."""
        self.components_ = components
        self.theta_ = theta
        self.skipped_ = skipped
        self.first_step_ = kind
        self.active_items_ = active
        self._user_ids = graph.users
        self._item_ids = graph.items
        self._seen = graph.split.positive_matrix("train").tocsr()
        combined = None
        for name, component in components.items():
            term = theta[name] * component.matrix
            combined = term if combined is None else combined + term
        self.combined_ = combined

    def reweighted(self, theta: dict[str, float]) -> ItemPathModel:
        """A copy with other weights over the already fitted components (no refit; a component missing from
        ``theta`` gets 0)."""
        self._check_fitted()
        missing = [name for name, value in theta.items() if value != 0 and name not in self.components_]
        if missing:
            raise ValueError(f"reweighted: components {missing} were not fitted (fitted: {list(self.components_)})")
        other = copy.copy(self)
        other.config = dataclasses.replace(self.config, theta=dict(theta))
        weights = {name: float(theta.get(name, 0.0)) for name in self.components_}
        combined = None
        for name, component in self.components_.items():
            term = weights[name] * component.matrix
            combined = term if combined is None else combined + term
        other.theta_ = weights
        other.combined_ = combined
        return other

    # ------------------------------------------------------------------ contract
    def _check_fitted(self) -> None:
        if not hasattr(self, "components_"):
            raise RuntimeError("ItemPathModel is not fitted: call fit(graph) first")

    @property
    def user_ids(self) -> pd.Index:
        self._check_fitted()
        return self._user_ids

    @property
    def item_ids(self) -> pd.Index:
        self._check_fitted()
        return self._item_ids

    @property
    def seen(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` CSR of the training positives (masked from recommendations)."""
        self._check_fitted()
        return self._seen

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` scores ``H[users] @ Σ_c θ_c F_c`` (0 on items outside ``active_items_``)."""
        self._check_fitted()
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if len(users) and (users.min() < 0 or users.max() >= self.history_.shape[0]):
            raise IndexError(f"user codes must be in 0..{self.history_.shape[0] - 1}")
        dtype = self.combined_.dtype
        history = torch.from_numpy(self.history_[users].toarray()).to(dtype)
        out = torch.zeros(len(users), len(self._item_ids), dtype=dtype)
        out[:, torch.from_numpy(self.active_items_)] = history @ self.combined_
        return out

    def explain(self, user: int, item: int) -> list[Contribution]:
        """Every nonzero term ``(history item j, component c, r(u, j) · θ_c · F_c[j, i])`` of ``score(user)[item]``
        (item codes; computed in float64, they sum to the score up to the score's rounding)."""
        self._check_fitted()
        n_users = self.history_.shape[0]
        if not 0 <= int(user) < n_users:
            raise IndexError(f"user code {user} outside 0..{n_users - 1}")
        if not 0 <= int(item) < len(self._item_ids):
            raise IndexError(f"item code {item} outside 0..{len(self._item_ids) - 1}")
        column = int(np.searchsorted(self.active_items_, item))
        if column >= len(self.active_items_) or self.active_items_[column] != item:
            return []  # not covered by any component: the score is 0
        row = self.history_[int(user)]
        terms: list[Contribution] = []
        for name, component in self.components_.items():
            weight = self.theta_[name]
            if weight == 0:
                continue
            entries = component.matrix[torch.from_numpy(row.indices.astype(np.int64)), column].double().numpy()
            values = row.data * weight * entries
            terms += [
                Contribution(int(self.active_items_[j]), name, float(v))
                for j, v in zip(row.indices, values, strict=True)
                if v != 0
            ]
        return terms

    def expandable(self) -> dict[str, bool]:
        """``{component: whether its terms expand into finite walks}``."""
        self._check_fitted()
        return {name: component.expandable for name, component in self.components_.items()}


def _item_interest(graph: InterestGraph, active: np.ndarray) -> sp.csr_matrix | None:
    """``(n_active, n_interests)`` CSR of the graph's item–interest weights (None without such edges)."""
    table = graph.edges.get("item-interest")
    if table is None or len(table) == 0:
        return None
    matrix = sp.csr_matrix(
        (table["weight"].to_numpy(dtype=np.float64), (table["src"].to_numpy(), table["dst"].to_numpy())),
        shape=(len(graph.items), len(graph.interests)),
    )[active]
    return matrix if matrix.nnz else None


def _product_norm(component: ItemComponent, history: sp.csr_matrix, batch_size: int) -> float:
    """``‖history @ F_c‖_F`` computed in user batches."""
    total = 0.0
    for start in range(0, history.shape[0], batch_size):
        rows = torch.from_numpy(history[start : start + batch_size].toarray())
        total += float(component.apply(rows).double().pow(2).sum())
    return float(np.sqrt(total))


# ---------------------------------------------------------------------- tuning
@dataclass
class ItemPathGrid(JsonConfig):
    """The stated validation grid of :func:`tune_item_path`.

    Stage 1 fits the ridge backbone for every ``ridge × side_weight`` (the other weights 0); stage 2, at the best
    backbone, one round of coordinate ascent over ``interest``, ``text``, ``lowpass`` with each θ in ``theta`` (the
    value kept only when validation NDCG improves strictly); stage 3, on temporal splits with ``"auto"`` first
    steps, each half-life in ``half_life_items`` (refits). The number of configurations is at most
    ``|ridge|·|side_weight| + 3·|theta| + |half_life_items|``.
    """

    ridge: tuple[float, ...] = (100.0, 400.0)
    side_weight: tuple[float, ...] = (0.0, 0.3, 1.0)
    theta: tuple[float, ...] = (0.05, 0.1, 0.2)
    half_life_items: tuple[float, ...] = (3.0, 5.0, 10.0)
    metric: str = "ndcg@20"


def tune_item_path(
    graph: InterestGraph, grid: ItemPathGrid | None = None, base: ItemPathConfig | None = None
) -> tuple[ItemPathModel, list[dict[str, Any]]]:
    """Choose the model's settings on ``graph``'s validation part by ``grid``.

    Returns:
        ``(best fitted model, tried)``: ``tried`` one record per configuration scored on validation (its settings
        and the validation metric), in the order tried; the best is the first with the highest metric.
    """
    grid = grid if grid is not None else ItemPathGrid()
    base = base if base is not None else ItemPathConfig()
    cutoff = int(grid.metric.split("@")[1])
    split = graph.split
    tried: list[dict[str, Any]] = []

    def score(model: ItemPathModel) -> float:
        result = evaluate(model, split, part="valid", cutoffs=(cutoff,), name="item-path")
        value = float(result.metrics[grid.metric])
        tried.append(
            {
                "ridge": model.config.ridge,
                "side_weight": model.config.side_weight,
                "theta": dict(model.theta_),
                "first_step": model.first_step_,
                "half_life_items": model.config.first_step_half_life_items,
                grid.metric: value,
            }
        )
        return value

    has_interests = _item_interest(graph, np.arange(len(graph.items))) is not None
    best_value, best_backbone = -np.inf, None
    for ridge, side in itertools.product(grid.ridge, grid.side_weight if has_interests else (0.0,)):
        config = dataclasses.replace(base, ridge=ridge, side_weight=side, theta={"ridge": 1.0})
        value = score(ItemPathModel(config).fit(graph))
        if value > best_value:
            best_value, best_backbone = value, config
    # the additive components, fitted once at the chosen backbone (at the grid's largest weight), then reweighted
    extra = {name: max(grid.theta) for name in ("interest", "text", "lowpass")}
    full = ItemPathModel(dataclasses.replace(best_backbone, theta={"ridge": 1.0, **extra})).fit(graph)
    best_model = full.reweighted({"ridge": 1.0})
    theta = {"ridge": 1.0}
    for name in ("interest", "text", "lowpass"):
        if name not in best_model.components_:
            continue
        for weight in grid.theta:
            candidate = best_model.reweighted({**theta, name: weight})
            value = score(candidate)
            if value > best_value:
                best_value, best_model = value, candidate
        theta = dict(best_model.theta_)
    if base.first_step_weights == "auto" and best_model.first_step_ == "order":
        chosen = best_model
        for half_life in grid.half_life_items:
            config = dataclasses.replace(
                best_model.config,
                theta={k: v for k, v in best_model.theta_.items() if v != 0},
                first_step_half_life_items=half_life,
            )
            candidate = ItemPathModel(config).fit(graph)
            value = score(candidate)
            if value > best_value:
                best_value, chosen = value, candidate
        best_model = chosen
    return best_model, tried
