"""Configuration of the interest-graph path model (a dataclass with a JSON round trip) and the checks that
configuration dataclasses share (:class:`JsonConfig`, :func:`check_number`; integer settings are checked with
:func:`interestgraph.ops.check_positive_int`)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..ops import check_positive_int
from .operator import MODEL_EDGE_TYPES


def check_number(name: str, value: Any, low: float = 0.0, high: float | None = None, low_open: bool = False) -> None:
    """Raise ValueError naming ``name`` unless ``value`` is a number in ``[low, high]`` (``(low, high]`` if
    ``low_open``)."""
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")


class JsonConfig:
    """``to_dict`` / ``from_dict`` for the configuration dataclasses (unknown keys are errors)."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        # numpy integers pass check_positive_int; the JSON manifests need plain Python numbers
        out = {k: v.item() if isinstance(v, np.generic) else v for k, v in out.items()}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown {cls.__name__} settings {unknown}")
        return cls(**data)


@dataclass
class ModelConfig(JsonConfig):
    """The path model (see :mod:`interestgraph.paths.scorer`).

    Attributes:
        edge_types: edge types walked on (a subset of ``user-item``, ``item-interest``,
            ``user-interest``, ``interest-interest``, ``item-item``); ``user-item`` is required.
        max_length: longest user→item walk scored, ``L`` (2 or 3; 3 includes co-occurrence
            ``u→j→u'→i`` and ``u→j→v→i``).
        exponent: per-type degree normalisation exponent ``a`` (0.5 = LightGCN's).
        dim: width ``d`` of the GCN node vectors that set the learned edge weights.
        gcn_layers: LightGCN-style propagation layers of the node vectors.
        gate_rank: rank ``r`` of the pairwise edge gates ``1 + ⟨p_a, p_b⟩`` (0: node gates only, the
            default: rank 4 was no better on validation at 5× the training time; the measured figures are in
            ``docs/model.md``, "What each part adds", from ``benchmarks/model_ablation.py``).
        typed_gates: one gate per node *and edge type*, ``s_a^(t)``, instead of one per node: an edge
            of type ``t`` weighs ``γ_t s_a^(t) s_b^(t) Â_t[a, b]``, so the model can, say, let an item's
            text-similarity edges carry weight where its co-occurrence edges are few (off by default; see
            ``docs/model.md``, "One gate per node and edge type").
        item_id_embedding: items add a learned ID vector to their projected text vector.
        user_interest_mean: users add the ``w(v|u)``-weighted mean of their interests' vectors
            to their ID vector (needs the graph's user–interest edges).
        text_features: items and interests start from the encoder's vectors (else ID vectors only).
        user_item_weights: ``"binary"`` training positives; ``"recency"``: each user's positives decayed
            relative to *that user's* last training positive, ``0.5 ** ((t_last(u) - t) / half-life)``;
            or the graph's ``"decayed"`` weights (relative to the last event of the whole log, which
            makes users who stopped long ago vanish from item degrees).
        recency_half_life_days: half-life of the ``"recency"`` weights.
            ``"order"``: decay by position instead of time, ``0.5 ** (rank / recency_half_life_items)``
            with ``rank`` 0 for the user's latest training positive (ratings entered in one
            session share a timestamp range of minutes, so days cannot order them).
        recency_half_life_items: half-life of the ``"order"`` weights, in items.
        first_step_weights: weights of the *first* step of every walk, from the scored user to one of
            their own training items, on top of ``W``: ``"uniform"`` (1), ``"order"``
            (``0.5 ** (rank / first_step_half_life_items)``, rank 0 for the user's latest item),
            ``"recency"`` (``0.5 ** (age / first_step_half_life_days)``, age from the user's latest
            item), or ``"auto"`` (the default: ``"order"`` when the graph's split is temporal, where
            the next items follow the latest ones, else ``"uniform"``). Unlike ``user_item_weights``
            this leaves every other step of the walk, and so the co-occurrence statistics of other
            users, unweighted: it says which of *this user's* items the walks start from. Steps to
            interests keep weight 1. How the half-life was chosen on validation (``tl-4``) and what it gave is in
            ``docs/model.md``, "What each part adds".
        first_step_half_life_items: half-life of the ``"order"`` first-step weights, in items.
        first_step_half_life_days: half-life of the ``"recency"`` first-step weights, in days.
        similarity_edges: ``"frozen"`` (the default): interest–interest and item–item edges keep the graph's
            encoder cosines; ``"refined"``: their weights are recomputed from the GCN's vectors at every
            training step, ``σ((cos(z_a, z_b) − θ) / τ)`` with a learned threshold ``θ``, weak edges are pruned
            and new neighbours mined every ``remine_every`` epochs (:mod:`interestgraph.paths.refine`).
        refine_temperature: ``τ`` of the refined weights.
        remine_every: epochs between re-minings of the refined edge sets (0: never; the starting edges
            keep their refined weights).
        remine_k: candidate neighbours per node mined from the current vectors at each re-mining.
        prune_below: refined edges weighing less than this (in (0, 1)) are dropped at each re-mining.
    """

    edge_types: tuple[str, ...] = ("user-item", "item-interest", "interest-interest")
    max_length: int = 3
    exponent: float = 0.4
    dim: int = 64
    gcn_layers: int = 2
    gate_rank: int = 0
    typed_gates: bool = False
    item_id_embedding: bool = True
    user_interest_mean: bool = False
    text_features: bool = True
    user_item_weights: str = "binary"
    recency_half_life_days: float = 365.0
    recency_half_life_items: float = 20.0
    first_step_weights: str = "auto"
    first_step_half_life_items: float = 3.0
    first_step_half_life_days: float = 180.0
    similarity_edges: str = "frozen"
    refine_temperature: float = 0.1
    remine_every: int = 3
    remine_k: int = 5
    prune_below: float = 0.05

    def __post_init__(self) -> None:
        self.edge_types = tuple(self.edge_types)
        unknown = sorted(set(self.edge_types) - set(MODEL_EDGE_TYPES))
        if unknown:
            raise ValueError(f"edge_types: unknown {unknown}; choose from {', '.join(MODEL_EDGE_TYPES)}")
        if "user-item" not in self.edge_types:
            raise ValueError("edge_types must include 'user-item' (walks start from the user's items)")
        if len(set(self.edge_types)) != len(self.edge_types):
            raise ValueError(f"edge_types has duplicates: {self.edge_types!r}")
        if self.max_length not in (2, 3):
            raise ValueError(f"max_length must be 2 or 3, got {self.max_length!r}")
        if self.max_length == 2 and not {"user-interest", "item-item"} & set(self.edge_types):
            raise ValueError(
                "max_length=2 reaches no unseen item with these edge_types (a 2-step walk from a user "
                "ends on an item only through user-interest or item-item edges); use max_length=3 or add one of them"
            )
        check_number("exponent", self.exponent, 0.0, 1.0)
        check_positive_int("dim", self.dim)
        check_positive_int("gcn_layers", self.gcn_layers, minimum=0)
        check_positive_int("gate_rank", self.gate_rank, minimum=0)
        if not isinstance(self.typed_gates, bool):
            raise ValueError(f"typed_gates must be True or False, got {self.typed_gates!r}")
        if self.user_item_weights not in ("binary", "recency", "order", "decayed"):
            raise ValueError(
                f"user_item_weights must be 'binary', 'recency', 'order' or 'decayed', got {self.user_item_weights!r}"
            )
        if self.first_step_weights not in ("auto", "uniform", "order", "recency"):
            raise ValueError(
                f"first_step_weights must be 'auto', 'uniform', 'order' or 'recency', got {self.first_step_weights!r}"
            )
        check_number("first_step_half_life_items", self.first_step_half_life_items, 0.0, low_open=True)
        check_number("first_step_half_life_days", self.first_step_half_life_days, 0.0, low_open=True)
        check_number("recency_half_life_items", self.recency_half_life_items, 0.0, low_open=True)
        check_number("recency_half_life_days", self.recency_half_life_days, 0.0, low_open=True)
        if self.similarity_edges not in ("frozen", "refined"):
            raise ValueError(f"similarity_edges must be 'frozen' or 'refined', got {self.similarity_edges!r}")
        if self.similarity_edges == "refined" and not {"interest-interest", "item-item"} & set(self.edge_types):
            raise ValueError(
                "similarity_edges='refined' needs 'interest-interest' or 'item-item' in edge_types (nothing to refine)"
            )
        check_number("refine_temperature", self.refine_temperature, 0.0, low_open=True)
        check_positive_int("remine_every", self.remine_every, minimum=0)
        check_positive_int("remine_k", self.remine_k, minimum=0)
        check_number("prune_below", self.prune_below, 0.0, 1.0)


__all__ = ["JsonConfig", "ModelConfig", "check_number"]
