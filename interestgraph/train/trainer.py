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
   every protocol (README, "The interest-graph model").
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
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..device import is_out_of_memory
from ..errors import TrainingError
from ..paths.scorer import PathScorer, cold_mask
from ..paths.tables import graph_tables, items_with_positives, observed_without_positives, train_pair_times
from ..progress import progress
from .calibrate import calibrate_cold
from .callbacks import Callback, CallbackList, EpochLog, EpochPrinter
from .config import TrainConfig
from .epoch import NoBar, epoch_graph, full_graph, init_coefficients, refresh_similarity
from .losses import StepLoss
from .parallel import replicas
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
        cfg = self.config
        config = scorer.config
        started = time.perf_counter()
        group = replicas()
        group.check(cfg)
        main = group.main
        device = group.device(cfg.device)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        split = graph.split
        train = split.positive_matrix("train")
        if train.nnz == 0:
            raise ValueError("graph: its split has no training positives to fit on")
        has_valid = validate is not None and len(split.positive_pairs("valid")) > 0
        latest = cfg.holdout_mode == "latest" or (cfg.holdout_mode == "auto" and split.protocol.is_temporal)
        times = train_pair_times(graph) if latest else None
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
        steps_per_epoch = max(1, math.ceil(users_with_targets / cfg.user_batch))
        warmup_steps = cfg.warmup_epochs * steps_per_epoch
        scheduler = torch.optim.lr_scheduler.LambdaLR(
            optimiser, lambda step: min(1.0, (step + 1) / warmup_steps) if warmup_steps else 1.0
        )

        start_epoch, best, best_epoch, best_state, stale = 1, -np.inf, 0, None, 0
        best_extra: dict[str, Any] = {}
        history: list[dict[str, Any]] = []
        fingerprint = run_fingerprint(config, cfg, graph)
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "state.json").exists():
            from .checkpoint import load_checkpoint

            state = load_checkpoint(
                self.checkpoint_dir, scorer, optimiser, scheduler, rng, sampler, fingerprint=fingerprint
            )
            start_epoch, best, best_epoch, stale, history = (
                state["epoch"] + 1,
                state["best"],
                state["best_epoch"],
                state["stale"],
                state["history"],
            )
            best_state = state.get("best_state")
        bar = progress(total=cfg.epochs, desc="train interest-graph model", unit="epoch") if main else NoBar()
        hooks = [*self.callbacks, *callbacks]
        if main:
            if cfg.verbose:
                hooks.insert(0, EpochPrinter(VALID_METRIC, lambda line: bar.write(line, file=sys.stderr)))
            if cfg.log_path:
                hooks.insert(0, EpochLog(cfg.log_path))
        hooks = CallbackList(hooks)
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
        step_loss = group.wrap(StepLoss(scorer, cfg.l2, autocast, cfg.loss, cfg.softmax_temperature), device)
        pair_negatives = 1 if cfg.loss == "softmax" else cfg.negatives  # softmax: every candidate is a negative
        candidate_items = torch.from_numpy(items_with_positives(train)).to(device)
        bar.update(start_epoch - 1)
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, cfg.epochs + 1):
                hooks.on_epoch_begin(epoch)
                t0 = time.perf_counter()
                kept, target_users, target_items = hold_out(train, cfg.holdout, rng, times, cold_share)
                _, start_weights, blocks, structure, cold = epoch_graph(graph, config, tables, not_cold, kept, device)
                t_graph = time.perf_counter() - t0
                users = rng.permutation(np.unique(target_users))
                hooks.on_epoch_graph(epoch, math.ceil(len(users) / cfg.user_batch))
                scorer.train()
                total, pairs, t_encoder, t_refine, stopped = 0.0, 0, 0.0, 0.0, False
                encoder_on = joint is not None and epoch > cfg.encoder_warmup_epochs
                if encoder_on:
                    joint.encoder.train()
                t1 = time.perf_counter()
                for index, start in enumerate(range(0, len(users), cfg.user_batch)):
                    batch = users[start : start + cfg.user_batch]
                    # every process draws the whole batch's pairs, so the random streams stay those of one process
                    rows, pos_users, pos_items, neg_items = batch_pairs(
                        batch, target_users, target_items, pair_negatives, sampler
                    )
                    n_pairs = len(pos_users)
                    batch, rows, pos_users, pos_items, neg_items = group.share(
                        batch, rows, pos_users, pos_items, neg_items
                    )
                    t_enc = time.perf_counter()
                    text = joint.step_text(scorer, np.concatenate([pos_items, neg_items]), rng) if encoder_on else None
                    t_encoder += time.perf_counter() - t_enc
                    loss, ranking = step_loss(
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
                        allowed_items(kept, batch, candidate_items, device) if cfg.loss == "softmax" else None,
                    )
                    batch_loss, broken, shown = group.batch_loss(loss, ranking, device)
                    if broken:
                        raise TrainingError(
                            f"epoch {epoch}: the loss became {shown} (lower lr={cfg.lr} or path_lr={cfg.path_lr}); "
                            + self._kept()
                        )
                    optimiser.zero_grad()
                    group.backward(loss)
                    optimiser.step()
                    scheduler.step()
                    total += batch_loss * n_pairs
                    pairs += n_pairs
                    if hooks.on_batch_end(epoch, index, batch_loss):
                        stopped = True
                        break
                t_train = time.perf_counter() - t1 - t_encoder  # the encoder's share is reported on its own
                scorer.eval()
                refine_record: dict[str, Any] = {}
                if encoder_on:
                    t_enc = time.perf_counter()
                    joint.refresh(scorer)
                    t_encoder += time.perf_counter() - t_enc
                if len(scorer.refiners):
                    t_ref = time.perf_counter()
                    if config.remine_every and epoch % config.remine_every == 0:
                        z_full = scorer.node_vectors(full_structure, cold_mask(full_operator, device, not_cold)).float()
                        for kind, refiner in scorer.refiners.items():
                            mined = refiner.remine(z_full, config.remine_k, config.prune_below)
                            refine_record.update({f"{kind}_{key}": value for key, value in mined.items()})
                    full_operator, full_structure = refresh_similarity(
                        graph, scorer, tables, full_operator, full_structure, not_cold, device
                    )
                    if group.share_refined(tables, scorer, device):
                        full_operator, full_structure = full_graph(graph, config, tables, device)
                    t_refine = time.perf_counter() - t_ref
                t2 = time.perf_counter()
                record: dict[str, Any] = {"epoch": epoch, "loss": total / max(pairs, 1), "targets": len(target_users)}
                if has_valid:
                    hooks.on_validation_begin(epoch)
                    value = group.validated(
                        lambda op=full_operator, st=full_structure: validate(scorer, op, st, tables, not_cold), device
                    )
                    record[f"valid_{VALID_METRIC}"] = value
                    if value > best:
                        best, best_epoch, stale = value, epoch, 0
                        best_state = copy.deepcopy(scorer.state_dict())
                        best_extra = {
                            "tables": {kind: tables[kind].copy() for kind in scorer.refiners},
                            "encoder": joint.state() if joint is not None else None,
                        }
                    else:
                        stale += 1
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
                history.append(record)
                stop = hooks.on_epoch_end(epoch, record)
                bar.update(1)
                if self.checkpoint_dir is not None and main:
                    from .checkpoint import save_checkpoint

                    save_checkpoint(
                        self.checkpoint_dir,
                        scorer,
                        optimiser,
                        scheduler,
                        rng,
                        sampler,
                        {
                            "epoch": epoch,
                            "best": best,
                            "best_epoch": best_epoch,
                            "stale": stale,
                            "history": history,
                            "fingerprint": fingerprint,
                        },
                        best_state,
                    )
                if stopped or stop or (has_valid and stale >= cfg.patience):
                    break
        except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:  # the last epoch's checkpoint is kept
            if not is_out_of_memory(exc):
                raise  # torch.OutOfMemoryError is a RuntimeError too; any other RuntimeError is not ours to explain
            bar.close()
            raise TrainingError(
                f"epoch {epoch}: out of memory ({type(exc).__name__}); lower user_batch={cfg.user_batch} (each step "
                "holds about 20 dense (nodes × user_batch) float32 blocks), or train on a machine with more memory; "
                + self._kept()
            ) from exc
        bar.close()
        if best_state is not None:
            scorer.load_state_dict(best_state)
            for kind, table in best_extra.get("tables", {}).items():
                tables[kind] = table
                scorer.refiners[kind].set_pattern(table)
            if best_extra.get("encoder") is not None:
                joint.load_state(best_extra["encoder"])
        else:
            best_epoch = epoch
        if len(scorer.refiners):
            full_operator, full_structure = full_graph(graph, config, tables, device)
        encoder_state = encoder_tuning = None
        if joint is not None:
            from ..encoder.text import state_digest

            encoder_state = joint.state()
            encoder_tuning = {
                **joint.settings,
                "digest": state_digest(encoder_state),
                "epochs_frozen": min(cfg.encoder_warmup_epochs, best_epoch),
            }
        scorer.eval()
        calibration = calibrate_cold(
            cfg, graph, scorer, tables, not_cold, train, rng, times, device, show_progress=main
        )
        del step_loss  # drops DDP's gradient hooks from the parameters
        calibration = group.finish(scorer, calibration, device)
        return TrainingReport(
            history=history,
            best_epoch=best_epoch,
            epochs=epoch,
            best_valid_ndcg=float(best) if best_state is not None else float("nan"),
            train_seconds=time.perf_counter() - started,
            epoch_seconds=TrainingReport.mean_seconds(history),
            cold_calibration=calibration,
            holdout_mode="latest" if latest else "random",
            cold_items=cold_share,
            device=str(device),
            tables=tables,
            operator=full_operator,
            structure=full_structure,
            not_cold=not_cold,
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
