"""``InterestGraphModel``: the path model as an estimator (fit on a graph, score users, save / load).

    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
    model = InterestGraphModel(ModelConfig(), TrainConfig(epochs=40)).fit(graph)
    evaluate(model, graph.split)            # the split stored with the graph
    model.save("models/ml-small")

The estimator builds a :class:`~interestgraph.paths.PathScorer` for the graph, trains it with a
:class:`~interestgraph.train.Trainer` (validating each epoch with the evaluation harness) and freezes it into one
:class:`~interestgraph.paths.FittedState` (``state_``): the effective edge weights ``W`` as a sparse matrix, the
walk coefficients, the seen items and the tables adding items needs. Scoring, saving and explaining all read the
same numbers; every other module reads them through the public properties below.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
import torch

from ..evaluate import evaluate
from ..graph.interest_graph import InterestGraph
from ..graph.propagation import to_torch_csr
from ..paths.config import ModelConfig
from ..paths.operator import MODEL_EDGE_TYPES, PathOperator
from ..paths.scorer import PathScorer
from ..paths.state import FittedState, build_state, frozen_weights
from ..paths.tables import first_step_kind, first_step_matrix, user_interest_rows
from ..paths.walks import frozen_scores, walk_contributions
from ..train import Callback, Trainer, TrainingReport
from ..train.config import TrainConfig
from ..train.trainer import VALID_METRIC


class _Fitted:
    """One field of the estimator's ``state_`` (or ``report_``) under its name in earlier versions (``adjacency_``,
    ``seen_``, ``history_``, ...), read-only. Unfitted, it raises AttributeError, so ``getattr(model, name, None)`` is
    None as before. The package reads the public properties; these stay only for scripts outside it (see the list
    on :class:`InterestGraphModel`)."""

    def __init__(self, source: str, field: str):
        self.source, self.field = source, field

    def __set_name__(self, owner, name: str) -> None:
        self.name = name
        self.__doc__ = f"``{self.source}.{self.field}`` (read-only)."

    def __get__(self, obj, owner=None):
        if obj is None:
            return self
        holder = obj.__dict__.get(self.source)
        if holder is None:
            raise AttributeError(f"{type(obj).__name__}.{self.name}: the model is not fitted")
        return getattr(holder, self.field)

    def __set__(self, obj, value) -> None:
        raise AttributeError(
            f"{type(obj).__name__}.{self.name} is read-only; build a new state with fitted_state().replace(...) and "
            "InterestGraphModel.from_state"
        )


class InterestGraphModel:
    """Interest-graph recommender whose scores are exact sums over user→item walks.

    Args:
        config: model settings (:class:`~interestgraph.paths.ModelConfig`).
        train: training settings (:class:`~interestgraph.train.TrainConfig`).

    Attributes:
        state_: the :class:`~interestgraph.paths.FittedState` (set by :meth:`fit`, :meth:`load`, :meth:`add_items`
            and :meth:`forget_users`, always through :func:`~interestgraph.paths.build_state`).
        report_: the :class:`~interestgraph.train.TrainingReport` of the fit (``history``, ``best_epoch``,
            ``epochs``, ``best_valid_ndcg``, ``train_seconds``, ``epoch_seconds``, ``cold_calibration``, ...; a
            loaded model has the figures its manifest recorded).

    The rest of the package reads the fitted model through read-only properties: :attr:`adjacency` (``W``,
    ``(N, N)`` float64 CSR), :attr:`coefficients` (``c_1..c_L``), :attr:`seen` (``(U, I)`` CSR of the training
    positives), :attr:`start` (``(U, I)`` first-step weights ``r(u, j)``, or None when uniform),
    :attr:`first_step`, :attr:`node_gates`, :attr:`type_weights`, :attr:`layout`, :attr:`user_ids`,
    :attr:`item_ids`, :attr:`nodes`, :attr:`scorer`, :attr:`degrees`, :attr:`tables`, :attr:`not_cold`,
    :attr:`user_interest`, :attr:`graph`, :attr:`facts`, :attr:`keyword_terms`, :attr:`encoder_state`,
    :attr:`encoder_tuning`, :attr:`added_items`, :attr:`forgotten_users`; the training figures are fields of
    ``report_``. A few names of earlier versions (``adjacency_``, ``seen_``, ``history_``, ``best_epoch_``, ...)
    remain as read-only aliases of the same fields for scripts outside the package (listed below).
    """

    _scoring_cache: tuple[torch.Tensor, torch.Tensor] | None = None
    _nodes_cache: pd.DataFrame | None = None

    def __init__(self, config: ModelConfig | None = None, train: TrainConfig | None = None):
        self.config = config if config is not None else ModelConfig()
        self.train = train if train is not None else TrainConfig()
        if not isinstance(self.config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {type(self.config).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a TrainConfig, got {type(self.train).__name__}")

    # ------------------------------------------------------------------ fitted state, in one place
    def _set_fitted(self, state: FittedState, report: TrainingReport | None = None) -> None:
        """Install ``state`` (and ``report``): the only place the fitted attributes are written."""
        if not isinstance(state, FittedState):
            raise TypeError(f"state must be a FittedState, got {type(state).__name__}")
        self.__dict__["state_"] = state
        if report is not None:
            self.__dict__["report_"] = report
        self._scoring_cache = None
        self._nodes_cache = None

    @classmethod
    def from_state(
        cls, config: ModelConfig, train: TrainConfig, state: FittedState, report: TrainingReport
    ) -> InterestGraphModel:
        """A fitted model from its parts (what :meth:`load` returns)."""
        model = cls(config, train)
        model._set_fitted(state, report)
        return model

    def _frozen_state(
        self,
        graph: InterestGraph,
        scorer: PathScorer,
        operator: PathOperator,
        structure: torch.Tensor,
        tables: dict[str, sp.csr_matrix],
        not_cold: np.ndarray,
        fixed: dict[str, Any],
        **extra: Any,
    ) -> FittedState:
        """The state of ``scorer`` frozen on the full training graph (``fixed``: the parts that do not change
        while training: seen items, first-step weights, ``w(v|u)``)."""
        return build_state(
            **frozen_weights(scorer, operator, structure, not_cold),
            scorer=scorer,
            layout={"user": operator.n_users, "item": operator.n_items, "interest": operator.n_interests},
            user_ids=graph.users,
            item_ids=graph.items,
            degrees=operator.degrees,
            tables=tables,
            not_cold=not_cold,
            operator=operator,
            graph=graph,
            keyword_terms=graph.keyword_terms,
            **fixed,
            **extra,
        )

    # ------------------------------------------------------------------ fit
    def fit(
        self, graph: InterestGraph, *, trainer: Trainer | None = None, callbacks: Iterable[Callback] = ()
    ) -> InterestGraphModel:
        """Train on ``graph`` (its training edges only), early-stopped on the validation part of its split.

        Args:
            graph: the :class:`~interestgraph.graph.InterestGraph`.
            trainer: the :class:`~interestgraph.train.Trainer` to use (with a checkpoint directory, say);
                ``Trainer(self.train)`` by default.
            callbacks: :class:`~interestgraph.train.Callback` objects watching (and able to stop) this fit.

        Returns:
            ``self``, with ``state_`` and ``report_`` set.
        """
        if not isinstance(graph, InterestGraph):
            raise TypeError(
                "graph must be an InterestGraph (build_interest_graph / InterestGraph.load), "
                f"got {type(graph).__name__}"
            )
        trainer = trainer if trainer is not None else Trainer(self.train)
        config = self.config
        types = tuple(t for t in MODEL_EDGE_TYPES if t in config.edge_types)  # block order, as the operator's
        scorer = PathScorer.from_graph(config, graph, types)
        user_interest = user_interest_rows(graph) if config.user_interest_mean else None
        if user_interest is not None:
            scorer.user_interest = to_torch_csr(user_interest)
        fixed = {
            "seen": graph.split.positive_matrix("train"),  # training positives: masked by recommend
            "start": first_step_matrix(graph, config),  # r(u, j) over all training positives, for scoring
            "first_step": first_step_kind(config, graph),
            "user_interest": user_interest,
        }

        def validate(scorer, operator, structure, tables, not_cold) -> float:
            self._set_fitted(self._frozen_state(graph, scorer, operator, structure, tables, not_cold, fixed))
            return evaluate(self, graph.split, part="valid", cutoffs=(20,), name="interestgraph").metrics[VALID_METRIC]

        report = trainer.train(scorer, graph, validate=validate, callbacks=callbacks)
        state = self._frozen_state(
            graph,
            scorer,
            report.operator,
            report.structure,
            report.tables,
            report.not_cold,
            fixed,
            encoder_state=report.encoder_state,
            encoder_tuning=report.encoder_tuning,
        )
        self._set_fitted(state, report)
        return self

    def gates_of(self, nodes: np.ndarray, kind: str) -> np.ndarray:
        """``(len(nodes),)`` the frozen gates ``s`` of ``nodes`` on edges of type ``kind`` (the same for every type
        unless ``config.typed_gates``).

        Raises:
            KeyError: ``kind`` is not an edge type of the model.
        """
        types = list(self.type_weights)
        if kind not in types:
            raise KeyError(f"kind: {kind!r} is not one of the model's edge types {types}")
        gates = np.asarray(self.node_gates)
        return gates[nodes] if gates.ndim == 1 else gates[nodes, types.index(kind)]

    def add_items(self, items, *, encoder=None) -> InterestGraphModel:
        """Add new catalog items (text and interest fields, no interactions) without retraining; returns ``self``.

        They join as cold items, reached through their interests (and text neighbours); ``W`` is
        re-frozen with the trained parameters. :attr:`added_items` lists what each matched. See
        :func:`~interestgraph.model.new_items.add_items` for the arguments and errors.
        """
        from .new_items import add_items

        self._set_fitted(add_items(self, items, encoder=encoder))
        return self

    def forget_users(self, users, *, graph=None, encoder=None):
        """Remove ``users`` and everything derived from them, without retraining; returns the graph rebuilt
        without them (save it beside the model). See :func:`~interestgraph.model.forget.forget_users`."""
        from .forget import forget_users

        state, after = forget_users(self, users, graph=graph, encoder=encoder)
        self._set_fitted(state)
        return after

    def refreeze(self, operator: PathOperator | None = None, structure: torch.Tensor | None = None) -> None:
        """Freeze ``W``, ``c`` and the gates again from the scorer's current parameters (after changing them by
        hand, say), on the training graph's operator (or ``operator`` with its GCN ``structure``).

        Raises:
            ValueError: no operator is given and the model does not carry its training graph's (a loaded model).
        """
        state = self.fitted_state()
        operator = operator if operator is not None else state.operator
        if operator is None:
            raise ValueError("operator: a loaded model does not carry its training operator; pass one")
        if structure is None:
            structure = to_torch_csr(operator.structure())
        weights = frozen_weights(state.scorer, operator, structure, state.not_cold)
        self._set_fitted(state.replace(**weights, operator=operator, degrees=operator.degrees))

    # ------------------------------------------------------------------ the fitted model, read-only
    def fitted_state(self) -> FittedState:
        """The :class:`~interestgraph.paths.FittedState`.

        Raises:
            RuntimeError: the model is not fitted.
        """
        state = self.__dict__.get("state_")
        if state is None:
            raise RuntimeError(
                "InterestGraphModel is not fitted; call fit(graph) or InterestGraphModel.load(directory)"
            )
        return state

    @property
    def is_fitted(self) -> bool:
        """Whether the model has a fitted state."""
        return self.__dict__.get("state_") is not None

    @property
    def adjacency(self) -> sp.csr_matrix:
        """``W``: ``(N, N)`` float64 CSR, the frozen effective edge weights (symmetric)."""
        return self.fitted_state().adjacency

    @property
    def coefficients(self) -> np.ndarray:
        """``(L,)`` float64 walk-length coefficients ``c_1..c_L``."""
        return self.fitted_state().coefficients

    @property
    def seen(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` CSR of the items excluded from rankings: the training positives."""
        return self.fitted_state().seen

    @property
    def start(self) -> sp.csr_matrix | None:
        """``(n_users, n_items)`` float64 CSR first-step weights ``r(u, j)``, or None when they are uniform."""
        return self.fitted_state().start

    @property
    def first_step(self) -> str:
        """The first-step weighting in use (``config.first_step_weights`` resolved for the training graph)."""
        return self.fitted_state().first_step

    @property
    def node_gates(self) -> np.ndarray:
        """``(N,)`` frozen node gates ``s`` (``(N, T)`` with typed gates), for folding in users and intents."""
        return self.fitted_state().node_gates

    @property
    def type_weights(self) -> dict[str, float]:
        """``{edge type: γ_t}`` in block order."""
        return self.fitted_state().type_weights

    @property
    def layout(self) -> dict[str, int]:
        """``{"user": U, "item": I, "interest": V}``: node ``0..U-1`` users, then items, then interests."""
        return self.fitted_state().layout

    @property
    def user_ids(self) -> pd.Index:
        """User code → original user ID."""
        return self.fitted_state().user_ids

    @property
    def item_ids(self) -> pd.Index:
        """Item code → original item ID."""
        return self.fitted_state().item_ids

    @property
    def scorer(self) -> PathScorer:
        """The trained :class:`~interestgraph.paths.PathScorer`."""
        return self.fitted_state().scorer

    @property
    def degrees(self) -> dict[str, np.ndarray]:
        """``{edge type: (N,)}`` raw per-type degrees (what a folded-in node is normalised against)."""
        return self.fitted_state().degrees

    @property
    def tables(self) -> dict[str, sp.csr_matrix] | None:
        """``{edge type: raw table}`` the weights were normalised from (None in models saved before they were)."""
        return self.fitted_state().tables

    @property
    def not_cold(self) -> np.ndarray | None:
        """``(I,)`` bool: items with events but no positive (known, never cold)."""
        return self.fitted_state().not_cold

    @property
    def user_interest(self) -> sp.csr_matrix | None:
        """``(U, V)`` CSR ``w(v|u)`` rows (``config.user_interest_mean``), else None."""
        return self.fitted_state().user_interest

    @property
    def operator(self) -> PathOperator | None:
        """The training graph's :class:`~interestgraph.paths.PathOperator` (None after loading)."""
        return self.fitted_state().operator

    @property
    def graph(self) -> InterestGraph | None:
        """The training graph when the model carries it (after :meth:`fit` and :meth:`forget_users`)."""
        return self.fitted_state().graph

    @property
    def facts(self) -> dict[str, Any]:
        """The manifest a loaded model was read from ({} after fitting)."""
        return self.fitted_state().facts or {}

    @property
    def keyword_terms(self) -> pd.DataFrame | None:
        """The TF-IDF terms (``term``, ``idf``) the graph mined keywords with (None when not recorded)."""
        return self.fitted_state().keyword_terms

    @property
    def encoder_state(self) -> dict[str, torch.Tensor] | None:
        """The fine-tuned encoder's trainable tensors, or None (frozen encoder)."""
        return self.fitted_state().encoder_state

    @property
    def encoder_tuning(self) -> dict[str, Any] | None:
        """How the encoder was fine-tuned with the model (mode, settings, digest), or None."""
        return self.fitted_state().encoder_tuning

    @property
    def added_items(self) -> pd.DataFrame | None:
        """One row per item added after training (:meth:`add_items`), or None."""
        return self.fitted_state().added_items

    @property
    def forgotten_users(self) -> int:
        """How many users were forgotten (:meth:`forget_users`; never who)."""
        return self.fitted_state().forgotten_users

    # Names of earlier versions, read-only. Nothing in the package reads them; they stay because scripts outside it
    # still do and must keep running unchanged: benchmarks/gpu_check.py and tests/test_cuda.py (the GPU checks:
    # history_, epochs_, epoch_seconds_, train_seconds_, best_valid_ndcg_, adjacency_, coefficients_, seen_,
    # user_ids_, item_ids_, encoder_state_), the evaluate verb and benchmarks/model_quality.py on the linear-models
    # branch (facts_, layout_, best_epoch_, epochs_, epoch_seconds_), and user scripts written against them.
    adjacency_ = _Fitted("state_", "adjacency")
    coefficients_ = _Fitted("state_", "coefficients")
    seen_ = _Fitted("state_", "seen")
    layout_ = _Fitted("state_", "layout")
    user_ids_ = _Fitted("state_", "user_ids")
    item_ids_ = _Fitted("state_", "item_ids")
    facts_ = _Fitted("state_", "facts")
    encoder_state_ = _Fitted("state_", "encoder_state")
    history_ = _Fitted("report_", "history")
    best_epoch_ = _Fitted("report_", "best_epoch")
    epochs_ = _Fitted("report_", "epochs")
    best_valid_ndcg_ = _Fitted("report_", "best_valid_ndcg")
    train_seconds_ = _Fitted("report_", "train_seconds")
    epoch_seconds_ = _Fitted("report_", "epoch_seconds")

    @property
    def n_users(self) -> int:
        return self.layout["user"]

    @property
    def n_items(self) -> int:
        return self.layout["item"]

    # ------------------------------------------------------------------ score
    def interest_scores(self, users: np.ndarray, *, top: int = 20, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``(len(users), n_interests)`` how much of each user's top-``top`` recommendation scores flows through each
        interest point.

        For user ``u`` with top items ``R(u)`` (its ``top`` best-scored items, training items left out, as
        :func:`~interestgraph.recommend.recommend` ranks them)::

            a(u, v) = Σ_{i ∈ R(u)} Σ_{walks u→…→i} (visits of v on the walk) · c_k r(u, x_1) Π W
                    = Σ_k c_k Σ_{m=1..k-1} F_m[u, v] · (W^{k-m} 1_{R(u)})[v]

        with ``F_m`` the ``m``-step walk mass from ``u`` (first step weighted by ``r`` as in :meth:`score`) and
        ``W`` symmetric. It is the part of the walks of :meth:`walks` that passes through ``v``, summed over the
        recommended items: an exact attribution of what the model recommends, so it is what the model takes a
        user's interests to be. With the default edge types (``L = 3``) a walk to an item visits at most one
        interest (``u→j→v→i``), so a row sums to at most the total score of the user's top items; the rest is
        co-occurrence walks. CPU.

        Args:
            users: ``(B,)`` user codes.
            top: recommended items per user whose walks are attributed.
            dtype: computation dtype.

        Raises:
            IndexError: a user code outside ``0..n_users-1``.
            ValueError: ``top`` is not a positive integer.
        """
        from ..ops import check_positive_int, mask_seen

        check_positive_int("top", top)
        scores = self.score(np.asarray(users), dtype=dtype)  # checks fitted and the codes, caches W
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        adjacency, coefficients = self._scoring_cache
        n, lo_item, lo_interest = adjacency.shape[0], self.n_users, self.n_users + self.n_items
        mask_seen(scores, self.seen.tocsr(), users.numpy())
        chosen = torch.topk(scores, min(top, self.n_items), dim=1)
        targets = torch.zeros(n, len(users), dtype=dtype)  # 1 on each user's top items (finite scores only)
        columns = torch.arange(len(users))[:, None].expand_as(chosen.indices)
        keep = torch.isfinite(chosen.values)
        targets[lo_item + chosen.indices[keep], columns[keep]] = 1.0
        forward, y = [], torch.zeros(n, len(users), dtype=dtype)
        y[users, torch.arange(len(users))] = 1.0
        backward, t = [], targets
        for m in range(len(coefficients) - 1):
            y = adjacency @ y
            if m == 0 and self.start is not None:
                y[lo_item:lo_interest] *= torch.from_numpy(self.start[users.numpy()].toarray()).T.to(dtype)
            t = adjacency @ t
            forward.append(y[lo_interest:])
            backward.append(t[lo_interest:])
        total = torch.zeros(n - lo_interest, len(users), dtype=dtype)
        for k in range(2, len(coefficients) + 1):  # walks of k steps visit interests at steps 1..k-1
            for m in range(1, k):
                total = total + coefficients[k - 1] * forward[m - 1] * backward[k - m - 1]
        return total.T

    def score(
        self, users: np.ndarray, *, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> torch.Tensor:
        """``(len(users), n_items)`` scores ``Σ_k c_k (W^k)[u, i]`` for user codes (the graph's user order).

        Args:
            users: ``(B,)`` user codes.
            dtype: computation dtype (float64 for explanations that must add up to the last digit).
            device: where the products run (CPU by default; ``"cuda"`` moves ``W`` there once).

        Raises:
            IndexError: a user code outside ``0..n_users-1``.
        """
        self.fitted_state()
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        if len(users) and (int(users.min()) < 0 or int(users.max()) >= self.n_users):
            raise IndexError(f"users: codes must be in 0..{self.n_users - 1}")
        device = torch.device(device) if device is not None else torch.device("cpu")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        cached = self._scoring_cache
        if cached is None or cached[0].dtype != dtype or cached[0].device != device:
            self._scoring_cache = (
                to_torch_csr(self.adjacency, dtype=dtype, device=device),
                torch.from_numpy(self.coefficients).to(dtype=dtype, device=device),
            )
        adjacency, coefficients = self._scoring_cache
        start = None
        if self.start is not None:
            start = torch.from_numpy(self.start[users.numpy()].toarray()).to(dtype=dtype, device=device)
        return frozen_scores(adjacency, coefficients, users, self.n_users, self.n_items, start=start)

    @property
    def nodes(self) -> pd.DataFrame:
        """``(N, 6)`` table of the walk nodes: ``node``, ``type``, ``id`` (string form), ``label`` (title / interest
        label), ``aliases``, ``added``."""
        state = self.fitted_state()
        if state.nodes is not None:
            return state.nodes
        if self._nodes_cache is None:
            from .io import node_table

            self._nodes_cache = node_table(state.graph)
        return self._nodes_cache

    def walks(self, user: int, item: int) -> list[tuple[tuple[int, ...], float]]:
        """Every scored walk from user code ``user`` to item code ``item`` with its contribution (node indices)."""
        start = None
        if self.start is not None:
            row = self.start[int(user)]
            start = {self.n_users + int(j): float(w) for j, w in zip(row.indices, row.data)}
        return walk_contributions(self.adjacency, self.coefficients, int(user), self.n_users + int(item), start=start)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike, *, overwrite: bool = False, inputs=()) -> Path:
        """Write the fitted model to ``directory`` atomically (see ``models/README.md``). ``overwrite`` replaces only
        an interestgraph artifact; ``directory`` must not be or contain one of ``inputs`` or the training graph."""
        from .io import save_model

        return save_model(self, directory, overwrite=overwrite, inputs=inputs)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> InterestGraphModel:
        """Read a model saved by :meth:`save` (no code is executed from the files)."""
        from .io import load_model

        return load_model(directory, cls)

    def describe(self) -> str:
        """One line: settings, best epoch and validation NDCG@20."""
        state = self.fitted_state()
        report = self.__dict__.get("report_")
        best = report.best_valid_ndcg if report is not None else float("nan")
        epoch = report.best_epoch if report is not None else "?"
        c = self.config
        return (
            f"InterestGraphModel(edge_types={','.join(c.edge_types)}, L={c.max_length}, a={c.exponent}, "
            f"dim={c.dim}, gate_rank={c.gate_rank}, first_step={state.first_step}, loss={self.train.loss}); "
            f"best epoch {epoch}, valid ndcg@20 {best:.4f}"
        )
