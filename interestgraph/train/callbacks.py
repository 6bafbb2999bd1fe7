"""Callbacks: how code outside the trainer watches, times and stops training (no monkeypatching).

A :class:`Callback` gets one call at each point of an epoch; every method does nothing by default, so a callback
overrides only what it needs. ``on_batch_end`` and ``on_epoch_end`` may ask to stop by returning True:

- from ``on_batch_end``: the epoch's remaining batches are skipped; the epoch is then validated and recorded as
  usual (``"stopped": True`` in its record), and training ends after it;
- from ``on_epoch_end``: training ends after this epoch (the best epoch's parameters are kept, as at an early stop).

:class:`EpochLog` (one CSV / JSON-lines row per epoch) and :class:`EpochPrinter` (one line per epoch on stderr)
are callbacks too.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any


class Callback:
    """Hooks called by :class:`~interestgraph.train.Trainer` (all optional)."""

    def on_epoch_begin(self, epoch: int) -> None:
        """Before the epoch's hold-out is drawn."""

    def on_epoch_graph(self, epoch: int, n_batches: int) -> None:
        """The epoch's hold-out and walk graph are built; ``n_batches`` user batches follow."""

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> bool | None:
        """After optimiser step ``batch`` (0-based) of ``epoch`` with its ``loss`` (a float; a 0-d tensor left on
        the device in the BPR baselines); True stops the epoch here."""

    def on_validation_begin(self, epoch: int) -> None:
        """Before the epoch's weights are frozen and validated."""

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool | None:
        """After the epoch with its history ``record``; True stops training."""


class CallbackList(Callback):
    """Several callbacks called in order; a stop asked by any of them stops."""

    def __init__(self, callbacks: Iterable[Callback] = ()):
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            if not isinstance(callback, Callback):
                raise TypeError(f"callbacks: {type(callback).__name__} is not an interestgraph.train.Callback")

    def on_epoch_begin(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_begin(epoch)

    def on_epoch_graph(self, epoch: int, n_batches: int) -> None:
        for callback in self.callbacks:
            callback.on_epoch_graph(epoch, n_batches)

    def on_batch_end(self, epoch: int, batch: int, loss: float) -> bool:
        stops = [bool(callback.on_batch_end(epoch, batch, loss)) for callback in self.callbacks]  # every one is called
        return any(stops)

    def on_validation_begin(self, epoch: int) -> None:
        for callback in self.callbacks:
            callback.on_validation_begin(epoch)

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> bool:
        stops = [bool(callback.on_epoch_end(epoch, record)) for callback in self.callbacks]  # every one is called
        return any(stops)


class EpochLog(Callback):
    """Appends one row per epoch to a CSV (``.csv``) or JSON-lines (``.jsonl``) file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.header_done = self.path.exists() and self.path.stat().st_size > 0

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        if self.path.suffix == ".jsonl":
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            return
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(record))
            if not self.header_done:
                writer.writeheader()
                self.header_done = True
            writer.writerow(record)


class EpochPrinter(Callback):
    """Prints one line per epoch (loss, validation metric, seconds by part) through ``write`` (stderr)."""

    def __init__(self, metric: str, write=None):
        self.metric = metric
        self.write = write if write is not None else (lambda line: print(line, file=sys.stderr))

    def on_epoch_end(self, epoch: int, record: dict[str, Any]) -> None:
        key = f"valid_{self.metric}"
        metric = f", valid {self.metric} {record[key]:.4f}" if key in record else ""
        self.write(
            f"epoch {epoch}: loss {record['loss']:.4f}{metric}, {record['seconds']:.1f} s (graph "
            f"{record['seconds_graph']:.1f}, train {record['seconds_train']:.1f}, valid {record['seconds_valid']:.1f})"
        )


__all__ = ["Callback", "CallbackList", "EpochLog", "EpochPrinter"]
