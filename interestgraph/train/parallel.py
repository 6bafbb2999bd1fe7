"""Where the training step runs: one process (:class:`SingleProcess`) or data-parallel replicas
(:class:`DataParallel`), behind one interface, so the training loop has no ``if distributed`` branches.

Data-parallel training (:mod:`interestgraph.distributed`). When a ``torch.distributed`` process group of more than
one process is initialised (``torchrun --nproc-per-node 2 -m interestgraph train GRAPH --out MODEL``), every process
holds the whole graph and a replica of the scorer, draws the same hold-outs, user order and pairs from the same
seeds (so the global batches are those of one process), computes the walk scores of its share of each batch's users
only (``batch[rank::world]`` and their pairs; the GCN vectors are recomputed on every process), and scales its loss
to ``(Σ its pairs' ranking terms + l2 · ½ Σ its pairs' squared norms) / (pairs in the global batch)``, so that the
gradients summed over processes by :class:`~torch.nn.parallel.DistributedDataParallel` (which averages: the loss is
multiplied by the world size) are those of one process on the whole batch. The logged loss is the global one; rank 0
validates and broadcasts the metric, so best-epoch and early-stopping decisions agree; only rank 0 writes the epoch
log, checkpoints and progress. The trajectory matches one process up to float summation order.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from .. import distributed as ddp
from ..device import resolve_device


class SingleProcess:
    """Training in this process only (every method is the identity of its data-parallel counterpart)."""

    rank, world_size, main = 0, 1, True

    def check(self, config) -> None:
        """Nothing to refuse in one process."""

    def device(self, setting: str) -> torch.device:
        """The training device of ``setting`` (:func:`interestgraph.device.resolve_device`)."""
        return torch.device(resolve_device(setting))

    def wrap(self, step: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        return step

    def share(self, batch: np.ndarray, rows: np.ndarray, *pairs: np.ndarray) -> tuple[np.ndarray, ...]:
        """This process's share of a batch: all of it."""
        return (batch, rows, *pairs)

    def normaliser(self, n_pairs: int) -> int | None:
        return None

    def batch_loss(self, loss: torch.Tensor, ranking: torch.Tensor, device: torch.device) -> tuple[float, bool, Any]:
        """``(the batch's loss, whether it is non-finite, the value to show when it is)``."""
        return float(loss.detach()), not bool(torch.isfinite(ranking)), float(ranking.detach())

    def backward(self, loss: torch.Tensor) -> None:
        loss.backward()

    def validated(self, validate, device: torch.device) -> float:
        """The validation metric (computed here)."""
        return validate()

    def share_refined(self, tables: dict, scorer, device: torch.device) -> bool:
        """Whether ``tables`` (and the refiners' edge sets) were replaced by rank 0's: never in one process."""
        return False

    def finish(self, scorer, calibration: dict, device: torch.device) -> dict:
        """The calibration result every process keeps (this one's)."""
        return calibration


class DataParallel(SingleProcess):
    """Training across the processes of an initialised group (module docstring)."""

    main = False

    def __init__(self, rank: int, world_size: int):
        self.rank, self.world_size, self.main = rank, world_size, rank == 0

    def check(self, config) -> None:
        """Refuse the settings that distributed training would get silently wrong (ValueError naming the setting)."""
        if config.encoder_mode != "frozen":
            raise ValueError(
                f"encoder_mode={config.encoder_mode!r}: distributed training (world size {self.world_size}) supports "
                "the frozen encoder only (a trained encoder's parameters and random draws live outside the scorer "
                "that DistributedDataParallel synchronises); use encoder_mode='frozen', or train in one process"
            )

    def device(self, setting: str) -> torch.device:
        """This process's device: ``cuda:LOCAL_RANK`` for ``"cuda"`` / ``"auto"`` with a GPU, else the CPU.

        Raises:
            ValueError: ``device="cuda:N"`` (every process would share one GPU), or a CPU device under the ``nccl``
                backend.
        """
        device = torch.device(resolve_device(setting))
        if device.type == "cuda":
            if device.index is not None:
                raise ValueError(
                    f"device='{device}': under distributed training (world size {self.world_size}) each process "
                    "uses cuda:LOCAL_RANK; pass device='cuda' or 'auto'"
                )
            device = torch.device("cuda", ddp.local_rank())
            torch.cuda.set_device(device)
        elif torch.distributed.get_backend() == "nccl":
            raise ValueError(
                f"device='{device}': the process group uses the nccl backend, which needs CUDA tensors; "
                "train on device='cuda', or initialise the group with the gloo backend for the CPU"
            )
        return device

    def wrap(self, step: torch.nn.Module, device: torch.device) -> torch.nn.Module:
        """``step`` under DistributedDataParallel (its constructor is a collective: no rank starts, and writes a
        checkpoint, before all have read theirs)."""
        from torch.nn.parallel import DistributedDataParallel

        # every parameter of the scorer enters every step's loss (even a process whose share of a batch is empty
        # backpropagates zeros through it), so DDP need not search the graph for unused ones; the buffers
        # (text vectors) are constants: not re-broadcast at every forward
        sync = (
            {"forward_sync_buffers": False}
            if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
            else {"broadcast_buffers": False}
        )
        return DistributedDataParallel(
            step,
            device_ids=[device.index] if device.type == "cuda" else None,
            find_unused_parameters=False,
            **sync,
        )

    def share(self, batch: np.ndarray, rows: np.ndarray, *pairs: np.ndarray) -> tuple[np.ndarray, ...]:
        """Users ``batch[rank::world]`` and their pairs (``rows`` renumbered within the share)."""
        mine = rows % self.world_size == self.rank
        return (batch[self.rank :: self.world_size], rows[mine] // self.world_size, *(p[mine] for p in pairs))

    def normaliser(self, n_pairs: int) -> int | None:
        return n_pairs

    def batch_loss(self, loss: torch.Tensor, ranking: torch.Tensor, device: torch.device) -> tuple[float, bool, Any]:
        """The global loss, and one decision on a non-finite loss for every process."""
        total, broken = ddp.all_reduce_sum(
            [float(loss.detach()), 0.0 if bool(torch.isfinite(ranking)) else 1.0], device
        )
        return total, bool(broken), total

    def backward(self, loss: torch.Tensor) -> None:
        # DDP averages the gradients over processes; × world size makes them the sum, the one-process gradient
        (loss * self.world_size).backward()

    def validated(self, validate, device: torch.device) -> float:
        """Rank 0 validates; every process takes its value, so all decide alike."""
        return ddp.broadcast_float(validate() if self.main else float("nan"), device)

    def share_refined(self, tables: dict, scorer, device: torch.device) -> bool:
        """Every process takes rank 0's refined similarity tables and edge sets (a re-mining threshold could
        otherwise keep an edge on one process only, where GPU sums differ in the last bit); ``tables`` is updated
        in place. Returns whether this process's tables changed (every rank but 0)."""
        shared = ddp.broadcast_object(
            {kind: (tables[kind], refiner.rows.cpu(), refiner.cols.cpu()) for kind, refiner in scorer.refiners.items()},
            device,
        )
        if self.main:
            return False
        for kind, (table, rows, cols) in shared.items():
            tables[kind] = sp.csr_matrix(table)
            refiner = scorer.refiners[kind]
            refiner.rows, refiner.cols = rows.to(refiner.threshold.device), cols.to(refiner.threshold.device)
        return True

    def finish(self, scorer, calibration: dict, device: torch.device) -> dict:
        """Rank 0's parameters and calibration everywhere, bit for bit (GPU kernels need not be deterministic)."""
        ddp.broadcast_parameters(scorer)
        return ddp.broadcast_object(calibration, device)


def replicas() -> SingleProcess:
    """:class:`DataParallel` inside an initialised process group of more than one process, else
    :class:`SingleProcess`."""
    rank, world_size = ddp.world()
    return DataParallel(rank, world_size) if world_size > 1 else SingleProcess()


__all__ = ["DataParallel", "SingleProcess", "replicas"]
