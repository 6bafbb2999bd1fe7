"""Training the interest-graph model (:class:`Trainer`, :class:`TrainConfig`)."""

from ..model.config import TrainConfig
from .trainer import Trainer, hold_out, pick_device

__all__ = ["TrainConfig", "Trainer", "hold_out", "pick_device"]
