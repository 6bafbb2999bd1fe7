"""Training the interest-graph model (:class:`Trainer`, :class:`TrainConfig`); data-parallel across processes
under ``torch.distributed`` (:mod:`.distributed`: ``torchrun --nproc-per-node N -m interestgraph train GRAPH --out MODEL``)."""

from .. import distributed
from ..model.config import TrainConfig
from .trainer import BPRStep, Trainer, hold_out, pick_device

__all__ = ["BPRStep", "TrainConfig", "Trainer", "distributed", "hold_out", "pick_device"]
