"""Training the path model: hold-out targets, a softmax (or BPR) loss, AdamW, warm-up, early stopping, checkpoints.

Every epoch (seeded, deterministic):

1. **Hold out targets.** Each user with at least two training items hides
   ``holdout`` of them (at least one); the walks of this epoch are built from the
   remaining edges only (per-type normalisation recomputed), so no target can
   score itself through its own edge. Validation and test pairs are never seen:
   the graph holds training edges only.
2. **Loss.** Users are shuffled into batches of ``user_batch``; one pass scores
   every item for the batch's users (:meth:`PathScorer.walk_scores`), so every
   candidate's score is at hand. ``loss="softmax"`` (the default) is the
   cross-entropy of each target against all candidates ``C_u`` (the items with
   training positives, less the user's kept items, which the walks start from):
   ``mean_(u,i) [log Σ_{j ∈ C_u} exp(f(u, j)/τ) − f(u, i)/τ]``. ``loss="bpr"``
   compares each target with ``negatives`` uniform items that are not training
   positives of the user (:class:`~interestgraph.train.sampling.NegativeSampler`):
   ``-mean log σ(f(u, i) - f(u, j))``. Both add ``l2 · ½ (‖x_u‖² + ‖x_i‖² + ‖x_j‖²)``
   on the ID vectors used (softmax: one sampled ``j`` per target). The softmax
   loss is top-heavy, as NDCG@20 is; on ml-latest-small it raised test NDCG@20 on
   every protocol (``docs/evaluation.md``, "The interest-graph model against the baselines").
3. **Validate.** The effective weights of the full training graph are frozen
   and the model is scored on the split's validation part (NDCG@20, by the
   ``validate`` callable the estimator passes); the best epoch's parameters are kept and restored, and
   training stops after ``patience`` epochs without improvement.

Cold items. With ``cold_items > 0`` (by default under a cold-item protocol) step 1
also hides that share of the items entirely, every edge a target, their ID vectors
left out, so the model learns to reach items through text and interests alone.
After training, ``cold_draws`` such draws set the gate bias of cold items by the
training loss (:func:`~interestgraph.train.calibrate.calibrate_cold`).

AdamW with three parameter groups (ID vectors without decay, since they carry
the ``l2`` term; network matrices with ``weight_decay``; path coefficients
``c_k``, ``γ_t`` at ``path_lr`` without decay), linear warm-up over
``warmup_epochs``. On CUDA the GCN's dense part runs under bf16 autocast (the
sparse walk products stay float32). A checkpoint directory, when given, holds
the last epoch's full state (parameters, optimiser, random generators) as
safetensors + JSON after every epoch, so a killed run resumes where it stopped.

Several processes: data-parallel across the processes of an initialised ``torch.distributed`` group
(:mod:`interestgraph.train.parallel`). The trainer knows its scorer through the
:class:`~interestgraph.paths.PathScorer` interface only; the estimator
(:class:`~interestgraph.model.InterestGraphModel`) builds the scorer, passes the validation as a callable
(the evaluation harness sits above this package) and freezes the result.
"""

from __future__ import annotations

import contextlib
import copy
import json
import math
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..device import is_out_of_memory
from ..errors import TrainingError
from ..paths.operator import PathOperator
from ..paths.scorer import PathScorer, cold_mask
from ..paths.tables import graph_tables, items_with_positives, observed_without_positives, train_pair_times
from ..progress import progress
from .calibrate import calibrate_cold
from .callbacks import Callback, CallbackList, EpochLog, EpochPrinter
from .config import TrainConfig
from .epoch import NoBar, epoch_graph, full_graph, init_coefficients, refresh_similarity
from .losses import StepLoss
from .memory import available_bytes, calibration_bytes, compact_allocator, plan_memory
from .parallel import SingleProcess, replicas
from .report import TrainingReport
from .sampling import NegativeSampler, allowed_items, batch_pairs, cold_training_share, hold_out, start_columns

VALID_METRIC = "ndcg@20"

#: training settings that may change between a run and its resumption
RESUMABLE_CHANGES = ("epochs", "patience", "verbose", "log_path", "device")

#: ``validate(scorer, operator, structure, tables, not_cold) -> NDCG@20`` on the split's validation part
Validate = Callable[..., float]


def run_fingerprint(model_config, train_config: TrainConfig, graph) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the model settings, the training settings (except
    :data:`RESUMABLE_CHANGES`) and the graph (its manifest checksum, or its node and edge counts)."""
    train = {k: v for k, v in train_config.to_dict().items() if k not in RESUMABLE_CHANGES}
    return json.loads(
        json.dumps(
            {
                "model_config": model_config.to_dict(),
                "train_config": train,  # as JSON reads it back
                "graph": getattr(graph, "manifest_sha256", None) or json.dumps(graph.counts(), sort_keys=True),
            }
        )
    )


def optimiser_groups(scorer: PathScorer, config: TrainConfig) -> list[dict[str, Any]]:
    """AdamW groups: ID vectors without decay, network matrices with ``weight_decay``, path coefficients at
    ``path_lr`` without decay."""
    id_params = [p for n, p in scorer.named_parameters() if n.endswith("_embedding.weight")]
    path_params = [scorer.type_raw, scorer.length_coef]
    taken = {id(p) for p in id_params + path_params}
    network = [p for p in scorer.parameters() if id(p) not in taken]
    return [
        {"params": id_params, "lr": config.lr, "weight_decay": 0.0, "name": "id"},
        {"params": network, "lr": config.lr, "weight_decay": config.weight_decay, "name": "network"},
        {"params": path_params, "lr": config.path_lr, "weight_decay": 0.0, "name": "path"},
    ]


@dataclass(eq=False)
class _Run:
    """The live objects of one training run (what :class:`Trainer`'s steps share)."""

    graph: Any
    scorer: PathScorer
    group: SingleProcess
    device: torch.device
    rng: np.random.Generator
    train: sp.csr_matrix
    times: sp.csr_matrix | None
    cold_share: float
    sampler: NegativeSampler
    not_cold: np.ndarray
    tables: dict[str, sp.csr_matrix]
    full_operator: PathOperator
    full_structure: torch.Tensor
    joint: Any
    optimiser: torch.optim.Optimizer
    scheduler: Any
    validate: Validate | None
    has_valid: bool
    fingerprint: dict[str, Any]
    candidates: torch.Tensor
    hooks: CallbackList = field(default_factory=CallbackList)
    step_loss: torch.nn.Module | None = None
    best: float = -np.inf
    best_epoch: int = 0
    best_state: dict[str, torch.Tensor] | None = None
    best_extra: dict[str, Any] = field(default_factory=dict)
    stale: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)


class Trainer:
    """Trains a :class:`~interestgraph.paths.PathScorer` on an interest graph (:meth:`train`).

    Args:
        config: :class:`TrainConfig`.
        checkpoint_dir: optional directory for the last epoch's full state (resumable).
        callbacks: :class:`~interestgraph.train.callbacks.Callback` objects called during every run.
    """

    def __init__(
        self,
        config: TrainConfig | None = None,
        checkpoint_dir: str | Path | None = None,
        callbacks: Iterable[Callback] = (),
    ):
        self.config = config if config is not None else TrainConfig()
        if not isinstance(self.config, TrainConfig):
            raise TypeError(f"config must be a TrainConfig, got {type(self.config).__name__}")
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)
        self.callbacks = list(callbacks)

    def fit(self, model, graph):
        """Fit an estimator with this trainer: ``model.fit(graph, trainer=self)`` (returns the model)."""
        return model.fit(graph, trainer=self)

    def train(
        self,
        scorer: PathScorer,
        graph,
        *,
        validate: Validate | None = None,
        callbacks: Iterable[Callback] = (),
    ) -> TrainingReport:
        """Train ``scorer`` (in place) on ``graph``'s training edges; returns the run's :class:`TrainingReport`.

        Data-parallel across the processes of an initialised ``torch.distributed`` group of more than one
        process (:mod:`interestgraph.train.parallel`), else in this process.

        Args:
            scorer: a :class:`PathScorer` for ``graph`` (:meth:`PathScorer.from_graph`), on the CPU: its parameters
                are reset under ``config.seed`` (so the same seed gives the same run), then it moves to the device.
            graph: the :class:`~interestgraph.graph.InterestGraph`.
            validate: ``validate(scorer, operator, structure, tables, not_cold)`` returning the validation NDCG@20
                of the scorer frozen on the full training graph; called after every epoch when the split has a
                validation part (rank 0 only). Without it no epoch is validated and the last one is kept.
            callbacks: more callbacks for this run (after the trainer's own).

        Raises:
            ValueError: a setting distributed training cannot honour (``encoder_mode`` other than frozen,
                a ``device`` other than one GPU per process or the CPU), or a graph without training positives.
            TrainingError: the loss became non-finite, or memory ran out.
        """
        started = time.perf_counter()
        run = self._start(scorer, graph, validate)
        cfg, main = self.config, run.group.main
        start_epoch = self._resume(run)
        note = self._plan_memory(run)  # before any step: refuses a run that cannot fit, keeping the checkpoint
        bar = progress(total=cfg.epochs, desc="train interest-graph model", unit="epoch") if main else NoBar()
        if note and main and cfg.verbose:
            bar.write(note, file=sys.stderr)
        hooks = [*self.callbacks, *callbacks]
        if main:
            if cfg.verbose:
                hooks.insert(0, EpochPrinter(VALID_METRIC, lambda line: bar.write(line, file=sys.stderr)))
            if cfg.log_path:
                hooks.insert(0, EpochLog(cfg.log_path))
        run.hooks = CallbackList(hooks)
        autocast = (
            torch.autocast("cuda", dtype=torch.bfloat16) if run.device.type == "cuda" else contextlib.nullcontext()
        )
        run.step_loss = run.group.wrap(
            StepLoss(run.scorer, cfg.l2, autocast, cfg.loss, cfg.softmax_temperature), run.device
        )
        bar.update(start_epoch - 1)
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, cfg.epochs + 1):
                stopped = self._epoch(run, epoch)
                stop = run.hooks.on_epoch_end(epoch, run.history[-1])
                bar.update(1)
                if self.checkpoint_dir is not None and main:
                    self._checkpoint(run, epoch)
                if stopped or stop or (run.has_valid and run.stale >= cfg.patience):
                    break
        except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:  # the last epoch's checkpoint is kept
            if not is_out_of_memory(exc):
                raise  # torch.OutOfMemoryError is a RuntimeError too; any other RuntimeError is not ours to explain
            bar.close()
            raise TrainingError(
                f"epoch {epoch}: out of memory ({type(exc).__name__}); lower user_batch={cfg.user_batch} (each step "
                "holds about 20 dense (nodes × user_batch) float32 blocks, up to 3.5 times that resident on a CPU), "
                "or train on a machine with more memory; " + self._kept()
            ) from exc
        bar.close()
        return self._finish(run, epoch, started)

    # ------------------------------------------------------------------ the parts of a run
    def _start(self, scorer: PathScorer, graph, validate: Validate | None) -> _Run:
        """Everything a run needs before its first epoch (seeded: the random draws happen in a fixed order)."""
        cfg = self.config
        config = scorer.config
        group = replicas()
        group.check(cfg)
        device = group.device(cfg.device)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        split = graph.split
        train = split.positive_matrix("train")
        if train.nnz == 0:
            raise ValueError("graph: its split has no training positives to fit on")
        latest = cfg.holdout_mode == "latest" or (cfg.holdout_mode == "auto" and split.protocol.is_temporal)
        tables = graph_tables(graph, config)  # raw edge tables: items added later are normalised with them
        full_operator, full_structure = full_graph(graph, config, tables, device)
        scorer.reset_parameters()  # under the seed: a run is a function of its settings, whatever the scorer held
        scorer = scorer.to(device)
        if scorer.user_interest is not None:
            scorer.user_interest = scorer.user_interest.to(device)
        cold_share = cold_training_share(cfg, split.protocol)
        # while items are hidden as cold, an item nobody has interacted with must not be taught as disliked:
        # negatives then come from the items with training positives only (the ranked candidates)
        sampler = NegativeSampler(
            train, seed=cfg.seed + 1, items=items_with_positives(train) if cold_share > 0 else None
        )
        # items with training events but no positive (only low ratings, say) are known, not new: never "cold"
        not_cold = observed_without_positives(split, train)
        if (len(scorer.refiners) or cfg.encoder_mode != "frozen") and self.checkpoint_dir is not None:
            raise ValueError(
                "checkpoint_dir: resuming is not supported with refined similarity edges or a trained encoder "
                "(their edge sets and encoder state are not checkpointed); train without a checkpoint directory"
            )
        joint = None
        if cfg.encoder_mode != "frozen":
            if not scorer.uses_text:
                raise ValueError(
                    f"encoder_mode={cfg.encoder_mode!r} needs ModelConfig.text_features=True and a graph with "
                    "item vectors"
                )
            from .joint import JointEncoder

            joint = JointEncoder(graph, cfg, device)
        if len(scorer.refiners):  # starting edges = the graph's; θ at their median cosine
            z0 = scorer.node_vectors(full_structure, cold_mask(full_operator, device, not_cold)).float()
            for kind, refiner in scorer.refiners.items():
                refiner.set_pattern(tables[kind])
                refiner.init_threshold(z0.detach())
            full_operator, full_structure = refresh_similarity(
                graph, scorer, tables, full_operator, full_structure, not_cold, device
            )
        init_coefficients(scorer, full_operator, full_structure, rng, device, not_cold)
        groups = optimiser_groups(scorer, cfg)
        if joint is not None:
            groups.append({"params": joint.parameters(), "lr": cfg.encoder_lr, "weight_decay": 0.0, "name": "encoder"})
        optimiser = torch.optim.AdamW(groups)
        users_with_targets = int((np.diff(train.indptr) >= 2).sum())
        warmup_steps = cfg.warmup_epochs * max(1, math.ceil(users_with_targets / cfg.user_batch))
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        )
        return _Run(
            graph=graph,
            scorer=scorer,
            group=group,
            device=device,
            rng=rng,
            train=train,
            times=train_pair_times(graph) if latest else None,
            cold_share=cold_share,
            sampler=sampler,
            not_cold=not_cold,
            tables=tables,
            full_operator=full_operator,
            full_structure=full_structure,
            joint=joint,
            optimiser=optimiser,
            scheduler=scheduler,
            validate=validate,
            has_valid=validate is not None and len(split.positive_pairs("valid")) > 0,
            fingerprint=run_fingerprint(config, cfg, graph),
            candidates=torch.from_numpy(items_with_positives(train)).to(device),
        )

    def _resume(self, run: _Run) -> int:
        """The first epoch to run: 1, or the one after a checkpoint's (whose state is restored into ``run``)."""
        if self.checkpoint_dir is None or not (self.checkpoint_dir / "state.json").exists():
            return 1
        from .checkpoint import load_checkpoint

        state = load_checkpoint(
            self.checkpoint_dir,
            run.scorer,
            run.optimiser,
            run.scheduler,
            run.rng,
            run.sampler,
            fingerprint=run.fingerprint,
        )
        run.best, run.best_epoch, run.stale, run.history = (
            state["best"],
            state["best_epoch"],
            state["stale"],
            state["history"],
        )
        run.best_state = state.get("best_state")
        return state["epoch"] + 1

    def _plan_memory(self, run: _Run) -> str | None:
        """Check the run's memory before its first step (:func:`~interestgraph.train.memory.plan_memory`): raises
        :class:`TrainingError` (saying where the last good state is) when a step cannot fit, switches the allocator
        to its compact mode when only that fits; returns a line to show, or None."""
        cfg, group = self.config, run.group
        share = math.ceil(cfg.user_batch / group.world_size)  # each process steps over its share of the batch
        users = min(int((run.train.getnnz(axis=1) > 0).sum()), cfg.calibration_users)
        calibration = calibration_bytes(cfg.cold_draws, users, len(run.candidates), cfg.loss == "softmax")
        free, source = available_bytes(run.device)
        if free is not None and run.device.type == "cpu" and group.world_size > 1:
            free, source = free // group.world_size, f"{source}, shared by {group.world_size} processes"
        try:
            plan = plan_memory(run.full_operator.n_nodes, share, calibration, run.device, (free, source))
        except TrainingError as exc:
            resumed = self.checkpoint_dir is not None and (self.checkpoint_dir / "state.json").exists()
            raise TrainingError(f"{exc}; {self._kept() if resumed else 'no step was taken'}") from None
        if plan.mode != "compact":
            return None
        done = compact_allocator()
        return (
            f"memory: a step holds about {plan.live / 2**30:.2f} GiB and {plan.available / 2**30:.2f} GiB is free "
            f"({plan.source}): "
            + (
                "allocations of 4 MiB or more now go straight back to the system (slower steps, less memory)"
                if done
                else "the allocator cannot be made compact here; memory may run out"
            )
        )

    def _epoch(self, run: _Run, epoch: int) -> bool:
        """One epoch (hold-out, batches, encoder refresh, refinement, validation); appends its record to
        ``run.history``; returns whether a callback stopped it early."""
        cfg, graph, scorer, device = self.config, run.graph, run.scorer, run.device
        run.hooks.on_epoch_begin(epoch)
        t0 = time.perf_counter()
        kept, target_users, target_items = hold_out(run.train, cfg.holdout, run.rng, run.times, run.cold_share)
        _, start_weights, blocks, structure, cold = epoch_graph(
            graph, scorer.config, run.tables, run.not_cold, kept, device
        )
        t_graph = time.perf_counter() - t0
        users = run.rng.permutation(np.unique(target_users))
        run.hooks.on_epoch_graph(epoch, math.ceil(len(users) / cfg.user_batch))
        scorer.train()
        encoder_on = run.joint is not None and epoch > cfg.encoder_warmup_epochs
        if encoder_on:
            run.joint.encoder.train()
        t1 = time.perf_counter()
        epoch_data = (kept, target_users, target_items, start_weights, blocks, structure, cold)
        total, pairs, t_encoder, stopped = self._batches(run, epoch, users, epoch_data, encoder_on)
        t_train = time.perf_counter() - t1 - t_encoder  # the encoder's share is reported on its own
        scorer.eval()
        if encoder_on:
            t_enc = time.perf_counter()
            run.joint.refresh(scorer)
            t_encoder += time.perf_counter() - t_enc
        t_ref = time.perf_counter()
        refine_record = self._refine(run, epoch) if len(scorer.refiners) else {}
        t_refine = time.perf_counter() - t_ref if len(scorer.refiners) else 0.0
        t2 = time.perf_counter()
        record: dict[str, Any] = {"epoch": epoch, "loss": total / max(pairs, 1), "targets": len(target_users)}
        if run.has_valid:
            self._validate(run, epoch, record)
        t_valid = time.perf_counter() - t2
        record.update(refine_record)
        record.update(
            {
                "seconds_graph": round(t_graph, 3),
                "seconds_train": round(t_train, 3),
                "seconds_valid": round(t_valid, 3),
                "seconds_encoder": round(t_encoder, 3),
                "seconds_refine": round(t_refine, 3),
                "seconds": round(time.perf_counter() - t0, 3),
            }
        )
        if stopped:
            record["stopped"] = True
        run.history.append(record)
        return stopped

    def _batches(
        self, run: _Run, epoch: int, users: np.ndarray, epoch_data: tuple, encoder_on: bool
    ) -> tuple[float, int, float, bool]:
        """The epoch's optimiser steps over ``users`` in batches; returns ``(loss sum over pairs, pairs, encoder
        seconds, whether a callback stopped the loop)``."""
        cfg, scorer, group, device = self.config, run.scorer, run.group, run.device
        kept, target_users, target_items, start_weights, blocks, structure, cold = epoch_data
        pair_negatives = 1 if cfg.loss == "softmax" else cfg.negatives  # softmax: every candidate is a negative
        total, pairs, t_encoder = 0.0, 0, 0.0
        for index, start in enumerate(range(0, len(users), cfg.user_batch)):
            batch = users[start : start + cfg.user_batch]
            # every process draws the whole batch's pairs, so the random streams stay those of one process
            rows, pos_users, pos_items, neg_items = batch_pairs(
                batch, target_users, target_items, pair_negatives, run.sampler
            )
            n_pairs = len(pos_users)
            batch, rows, pos_users, pos_items, neg_items = group.share(batch, rows, pos_users, pos_items, neg_items)
            t_enc = time.perf_counter()
            text = run.joint.step_text(scorer, np.concatenate([pos_items, neg_items]), run.rng) if encoder_on else None
            t_encoder += time.perf_counter() - t_enc
            loss, ranking = run.step_loss(
                structure,
                cold,
                blocks,
                torch.from_numpy(batch).to(device),
                start_columns(start_weights, batch, device),
                torch.from_numpy(rows).to(device),
                torch.from_numpy(pos_users).to(device),
                torch.from_numpy(pos_items).to(device),
                torch.from_numpy(neg_items).to(device),
                text,
                group.normaliser(n_pairs),
                allowed_items(kept, batch, run.candidates, device) if cfg.loss == "softmax" else None,
            )
            batch_loss, broken, shown = group.batch_loss(loss, ranking, device)
            if broken:
                raise TrainingError(
                    f"epoch {epoch}: the loss became {shown} (lower lr={cfg.lr} or path_lr={cfg.path_lr}); "
                    + self._kept()
                )
            run.optimiser.zero_grad()
            group.backward(loss)
            run.optimiser.step()
            run.scheduler.step()
            total += batch_loss * n_pairs
            pairs += n_pairs
            if run.hooks.on_batch_end(epoch, index, batch_loss):
                return total, pairs, t_encoder, True
        return total, pairs, t_encoder, False

    def _refine(self, run: _Run, epoch: int) -> dict[str, Any]:
        """Re-mine (every ``remine_every`` epochs) and re-weigh the refined similarity edges; rebuilds the full
        training graph from them. Returns the re-mining's counts for the epoch's record."""
        config, scorer, device = run.scorer.config, run.scorer, run.device
        record: dict[str, Any] = {}
        if config.remine_every and epoch % config.remine_every == 0:
            z_full = scorer.node_vectors(run.full_structure, cold_mask(run.full_operator, device, run.not_cold)).float()
            for kind, refiner in scorer.refiners.items():
                mined = refiner.remine(z_full, config.remine_k, config.prune_below)
                record.update({f"{kind}_{key}": value for key, value in mined.items()})
        run.full_operator, run.full_structure = refresh_similarity(
            run.graph, scorer, run.tables, run.full_operator, run.full_structure, run.not_cold, device
        )
        if run.group.share_refined(run.tables, scorer, device):
            run.full_operator, run.full_structure = full_graph(run.graph, config, run.tables, device)
        return record

    def _validate(self, run: _Run, epoch: int, record: dict[str, Any]) -> None:
        """Validate the epoch (rank 0; every process takes the value) and keep the best epoch's state."""
        run.hooks.on_validation_begin(epoch)
        value = run.group.validated(
            lambda: run.validate(run.scorer, run.full_operator, run.full_structure, run.tables, run.not_cold),
            run.device,
        )
        record[f"valid_{VALID_METRIC}"] = value
        if value > run.best:
            run.best, run.best_epoch, run.stale = value, epoch, 0
            run.best_state = copy.deepcopy(run.scorer.state_dict())
            run.best_extra = {
                "tables": {kind: run.tables[kind].copy() for kind in run.scorer.refiners},
                "encoder": run.joint.state() if run.joint is not None else None,
            }
        else:
            run.stale += 1

    def _checkpoint(self, run: _Run, epoch: int) -> None:
        """Write the epoch's full state to the checkpoint directory."""
        from .checkpoint import save_checkpoint

        save_checkpoint(
            self.checkpoint_dir,
            run.scorer,
            run.optimiser,
            run.scheduler,
            run.rng,
            run.sampler,
            {
                "epoch": epoch,
                "best": run.best,
                "best_epoch": run.best_epoch,
                "stale": run.stale,
                "history": run.history,
                "fingerprint": run.fingerprint,
            },
            run.best_state,
        )

    def _finish(self, run: _Run, epoch: int, started: float) -> TrainingReport:
        """Restore the best epoch, calibrate the cold items and report."""
        cfg, scorer = self.config, run.scorer
        best_epoch = run.best_epoch
        if run.best_state is not None:
            scorer.load_state_dict(run.best_state)
            for kind, table in run.best_extra.get("tables", {}).items():
                run.tables[kind] = table
                scorer.refiners[kind].set_pattern(table)
            if run.best_extra.get("encoder") is not None:
                run.joint.load_state(run.best_extra["encoder"])
        else:
            best_epoch = epoch
        if len(scorer.refiners):
            run.full_operator, run.full_structure = full_graph(run.graph, scorer.config, run.tables, run.device)
        encoder_state = encoder_tuning = None
        if run.joint is not None:
            from ..encoder.text import state_digest

            encoder_state = run.joint.state()
            encoder_tuning = {
                **run.joint.settings,
                "digest": state_digest(encoder_state),
                "epochs_frozen": min(cfg.encoder_warmup_epochs, best_epoch),
            }
        scorer.eval()
        calibration = calibrate_cold(
            cfg,
            run.graph,
            scorer,
            run.tables,
            run.not_cold,
            run.train,
            run.rng,
            run.times,
            run.device,
            show_progress=run.group.main,
        )
        run.step_loss = None  # drops DDP's gradient hooks from the parameters
        calibration = run.group.finish(scorer, calibration, run.device)
        return TrainingReport(
            history=run.history,
            best_epoch=best_epoch,
            epochs=epoch,
            best_valid_ndcg=float(run.best) if run.best_state is not None else float("nan"),
            train_seconds=time.perf_counter() - started,
            epoch_seconds=TrainingReport.mean_seconds(run.history),
            cold_calibration=calibration,
            holdout_mode="random" if run.times is None else "latest",
            cold_items=run.cold_share,
            device=str(run.device),
            tables=run.tables,
            operator=run.full_operator,
            structure=run.full_structure,
            not_cold=run.not_cold,
            encoder_state=encoder_state,
            encoder_tuning=encoder_tuning,
        )

    def _kept(self) -> str:
        """Where the last good state is, for a message that stops training."""
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "state.json").exists():
            return (
                f"the checkpoint of the last finished epoch is kept in {self.checkpoint_dir} (resume from it with "
                "other settings only by starting over)"
            )
        return "nothing was saved (pass a checkpoint directory to keep each finished epoch)"


__all__ = ["RESUMABLE_CHANGES", "VALID_METRIC", "Trainer", "run_fingerprint"]
