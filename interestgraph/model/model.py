"""``InterestGraphModel``: the path model as an estimator (fit on a graph, score users, save / load).

    from interestgraph.model import InterestGraphModel, ModelConfig
    from interestgraph.train import TrainConfig
    model = InterestGraphModel(ModelConfig(), TrainConfig(epochs=40)).fit(graph)
    evaluate(model, graph.split)            # the split stored with the graph
    model.save("models/ml-small")

Scores come from :mod:`.path_model` (exact sums over user→item walks). After
``fit`` the effective edge weights ``W`` are frozen and held as a sparse matrix,
so scoring, saving and explaining all read the same numbers.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import scipy.sparse as sp
import torch

from ..data.schema import ITEM_ID
from ..evaluate import positive_matrix
from ..graph.interest_graph import EDGE_ENDS, InterestGraph
from ..graph.propagation import to_torch_csr
from .config import ModelConfig, TrainConfig
from .operator import PathOperator
from .path_model import PathScorer, cold_mask, frozen_scores, walk_contributions

SECONDS_PER_DAY = 86_400.0


def train_pair_times(graph: InterestGraph) -> sp.csr_matrix:
    """``(n_users, n_items)`` CSR of each training positive's first timestamp (Unix s, float64), same pattern as the positives."""
    split = graph.split
    log = split.log
    pairs = split.positive_pairs("train")
    rows = log.user_ids.get_indexer(pairs["user_id"])
    cols = log.item_ids.get_indexer(pairs[ITEM_ID])
    # +1 keeps timestamp 0 (logs without time) as a stored entry
    return sp.csr_matrix(
        (pairs["timestamp"].to_numpy(dtype=np.float64) + 1.0, (rows, cols)), shape=(log.n_users, log.n_items)
    )


def recency_weights(
    pattern: sp.spmatrix,
    times: sp.csr_matrix,
    half_life_days: float | None = None,
    *,
    half_life_items: float | None = None,
) -> sp.csr_matrix:
    """``pattern``'s entries weighted ``0.5 ** ((t_last(u) - t) / half_life_days)``, ``t_last(u)`` the user's latest
    entry in ``pattern``; with ``half_life_items`` instead, ``0.5 ** (rank / half_life_items)``, ``rank`` 0 for the
    user's latest entry (ties share the better rank)."""
    kept = sp.csr_matrix(pattern, dtype=np.float64)
    kept.sort_indices()
    t = sp.csr_matrix(times)
    t.sort_indices()
    stamped = t.multiply(kept.astype(bool)).tocsr()
    stamped.sort_indices()
    last = np.zeros(stamped.shape[0])
    has = np.diff(stamped.indptr) > 0
    last[has] = np.maximum.reduceat(stamped.data, stamped.indptr[:-1][has])
    counts = np.diff(stamped.indptr)
    if half_life_items is not None:
        rows = np.repeat(np.arange(stamped.shape[0]), counts)
        order = np.lexsort((-stamped.data, rows))  # per row, latest first
        rank = np.empty(stamped.nnz, dtype=np.float64)
        rank[order] = np.arange(stamped.nnz) - np.repeat(stamped.indptr[:-1], counts)
        return sp.csr_matrix(
            (np.power(0.5, rank / half_life_items), stamped.indices, stamped.indptr), shape=stamped.shape
        )
    age_days = (np.repeat(last, counts) - stamped.data) / SECONDS_PER_DAY
    return sp.csr_matrix(
        (np.power(0.5, age_days / half_life_days), stamped.indices, stamped.indptr), shape=stamped.shape
    )


def first_step_kind(config: ModelConfig, graph: InterestGraph) -> str:
    """``config.first_step_weights`` with ``"auto"`` resolved for ``graph``'s split (``"order"`` if temporal, else ``"uniform"``)."""
    if config.first_step_weights != "auto":
        return config.first_step_weights
    return "order" if graph.split.protocol.is_temporal else "uniform"


def first_step_matrix(
    graph: InterestGraph, config: ModelConfig, user_item: sp.spmatrix | None = None
) -> sp.csr_matrix | None:
    """``(n_users, n_items)`` CSR ``r(u, j)`` of the first walk step from ``u`` to its item ``j`` (None when uniform).

    Args:
        user_item: the user–item edges the walks use (the trainer's kept edges); the training
            positives by default. Ranks and ages are taken within these edges.
    """
    kind = first_step_kind(config, graph)
    if kind == "uniform":
        return None
    pattern = user_item if user_item is not None else positive_matrix(graph.split, "train")
    if kind == "order":
        return recency_weights(pattern, train_pair_times(graph), half_life_items=config.first_step_half_life_items)
    return recency_weights(pattern, train_pair_times(graph), config.first_step_half_life_days)


def graph_tables(
    graph: InterestGraph,
    config: ModelConfig,
    user_item: sp.spmatrix | None = None,
    replace: dict[str, sp.spmatrix] | None = None,
) -> dict[str, sp.csr_matrix]:
    """Raw ``(n_src, n_dst)`` matrices of the edge types in ``config.edge_types``.

    Args:
        user_item: replaces the graph's user–item edges (the trainer's kept edges); binary
            training positives by default (``config.user_item_weights``).
        replace: ``{type: table}`` used instead of the graph's (the refined similarity tables).
    """
    n = {"user": len(graph.users), "item": len(graph.items), "interest": len(graph.interests)}
    tables: dict[str, sp.csr_matrix] = {}
    for kind in config.edge_types:
        src, dst = EDGE_ENDS[kind]
        if replace and kind in replace:
            tables[kind] = sp.csr_matrix(replace[kind], dtype=np.float64)
            continue
        if kind == "user-item" and (user_item is not None or config.user_item_weights in ("recency", "order")):
            pattern = user_item if user_item is not None else positive_matrix(graph.split, "train")
            if config.user_item_weights == "recency":
                tables[kind] = recency_weights(pattern, train_pair_times(graph), config.recency_half_life_days)
            elif config.user_item_weights == "order":
                tables[kind] = recency_weights(
                    pattern, train_pair_times(graph), half_life_items=config.recency_half_life_items
                )
            else:
                tables[kind] = sp.csr_matrix(pattern, dtype=np.float64)
            continue
        if kind not in graph.edges:
            raise ValueError(f"edge_types: the graph has no {kind!r} edges (built with {', '.join(graph.edges)})")
        table = graph.edges[kind]
        weight = table["weight"].to_numpy(dtype=np.float64)
        if kind == "user-item" and config.user_item_weights == "binary":
            weight = np.ones_like(weight)
        tables[kind] = sp.csr_matrix(
            (weight, (table["src"].to_numpy(), table["dst"].to_numpy())), shape=(n[src], n[dst])
        )
    return tables


def build_operator(
    graph: InterestGraph,
    config: ModelConfig,
    user_item: sp.spmatrix | None = None,
    replace: dict[str, sp.spmatrix] | None = None,
) -> PathOperator:
    """The :class:`PathOperator` of ``graph`` for ``config`` (optionally with other user–item edges, or other tables: see :func:`graph_tables`)."""
    return PathOperator.from_tables(
        graph_tables(graph, config, user_item, replace),
        len(graph.users),
        len(graph.items),
        len(graph.interests),
        exponent=config.exponent,
    )


class InterestGraphModel:
    """Interest-graph recommender whose scores are exact sums over user→item walks.

    Args:
        config: model settings (:class:`ModelConfig`).
        train: training settings (:class:`TrainConfig`).

    Fitted attributes: ``scorer_`` (:class:`PathScorer`), ``operator_`` (the training graph's
    :class:`PathOperator`), ``adjacency_`` (``W``, ``(N, N)`` float64 CSR), ``coefficients_``
    (``c_1..c_L``), ``start_`` (``(U, I)`` float64 CSR first-step weights ``r(u, j)``, or None when
    they are uniform), ``first_step_`` (``config.first_step_weights`` resolved for the graph), ``history_`` (one dict per epoch), ``best_epoch_``, ``epochs_``,
    ``best_valid_ndcg_``, ``train_seconds_``, ``epoch_seconds_`` (mean, by part), ``graph_``.
    """

    def __init__(self, config: ModelConfig | None = None, train: TrainConfig | None = None):
        self.config = config if config is not None else ModelConfig()
        self.train = train if train is not None else TrainConfig()
        if not isinstance(self.config, ModelConfig):
            raise TypeError(f"config must be a ModelConfig, got {type(self.config).__name__}")
        if not isinstance(self.train, TrainConfig):
            raise TypeError(f"train must be a TrainConfig, got {type(self.train).__name__}")

    # ------------------------------------------------------------------ fit
    def fit(self, graph: InterestGraph) -> InterestGraphModel:
        """Train on ``graph`` (its training edges only), early-stopped on the validation part of its split."""
        from ..train import Trainer

        if not isinstance(graph, InterestGraph):
            raise TypeError(
                f"graph must be an InterestGraph (build_interest_graph / InterestGraph.load), got {type(graph).__name__}"
            )
        Trainer(self.train).fit(self, graph)
        return self

    def _new_scorer(self, graph: InterestGraph, operator: PathOperator) -> PathScorer:
        item_text = graph.item_vectors
        if self.config.text_features and item_text is None:
            raise ValueError(
                "config.text_features needs item vectors: build the graph with item_k > 0, or set text_features=False"
            )
        return PathScorer(
            self.config,
            len(graph.users),
            len(graph.items),
            len(graph.interests),
            item_text,
            graph.interest_vectors,
            operator.types,
        )

    def _freeze(
        self, scorer: PathScorer, operator: PathOperator, structure: torch.Tensor, not_cold: np.ndarray | None = None
    ) -> None:
        """Materialise ``W`` and ``c`` from the scorer's current parameters (``not_cold``: ``(I,)`` bool items
        without user edges that are not new; ``not_cold_`` by default)."""
        cold = cold_mask(
            operator, structure.device, not_cold if not_cold is not None else getattr(self, "not_cold_", None)
        )
        self.adjacency_ = scorer.effective_adjacency(operator, structure, cold)
        self.coefficients_ = scorer.length_coefficients()
        gates, _, gamma = scorer.frozen_gates(structure, cold)
        self.node_gates_ = gates  # (N,) s, or (N, T) with typed gates, for folding in new users and intents
        self.type_weights_ = dict(zip(operator.types, gamma.tolist()))
        self._scoring = None

    def gates_of(self, nodes: np.ndarray, kind: str) -> np.ndarray:
        """``(len(nodes),)`` the frozen gates ``s`` of ``nodes`` on edges of type ``kind`` (the same for every type
        unless ``config.typed_gates``).

        Raises:
            KeyError: ``kind`` is not an edge type of the model.
        """
        self._check_fitted()
        types = list(self.type_weights_)
        if kind not in types:
            raise KeyError(f"kind: {kind!r} is not one of the model's edge types {types}")
        gates = np.asarray(self.node_gates_)
        return gates[nodes] if gates.ndim == 1 else gates[nodes, types.index(kind)]

    def add_items(self, items, *, encoder=None) -> InterestGraphModel:
        """Add new catalog items (text and interest fields, no interactions) without retraining; returns ``self``.

        They join as cold items, reached through their interests (and text neighbours); ``W`` is
        re-frozen with the trained parameters. ``added_items_`` lists what each matched. See
        :func:`~interestgraph.model.new_items.add_items` for the arguments and errors.
        """
        from .new_items import add_items

        add_items(self, items, encoder=encoder)
        return self

    def forget_users(self, users, *, graph=None, encoder=None):
        """Remove ``users`` and everything derived from them, without retraining; returns the graph rebuilt
        without them (save it beside the model). See :func:`~interestgraph.model.forget.forget_users`."""
        from .forget import forget_users

        return forget_users(self, users, graph=graph, encoder=encoder)

    # ------------------------------------------------------------------ score
    def _check_fitted(self) -> None:
        if not hasattr(self, "adjacency_"):
            raise RuntimeError(
                "InterestGraphModel is not fitted; call fit(graph) or InterestGraphModel.load(directory)"
            )

    @property
    def n_users(self) -> int:
        self._check_fitted()
        return self.layout_["user"]

    @property
    def n_items(self) -> int:
        self._check_fitted()
        return self.layout_["item"]

    def interest_scores(self, users: np.ndarray, *, top: int = 20, dtype: torch.dtype = torch.float32) -> torch.Tensor:
        """``(len(users), n_interests)`` how much of each user's top-``top`` recommendation scores flows through each interest point.

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
        adjacency, coefficients = self._scoring
        n, lo_item, lo_interest = adjacency.shape[0], self.n_users, self.n_users + self.n_items
        mask_seen(scores, self.seen_.tocsr(), users.numpy())
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
            if m == 0 and getattr(self, "start_", None) is not None:
                y[lo_item:lo_interest] *= torch.from_numpy(self.start_[users.numpy()].toarray()).T.to(dtype)
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
        self._check_fitted()
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        if len(users) and (int(users.min()) < 0 or int(users.max()) >= self.n_users):
            raise IndexError(f"users: codes must be in 0..{self.n_users - 1}")
        device = torch.device(device) if device is not None else torch.device("cpu")
        if device.type == "cuda" and device.index is None:
            device = torch.device("cuda", torch.cuda.current_device())
        cached = getattr(self, "_scoring", None)
        if cached is None or cached[0].dtype != dtype or cached[0].device != device:
            self._scoring = (
                to_torch_csr(self.adjacency_, dtype=dtype, device=device),
                torch.from_numpy(self.coefficients_).to(dtype=dtype, device=device),
            )
        adjacency, coefficients = self._scoring
        start = None
        if getattr(self, "start_", None) is not None:
            start = torch.from_numpy(self.start_[users.numpy()].toarray()).to(dtype=dtype, device=device)
        return frozen_scores(adjacency, coefficients, users, self.n_users, self.n_items, start=start)

    @property
    def nodes(self):
        """``(N, 4)`` table of the walk nodes: ``node``, ``type``, ``id`` (string form), ``label`` (title / interest label)."""
        from .io import _node_ids

        self._check_fitted()
        if not hasattr(self, "node_ids_"):
            self.node_ids_ = _node_ids(self)
        return self.node_ids_

    def walks(self, user: int, item: int) -> list[tuple[tuple[int, ...], float]]:
        """Every scored walk from user code ``user`` to item code ``item`` with its contribution (node indices)."""
        self._check_fitted()
        start = None
        if getattr(self, "start_", None) is not None:
            row = self.start_[int(user)]
            start = {self.n_users + int(j): float(w) for j, w in zip(row.indices, row.data)}
        return walk_contributions(self.adjacency_, self.coefficients_, int(user), self.n_users + int(item), start=start)

    # ------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike, *, overwrite: bool = False) -> Path:
        """Write the fitted model to ``directory`` atomically (see ``models/README.md``)."""
        from .io import save_model

        return save_model(self, directory, overwrite=overwrite)

    @classmethod
    def load(cls, directory: str | os.PathLike) -> InterestGraphModel:
        """Read a model saved by :meth:`save` (no code is executed from the files)."""
        from .io import load_model

        return load_model(directory)

    def describe(self) -> str:
        """One line: settings, best epoch and validation NDCG@20."""
        self._check_fitted()
        best = getattr(self, "best_valid_ndcg_", float("nan"))
        first = getattr(self, "first_step_", self.config.first_step_weights)
        return (
            f"InterestGraphModel(edge_types={','.join(self.config.edge_types)}, L={self.config.max_length}, a={self.config.exponent}, "
            f"dim={self.config.dim}, gate_rank={self.config.gate_rank}, first_step={first}, loss={self.train.loss}); best epoch {getattr(self, 'best_epoch_', '?')}, valid ndcg@20 {best:.4f}"
        )
