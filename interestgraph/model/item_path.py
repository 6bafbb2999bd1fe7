"""The closed-form item–item path model: ``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]``.

    from interestgraph.model import ItemPathConfig, ItemPathModel, tune_item_path
    model = ItemPathModel().fit(graph)         # an InterestGraph, or a plain Split (co-occurrence components only)
    scores = model.score(users)                # (len(users), n_items)
    model.explain(user, item)                  # [(history item j, component c, r(u,j)·θ_c·F_c[j,i]), ...]
    best, tried = tune_item_path(graph)        # θ chosen on the split's validation part, every try recorded
    model.save("model/"); ItemPathModel.load("model/")

``j`` runs over the user's training items, ``r(u, j)`` is the first step (1, or ``0.5 ** (rank / h)`` with rank 0
the user's latest item), and the ``F_c`` are the named components of :mod:`interestgraph.paths.components`
(a ridge co-occurrence backbone — EASE, optionally with interests as side rows —, GF-CF's co-occurrence filter and
its square, ChebyCF's polynomial filter, an ideal low-pass, item → interest → item paths, text neighbours). Every score
is the exact sum of the terms :meth:`ItemPathModel.explain` lists.

Design choice, by measurement: the walk families that carry most of the path model's score (u→j→u'→i, u→j→v→i,
u→j→j'→i) are item-to-item, so they are built once in closed form instead of being trained on sampled-subgraph
mini-batches. The fit costs one pass over the log plus item × item algebra: it grows with the log and the catalogue,
never with edges × user batches (the trained path model took 2,044 s for one Gowalla epoch and was killed for memory
after three; the closed form's co-occurrence components fit Gowalla in seconds). Only the ridge backbone is a dense
item × item matrix (``max_dense_items``); the other components keep ``R̃``, sparse top-k rows or low-rank factors, so
the model fits catalogues past the dense limit without the ridge. The few weights ``θ`` are chosen on validation
(:func:`tune_item_path`). What it measured against EASE and the graph filters tuned the same way is in
``docs/evaluation.md`` ("The item–item path model") and the prototype's record, ``docs/research/item_path/README.md``.
"""

from __future__ import annotations

import copy
import dataclasses
import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..artifacts import atomic_directory, load_tensors, read_manifest, reading, save_tensors, write_manifest
from ..data.splits import Split
from ..errors import ArtifactError
from ..evaluate import evaluate, ranking_metrics
from ..graph.interest_graph import InterestGraph
from ..ops import check_positive_int
from ..paths.components import (
    COMPONENTS,
    MAX_DENSE_ITEMS,
    ItemAggregates,
    ItemComponent,
    ItemData,
    csr_from_tensors,
    csr_tensors,
    has_order,
    share_normalised,
)
from ..paths.config import JsonConfig, check_number
from ..paths.tables import recency_weights, split_pair_times
from ..progress import progress

#: the components in the model's order
COMPONENT_NAMES = tuple(COMPONENTS)
#: the default weights when ``theta`` is None: with the dense ridge backbone where the catalogue allows it ...
DENSE_THETA = {"ridge": 1.0, "interest": 0.1, "text": 0.05, "lowpass": 0.05}
#: ... and GF-CF's filter plus its low-pass above ``max_dense_items``
SPARSE_THETA = {"cooc": 1.0, "lowpass": 0.3, "interest": 0.1, "text": 0.05}
ITEM_PATH_FORMAT = "interestgraph-item-path-model"
ITEM_PATH_VERSION = 1
STATE_FILE = "state.safetensors"
IDS_FILE = "ids.parquet"
#: users sampled (seeded) for ``ItemPathModel.prior_scale_``
PRIOR_USERS = 256
#: how many catalogue items a free-text query steps to, and its popularity prior (pseudo-mass): of the grid
#: top {2, 5, 10, 20} x prior {0, 1}, the setting whose validation NDCG@20 is closest to the best on average over the
#: intent benchmark's four validation sets (synthetic paraphrases and MovieLens tags, query alone and with the
#: user's history; 0.984 of each set's best; benchmarks/README.md, "Free-text intents")
QUERY_TOP = 20
QUERY_PRIOR = 1.0
#: the encoder settings saved with a fine-tuned query encoder
QUERY_ENCODER_SETTINGS = ("mode", "top_layers", "lora_r", "lora_alpha")


class Contribution(NamedTuple):
    """One term of a score: ``value = r(u, j) · θ_c · F_c[j, i]``."""

    history_item: int
    component: str
    value: float


@dataclass
class ItemPathConfig(JsonConfig):
    """The item–item path model.

    Attributes:
        theta: ``{component: θ_c}`` over :data:`COMPONENT_NAMES`; a component with θ 0 (or absent) is not fitted.
            Weights may be negative. None: :data:`DENSE_THETA` when the catalogue fits ``max_dense_items``, else
            :data:`SPARSE_THETA`.
        cold_theta: weights for the columns of items without a training positive (cold items, reached only through
            components that do not need pairs: ``interest``, ``text``); None = ``theta`` everywhere. A component
            must be fitted (nonzero in ``theta``) to get a cold weight.
        ridge: EASE's λ.
        side_weight: interests as side rows of the ridge (collective EASE), relative to the users' weight; 0 = plain
            EASE.
        interest_exponent: the item-degree exponent of the interest paths.
        text_k: text neighbours kept per item.
        lowpass_rank: the ideal low-pass's rank.
        lowpass_beta: the ideal low-pass's degree normalisation ``D^-β V Vᵀ D^β`` (GF-CF: 0.5).
        lowpass_solver: ``"auto"`` (exact up to 6,000 items, randomised SVD above), ``"exact"``, ``"randomized"``;
            also the ``spectral`` component's.
        lowpass_power_iterations: the randomised SVD's subspace iterations (also the ``spectral`` component's).
        spectral_rank, spectral_epsilon, spectral_sharpness: the ``spectral`` component (SGFCF's weighted low-pass
            ``D^-ε V_k diag(σ̂^q) V_kᵀ`` in the normalisation ``D_u^-ε X D_i^-ε``: rank ``k``, ε, ``q``; see
            :class:`~interestgraph.paths.components.SpectralLowPass`).
        cheby_order, cheby_flatness, cheby_beta: ChebyCF's polynomial filter (degree, plateau flatness φ, β).
        transition_window, transition_decay, transition_source_exponent, transition_target_exponent: the
            ``transition`` component (what users take next: successors up to ``window`` positives later, weighted
            ``decay ** (gap - 1)``, normalised ``D_out^-a T D_in^-b``; see
            :class:`~interestgraph.paths.components.Transitions`).
        first_step_weights: ``"uniform"``, ``"order"`` (``0.5 ** (rank / first_step_half_life_items)``) or
            ``"auto"`` (``"order"`` on temporal splits, as :class:`~interestgraph.paths.ModelConfig`).
        first_step_half_life_items: the order half-life, in items.
        new_user_prior: the popularity prior of a new user's scores (:meth:`ItemPathModel.fold_in`) as a pseudo-mass
            of first steps: at ``p`` the most popular item scores what a typical training user's best path scores
            per ``p`` units of first-step weight (``prior_scale_``), so the prior dominates one given item and fades
            as items accumulate; 0 = paths only. The default was chosen on the validation users of the ``cold-user``
            benchmark's development split seeds (benchmarks/README.md).
        rescale: rescale every component so ``‖H F_c‖_F`` over ``norm_users`` sampled users equals the first
            fitted component's (so the θ are comparable); False keeps each component's own scale.
        norm_users: users sampled (seeded) for the rescaling.
        max_dense_items: the largest catalogue (candidate items) for which dense item × item matrices are built
            (the ridge; and the combined matrix that makes scoring one product).
        dtype: ``"float32"`` or ``"float64"`` (exact explanations to the last digit).
        batch_size: users per scoring product.
        seed: the randomised SVD's and the user sample's seed.
    """

    theta: dict[str, float] | None = None
    cold_theta: dict[str, float] | None = None
    ridge: float = 100.0
    side_weight: float = 0.3
    interest_exponent: float = 0.5
    text_k: int = 50
    lowpass_rank: int = 64
    lowpass_beta: float = 0.5
    lowpass_solver: str = "auto"
    lowpass_power_iterations: int = 2
    spectral_rank: int = 256
    spectral_epsilon: float = 0.3
    spectral_sharpness: float = 0.0
    cheby_order: int = 8
    cheby_flatness: float = 1.5
    cheby_beta: float = 0.4
    transition_window: int = 10
    transition_decay: float = 0.8
    transition_source_exponent: float = 0.5
    transition_target_exponent: float = 0.25
    first_step_weights: str = "auto"
    first_step_half_life_items: float = 5.0
    new_user_prior: float = 3.0
    rescale: bool = True
    norm_users: int = 4096
    max_dense_items: int = MAX_DENSE_ITEMS
    dtype: str = "float32"
    batch_size: int = 1024
    seed: int = 0

    def __post_init__(self) -> None:
        if self.theta is not None:
            if not isinstance(self.theta, dict):
                raise ValueError(f"theta must be a dict {{component: weight}} or None, got {self.theta!r}")
            unknown = set(self.theta) - set(COMPONENT_NAMES)
            if unknown:
                raise ValueError(
                    f"theta: unknown components {sorted(unknown)}; choose from {', '.join(COMPONENT_NAMES)}"
                )
            for name, value in self.theta.items():
                check_number(f"theta[{name!r}]", value, -np.inf)
                if not np.isfinite(value):
                    raise ValueError(f"theta[{name!r}] must be finite, got {value!r}")
            if not any(value != 0 for value in self.theta.values()):
                raise ValueError("theta: at least one component needs a nonzero weight")
        if self.cold_theta is not None:
            if not isinstance(self.cold_theta, dict):
                raise ValueError(f"cold_theta must be a dict {{component: weight}} or None, got {self.cold_theta!r}")
            unknown = set(self.cold_theta) - set(COMPONENT_NAMES)
            if unknown:
                raise ValueError(f"cold_theta: unknown components {sorted(unknown)}")
            for name, value in self.cold_theta.items():
                check_number(f"cold_theta[{name!r}]", value, -np.inf)
                if not np.isfinite(value):
                    raise ValueError(f"cold_theta[{name!r}] must be finite, got {value!r}")
        check_number("ridge", self.ridge, 0.0, low_open=True)
        check_number("side_weight", self.side_weight, 0.0)
        check_number("interest_exponent", self.interest_exponent, 0.0, 1.0)
        check_positive_int("text_k", self.text_k)
        check_positive_int("lowpass_rank", self.lowpass_rank)
        check_number("lowpass_beta", self.lowpass_beta, 0.0, 1.0)
        if (
            not isinstance(self.lowpass_power_iterations, int)
            or isinstance(self.lowpass_power_iterations, bool)
            or self.lowpass_power_iterations < 0
        ):
            raise ValueError(f"lowpass_power_iterations must be an integer >= 0, got {self.lowpass_power_iterations!r}")
        if self.lowpass_solver not in ("auto", "exact", "randomized"):
            raise ValueError(f"lowpass_solver must be 'auto', 'exact' or 'randomized', got {self.lowpass_solver!r}")
        check_positive_int("spectral_rank", self.spectral_rank)
        check_number("spectral_epsilon", self.spectral_epsilon, 0.0, 1.0)
        check_number("spectral_sharpness", self.spectral_sharpness, 0.0)
        check_positive_int("cheby_order", self.cheby_order)
        check_number("cheby_flatness", self.cheby_flatness, 0.0, low_open=True)
        check_number("cheby_beta", self.cheby_beta, 0.0, 1.0)
        if self.first_step_weights not in ("auto", "uniform", "order"):
            raise ValueError(
                f"first_step_weights must be 'auto', 'uniform' or 'order', got {self.first_step_weights!r}"
            )
        check_number("first_step_half_life_items", self.first_step_half_life_items, 0.0, low_open=True)
        check_number("new_user_prior", self.new_user_prior, 0.0)
        if not isinstance(self.rescale, bool):
            raise ValueError(f"rescale must be True or False, got {self.rescale!r}")
        check_positive_int("norm_users", self.norm_users)
        check_positive_int("max_dense_items", self.max_dense_items)
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")
        check_positive_int("batch_size", self.batch_size)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool) or self.seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")

    @property
    def torch_dtype(self) -> torch.dtype:
        return torch.float64 if self.dtype == "float64" else torch.float32

    def resolved_theta(self, n_items: int) -> dict[str, float]:
        """``theta``, or the default for a catalogue of ``n_items`` when it is None."""
        if self.theta is not None:
            return dict(self.theta)
        return dict(DENSE_THETA if n_items <= self.max_dense_items else SPARSE_THETA)


def make_component(name: str, config: ItemPathConfig, *, side: bool = False) -> ItemComponent:
    """The unfitted component ``name`` with ``config``'s settings (``side``: the ridge takes interests as side rows)."""
    if name not in COMPONENTS:
        raise ValueError(f"unknown component {name!r}; choose from {', '.join(COMPONENT_NAMES)}")
    common = dict(max_dense_items=config.max_dense_items, dtype=config.torch_dtype)
    # the two low-rank components share the singular-pair solver's settings
    solver = dict(solver=config.lowpass_solver, seed=config.seed, power_iterations=config.lowpass_power_iterations)
    settings = {
        "ridge": dict(ridge=config.ridge, side_weight=config.side_weight if side else 0.0),
        "cooc": {},
        "cooc2": {},
        "cheby": dict(order=config.cheby_order, flatness=config.cheby_flatness, beta=config.cheby_beta),
        "lowpass": dict(rank=config.lowpass_rank, beta=config.lowpass_beta, **solver),
        "spectral": dict(
            rank=config.spectral_rank, epsilon=config.spectral_epsilon, sharpness=config.spectral_sharpness, **solver
        ),
        "interest": dict(exponent=config.interest_exponent),
        "text": dict(k=config.text_k),
        "transition": dict(
            window=config.transition_window,
            decay=config.transition_decay,
            source_exponent=config.transition_source_exponent,
            target_exponent=config.transition_target_exponent,
        ),
    }[name]
    return COMPONENTS[name](**settings, **common)


class ItemPathModel:
    """``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]`` over the split's candidate items; meets the evaluation harness's
    :class:`~interestgraph.evaluate.Recommender` contract.

    Components are fitted on the candidate items (items with a training positive, plus the split's cold items);
    other items score 0. With ``config.rescale`` each component is rescaled once so that ``‖H F_c‖_F`` (``H`` the
    first steps of a seeded sample of users) equals the first fitted component's, so the θ are comparable.

    Attributes:
        components_: ``{name: fitted ItemComponent}`` (rescaled).
        theta_: ``{name: θ_c}`` of the fitted components.
        skipped_: ``{name: reason}`` for components with nonzero θ the data could not feed (no interests, no text).
        first_step_: ``"uniform"`` or ``"order"``.
        active_items_: ``(n_active,)`` item codes the components cover.
        history_: ``(n_users, n_active)`` CSR of ``r(u, j)``.
        combined_: ``(n_active, n_active)`` ``Σ_c θ_c F_c`` when ``n_active <= max_dense_items``, else None (scores
            are then the sum of the components' products).
        popularity_: ``(n_items,)`` float64 training positives per item over the most popular item's (the new users'
            prior).
        prior_scale_: the mean, over a seeded sample of up to 256 users with a history, of their top score divided
            by their first-step mass ``Σ_j r(u, j)``: the unit of ``config.new_user_prior``.
        facts_: ``{"protocol": the split's protocol as a dict, "protocol_line": its one-line description,
            "graph_path": the graph directory it was fitted on (None for a graph or split never saved)}`` (empty for a
            model saved before they were recorded).
        query_vectors_: ``(n_items, d)`` float32 unit vectors of every item's document (title, text fields,
            interest labels, training tags) for free-text queries, or None until :meth:`index_queries`.
        query_encoder_: the identity of the encoder that made ``query_vectors_`` (queries must use the same one).
        query_encoder_tuning_: for a fine-tuned query encoder
            (:func:`~interestgraph.encoder.contrastive.fine_tune_contrastive`), ``(settings, trainable state)`` saved
            with the model so it embeds queries again after loading; None for the packaged or lexical encoder.
        titles_: ``(n_items,)`` object array of the catalogue's titles (None where an item has none), or None when
            the log had no titles; saved with the model, shown by recommendations and explanations.
    """

    def __init__(self, config: ItemPathConfig | None = None) -> None:
        self.config = config if config is not None else ItemPathConfig()

    # ------------------------------------------------------------------ fit
    def fit(self, data: InterestGraph | Split, aggregates: ItemAggregates | None = None) -> ItemPathModel:
        """Fit every component with nonzero θ on the training positives (and, for an
        :class:`~interestgraph.graph.InterestGraph`, its interests and item vectors).

        ``aggregates``: the log-sized item × item sums (co-occurrence, transition counts) computed elsewhere, in the
        log's item codes: :func:`interestgraph.spark.item_aggregates_spark` computes them on Spark's executors for a
        graph built there. None computes them here (scipy)."""
        if isinstance(data, InterestGraph):
            graph, split = data, data.split
        elif isinstance(data, Split):
            graph, split = None, data
        else:
            raise TypeError(f"fit takes an InterestGraph or a Split, got {type(data).__name__}")
        config = self.config
        log = split.log
        train = split.positive_matrix("train")
        active = np.sort(log.item_ids.get_indexer(split.candidate_items))
        times = split_pair_times(split)  # the positives' order: the recency first step and the transitions
        item_data = _item_data(graph, train, active, times, aggregates)
        theta = config.resolved_theta(len(active))
        if config.cold_theta:
            missing = [n for n, v in config.cold_theta.items() if v != 0 and theta.get(n, 0.0) == 0]
            if missing:
                raise ValueError(f"cold_theta weighs components {missing} that theta does not fit (give them a theta)")
        wanted = [name for name in COMPONENT_NAMES if theta.get(name, 0.0) != 0]
        skipped: dict[str, str] = {}
        if "interest" in wanted and item_data.item_interest is None:
            skipped["interest"] = "the data have no item-interest edges"
        if "text" in wanted and item_data.item_vectors is None:
            skipped["text"] = "the data have no item vectors"
        if "transition" in wanted and not has_order(item_data.times):
            skipped["transition"] = "every training positive has the same time: the sequences have no order"
        wanted = [name for name in wanted if name not in skipped]
        if not wanted:
            raise ValueError(f"no component can be fitted: {skipped}")
        components: dict[str, ItemComponent] = {}
        side = item_data.item_interest is not None
        for name in progress(wanted, desc="item-path components", unit="component"):
            components[name] = make_component(name, config, side=side).fit(item_data)
        kind = config.first_step_weights
        if kind == "auto":
            kind = "order" if split.protocol.is_temporal else "uniform"
        history = _history(train, times, kind, config.first_step_half_life_items, active)
        self._fit_components(components, history)
        self._set_state(
            components=components,
            theta={name: float(theta[name]) for name in components},
            cold_theta=None
            if config.cold_theta is None
            else {n: float(config.cold_theta.get(n, 0.0)) for n in components},
            cold_columns=np.asarray(item_data.positives.getnnz(axis=0) == 0),
            skipped=skipped,
            first_step=kind,
            active=active,
            history=history,
            user_ids=log.user_ids,
            item_ids=log.item_ids,
            seen=train.tocsr(),
            titles=_log_titles(log),
            facts={
                "protocol": split.protocol.to_dict(),
                "protocol_line": split.describe(),
                "graph_path": getattr(graph, "source_path", None),
            },
        )
        return self

    def _fit_components(self, components: dict[str, ItemComponent], history: sp.csr_matrix) -> None:
        """Rescale the fitted ``components`` (``config.rescale``) on a user sample of ``history``."""
        config = self.config
        if config.rescale:
            sample = _norm_sample(history, config.norm_users, config.seed)
            reference = None
            for component in components.values():
                norm = _product_norm(component, sample, config.batch_size)
                if reference is None:
                    reference = norm
                elif norm > 0 and reference > 0:
                    component.rescale(reference / norm)

    def _set_state(
        self,
        *,
        components,
        theta,
        cold_theta,
        cold_columns,
        skipped,
        first_step,
        active,
        history,
        user_ids,
        item_ids,
        seen,
        titles=None,
        facts=None,
        query_vectors=None,
        query_encoder=None,
        query_encoder_tuning=None,
    ):
        """The fitted state, set in one place."""
        share_normalised(components.values())
        self.components_ = components
        self.theta_ = theta
        self.cold_theta_ = cold_theta
        self.cold_columns_ = cold_columns
        self.skipped_ = skipped
        self.first_step_ = first_step
        self.active_items_ = active
        self.history_ = history
        self._user_ids = user_ids
        self._item_ids = item_ids
        self._seen = seen
        self.titles_ = titles
        self.facts_ = dict(facts or {})
        self.query_vectors_ = query_vectors
        self.query_encoder_ = query_encoder
        self.query_encoder_tuning_ = query_encoder_tuning
        self._index_encoder = None  # the encoder that made query_vectors_, rebuilt once when first needed
        self.combined_ = self._combine()
        counts = np.asarray(seen.sum(axis=0), dtype=np.float64).ravel()
        self.popularity_ = counts / counts.max() if counts.size and counts.max() > 0 else counts
        self.prior_scale_ = self._prior_scale()

    def _prior_scale(self) -> float:
        """See ``prior_scale_``."""
        sample = _norm_sample(self.history_, PRIOR_USERS, self.config.seed)
        if sample.shape[0] == 0:
            return 0.0
        mass = np.asarray(sample.sum(axis=1), dtype=np.float64).ravel()
        step = self.config.batch_size
        top = np.concatenate(
            [
                self._score_history(sample[start : start + step]).max(dim=1).values.double().numpy()
                for start in range(0, sample.shape[0], step)
            ]
        )
        return float(np.mean(top / mass))

    def column_weights(self, name: str) -> np.ndarray:
        """``(n_active,)`` float64 weight of component ``name`` per item column: ``θ_c``, and ``cold_theta[c]`` on
        the cold columns when ``cold_theta_`` is set."""
        weights = np.full(len(self.active_items_), float(self.theta_.get(name, 0.0)))
        if self.cold_theta_ is not None:
            weights[self.cold_columns_] = float(self.cold_theta_.get(name, 0.0))
        return weights

    def _combine(self) -> torch.Tensor | None:
        if len(self.active_items_) > self.config.max_dense_items:
            return None
        combined = None
        for name, component in self.components_.items():
            weights = self.column_weights(name)
            if not weights.any():
                continue
            term = component.dense() * torch.from_numpy(weights).to(self.config.torch_dtype)[None, :]
            combined = term if combined is None else combined + term
        return combined

    def reweighted(self, theta: dict[str, float], cold_theta: dict[str, float] | None = None) -> ItemPathModel:
        """A copy with other weights over the already fitted components (no refit; a component missing from
        ``theta`` / ``cold_theta`` gets 0; ``cold_theta`` None = ``theta`` on the cold columns too)."""
        self._check_fitted()
        for label, weights in (("theta", theta), ("cold_theta", cold_theta or {})):
            missing = [name for name, value in weights.items() if value != 0 and name not in self.components_]
            if missing:
                raise ValueError(
                    f"reweighted: {label} weighs components {missing} that were not fitted "
                    f"(fitted: {list(self.components_)})"
                )
        other = copy.copy(self)
        other.config = dataclasses.replace(
            self.config,
            theta={k: float(v) for k, v in theta.items() if v != 0},
            cold_theta=None if cold_theta is None else {k: float(v) for k, v in cold_theta.items()},
        )
        other.theta_ = {name: float(theta.get(name, 0.0)) for name in self.components_}
        other.cold_theta_ = (
            None if cold_theta is None else {name: float(cold_theta.get(name, 0.0)) for name in self.components_}
        )
        other.combined_ = other._combine()
        other.prior_scale_ = other._prior_scale()
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

    @property
    def facts(self) -> dict:
        """What the model was fitted under (``facts_``), for reports and messages."""
        self._check_fitted()
        return self.facts_

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        return len(self.item_ids)

    def describe(self) -> str:
        """One line: the weighted components, the first step and the catalogue."""
        self._check_fitted()
        theta = ", ".join(f"{name} {value:g}" for name, value in self.theta_.items() if value)
        cold = ""
        if self.cold_theta_ is not None:
            cold = "; cold items " + ", ".join(f"{n} {v:g}" for n, v in self.cold_theta_.items() if v)
        ridge = f", ridge λ {self.config.ridge:g}" if "ridge" in self.components_ else ""
        return (
            f"ItemPathModel({theta}{cold}; first step {self.first_step_}{ridge}); {len(self._user_ids):,} users, "
            f"{len(self.active_items_):,} of {len(self._item_ids):,} items scored"
        )

    def _users(self, users: np.ndarray) -> np.ndarray:
        users = np.asarray(users, dtype=np.int64).reshape(-1)
        if len(users) and (users.min() < 0 or users.max() >= self.history_.shape[0]):
            raise IndexError(f"user codes must be in 0..{self.history_.shape[0] - 1}")
        return users

    def component_scores(self, users: np.ndarray) -> dict[str, torch.Tensor]:
        """``{component: (len(users), n_items) H[users] @ F_c}`` (rescaled, not weighted by θ; 0 off the active
        items): what each component would add at weight 1."""
        self._check_fitted()
        users = self._users(users)
        history = self.history_[users]
        columns = torch.from_numpy(self.active_items_)
        out = {}
        shared: dict = {}
        for name, component in self.components_.items():
            full = torch.zeros(len(users), len(self._item_ids), dtype=self.config.torch_dtype)
            full[:, columns] = component.apply(history, shared).to(full.dtype)
            out[name] = full
        return out

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` scores ``H[users] @ Σ_c θ_c F_c`` (0 on items outside ``active_items_``)."""
        self._check_fitted()
        return self._score_history(self.history_[self._users(users)])

    def _score_history(self, history: sp.csr_matrix) -> torch.Tensor:
        """``(B, n_items)`` ``history @ Σ_c θ_c F_c`` for first steps ``history`` ``(B, n_active)``."""
        dtype = self.config.torch_dtype
        out_shape = (history.shape[0], len(self._item_ids))
        columns = torch.from_numpy(self.active_items_)
        if self.combined_ is not None:
            out = torch.zeros(out_shape, dtype=dtype)
            out[:, columns] = torch.from_numpy(history.toarray()).to(self.combined_.dtype) @ self.combined_
            return out
        total = None
        shared: dict = {}
        uniform = self.cold_theta_ is None or not self.cold_columns_.any()
        for name, component in self.components_.items():
            # one weight per component unless cold columns have their own (no (n_items,) weight rows: latency)
            weights = float(self.theta_.get(name, 0.0)) if uniform else self.column_weights(name)
            if not np.any(weights):
                continue
            scale = weights if uniform else torch.from_numpy(weights).to(dtype)[None, :]
            term = component.apply(history, shared).to(dtype) * scale  # never in place: products may be shared
            total = term if total is None else total.add_(term)
        if total is not None and len(columns) == out_shape[1]:  # every item active: the columns are 0..n-1
            return total
        out = torch.zeros(out_shape, dtype=dtype)
        if total is not None:
            out[:, columns] = total
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
        return self._terms(self.history_[int(user)], int(item))

    def _terms(self, row: sp.csr_matrix, item: int, scale: float = 1.0) -> list[Contribution]:
        """The nonzero path terms ``scale · r(j) · θ_c · F_c[j, item]`` of the first steps ``row`` ``(1, n_active)``."""
        column = int(np.searchsorted(self.active_items_, item))
        if column >= len(self.active_items_) or self.active_items_[column] != item:
            return []  # not covered by any component: the score is 0
        terms: list[Contribution] = []
        for name, component in self.components_.items():
            weight = float(self.column_weights(name)[column])
            if weight == 0 or row.nnz == 0:
                continue
            values = row.data * (scale * weight) * component.entries(row.indices, column)
            terms += [
                Contribution(int(self.active_items_[j]), name, float(v))
                for j, v in zip(row.indices, values, strict=True)
                if v != 0
            ]
        return terms

    # ------------------------------------------------------------------ new users
    def fold_in_history(self, item_lists) -> sp.csr_matrix:
        """``(len(item_lists), n_active)`` first steps of new users who are not in the model, each given as a list of
        item IDs in time order (the last is the latest), weighted as the training users' were (``first_step_``):
        1 each, or ``0.5 ** (rank / first_step_half_life_items)`` with rank 0 for the last item. Items no component
        covers (no training positive, not cold candidates) get no first step.

        Raises:
            ValueError: an empty list, an item listed twice in one list, or an item ID the model does not know.
        """
        self._check_fitted()
        if isinstance(item_lists, (str, bytes)) or not all(
            isinstance(items, (list, tuple, np.ndarray, pd.Index)) for items in item_lists
        ):
            raise ValueError("item_lists: give one list of item IDs per new user, e.g. [[1, 260, 1196]]")
        rows, columns, values = [], [], []
        column_of = np.full(len(self._item_ids), -1, dtype=np.int64)
        column_of[self.active_items_] = np.arange(len(self.active_items_))
        for row, items in enumerate(item_lists):
            items = list(items)
            if not items:
                raise ValueError(f"item_lists[{row}]: give at least one item the new user liked")
            codes = self._item_ids.get_indexer(items)
            if np.any(codes < 0):
                unknown = [items[k] for k in np.flatnonzero(codes < 0)[:5]]
                raise ValueError(f"item_lists[{row}]: unknown item IDs {unknown}")
            if len(np.unique(codes)) != len(codes):
                raise ValueError(f"item_lists[{row}]: an item is listed twice")
            rank = np.arange(len(codes))[::-1].astype(np.float64)  # 0 for the latest
            weight = (
                np.ones(len(codes))
                if self.first_step_ == "uniform"
                else np.power(0.5, rank / self.config.first_step_half_life_items)
            )
            kept = column_of[codes] >= 0
            rows += [row] * int(kept.sum())
            columns += column_of[codes][kept].tolist()
            values += weight[kept].tolist()
        return sp.csr_matrix((values, (rows, columns)), shape=(len(item_lists), len(self.active_items_)))

    def _prior_weight(self, prior: float | None) -> float:
        weight = self.config.new_user_prior if prior is None else prior
        check_number("prior", weight, 0.0)
        return float(weight) * self.prior_scale_

    def fold_in(self, item_lists, *, prior: float | None = None) -> torch.Tensor:
        """``(len(item_lists), n_items)`` scores of new users (no refit; see :meth:`fold_in_history`):

            s(u, i) = [Σ_j r(u, j) Σ_c θ_c F_c[j, i]  +  prior · prior_scale_ · popularity_[i]] / Σ_j r(u, j)

        The popularity prior (``prior``, default ``config.new_user_prior``) enters as ``prior`` pseudo-units of
        first-step mass, so it fills in what one or two items cannot say and fades as items accumulate; dividing by
        the mass (1 where no given item is covered) keeps scores on one scale across users and does not change a
        user's ranking. The given items are not masked. :meth:`explain_fold_in` lists the terms.
        """
        return self._mass_scores(self.fold_in_history(item_lists), self._prior_weight(prior))

    def _mass_scores(self, history: sp.csr_matrix, prior_weight: float) -> torch.Tensor:
        """``[history F + prior_weight · popularity_] / mass`` per row (mass 1 where a row is empty)."""
        scores = self._score_history(history)
        if prior_weight:
            scores = scores + (prior_weight * torch.from_numpy(self.popularity_)).to(scores.dtype)[None, :]
        mass = torch.from_numpy(np.asarray(history.sum(axis=1), dtype=np.float64).ravel())
        return scores / torch.where(mass > 0, mass, 1.0).to(scores.dtype)[:, None]

    # ------------------------------------------------------------------ free-text queries
    def index_queries(self, data: InterestGraph | Split, encoder) -> ItemPathModel:
        """A copy that also answers free-text queries: every item's document (its title and text fields, interest
        labels and the tags of ``data``'s training part; :func:`~interestgraph.evaluate.intents.item_documents`)
        embedded once by ``encoder`` (``encode(texts) -> (n, d)``), which queries must then use too.

        Raises:
            ValueError: ``data`` is not the split (same items, same order) the model was fitted on.
        """
        from ..encoder.identity import describe_encoder
        from ..evaluate.intents import item_documents

        self._check_fitted()
        split = data.split if isinstance(data, InterestGraph) else data
        if not isinstance(split, Split) or not split.log.item_ids.equals(self._item_ids):
            raise ValueError("index_queries: give the graph or split the model was fitted on (the same items)")
        other = copy.copy(self)
        other.query_vectors_ = _unit_rows(encoder.encode(item_documents(split)))
        other.query_encoder_ = describe_encoder(encoder)
        other.query_encoder_tuning_ = None
        other._index_encoder = encoder
        if getattr(encoder, "tuned_digest", None):  # fine-tuned: keep what rebuilds it
            settings = {k: getattr(encoder.config, k) for k in QUERY_ENCODER_SETTINGS}
            other.query_encoder_tuning_ = (settings, encoder.trainable_state_dict())
        return other

    def _query_encoder(self, encoder):
        """``encoder``, or the one that made ``query_vectors_``; refuses another one and a model without the index."""
        from ..encoder.identity import describe_encoder, same_encoder
        from .encoding import rebuild_encoder

        self._check_fitted()
        if self.query_vectors_ is None:
            raise ValueError(
                "this item-path model has no query index: call model.index_queries(graph, encoder) (the command line's "
                "'train --model-type item-path' builds it when the graph has text)"
            )
        if encoder is None:
            if self._index_encoder is None:  # once per model, not per query
                settings, state = self.query_encoder_tuning_ or (None, None)
                self._index_encoder = rebuild_encoder(self.query_encoder_, settings, state)
            encoder = self._index_encoder
        if not same_encoder(encoder, self.query_encoder_):
            raise ValueError(
                f"encoder: the query index was made by {self.query_encoder_!r}, not by {describe_encoder(encoder)!r}"
            )
        return encoder

    def query_history(self, texts, *, item_lists=None, encoder=None, top: int | None = None) -> sp.csr_matrix:
        """``(len(texts), n_active)`` first steps of new users who asked ``texts``: the cosine of the query with the
        documents of its ``top`` best-matching items (those with a positive cosine; None: :data:`QUERY_TOP`), plus
        the first steps of each user's ``item_lists`` as :meth:`fold_in_history` gives them (an item both matched
        and given gets both).

        Raises:
            ValueError: an empty text, no query index, another encoder, a bad ``top`` or bad item lists.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts or not all(isinstance(t, str) and t.strip() for t in texts):
            raise ValueError(f"texts: give non-empty query texts, got {texts!r}")
        if item_lists is not None and len(item_lists) != len(texts):
            raise ValueError(f"item_lists: one list per text, got {len(item_lists)} for {len(texts)} texts")
        if top is not None:
            check_positive_int("top", top)
        encoder = self._query_encoder(encoder)
        queries = _unit_rows(encoder.encode(texts))
        cosine = (queries @ self.query_vectors_[torch.from_numpy(self.active_items_)].T).double().numpy()
        k = min(QUERY_TOP if top is None else int(top), cosine.shape[1])
        best = np.argpartition(-cosine, k - 1, axis=1)[:, :k]
        values = np.take_along_axis(cosine, best, axis=1)
        kept = values > 0
        rows = np.repeat(np.arange(len(texts)), k)[kept.ravel()]
        history = sp.csr_matrix(
            (values.ravel()[kept.ravel()], (rows, best.ravel()[kept.ravel()])), shape=(len(texts), cosine.shape[1])
        )
        if item_lists is not None:
            lists = [list(items) for items in item_lists]
            given = np.array([k for k, items in enumerate(lists) if items], dtype=np.int64)
            if len(given):
                block = self.fold_in_history([lists[k] for k in given]).tocoo()
                history = history + sp.csr_matrix((block.data, (given[block.row], block.col)), shape=history.shape)
        return sp.csr_matrix(history)

    def query_scores(
        self, texts, *, item_lists=None, encoder=None, top: int | None = None, prior: float = QUERY_PRIOR
    ) -> torch.Tensor:
        """``(len(texts), n_items)`` scores of new users who asked ``texts`` (and liked ``item_lists``), without a
        refit: the query steps to its best-matching items (:meth:`query_history`) and the model's paths go on from
        them, ``[Σ_j r(q, j) Σ_c θ_c F_c[j, i] + prior · prior_scale_ · popularity_[i]] / Σ_j r(q, j)``, so a
        query reaches what people who liked the matching items liked. ``prior`` (pseudo-units of first-step mass)
        and ``top`` default to :data:`QUERY_PRIOR` and :data:`QUERY_TOP`, chosen on validation queries. Nothing is
        masked. :meth:`explain_query` lists the terms."""
        history = self.query_history(texts, item_lists=item_lists, encoder=encoder, top=top)
        return self._mass_scores(history, self._prior_weight(prior))

    def explain_query(
        self, text: str, item, *, items=None, encoder=None, top: int | None = None, prior: float = QUERY_PRIOR
    ) -> list[Contribution]:
        """Every nonzero term of :meth:`query_scores`'s score of item ID ``item``: the path terms of each matched
        (or given) item ``r(q, j) · θ_c · F_c[j, i] / Σ_j r(q, j)`` and the prior as
        ``Contribution(-1, "popularity", value)``; they sum to the score up to its rounding."""
        history = self.query_history(
            [text], item_lists=None if items is None else [list(items)], encoder=encoder, top=top
        )
        return self._explain_row(history, item, self._prior_weight(prior))

    def explain_fold_in(self, items, item, *, prior: float | None = None) -> list[Contribution]:
        """Every nonzero term of :meth:`fold_in`'s score of item ID ``item`` for a new user who liked ``items``: the
        path terms ``r(j) · θ_c · F_c[j, i] / Σ_j r(j)`` and the prior (also over the mass) as
        ``Contribution(-1, "popularity", value)``
        (item codes; they sum to the score up to its rounding)."""
        return self._explain_row(self.fold_in_history([list(items)]), item, self._prior_weight(prior))

    def _explain_row(self, history: sp.csr_matrix, item, prior_weight: float) -> list[Contribution]:
        """The terms of :meth:`_mass_scores`'s score of item ID ``item`` for the one row of ``history``."""
        code = self._item_ids.get_indexer([item])[0]
        if code < 0:
            raise ValueError(f"item: unknown item ID {item!r}")
        mass = float(history.sum())
        scale = 1.0 / mass if mass > 0 else 1.0
        terms = self._terms(history[0], int(code), scale)
        prior_term = prior_weight * float(self.popularity_[code]) * scale
        return terms + ([Contribution(-1, "popularity", prior_term)] if prior_term else [])

    def expandable(self) -> dict[str, bool]:
        """``{component: whether its terms expand into finite walks}``."""
        self._check_fitted()
        return {name: component.expandable for name, component in self.components_.items()}

    # ------------------------------------------------------------------ artifacts
    def save(self, directory: str | Path, *, overwrite: bool = False, inputs=()) -> Path:
        """Write the fitted model as an artifact directory: ``state.safetensors`` (every component's tensors, the
        first steps, the seen matrix, the active items), ``ids.parquet`` (user and item IDs, item titles) and a
        checksummed, versioned ``manifest.json`` (format ``interestgraph-item-path-model``, version 1). Atomic, one
        writer at a time; ``overwrite`` replaces only an interestgraph artifact, and ``directory`` may not be or
        contain one of ``inputs`` (:func:`~interestgraph.artifacts.atomic_directory`)."""
        self._check_fitted()
        tensors: dict[str, torch.Tensor] = {}
        for name, component in self.components_.items():
            for key, value in component.tensors().items():
                tensors[f"{name}/{key}"] = value.contiguous()
        tensors.update(csr_tensors("history", self.history_))
        tensors.update(csr_tensors("seen", sp.csr_matrix(self._seen, dtype=np.float32)))
        tensors["active_items"] = torch.from_numpy(self.active_items_.astype(np.int64))
        if self.query_vectors_ is not None:
            tensors["query_vectors"] = self.query_vectors_.contiguous()
        if self.query_encoder_tuning_ is not None:
            for key, value in self.query_encoder_tuning_[1].items():
                tensors[f"query_encoder/{key}"] = value.contiguous()
        tensors["cold_columns"] = torch.from_numpy(self.cold_columns_.astype(np.int64))
        ids = pd.DataFrame(
            {
                "type": ["user"] * len(self._user_ids) + ["item"] * len(self._item_ids),
                "id": [str(x) for x in self._user_ids] + [str(x) for x in self._item_ids],
            }
        )
        if self.titles_ is not None:  # a column older files lack: they load with no titles
            ids["title"] = [None] * len(self._user_ids) + [None if t is None else str(t) for t in self.titles_]
        metadata = {
            "config": self.config.to_dict(),
            "theta": self.theta_,
            "cold_theta": self.cold_theta_,
            "skipped": self.skipped_,
            "first_step": self.first_step_,
            "components": list(self.components_),
            "id_dtypes": {"user": str(self._user_ids.dtype), "item": str(self._item_ids.dtype)},
            "facts": self.facts_,
            "graph_path": self.facts_.get("graph_path"),  # where `interestgraph evaluate MODEL` finds its graph
            "query_encoder": self.query_encoder_,
            "query_encoder_settings": None if self.query_encoder_tuning_ is None else self.query_encoder_tuning_[0],
        }
        graph_path = self.facts_.get("graph_path")
        inputs = (*inputs, graph_path) if isinstance(graph_path, str) else tuple(inputs)
        with atomic_directory(directory, overwrite=overwrite, inputs=inputs) as tmp:
            save_tensors(tensors, tmp / STATE_FILE)
            ids.to_parquet(tmp / IDS_FILE, index=False)
            write_manifest(tmp, format=ITEM_PATH_FORMAT, format_version=ITEM_PATH_VERSION, metadata=metadata)
        return Path(directory)

    @classmethod
    def load(cls, directory: str | Path) -> ItemPathModel:
        """Read a model :meth:`save` wrote; every file is checksum-verified, every tensor shape- and finiteness-
        checked, and anything else raises :class:`~interestgraph.errors.ArtifactError` naming what is wrong."""
        directory = Path(directory)
        manifest = read_manifest(
            directory,
            format=ITEM_PATH_FORMAT,
            supported_versions=(ITEM_PATH_VERSION,),
            required_files=(STATE_FILE, IDS_FILE),
            required_keys=("config", "theta", "cold_theta", "skipped", "first_step", "components", "id_dtypes"),
        )
        try:
            config = ItemPathConfig.from_dict(manifest["config"])
        except (TypeError, ValueError) as error:
            raise ArtifactError(f"{directory}: manifest config is invalid: {error}") from None
        tensors = load_tensors(directory / STATE_FILE)  # unreadable files and NaN / infinity refused by name
        names = manifest["components"]
        theta = manifest["theta"]
        if (
            not isinstance(names, list)
            or not names
            or any(name not in COMPONENTS for name in names)
            or not isinstance(theta, dict)
            or set(theta) != set(names)
            or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in theta.values())
        ):
            raise ArtifactError(f"{directory}: manifest 'components' / 'theta' do not name known components")
        cold_theta = manifest["cold_theta"]
        if cold_theta is not None and (
            not isinstance(cold_theta, dict)
            or set(cold_theta) != set(names)
            or not all(isinstance(v, (int, float)) and np.isfinite(v) for v in cold_theta.values())
        ):
            raise ArtifactError(f"{directory}: manifest 'cold_theta' does not weigh the saved components")
        if manifest["first_step"] not in ("uniform", "order"):
            raise ArtifactError(f"{directory}: manifest first_step {manifest['first_step']!r} is unknown")
        dtypes = manifest["id_dtypes"] if isinstance(manifest["id_dtypes"], dict) else {}
        with reading(directory / IDS_FILE):
            nodes = pd.read_parquet(directory / IDS_FILE)
            user_ids = _typed_ids(nodes, "user", dtypes.get("user"))
            item_ids = _typed_ids(nodes, "item", dtypes.get("item"))
            titles = None
            if "title" in nodes.columns:
                titles = nodes.loc[nodes["type"] == "item", "title"].to_numpy(dtype=object)
                titles = np.array([t if isinstance(t, str) else None for t in titles], dtype=object)
        try:
            active = tensors["active_items"].numpy()
            if active.ndim != 1 or (len(active) and (active.min() < 0 or active.max() >= len(item_ids))):
                raise ValueError(f"'active_items' must be item codes in 0..{len(item_ids) - 1}")
            if np.any(np.diff(active) <= 0):
                raise ValueError("'active_items' must be strictly increasing")
            cold_columns = tensors["cold_columns"].numpy()
            if cold_columns.shape != active.shape or not np.isin(cold_columns, (0, 1)).all():
                raise ValueError(f"'cold_columns' must be {len(active)} flags of 0 / 1")
            history = csr_from_tensors("history", tensors)
            seen = csr_from_tensors("seen", tensors)
            if history.shape != (len(user_ids), len(active)):
                raise ValueError(f"'history' has shape {history.shape}, expected {(len(user_ids), len(active))}")
            if seen.shape != (len(user_ids), len(item_ids)):
                raise ValueError(f"'seen' has shape {seen.shape}, expected {(len(user_ids), len(item_ids))}")
            query_vectors = tensors.get("query_vectors")
            query_encoder = manifest.get("query_encoder")
            if (query_vectors is None) != (not isinstance(query_encoder, str)):
                raise ValueError("'query_vectors' and the manifest's 'query_encoder' come together")
            settings = manifest.get("query_encoder_settings")
            state = {k.split("/", 1)[1]: v for k, v in tensors.items() if k.startswith("query_encoder/")}
            if (settings is not None or state) and (
                query_vectors is None
                or not isinstance(settings, dict)
                or set(settings) != set(QUERY_ENCODER_SETTINGS)
                or not state
            ):
                raise ValueError("the fine-tuned query encoder's settings and state are incomplete")
            if query_vectors is not None and (query_vectors.ndim != 2 or query_vectors.shape[0] != len(item_ids)):
                raise ValueError(
                    f"'query_vectors' has shape {tuple(query_vectors.shape)}, expected ({len(item_ids)}, d)"
                )
            components: dict[str, ItemComponent] = {}
            for name in names:
                prefix = f"{name}/"
                own = {key[len(prefix) :]: value for key, value in tensors.items() if key.startswith(prefix)}
                component = make_component(name, config).load_tensors(own)
                if component.n_items_ != len(active):
                    raise ValueError(f"component {name!r} covers {component.n_items_} items, expected {len(active)}")
                components[name] = component
        except (KeyError, ValueError, IndexError) as error:
            raise ArtifactError(f"{directory / STATE_FILE}: {error}") from None
        model = cls(config)
        model._set_state(
            components=components,
            theta={name: float(theta[name]) for name in names},
            cold_theta=None if cold_theta is None else {name: float(cold_theta[name]) for name in names},
            cold_columns=cold_columns.astype(bool),
            skipped=dict(manifest["skipped"]) if isinstance(manifest["skipped"], dict) else {},
            first_step=manifest["first_step"],
            active=active.astype(np.int64),
            history=history,
            user_ids=user_ids,
            item_ids=item_ids,
            seen=seen,
            titles=titles,
            facts=manifest["facts"] if isinstance(manifest.get("facts"), dict) else None,
            query_vectors=None if query_vectors is None else query_vectors.float(),
            query_encoder=query_encoder if query_vectors is not None else None,
            query_encoder_tuning=(settings, state) if state else None,
        )
        return model


def _unit_rows(vectors) -> torch.Tensor:
    """``(n, d)`` float32 rows scaled to unit length (zero rows stay zero)."""
    return torch.nn.functional.normalize(torch.as_tensor(vectors).detach().to("cpu", torch.float32), dim=1)


def _log_titles(log) -> np.ndarray | None:
    """``(n_items,)`` the log's catalogue titles (None for an empty one), or None when no item has a title."""
    if "title" not in log.items.columns:
        return None
    titles = np.array([t if isinstance(t, str) and t else None for t in log.items["title"].to_numpy()], dtype=object)
    return titles if any(t is not None for t in titles) else None


def _typed_ids(nodes: pd.DataFrame, node_type: str, dtype: str | None) -> pd.Index:
    """The ``id`` strings of one node type, cast back to ``dtype`` (integers stay integers)."""
    ids = nodes.loc[nodes["type"] == node_type, "id"].to_numpy()
    if dtype and dtype.startswith(("int", "uint", "Int", "UInt")):
        return pd.Index(ids.astype(np.int64))
    return pd.Index(ids.astype(object))


def _history(
    train: sp.spmatrix, times: sp.csr_matrix, kind: str, half_life_items: float, active: np.ndarray
) -> sp.csr_matrix:
    """``(n_users, n_active)`` CSR of the first steps ``r(u, j)`` (``times``: :func:`split_pair_times`)."""
    if kind == "uniform":
        history = sp.csr_matrix(train, dtype=np.float64)
        history.data[:] = 1.0
    else:
        history = recency_weights(train, times, half_life_items=half_life_items)
    return sp.csr_matrix(history[:, active])


def _item_data(
    graph: InterestGraph | None,
    positives: sp.spmatrix,
    active: np.ndarray,
    times: sp.spmatrix,
    aggregates: ItemAggregates | None = None,
) -> ItemData:
    """What the components are fitted from: ``positives``' candidate columns, their times (the sequences' order),
    and the graph's interests and item vectors of those items (none without a graph); ``aggregates`` in the log's
    item codes, when given."""
    positives = sp.csr_matrix(positives)
    times = sp.csr_matrix(sp.csr_matrix(times).multiply(positives != 0))[:, active]
    return ItemData(
        positives=positives[:, active],
        times=times,
        aggregates=aggregates,
        aggregate_items=None if aggregates is None else active,
        item_interest=None if graph is None else _item_interest(graph, active),
        item_vectors=None
        if graph is None or graph.item_vectors is None
        else graph.item_vectors[torch.from_numpy(active)],
    )


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


def _norm_sample(history: sp.csr_matrix, n_users: int, seed: int) -> sp.csr_matrix:
    """The first steps of up to ``n_users`` users with a history, sampled without replacement (seeded)."""
    rows = np.flatnonzero(np.diff(history.indptr) > 0)
    if len(rows) > n_users:
        rows = np.sort(np.random.default_rng(seed).choice(rows, n_users, replace=False))
    return history[rows]


def _product_norm(component: ItemComponent, history: sp.csr_matrix, batch_size: int) -> float:
    """``‖history @ F_c‖_F`` computed in user batches."""
    total = 0.0
    for start in range(0, history.shape[0], batch_size):
        total += float(component.apply(history[start : start + batch_size]).double().pow(2).sum())
    return float(np.sqrt(total))


# ---------------------------------------------------------------------- tuning
@dataclass
class ItemPathGrid(JsonConfig):
    """The stated validation grid of :func:`tune_item_path`.

    Stage 1 chooses the backbone: the ridge for every ``ridge × side_weight`` when the catalogue fits
    ``max_dense_items`` (side weights only when the graph has interests), otherwise ``large_backbone``: alone, or for
    ``"cheby"`` over ``cheby_flatness × cheby_beta``, the low-pass then taking the backbone's β (as ChebyCF's ideal
    pass does, so ``{cheby: 1, lowpass: α}`` without rescaling is ChebyCF and the sweep starts from it).
    Stage 2, at that backbone, fits every component of ``components`` the data can feed once and runs ``rounds``
    rounds of coordinate ascent over them with each θ in ``theta`` (a value kept only when validation improves
    strictly): reweighting only, over validation scores cached per component when they fit in ``cache_gib``.
    Stage 3, on temporal splits with ``"auto"`` first steps, tries each half-life in ``half_life_items`` (refits).
    Stage 4, on splits with cold items (no validation pair can be on them: ``cold-4`` sends all their pairs to test),
    chooses the cold columns' weights ``cold_interest × cold_text`` on a simulation of the protocol inside the
    training part (:func:`tune_cold_weights`). The number of configurations scored on validation is at most
    ``|ridge|·|side_weight|`` (or ``|cheby_flatness|·|cheby_beta|``) ``+ rounds·|components|·|theta| +
    |half_life_items|``, plus
    ``|cold_interest|·|cold_text|`` on the simulation.
    """

    ridge: tuple[float, ...] = (100.0, 400.0)
    side_weight: tuple[float, ...] = (0.0, 0.3, 1.0)
    theta: tuple[float, ...] = (0.05, 0.1, 0.2, 0.4)
    components: tuple[str, ...] = ("interest", "text", "lowpass", "transition")
    rounds: int = 1
    large_backbone: str = "cooc"
    cheby_flatness: tuple[float, ...] = (1.5, 2.0)
    cheby_beta: tuple[float, ...] = (0.3, 0.4)
    half_life_items: tuple[float, ...] = (3.0, 5.0, 10.0)
    metric: str = "ndcg@20"
    cache_gib: float = 4.0
    cold_interest: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0, 4.0, 8.0)
    cold_text: tuple[float, ...] = (0.0, 0.5, 1.0, 2.0)
    cold_fraction: float = 0.1

    def __post_init__(self) -> None:
        unknown = [name for name in (*self.components, self.large_backbone) if name not in COMPONENTS]
        if unknown:
            raise ValueError(f"ItemPathGrid: unknown components {unknown}; choose from {', '.join(COMPONENT_NAMES)}")
        if self.large_backbone == "ridge":
            raise ValueError("ItemPathGrid: large_backbone cannot be the dense ridge")
        check_positive_int("rounds", self.rounds)
        check_number("cache_gib", self.cache_gib, 0.0)
        check_number("cold_fraction", self.cold_fraction, 0.0, 1.0, low_open=True)
        if not self.metric.count("@") == 1 or not self.metric.split("@")[1].isdigit():
            raise ValueError(f"metric must look like 'ndcg@20', got {self.metric!r}")


class _CachedMixture:
    """``Σ_c θ_c S_c`` over cached component scores ``S_c`` of a fixed set of users: a Recommender for the
    validation sweep of :func:`tune_item_path` (scores equal :meth:`ItemPathModel.reweighted`'s)."""

    def __init__(self, model: ItemPathModel, cache: dict[str, torch.Tensor], rows: np.ndarray, theta: dict) -> None:
        self.model, self.cache, self.rows, self.theta = model, cache, rows, theta

    user_ids = property(lambda self: self.model.user_ids)
    item_ids = property(lambda self: self.model.item_ids)
    seen = property(lambda self: self.model.seen)

    def score(self, users: np.ndarray) -> torch.Tensor:
        rows = self.rows[np.asarray(users, dtype=np.int64)]
        if np.any(rows < 0):
            raise IndexError("the cached sweep scores only the validation users")
        index = torch.from_numpy(rows)
        total = None
        for name, weight in self.theta.items():
            if weight != 0:
                term = weight * self.cache[name][index]
                total = term if total is None else total + term
        return total


def _score_cache(
    model: ItemPathModel, users: np.ndarray, budget_gib: float
) -> tuple[dict[str, torch.Tensor], np.ndarray] | None:
    """Every component's scores for ``users`` (float32), or None when they exceed ``budget_gib``."""
    n_items = len(model.item_ids)
    size = len(users) * n_items * 4 * len(model.components_) / 2**30
    if size > budget_gib:
        return None
    cache = {name: torch.zeros(len(users), n_items) for name in model.components_}
    batch = model.config.batch_size
    bar = progress(total=len(users), desc="cache component scores", unit="user")
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        for name, value in model.component_scores(chunk).items():
            cache[name][start : start + len(chunk)] = value.float()
        bar.update(len(chunk))
    bar.close()
    rows = np.full(model.history_.shape[0], -1, dtype=np.int64)
    rows[users] = np.arange(len(users))
    return cache, rows


def tune_item_path(
    data: InterestGraph | Split,
    grid: ItemPathGrid | None = None,
    base: ItemPathConfig | None = None,
    aggregates: ItemAggregates | None = None,
) -> tuple[ItemPathModel, list[dict[str, Any]]]:
    """Choose the model's settings on the validation part of ``data`` (a graph or a split) by ``grid``.

    ``aggregates``: the log-sized sums computed elsewhere, used by every fit on ``data`` (:meth:`ItemPathModel.fit`;
    :func:`tune_cold_weights`' simulation removes positives and sums its own).

    Returns:
        ``(best fitted model, tried)``: ``tried`` one record per configuration scored on validation (its settings
        and the validation metric), in the order tried; the best is the first with the highest metric.
    """
    grid = grid if grid is not None else ItemPathGrid()
    base = dataclasses.replace(base if base is not None else ItemPathConfig(), cold_theta=None)
    cutoff = int(grid.metric.split("@")[1])
    split = data.split if isinstance(data, InterestGraph) else data
    tried: list[dict[str, Any]] = []

    def score(model, theta: dict[str, float], config: ItemPathConfig, first_step: str) -> float:
        result = evaluate(model, split, part="valid", cutoffs=(cutoff,), name="item-path")
        value = float(result.metrics[grid.metric])
        tried.append(
            {
                "ridge": config.ridge,
                "side_weight": config.side_weight,
                "theta": {k: v for k, v in theta.items() if v != 0},
                "first_step": first_step,
                "half_life_items": config.first_step_half_life_items,
                **(
                    {"cheby_flatness": config.cheby_flatness, "cheby_beta": config.cheby_beta}
                    if "cheby" in theta
                    else {}
                ),
                grid.metric: value,
            }
        )
        return value

    def fitted_score(config: ItemPathConfig) -> tuple[float, ItemPathModel]:
        model = ItemPathModel(config).fit(data, aggregates=aggregates)
        return score(model, model.theta_, config, model.first_step_), model

    n_active = len(split.candidate_items)
    has_interests = isinstance(data, InterestGraph) and _item_interest(data, np.arange(len(data.items))) is not None
    best_value, best_backbone = -np.inf, None
    if n_active <= base.max_dense_items:
        backbone = "ridge"
        for ridge, side in itertools.product(grid.ridge, grid.side_weight if has_interests else (0.0,)):
            config = dataclasses.replace(base, ridge=ridge, side_weight=side, theta={"ridge": 1.0})
            value, _ = fitted_score(config)
            if value > best_value:
                best_value, best_backbone = value, config
    elif grid.large_backbone == "cheby":
        backbone = "cheby"
        for flatness, beta in itertools.product(grid.cheby_flatness, grid.cheby_beta):
            config = dataclasses.replace(
                base, theta={"cheby": 1.0}, cheby_flatness=flatness, cheby_beta=beta, lowpass_beta=beta
            )
            value, _ = fitted_score(config)
            if value > best_value:
                best_value, best_backbone = value, config
    else:
        backbone = grid.large_backbone
        best_backbone = dataclasses.replace(base, theta={backbone: 1.0})
        best_value, _ = fitted_score(best_backbone)
    # the additive components, fitted once at the chosen backbone, then reweighted
    extra = {name: max(abs(t) for t in grid.theta) for name in grid.components if name != backbone}
    full = ItemPathModel(dataclasses.replace(best_backbone, theta={backbone: 1.0, **extra})).fit(
        data, aggregates=aggregates
    )
    valid_users = np.flatnonzero(np.diff(split.positive_matrix("valid").tocsr().indptr) > 0)
    cached = _score_cache(full, valid_users, grid.cache_gib)
    theta = dict.fromkeys(full.components_, 0.0)
    theta[backbone] = 1.0

    def candidate_value(weights: dict[str, float]) -> float:
        model = _CachedMixture(full, *cached, weights) if cached else full.reweighted(weights)
        return score(model, weights, full.config, full.first_step_)

    for _ in range(grid.rounds):
        for name in full.components_:
            if name == backbone:
                continue
            for weight in grid.theta:
                if weight == theta[name]:
                    continue
                weights = {**theta, name: weight}
                value = candidate_value(weights)
                if value > best_value:
                    best_value, theta = value, weights
    best_model = full.reweighted(theta)
    if base.first_step_weights == "auto" and best_model.first_step_ == "order":
        chosen = best_model
        for half_life in grid.half_life_items:
            config = dataclasses.replace(
                best_model.config,
                theta={k: v for k, v in best_model.theta_.items() if v != 0},
                first_step_half_life_items=half_life,
            )
            value, candidate = fitted_score(config)
            if value > best_value:
                best_value, chosen = value, candidate
        best_model = chosen
    if len(split.cold_items) and set(best_model.components_) & {"interest", "text"}:
        cold_theta, records = tune_cold_weights(data, best_model, grid)
        tried += records
        best_model = best_model.reweighted(best_model.theta_, cold_theta)
    return best_model, tried


def tune_cold_weights(
    data: InterestGraph | Split, model: ItemPathModel, grid: ItemPathGrid
) -> tuple[dict[str, float], list[dict[str, Any]]]:
    """Choose the cold columns' weights of the ``interest`` and ``text`` components on a simulation of the cold-item
    protocol inside the training part.

    ``grid.cold_fraction`` of the items with training positives (seeded by ``model.config.seed``) lose their
    training pairs; the components are refitted on what is left (same settings); the hidden pairs plus the
    validation pairs are the targets, every user with one is ranked over all candidate items (their remaining
    training items masked), and the pair ``(cold_interest, cold_text)`` with the best ``grid.metric`` over all
    targets is kept. Nothing of the test part is read.

    Returns:
        ``(cold_theta, records)``: the weights per fitted component (0 for the others) and one record per pair.
    """
    split = data.split if isinstance(data, InterestGraph) else data
    graph = data if isinstance(data, InterestGraph) else None
    active = model.active_items_
    n_active = len(active)
    train_full = sp.csr_matrix(split.positive_matrix("train"), dtype=np.float64)
    train_full.data[:] = 1.0
    warm = np.flatnonzero(~model.cold_columns_)
    rng = np.random.default_rng(model.config.seed)
    hidden = np.sort(rng.choice(warm, max(1, int(round(grid.cold_fraction * len(warm)))), replace=False))
    keep_full = np.ones(train_full.shape[1], dtype=bool)
    keep_full[active[hidden]] = False
    reduced_full = sp.csr_matrix(train_full.multiply(keep_full[None, :]))
    reduced_full.eliminate_zeros()
    times = split_pair_times(split)
    item_data = _item_data(graph, reduced_full, active, times)
    side = item_data.item_interest is not None and model.config.side_weight > 0
    components = {
        name: make_component(name, model.config, side=side).fit(item_data)
        for name in progress(list(model.components_), desc="cold simulation components", unit="component")
    }
    if model.first_step_ == "uniform":
        history = sp.csr_matrix(reduced_full[:, active])
    else:
        history = sp.csr_matrix(
            recency_weights(reduced_full, times, half_life_items=model.config.first_step_half_life_items)[:, active]
        )
    cold = model.cold_columns_.copy()
    cold[hidden] = True
    simulation = ItemPathModel(model.config)
    simulation._fit_components(components, history)
    simulation._set_state(
        components=components,
        theta=dict(model.theta_),
        cold_theta=None,
        cold_columns=cold,
        skipped=dict(model.skipped_),
        first_step=model.first_step_,
        active=active,
        history=history,
        user_ids=model.user_ids,
        item_ids=model.item_ids,
        seen=reduced_full,
        titles=model.titles_,
        facts=model.facts_,
    )
    hidden_mask = np.zeros(n_active, dtype=bool)
    hidden_mask[hidden] = True
    targets = sp.csr_matrix(train_full[:, active].multiply(hidden_mask[None, :]))
    targets = sp.csr_matrix(targets + split.positive_matrix("valid")[:, active])
    targets.data[:] = 1.0
    users = np.flatnonzero(targets.getnnz(axis=1) > 0)
    cutoff = int(grid.metric.split("@")[1])
    k = min(cutoff, n_active)
    columns = torch.from_numpy(active)
    scores = {name: [] for name in components}
    for start in range(0, len(users), model.config.batch_size):
        for name, value in simulation.component_scores(users[start : start + model.config.batch_size]).items():
            scores[name].append(value[:, columns])
    scores = {name: torch.cat(chunks) for name, chunks in scores.items()}
    masked = history[users].tocoo()
    dense_targets = torch.from_numpy(targets[users].toarray() > 0)
    n_relevant = dense_targets.sum(1)
    records: list[dict[str, Any]] = []
    best_value, best = -np.inf, None
    for interest, text in itertools.product(grid.cold_interest, grid.cold_text):
        cold_theta = dict.fromkeys(components, 0.0)
        cold_theta.update({n: w for n, w in (("interest", interest), ("text", text)) if n in components})
        total = torch.zeros(len(users), n_active, dtype=torch.float64)
        for name, value in scores.items():
            weights = np.where(cold, cold_theta[name], model.theta_[name])
            total += value.double() * torch.from_numpy(weights)[None, :]
        total[torch.from_numpy(masked.row.astype(np.int64)), torch.from_numpy(masked.col.astype(np.int64))] = -torch.inf
        top = torch.topk(total, k, dim=1).indices
        hits = torch.gather(dense_targets, 1, top)
        metrics = ranking_metrics(hits, n_relevant, (cutoff,))
        value = float(metrics[grid.metric].mean())
        cold_hits = hits & torch.from_numpy(hidden_mask)[top]
        cold_relevant = dense_targets[:, torch.from_numpy(hidden)].sum(1)
        with_cold = cold_relevant > 0
        cold_recall = float((cold_hits.sum(1)[with_cold] / cold_relevant[with_cold]).mean()) if with_cold.any() else 0.0
        records.append(
            {
                "cold_theta": {n: v for n, v in cold_theta.items() if v != 0},
                "simulation": True,
                grid.metric: value,
                f"cold_recall@{cutoff}": cold_recall,
            }
        )
        if value > best_value:
            best_value, best = value, cold_theta
    return best, records
