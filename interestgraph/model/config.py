"""Configuration of the interest-graph path model and its training (dataclasses, JSON round trip)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from .operator import MODEL_EDGE_TYPES


def _check_positive_int(name: str, value: Any, minimum: int = 1) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


def _check_number(name: str, value: Any, low: float = 0.0, high: float | None = None, low_open: bool = False) -> None:
    ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
    ok = ok and (value > low if low_open else value >= low) and (high is None or value <= high)
    if not ok:
        bound = f"{'>' if low_open else '>='} {low}" + (f" and <= {high}" if high is not None else "")
        raise ValueError(f"{name} must be a number {bound}, got {value!r}")


class _JsonConfig:
    """``to_dict`` / ``from_dict`` for the configuration dataclasses (unknown keys are errors)."""

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]):
        unknown = sorted(set(data) - {f.name for f in dataclasses.fields(cls)})
        if unknown:
            raise ValueError(f"unknown {cls.__name__} settings {unknown}")
        return cls(**data)


@dataclass
class ModelConfig(_JsonConfig):
    """The path model (see :mod:`interestgraph.model.path_model`).

    Attributes:
        edge_types: edge types walked on (a subset of ``user-item``, ``item-interest``,
            ``user-interest``, ``interest-interest``, ``item-item``); ``user-item`` is required.
        max_length: longest user→item walk scored, ``L`` (2 or 3; 3 includes co-occurrence
            ``u→j→u'→i`` and ``u→j→v→i``).
        exponent: per-type degree normalisation exponent ``a`` (0.5 = LightGCN's).
        dim: width ``d`` of the GCN node vectors that set the learned edge weights.
        gcn_layers: LightGCN-style propagation layers of the node vectors.
        gate_rank: rank ``r`` of the pairwise edge gates ``1 + ⟨p_a, p_b⟩`` (0: node gates only, the
            default: on ml-latest-small rs-4, seed 0, rank 4 gave test NDCG@20 0.1933 against 0.1920
            for rank 0, validation 0.1735 against 0.1736, at 5× the training time; see
            ``benchmarks/model_ablation.py``).
        typed_gates: one gate per node *and edge type*, ``s_a^(t)``, instead of one per node: an edge
            of type ``t`` weighs ``γ_t s_a^(t) s_b^(t) Â_t[a, b]``, so the model can, say, let an item's
            text-similarity edges carry weight where its co-occurrence edges are few (off by default; see
            the README's ablation).
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
            interests keep weight 1. On ml-latest-small ``tl-4`` (seed 0, ``holdout_mode="latest"``)
            ``"order"`` with half-life 1 / 2 / 3 / 5 / 10 / 20 items gave validation NDCG@20
            0.0967 / 0.1027 / 0.1041 / 0.0993 / 0.0965 / 0.0908 against 0.0859 uniform.
        first_step_half_life_items: half-life of the ``"order"`` first-step weights, in items.
        first_step_half_life_days: half-life of the ``"recency"`` first-step weights, in days.
        similarity_edges: ``"frozen"`` (the default): interest–interest and item–item edges keep the graph's
            encoder cosines; ``"refined"``: their weights are recomputed from the GCN's vectors at every
            training step, ``σ((cos(z_a, z_b) − θ) / τ)`` with a learned threshold ``θ``, weak edges are pruned
            and new neighbours mined every ``remine_every`` epochs (:mod:`interestgraph.model.refine`).
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
        _check_number("exponent", self.exponent, 0.0, 1.0)
        _check_positive_int("dim", self.dim)
        _check_positive_int("gcn_layers", self.gcn_layers, minimum=0)
        _check_positive_int("gate_rank", self.gate_rank, minimum=0)
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
        _check_number("first_step_half_life_items", self.first_step_half_life_items, 0.0, low_open=True)
        _check_number("first_step_half_life_days", self.first_step_half_life_days, 0.0, low_open=True)
        _check_number("recency_half_life_items", self.recency_half_life_items, 0.0, low_open=True)
        _check_number("recency_half_life_days", self.recency_half_life_days, 0.0, low_open=True)
        if self.similarity_edges not in ("frozen", "refined"):
            raise ValueError(f"similarity_edges must be 'frozen' or 'refined', got {self.similarity_edges!r}")
        if self.similarity_edges == "refined" and not {"interest-interest", "item-item"} & set(self.edge_types):
            raise ValueError(
                "similarity_edges='refined' needs 'interest-interest' or 'item-item' in edge_types (nothing to refine)"
            )
        _check_number("refine_temperature", self.refine_temperature, 0.0, low_open=True)
        _check_positive_int("remine_every", self.remine_every, minimum=0)
        _check_positive_int("remine_k", self.remine_k, minimum=0)
        _check_number("prune_below", self.prune_below, 0.0, 1.0)


@dataclass
class TrainConfig(_JsonConfig):
    """How the path model is trained (see :mod:`interestgraph.train`).

    Attributes:
        lr: AdamW learning rate of the network (projections, gates, embeddings).
        path_lr: learning rate of the path coefficients (``c_k``, ``γ_t``).
        weight_decay: AdamW decoupled weight decay on the network's matrices.
        l2: weight of ``½‖x‖²`` on the ID vectors of each batch's users, positives and negatives (per pair).
        epochs: most epochs.
        warmup_epochs: linear learning-rate warm-up.
        patience: epochs without a better validation NDCG@20 before stopping.
        holdout: share of each user's training items hidden as targets every epoch
            (the walks are built from the rest, so no target scores itself).
        holdout_mode: which items are hidden: ``"random"``, ``"latest"`` (each user's most recent, as
            a temporal protocol asks), or ``"auto"`` (the default: latest for temporal splits, else
            random). On ml-latest-small ``tl-4`` (seed 0) ``latest`` alone did not help (validation
            NDCG@20 0.0859 against 0.0868 for ``random``), but with first-step weights ``"order"``
            (half-life 10 items) it did: 0.0965 against 0.0935.
        cold_items: share of the items with positives hidden as cold every epoch while training (all
            their edges become targets, their ID vectors are left out), so the model learns to reach
            items through their text and interests only, as it must for new items; 0 turns it off.
            ``"auto"`` (the default): the protocol's cold fraction under a cold-item protocol, else 0
            (on ml-latest-small ``rs-4`` 0.1 cost validation NDCG@20 on known items, 0.1666 against
            0.1736; under ``cold-4`` the default gives the cold items' test Recall@20 0.1035 over
            three seeds). While items are hidden, negatives are drawn among items with positives.
        cold_draws: draws of simulated cold items used after training to set the gate bias of items
            without user edges (0: no calibration, bias 0). Under a cold-item protocol the draws mirror
            its cold fraction and test share; otherwise they hide ``cold_items`` (0.1 if 0) of the
            items and ``holdout`` of the pairs.
        negatives: sampled negatives per target with ``loss="bpr"`` (never a training positive of the user;
            drawn among the items with training positives).
        loss: ``"softmax"`` (the default): each target's cross-entropy against every candidate item (the
            items with training positives, less the user's kept items), the scores divided by
            ``softmax_temperature``; ``"bpr"``: against ``negatives`` sampled items. Every score is computed
            for the batch's users anyway, so the softmax costs one log-sum-exp per user. On ml-latest-small
            the softmax raised test NDCG@20 from 0.1915 to 0.2015 (``rs-4``, seeds 0-2) and from 0.0698 to
            0.0738 (``tl-4``, seeds 0-4); README, "The interest-graph model".
        softmax_temperature: ``τ`` of the softmax loss (``tl-4`` seed 0 validation NDCG@20: 0.1051 / 0.1080 /
            0.1075 for 0.3 / 1 / 3, measured while the option was written; the learned ``c_k`` also set the scale).
        user_batch: users per step (all their targets, one score pass).
        seed: seeds initialisation, holdout and negative sampling.
        device: ``"cpu"``, ``"cuda"`` or ``"auto"``.
        log_path: optional CSV (``.csv``) or JSON lines (``.jsonl``) file with one row per epoch.
        verbose: print one line per epoch (loss, validation NDCG@20, seconds) on stderr.
        encoder_mode: ``"frozen"`` (the default: the graph's text vectors stay as built), ``"top"`` (the
            encoder's top ``encoder_top_layers`` layers train over cached lower layers) or ``"lora"`` (LoRA
            adapters of rank ``encoder_lora_r`` train, through peft), in the same optimisation as the
            path model (:mod:`interestgraph.train.joint`). Needs the graph to have been encoded by a
            transformers encoder (not the lexical test encoder) and ``ModelConfig.text_features``.
        encoder_top_layers: mode ``"top"``: how many top layers train.
        encoder_lora_r: mode ``"lora"``: adapter rank (alpha = 2 r).
        encoder_lr: AdamW learning rate of the encoder's trainable parameters (the GNN's is ``lr``).
        encoder_warmup_epochs: epochs trained with the encoder frozen before joint steps start.
        encoder_interests: interest texts per step encoded with gradients (drawn from the interests of
            the step's target items); every other interest uses its cached vector, refreshed each epoch.
        encoder_items: item texts per step encoded with gradients (drawn from the step's target items).
    """

    lr: float = 5e-3
    path_lr: float = 5e-2
    weight_decay: float = 1e-4
    l2: float = 1e-4
    epochs: int = 60
    warmup_epochs: int = 2
    patience: int = 5
    holdout: float = 0.2
    holdout_mode: str = "auto"
    cold_items: float | str = "auto"
    cold_draws: int = 4
    negatives: int = 8
    loss: str = "softmax"
    softmax_temperature: float = 1.0
    user_batch: int = 256
    seed: int = 2020
    device: str = "auto"
    log_path: str | None = None
    verbose: bool = True
    encoder_mode: str = "frozen"
    encoder_top_layers: int = 1
    encoder_lora_r: int = 8
    encoder_lr: float = 2e-5
    encoder_warmup_epochs: int = 2
    encoder_interests: int = 64
    encoder_items: int = 16

    def __post_init__(self) -> None:
        for name in ("lr", "path_lr"):
            _check_number(name, getattr(self, name), 0.0, low_open=True)
        for name in ("weight_decay", "l2"):
            _check_number(name, getattr(self, name), 0.0)
        _check_number("holdout", self.holdout, 0.0, 0.9, low_open=True)
        if self.cold_items != "auto":
            _check_number("cold_items", self.cold_items, 0.0, 0.5)
        if self.loss not in ("bpr", "softmax"):
            raise ValueError(f"loss must be 'bpr' or 'softmax', got {self.loss!r}")
        _check_number("softmax_temperature", self.softmax_temperature, 0.0, low_open=True)
        if self.holdout_mode not in ("random", "latest", "auto"):
            raise ValueError(f"holdout_mode must be 'random', 'latest' or 'auto', got {self.holdout_mode!r}")
        _check_positive_int("cold_draws", self.cold_draws, minimum=0)
        for name in ("epochs", "patience", "negatives", "user_batch"):
            _check_positive_int(name, getattr(self, name))
        _check_positive_int("warmup_epochs", self.warmup_epochs, minimum=0)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.device not in ("cpu", "cuda", "auto") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        if self.encoder_mode not in ("frozen", "top", "lora"):
            raise ValueError(f"encoder_mode must be 'frozen', 'top' or 'lora', got {self.encoder_mode!r}")
        _check_number("encoder_lr", self.encoder_lr, 0.0, low_open=True)
        for name in ("encoder_top_layers", "encoder_lora_r"):
            _check_positive_int(name, getattr(self, name))
        for name in ("encoder_warmup_epochs", "encoder_interests", "encoder_items"):
            _check_positive_int(name, getattr(self, name), minimum=0)
        if self.log_path is not None and not str(self.log_path).endswith((".csv", ".jsonl")):
            raise ValueError(f"log_path must end in .csv or .jsonl, got {self.log_path!r}")


__all__ = ["ModelConfig", "TrainConfig"]
