"""How the path model is trained: :class:`TrainConfig` (a dataclass with a JSON round trip)."""

from __future__ import annotations

from dataclasses import dataclass

from ..ops import check_positive_int
from ..paths.config import JsonConfig, check_number


@dataclass
class TrainConfig(JsonConfig):
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
            random). On ml-latest-small ``tl-4`` ``latest`` helped only together with first-step weights
            ``"order"`` (the figures: ``docs/model.md``, "Settings measured when they were added").
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
        calibration_users: at most this many target users per calibration draw (a seeded sample when
            there are more): the draws fit one number, and their logits (users x candidates) are held
            for a grid search, so the cap bounds that cost on large logs (Gowalla: 29,858 users).
        negatives: sampled negatives per target with ``loss="bpr"`` (never a training positive of the user;
            drawn among the items with training positives).
        loss: ``"softmax"`` (the default): each target's cross-entropy against every candidate item (the
            items with training positives, less the user's kept items), the scores divided by
            ``softmax_temperature``; ``"bpr"``: against ``negatives`` sampled items. Every score is computed
            for the batch's users anyway, so the softmax costs one log-sum-exp per user. On ml-latest-small
            the softmax raised test NDCG@20 under both ``rs-4`` and ``tl-4``: the figures and the commands that
            reproduce them are in ``docs/evaluation.md``, "The interest-graph model against the baselines".
        softmax_temperature: ``τ`` of the softmax loss (1 was the best of 0.3 / 1 / 3 on validation when the
            option was added, ``docs/model.md``; the learned ``c_k`` also set the scale).
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
    calibration_users: int = 2048
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
            check_number(name, getattr(self, name), 0.0, low_open=True)
        for name in ("weight_decay", "l2"):
            check_number(name, getattr(self, name), 0.0)
        check_number("holdout", self.holdout, 0.0, 0.9, low_open=True)
        if self.cold_items != "auto":
            check_number("cold_items", self.cold_items, 0.0, 0.5)
        if self.loss not in ("bpr", "softmax"):
            raise ValueError(f"loss must be 'bpr' or 'softmax', got {self.loss!r}")
        check_number("softmax_temperature", self.softmax_temperature, 0.0, low_open=True)
        if self.holdout_mode not in ("random", "latest", "auto"):
            raise ValueError(f"holdout_mode must be 'random', 'latest' or 'auto', got {self.holdout_mode!r}")
        check_positive_int("cold_draws", self.cold_draws, minimum=0)
        check_positive_int("calibration_users", self.calibration_users)
        for name in ("epochs", "patience", "negatives", "user_batch"):
            check_positive_int(name, getattr(self, name))
        check_positive_int("warmup_epochs", self.warmup_epochs, minimum=0)
        if not isinstance(self.seed, int) or isinstance(self.seed, bool):
            raise ValueError(f"seed must be an integer, got {self.seed!r}")
        if self.device not in ("cpu", "cuda", "auto") and not str(self.device).startswith("cuda:"):
            raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {self.device!r}")
        if self.encoder_mode not in ("frozen", "top", "lora"):
            raise ValueError(f"encoder_mode must be 'frozen', 'top' or 'lora', got {self.encoder_mode!r}")
        check_number("encoder_lr", self.encoder_lr, 0.0, low_open=True)
        for name in ("encoder_top_layers", "encoder_lora_r"):
            check_positive_int(name, getattr(self, name))
        for name in ("encoder_warmup_epochs", "encoder_interests", "encoder_items"):
            check_positive_int(name, getattr(self, name), minimum=0)
        if self.log_path is not None and not str(self.log_path).endswith((".csv", ".jsonl")):
            raise ValueError(f"log_path must end in .csv or .jsonl, got {self.log_path!r}")


__all__ = ["TrainConfig"]
