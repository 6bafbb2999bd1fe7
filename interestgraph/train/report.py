"""What a training run returns: :class:`TrainingReport`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..paths.operator import PathOperator

#: the parts each epoch's seconds are split into (``seconds_<part>`` in the history records)
EPOCH_PARTS = ("graph", "train", "valid", "encoder", "refine")


@dataclass(eq=False)
class TrainingReport:
    """One training run: its history and what the trained scorer is to be frozen on (a model loaded from disk has
    the history and figures only: the fields from ``cold_calibration`` on are then empty).

    Attributes:
        history: one record per epoch (``epoch``, ``loss``, ``targets``, ``valid_ndcg@20`` when validated,
            ``seconds_<part>`` for the parts of :data:`EPOCH_PARTS`, ``seconds``; ``stopped`` when a callback ended
            the epoch early).
        best_epoch: the epoch whose parameters were kept (the last one without validation).
        epochs: epochs run.
        best_valid_ndcg: validation NDCG@20 of the best epoch (NaN without validation).
        train_seconds: the whole run, seconds.
        epoch_seconds: mean seconds per epoch by part.
        cold_calibration: the cold-item calibration (``bias``, ``draws``, losses; :mod:`.calibrate`).
        holdout_mode: ``"latest"`` or ``"random"`` (``TrainConfig.holdout_mode`` resolved).
        cold_items: share of the items hidden as cold each epoch (``TrainConfig.cold_items`` resolved).
        device: where it trained.
        tables: the raw edge tables of the full training graph (the refined similarity tables of the best epoch).
        operator: the full training graph's operator built from ``tables``.
        structure: its normalised GCN structure (on ``device``).
        not_cold: ``(I,)`` bool items with training events but no positive (never cold).
        encoder_state: the fine-tuned encoder's trainable tensors (``encoder_mode`` other than frozen), else None.
        encoder_tuning: how it was fine-tuned (mode, settings, digest, epochs frozen), else None.
    """

    history: list[dict[str, Any]]
    best_epoch: int
    epochs: int
    best_valid_ndcg: float
    train_seconds: float
    epoch_seconds: dict[str, float]
    cold_calibration: dict[str, Any] = field(default_factory=dict)
    holdout_mode: str | None = None
    cold_items: float | None = None
    device: str | None = None
    tables: dict[str, sp.csr_matrix] | None = field(default=None, repr=False)
    operator: PathOperator | None = field(default=None, repr=False)
    structure: torch.Tensor | None = field(default=None, repr=False)
    not_cold: np.ndarray | None = field(default=None, repr=False)
    encoder_state: dict[str, torch.Tensor] | None = field(default=None, repr=False)
    encoder_tuning: dict[str, Any] | None = None

    @staticmethod
    def mean_seconds(history: list[dict[str, Any]]) -> dict[str, float]:
        """Mean seconds per epoch of each part of :data:`EPOCH_PARTS` ({} without epochs)."""
        if not history:
            return {}
        return {part: float(np.mean([h.get(f"seconds_{part}", 0.0) for h in history])) for part in EPOCH_PARTS}


__all__ = ["EPOCH_PARTS", "TrainingReport"]
