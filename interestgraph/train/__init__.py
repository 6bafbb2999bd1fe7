"""Training a path scorer: the generic loop (:class:`Trainer`), its configuration (:class:`TrainConfig`), losses,
callbacks, sampling, checkpoints and data-parallel replicas.

    from interestgraph.train import Trainer, TrainConfig
    report = Trainer(TrainConfig(epochs=40)).train(scorer, graph, validate=validate)

This package sits above :mod:`interestgraph.paths` and below the estimator (:mod:`interestgraph.model`), the
evaluation harness and the baselines: it imports none of them (the estimator passes validation in as a callable).
"""

from .. import distributed
from .callbacks import Callback, CallbackList, EpochLog, EpochPrinter
from .config import TrainConfig
from .losses import BPRLoss, SoftmaxLoss, StepLoss, make_loss
from .parallel import DataParallel, SingleProcess, replicas
from .report import TrainingReport
from .sampling import NegativeSampler, hold_out
from .trainer import Trainer

__all__ = [
    "BPRLoss",
    "Callback",
    "CallbackList",
    "DataParallel",
    "EpochLog",
    "EpochPrinter",
    "NegativeSampler",
    "SingleProcess",
    "SoftmaxLoss",
    "StepLoss",
    "TrainConfig",
    "Trainer",
    "TrainingReport",
    "distributed",
    "hold_out",
    "make_loss",
    "replicas",
]
