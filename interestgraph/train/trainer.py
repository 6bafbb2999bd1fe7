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
   positives of the user (:class:`~interestgraph.baselines.NegativeSampler`):
   ``-mean log σ(f(u, i) - f(u, j))``. Both add ``l2 · ½ (‖x_u‖² + ‖x_i‖² + ‖x_j‖²)``
   on the ID vectors used (softmax: one sampled ``j`` per target). The softmax
   loss is top-heavy, as NDCG@20 is; on ml-latest-small it raised test NDCG@20 on
   every protocol (README, "The interest-graph model").
3. **Validate.** The effective weights of the full training graph are frozen
   and the model is scored on the split's validation part with the evaluation
   harness (NDCG@20); the best epoch's parameters are kept and restored, and
   training stops after ``patience`` epochs without improvement.

Cold items. With ``cold_items > 0`` (by default under a cold-item protocol) step 1
also hides that share of the items entirely, every edge a target, their ID vectors
left out, so the model learns to reach items through text and interests alone.
After training, ``cold_draws`` such draws set the gate bias of cold items by the
training loss (:meth:`Trainer._calibrate_cold`).

AdamW with three parameter groups (ID vectors without decay, since they carry
the ``l2`` term; network matrices with ``weight_decay``; path coefficients
``c_k``, ``γ_t`` at ``path_lr`` without decay), linear warm-up over
``warmup_epochs``. On CUDA the GCN's dense part runs under bf16 autocast (the
sparse walk products stay float32). A checkpoint directory, when given, holds
the last epoch's full state (parameters, optimiser, random generators) as
safetensors + JSON after every epoch, so a killed run resumes where it stopped.

Several processes (data-parallel, :mod:`interestgraph.distributed`). When a ``torch.distributed``
process group of more than one process is initialised (``torchrun --nproc-per-node 2
-m interestgraph train GRAPH --out MODEL``), :meth:`Trainer.fit` trains the same model
across them: every process holds the whole graph and a replica of the scorer, draws the
same hold-outs, user order and BPR pairs from the same seeds (so the global batches are
those of one process), computes the walk scores of its share of each batch's users only
(``batch[rank::world]`` and their pairs; the GCN vectors are recomputed on every process),
and scales its loss to ``(Σ its pairs' BPR terms + l2 · ½ Σ its pairs' squared norms) /
(pairs in the global batch)``, so that the gradients summed over processes by
:class:`~torch.nn.parallel.DistributedDataParallel` (which averages: the loss is
multiplied by the world size) are those of one process on the whole batch. The logged
loss is the global one; rank 0 validates and broadcasts the metric, so best-epoch and
early-stopping decisions agree; only rank 0 writes the epoch log, checkpoints and
progress. The trajectory matches one process up to float summation order.
"""

from __future__ import annotations

import contextlib
import copy
import csv
import inspect
import json
import math
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..device import is_out_of_memory, resolve_device
from ..errors import TrainingError
from ..evaluate import evaluate, positive_matrix
from ..graph.propagation import to_torch_csr
from ..model.config import TrainConfig
from ..model.path_model import cold_mask
from ..progress import progress

VALID_METRIC = "ndcg@20"


class BPRStep(torch.nn.Module):
    """The loss of one training step as a module, so that :class:`~torch.nn.parallel.DistributedDataParallel` can wrap it.

    DDP synchronises gradients only for what its own ``forward`` computed; this module's
    ``forward`` runs the whole step (GCN vectors, gates, walk scores, softmax or BPR, L2) on the wrapped
    :class:`~interestgraph.model.path_model.PathScorer`. In one process it is called directly.
    (The name is historical: BPR was its only loss.)

    Args:
        scorer: the scorer being trained (its parameters are this module's).
        l2: the ``l2`` weight on the ID vectors used.
        autocast: the context the GCN's dense part runs under (bf16 autocast on CUDA, else a null context).
        loss: ``"softmax"`` or ``"bpr"`` (module docstring, step 2).
        temperature: ``τ``, divides the scores of the softmax loss.
    """

    def __init__(self, scorer: torch.nn.Module, l2: float, autocast, loss: str = "bpr", temperature: float = 1.0):
        super().__init__()
        self.scorer = scorer
        self.l2 = float(l2)
        self.autocast = autocast
        self.loss_kind = loss
        self.temperature = float(temperature)

    def forward(
        self,
        structure: torch.Tensor,
        cold: torch.Tensor,
        blocks: list,
        users: torch.Tensor,
        start: torch.Tensor | None,
        rows: torch.Tensor,
        pos_users: torch.Tensor,
        pos_items: torch.Tensor,
        neg_items: torch.Tensor,
        text: tuple[torch.Tensor, torch.Tensor] | None = None,
        normaliser: int | None = None,
        allowed: torch.Tensor | None = None,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(loss, bpr)``, both scalars: ``bpr`` the ranking part (softmax or BPR, per pair), ``loss`` with the L2 term added.

        Args:
            structure: ``(N, N)`` normalised GCN structure of the epoch's hold-out.
            cold: ``(n_items,)`` bool cold mask.
            blocks: the walk blocks, one per edge type.
            users: ``(B,)`` user codes scored (one column each).
            start: ``(n_items, B)`` first-step factors, or None.
            rows: ``(m,)`` column in ``users`` of each pair's user.
            pos_users, pos_items, neg_items: ``(m,)`` the pairs' user, target and negative codes (softmax: one pair
                per target, its negative only in the L2 term).
            text: fresh encoder rows for joint training (see :meth:`PathScorer.base_vectors`).
            normaliser: None: ``bpr`` is the mean over the ``m`` pairs and the L2 term is divided by ``2m``
                (one process); else the pair count of the whole global batch, which divides the sums instead
                (this process's share of the global mean).
            allowed: ``(B, n_items)`` bool, softmax only: the items each user's target is normalised over.
        """
        scorer = self.scorer
        with self.autocast:
            z = scorer.node_vectors(structure, cold, text)
        z = z.float()
        s, p = scorer.gates(z, cold)
        scores = scorer.walk_scores(scorer.step_blocks(blocks, z), s, p, users, start=start)
        if self.loss_kind == "softmax":  # one pair per target; ``neg_items`` only enter the L2 term
            logits = scores / self.temperature
            lse = torch.logsumexp(logits.masked_fill(~allowed, float("-inf")), dim=1)
            terms = lse[rows] - logits[rows, pos_items]
        else:
            terms = -torch.nn.functional.logsigmoid(scores[rows, pos_items] - scores[rows, neg_items])
        bpr = terms.mean() if normaliser is None else terms.sum() / normaliser
        loss = bpr
        if self.l2 > 0:
            reg = scorer.user_embedding.weight[pos_users].pow(2).sum()
            if hasattr(scorer, "item_embedding"):
                reg = (
                    reg
                    + scorer.item_embedding.weight[pos_items].pow(2).sum()
                    + scorer.item_embedding.weight[neg_items].pow(2).sum()
                )
            loss = loss + self.l2 * reg / (2 * (len(pos_users) if normaliser is None else normaliser))
        return loss, bpr


class _NoBar:
    """A progress bar that shows nothing (processes other than rank 0)."""

    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def pick_device(setting: str) -> torch.device:
    """``"auto"`` is CUDA when available, else CPU; ``"cuda"`` without a GPU is an error (:func:`interestgraph.device.resolve_device`)."""
    return torch.device(resolve_device(setting))


def hold_out(
    train: sp.csr_matrix,
    share: float,
    rng: np.random.Generator,
    times: sp.csr_matrix | None = None,
    cold_share: float = 0.0,
) -> tuple[sp.csr_matrix, np.ndarray, np.ndarray]:
    """Split each user's training items into kept edges and targets.

    Args:
        train: ``(n_users, n_items)`` CSR of training positives.
        share: fraction of each user's items that become targets (at least one when the user has two or more).
        rng: the epoch's generator.
        times: ``(n_users, n_items)`` CSR of the positives' timestamps (same pattern as ``train``):
            targets are then each user's most recent items (ties broken at random), else random items.
        cold_share: fraction of the items with positives (drawn uniformly, as :func:`~interestgraph.data.cold_item_split`
            draws cold items) whose every edge becomes a target: they are cold for this epoch.

    Returns:
        ``(kept (n_users, n_items) CSR, target_users (m,), target_items (m,))``.
    """
    train = sp.csr_matrix(train)
    counts = np.diff(train.indptr)
    n_targets = np.where(
        counts >= 2, np.maximum(1, np.floor(share * counts + rng.random(len(counts)))).astype(np.int64), 0
    )
    n_targets = np.minimum(n_targets, np.maximum(counts - 1, 0))
    # a random rank per stored entry, then the lowest n_targets ranks of each row are targets
    train.sort_indices()
    keys = rng.random(train.nnz)
    if times is not None:
        t = sp.csr_matrix(times)
        t.sort_indices()
        if t.nnz != train.nnz or not np.array_equal(t.indices, train.indices):
            raise ValueError("times must have the same sparsity pattern as train")
        keys = -t.data + keys * 1e-3  # most recent first; sub-second jitter breaks ties
    rows = np.repeat(np.arange(train.shape[0]), counts)
    order = np.lexsort((keys, rows))
    position = np.empty(train.nnz, dtype=np.int64)
    position[order] = np.arange(train.nnz) - np.repeat(train.indptr[:-1], counts)
    is_target = position < np.repeat(n_targets, counts)
    cols = train.indices
    if cold_share > 0:
        with_positives = items_with_positives(train)
        n_cold = int(round(cold_share * len(with_positives)))
        if n_cold:
            is_target |= np.isin(cols, rng.choice(with_positives, size=n_cold, replace=False))
    kept = sp.csr_matrix((np.ones(int((~is_target).sum())), (rows[~is_target], cols[~is_target])), shape=train.shape)
    return kept, rows[is_target], cols[is_target].astype(np.int64)


def user_interest_rows(graph) -> sp.csr_matrix:
    """``(n_users, n_interests)`` CSR of ``w(v|u)`` with each user's row summing to 1 (empty rows stay empty)."""
    if "user-interest" not in graph.edges:
        raise ValueError("user_interest_mean needs the graph's user-interest edges")
    table = graph.edges["user-interest"]
    m = sp.csr_matrix(
        (table["weight"].to_numpy(dtype=np.float64), (table["src"].to_numpy(), table["dst"].to_numpy())),
        shape=(len(graph.users), len(graph.interests)),
    )
    sums = np.asarray(m.sum(axis=1)).ravel()
    return sp.csr_matrix(sp.diags(np.divide(1.0, sums, out=np.zeros_like(sums), where=sums > 0)) @ m)


def items_with_positives(train: sp.spmatrix) -> np.ndarray:
    """Sorted codes of the items with at least one training positive."""
    return np.flatnonzero(np.diff(sp.csc_matrix(train).indptr) > 0)


def observed_without_positives(split, train: sp.csr_matrix) -> np.ndarray:
    """``(n_items,)`` bool: items with training events but no training positive (known, and not new)."""
    events = split.train
    observed = np.zeros(train.shape[1], dtype=bool)
    observed[split.log.item_ids.get_indexer(events["item_id"].unique())] = True
    observed[items_with_positives(train)] = False
    return observed


def cold_training_share(config: TrainConfig, protocol) -> float:
    """``config.cold_items`` with ``"auto"`` resolved: the protocol's cold fraction for a cold-item protocol, else 0."""
    if config.cold_items != "auto":
        return float(config.cold_items)
    return float(protocol.params.get("cold_fraction", 0.1)) if protocol.method == "cold-item" else 0.0


def epoch_graph(graph, model, kept: sp.csr_matrix, device: torch.device):
    """The walk graph of one hold-out: ``(operator, first-step weights or None, torch blocks, GCN structure, cold mask)``."""
    from ..model.model import build_operator, first_step_matrix

    operator = build_operator(graph, model.config, user_item=kept, replace=refined_tables(model))
    start_weights = first_step_matrix(graph, model.config, user_item=kept)
    return (
        operator,
        start_weights,
        operator.torch_blocks(device=device),
        to_torch_csr(operator.structure(), device=device),
        cold_mask(operator, device, model.not_cold_),
    )


def refined_tables(model) -> dict[str, sp.csr_matrix] | None:
    """The model's current refined similarity tables (``config.similarity_edges="refined"``), else None."""
    if model.config.similarity_edges != "refined":
        return None
    return {kind: table for kind, table in model.tables_.items() if kind in ("interest-interest", "item-item")}


def refresh_similarity(model, graph, scorer, structure: torch.Tensor, device: torch.device):
    """Recompute the refined similarity tables from the current parameters into ``model.tables_``; returns the
    full training graph's ``(operator, GCN structure)`` rebuilt with them (unchanged tables when nothing is refined)."""
    from ..model.operator import PathOperator

    if len(scorer.refiners):
        cold = cold_mask(model.operator_, device, model.not_cold_)
        model.tables_.update(scorer.refined_tables(structure, cold))
    operator = PathOperator.from_tables(
        model.tables_, len(graph.users), len(graph.items), len(graph.interests), exponent=model.config.exponent
    )
    return operator, to_torch_csr(operator.structure(), device=device)


def batch_pairs(
    batch: np.ndarray, target_users: np.ndarray, target_items: np.ndarray, negatives: int, sampler
) -> tuple[np.ndarray, ...]:
    """BPR pairs of a user batch: ``(rows, users, positives, negatives)`` ``(m·negatives,)``, ``rows`` the column of each user in ``batch``."""
    column = {int(u): k for k, u in enumerate(batch)}
    mask = np.isin(target_users, batch)
    users = np.repeat(target_users[mask], negatives)
    items = np.repeat(target_items[mask], negatives)
    rows = np.array([column[int(u)] for u in users], dtype=np.int64)
    return rows, users, items, sampler.sample(users)


def allowed_items(
    kept: sp.csr_matrix, batch: np.ndarray, candidates: torch.Tensor, device: torch.device
) -> torch.Tensor:
    """``(len(batch), n_items)`` bool: the items a softmax step normalises over for each user of ``batch``:
    the candidates (items with training positives) less the user's kept training items (the walks' starts)."""
    allowed = torch.zeros(len(batch), kept.shape[1], dtype=torch.bool, device=device)
    allowed[:, candidates] = True
    rows = kept[batch].tocoo()
    allowed[torch.from_numpy(rows.row).to(device), torch.from_numpy(rows.col).to(device)] = False
    return allowed


def start_columns(start_weights: sp.csr_matrix | None, batch: np.ndarray, device: torch.device) -> torch.Tensor | None:
    """``(n_items, B)`` first-step factors of a user batch (None when uniform)."""
    return None if start_weights is None else torch.from_numpy(start_weights[batch].toarray().T).float().to(device)


#: training settings that may change between a run and its resumption
RESUMABLE_CHANGES = ("epochs", "patience", "verbose", "log_path", "device")


def run_fingerprint(model, graph) -> dict[str, Any]:
    """What a checkpoint must match to be resumed: the model settings, the training settings (except
    :data:`RESUMABLE_CHANGES`) and the graph (its manifest checksum, or its node and edge counts)."""
    train = {k: v for k, v in model.train.to_dict().items() if k not in RESUMABLE_CHANGES}
    return json.loads(
        json.dumps(
            {
                "model_config": model.config.to_dict(),
                "train_config": train,  # as JSON reads it back
                "graph": getattr(graph, "manifest_sha256", None) or json.dumps(graph.counts(), sort_keys=True),
            }
        )
    )


class Trainer:
    """Fits an :class:`~interestgraph.model.InterestGraphModel` on an interest graph.

    Args:
        config: :class:`TrainConfig`.
        checkpoint_dir: optional directory for the last epoch's full state (resumable).
    """

    def __init__(self, config: TrainConfig | None = None, checkpoint_dir: str | Path | None = None):
        self.config = config if config is not None else TrainConfig()
        self.checkpoint_dir = None if checkpoint_dir is None else Path(checkpoint_dir)

    def fit(self, model, graph):
        """Train ``model`` on ``graph`` (in place; returns it). Data-parallel across the processes of an initialised
        ``torch.distributed`` group of more than one process (module docstring), else in this process.

        Raises:
            ValueError: a setting distributed training cannot honour (``encoder_mode`` other than frozen,
                a ``device`` other than one GPU per process or the CPU), or a graph without training positives.
            TrainingError: the loss became non-finite, or memory ran out.
        """
        from .. import distributed as ddp
        from ..baselines import NegativeSampler
        from ..model.model import first_step_kind, first_step_matrix, graph_tables, train_pair_times
        from ..model.operator import PathOperator

        cfg = self.config
        started = time.perf_counter()
        rank, world_size = ddp.world()
        distributed = world_size > 1
        main = rank == 0
        if distributed:
            self._check_distributed(cfg, world_size)
        device = self._replica_device(pick_device(cfg.device), world_size) if distributed else pick_device(cfg.device)
        torch.manual_seed(cfg.seed)
        rng = np.random.default_rng(cfg.seed)
        split = graph.split
        train = positive_matrix(split, "train")
        if train.nnz == 0:
            raise ValueError("graph: its split has no training positives to fit on")
        has_valid = len(split.positive_pairs("valid")) > 0
        latest = cfg.holdout_mode == "latest" or (cfg.holdout_mode == "auto" and split.protocol.is_temporal)
        times = train_pair_times(graph) if latest else None
        model.holdout_mode_ = "latest" if latest else "random"
        model.tables_ = graph_tables(graph, model.config)  # raw edge tables: items added later are normalised with them
        full_operator = PathOperator.from_tables(
            model.tables_, len(graph.users), len(graph.items), len(graph.interests), exponent=model.config.exponent
        )
        full_structure = to_torch_csr(full_operator.structure(), device=device)
        scorer = model._new_scorer(graph, full_operator).to(device)
        model.user_interest_ = user_interest_rows(graph) if model.config.user_interest_mean else None
        if model.user_interest_ is not None:
            scorer.user_interest = to_torch_csr(model.user_interest_, device=device)
        model.first_step_ = first_step_kind(model.config, graph)
        model.seen_ = train  # training positives: masked by recommend(exclude_seen=True)
        model.user_ids_, model.item_ids_ = graph.users, graph.items
        model.start_ = first_step_matrix(graph, model.config)  # r(u, j) over all training positives, for scoring
        model.layout_ = {
            "user": full_operator.n_users,
            "item": full_operator.n_items,
            "interest": full_operator.n_interests,
        }
        model.operator_ = full_operator
        model.degrees_ = full_operator.degrees
        cold_share = cold_training_share(cfg, split.protocol)
        model.cold_items_ = cold_share
        # while items are hidden as cold, an item nobody has interacted with must not be taught as disliked:
        # negatives then come from the items with training positives only (the ranked candidates)
        sampler = NegativeSampler(
            train, seed=cfg.seed + 1, items=items_with_positives(train) if cold_share > 0 else None
        )
        # items with training events but no positive (only low ratings, say) are known, not new: never "cold"
        model.not_cold_ = observed_without_positives(split, train)
        if (len(scorer.refiners) or cfg.encoder_mode != "frozen") and self.checkpoint_dir is not None:
            raise ValueError(
                "checkpoint_dir: resuming is not supported with refined similarity edges or a trained encoder "
                "(their edge sets and encoder state are not checkpointed); train without a checkpoint directory"
            )
        joint = None
        if cfg.encoder_mode != "frozen":
            if not scorer.uses_text:
                raise ValueError(
                    f"encoder_mode={cfg.encoder_mode!r} needs ModelConfig.text_features=True and a graph with item vectors"
                )
            from .joint import JointEncoder

            joint = JointEncoder(graph, cfg, device)
        if len(scorer.refiners):  # starting edges = the graph's; θ at their median cosine
            z0 = scorer.node_vectors(full_structure, cold_mask(full_operator, device, model.not_cold_)).float()
            for kind, refiner in scorer.refiners.items():
                refiner.set_pattern(model.tables_[kind])
                refiner.init_threshold(z0.detach())
            full_operator, full_structure = refresh_similarity(model, graph, scorer, full_structure, device)
            model.operator_ = full_operator
        self._init_coefficients(scorer, full_operator, full_structure, rng, device, model.not_cold_)

        id_params = [p for n, p in scorer.named_parameters() if n.endswith("_embedding.weight")]
        path_params = [scorer.type_raw, scorer.length_coef]
        taken = {id(p) for p in id_params + path_params}
        network = [p for p in scorer.parameters() if id(p) not in taken]
        groups = [
            {"params": id_params, "lr": cfg.lr, "weight_decay": 0.0, "name": "id"},
            {"params": network, "lr": cfg.lr, "weight_decay": cfg.weight_decay, "name": "network"},
            {"params": path_params, "lr": cfg.path_lr, "weight_decay": 0.0, "name": "path"},
        ]
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
        fingerprint = run_fingerprint(model, graph)
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
        log_writer = _EpochLog(cfg.log_path) if cfg.log_path and main else None
        autocast = torch.autocast("cuda", dtype=torch.bfloat16) if device.type == "cuda" else contextlib.nullcontext()
        step_loss = BPRStep(scorer, cfg.l2, autocast, cfg.loss, cfg.softmax_temperature)
        pair_negatives = 1 if cfg.loss == "softmax" else cfg.negatives  # softmax: every candidate is a negative
        candidate_items = torch.from_numpy(items_with_positives(train)).to(device)
        if (
            distributed
        ):  # its constructor is a collective: no rank starts (and writes a checkpoint) before all have read theirs
            from torch.nn.parallel import DistributedDataParallel

            # every parameter of the scorer enters every step's loss (even a process whose share of a batch is empty
            # backpropagates zeros through it), so DDP need not search the graph for unused ones; the buffers
            # (text vectors) are constants: not re-broadcast at every forward
            sync = (
                {"forward_sync_buffers": False}
                if "forward_sync_buffers" in inspect.signature(DistributedDataParallel).parameters
                else {"broadcast_buffers": False}
            )
            step_loss = DistributedDataParallel(
                step_loss,
                device_ids=[device.index] if device.type == "cuda" else None,
                find_unused_parameters=False,
                **sync,
            )
        bar = progress(total=cfg.epochs, desc="train interest-graph model", unit="epoch") if main else _NoBar()
        bar.update(start_epoch - 1)
        epoch = start_epoch - 1
        try:
            for epoch in range(start_epoch, cfg.epochs + 1):
                t0 = time.perf_counter()
                kept, target_users, target_items = hold_out(train, cfg.holdout, rng, times, cold_share)
                operator, start_weights, blocks, structure, cold = epoch_graph(graph, model, kept, device)
                t_graph = time.perf_counter() - t0
                users = rng.permutation(np.unique(target_users))
                scorer.train()
                total, pairs, t_encoder, t_refine = 0.0, 0, 0.0, 0.0
                encoder_on = joint is not None and epoch > cfg.encoder_warmup_epochs
                if encoder_on:
                    joint.encoder.train()
                t1 = time.perf_counter()
                for start in range(0, len(users), cfg.user_batch):
                    batch = users[start : start + cfg.user_batch]
                    # every process draws the whole batch's pairs, so the random streams stay those of one process
                    rows, pos_users, pos_items, neg_items = batch_pairs(
                        batch, target_users, target_items, pair_negatives, sampler
                    )
                    n_pairs = len(pos_users)
                    if distributed:  # this process's share: users batch[rank::world] and their pairs
                        mine = rows % world_size == rank
                        batch = batch[rank::world_size]
                        rows, pos_users, pos_items, neg_items = (
                            rows[mine] // world_size,
                            pos_users[mine],
                            pos_items[mine],
                            neg_items[mine],
                        )
                    t_enc = time.perf_counter()
                    text = joint.step_text(scorer, np.concatenate([pos_items, neg_items]), rng) if encoder_on else None
                    t_encoder += time.perf_counter() - t_enc
                    loss, bpr = step_loss(
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
                        n_pairs if distributed else None,
                        allowed_items(kept, batch, candidate_items, device) if cfg.loss == "softmax" else None,
                    )
                    if distributed:  # the global loss, and one decision on a non-finite loss for every process
                        batch_loss, broken = ddp.all_reduce_sum(
                            [float(loss.detach()), 0.0 if bool(torch.isfinite(bpr)) else 1.0], device
                        )
                    else:
                        batch_loss, broken = None, not bool(torch.isfinite(bpr))
                    if broken:
                        shown = batch_loss if distributed else float(bpr.detach())
                        raise TrainingError(
                            f"epoch {epoch}: the loss became {shown} (lower lr={cfg.lr} or path_lr={cfg.path_lr}); "
                            + self._kept(epoch)
                        )
                    optimiser.zero_grad()
                    # DDP averages the gradients over processes; × world size makes them the sum, the one-process gradient
                    (loss * world_size if distributed else loss).backward()
                    optimiser.step()
                    scheduler.step()
                    total += (batch_loss if distributed else float(loss.detach())) * n_pairs
                    pairs += n_pairs
                t_train = time.perf_counter() - t1 - t_encoder  # the encoder's share is reported on its own
                scorer.eval()
                refine_record: dict[str, Any] = {}
                if encoder_on:
                    t_enc = time.perf_counter()
                    joint.refresh(scorer)
                    t_encoder += time.perf_counter() - t_enc
                if len(scorer.refiners):
                    t_ref = time.perf_counter()
                    if model.config.remine_every and epoch % model.config.remine_every == 0:
                        z_full = scorer.node_vectors(
                            full_structure, cold_mask(full_operator, device, model.not_cold_)
                        ).float()
                        for kind, refiner in scorer.refiners.items():
                            mined = refiner.remine(z_full, model.config.remine_k, model.config.prune_below)
                            refine_record.update({f"{kind}_{key}": value for key, value in mined.items()})
                    full_operator, full_structure = refresh_similarity(model, graph, scorer, full_structure, device)
                    if distributed:
                        full_operator, full_structure = self._share_refined(
                            model, graph, scorer, full_operator, full_structure, device
                        )
                    model.operator_ = full_operator
                    t_refine = time.perf_counter() - t_ref
                t2 = time.perf_counter()
                if main:
                    model._freeze(scorer, full_operator, full_structure)
                record: dict[str, Any] = {"epoch": epoch, "loss": total / max(pairs, 1), "targets": len(target_users)}
                if has_valid:  # rank 0 validates; every process takes its value, so all decide alike
                    value = (
                        evaluate(model, split, part="valid", cutoffs=(20,), name="interestgraph").metrics[VALID_METRIC]
                        if main
                        else math.nan
                    )
                    if distributed:
                        value = ddp.broadcast_float(value, device)
                    record[f"valid_{VALID_METRIC}"] = value
                    if value > best:
                        best, best_epoch, stale = value, epoch, 0
                        best_state = copy.deepcopy(scorer.state_dict())
                        best_extra = {
                            "tables": {kind: model.tables_[kind].copy() for kind in scorer.refiners},
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
                history.append(record)
                metric = f", valid {VALID_METRIC} {record[f'valid_{VALID_METRIC}']:.4f}" if has_valid else ""
                if cfg.verbose and main:
                    bar.write(
                        f"epoch {epoch}: loss {record['loss']:.4f}{metric}, {record['seconds']:.1f} s (graph {t_graph:.1f}, train {t_train:.1f}, valid {t_valid:.1f})",
                        file=sys.stderr,
                    )
                if log_writer:
                    log_writer.write(record)
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
                if has_valid and stale >= cfg.patience:
                    break
        except (
            torch.OutOfMemoryError,
            MemoryError,
            RuntimeError,
        ) as exc:  # the last finished epoch's checkpoint is untouched
            if not is_out_of_memory(exc):
                raise  # torch.OutOfMemoryError is a RuntimeError too; any other RuntimeError is not ours to explain
            bar.close()
            raise TrainingError(
                f"epoch {epoch}: out of memory ({type(exc).__name__}); lower user_batch={cfg.user_batch} (each step holds about "
                f"20 dense (nodes × user_batch) float32 blocks), or train on a machine with more memory; "
                + self._kept(epoch)
            ) from exc
        bar.close()
        if best_state is not None:
            scorer.load_state_dict(best_state)
            for kind, table in best_extra.get("tables", {}).items():
                model.tables_[kind] = table
                scorer.refiners[kind].set_pattern(table)
            if best_extra.get("encoder") is not None:
                joint.load_state(best_extra["encoder"])
        else:
            best_epoch = epoch
        if len(scorer.refiners):
            full_operator = PathOperator.from_tables(
                model.tables_, len(graph.users), len(graph.items), len(graph.interests), exponent=model.config.exponent
            )
            full_structure = to_torch_csr(full_operator.structure(), device=device)
            model.operator_ = full_operator
            model.degrees_ = full_operator.degrees
        if joint is not None:
            from ..encoder.text import state_digest

            model.encoder_state_ = joint.state()
            model.encoder_tuning_ = {
                **joint.settings,
                "digest": state_digest(model.encoder_state_),
                "epochs_frozen": min(cfg.encoder_warmup_epochs, best_epoch),
            }
        scorer.eval()
        model.cold_calibration_ = self._calibrate_cold(
            model, graph, scorer, train, sampler, rng, times, device, show_progress=main
        )
        if distributed:  # rank 0's parameters everywhere, bit for bit (GPU kernels need not be deterministic)
            del step_loss  # drops DDP's gradient hooks from the parameters
            ddp.broadcast_parameters(scorer)
            model.cold_calibration_ = ddp.broadcast_object(model.cold_calibration_, device)
        model._freeze(scorer, full_operator, full_structure)
        model.scorer_ = scorer
        model.history_ = history
        model.best_epoch_ = best_epoch
        model.epochs_ = epoch
        model.best_valid_ndcg_ = float(best) if best_state is not None else float("nan")
        model.train_seconds_ = time.perf_counter() - started
        model.epoch_seconds_ = (
            {
                part: float(np.mean([h.get(f"seconds_{part}", 0.0) for h in history]))
                for part in ("graph", "train", "valid", "encoder", "refine")
            }
            if history
            else {}
        )
        model.graph_ = graph
        return model

    @staticmethod
    def _replica_device(device: torch.device, world_size: int) -> torch.device:
        """This process's device under distributed training: ``cuda:LOCAL_RANK`` for ``device="cuda"`` / ``"auto"`` with a GPU, else the CPU.

        Raises:
            ValueError: ``device="cuda:N"`` (every process would share one GPU), or a CPU device under the ``nccl`` backend.
        """
        from ..distributed import local_rank

        if device.type == "cuda":
            if device.index is not None:
                raise ValueError(
                    f"device='{device}': under distributed training (world size {world_size}) each process uses cuda:LOCAL_RANK; "
                    "pass device='cuda' or 'auto'"
                )
            device = torch.device("cuda", local_rank())
            torch.cuda.set_device(device)
        elif torch.distributed.get_backend() == "nccl":
            raise ValueError(
                f"device='{device}': the process group uses the nccl backend, which needs CUDA tensors; "
                "train on device='cuda', or initialise the group with the gloo backend for the CPU"
            )
        return device

    @staticmethod
    def _check_distributed(cfg: TrainConfig, world_size: int) -> None:
        """Refuse the settings that distributed training would get silently wrong (ValueError naming the setting)."""
        if cfg.encoder_mode != "frozen":
            raise ValueError(
                f"encoder_mode={cfg.encoder_mode!r}: distributed training (world size {world_size}) supports the frozen encoder only "
                "(a trained encoder's parameters and random draws live outside the scorer that DistributedDataParallel "
                "synchronises); use encoder_mode='frozen', or train in one process"
            )

    @staticmethod
    def _share_refined(model, graph, scorer, operator, structure: torch.Tensor, device: torch.device):
        """Distributed training: every process takes rank 0's refined similarity tables and edge sets (a re-mining
        threshold could otherwise keep an edge on one process only, where GPU sums differ in the last bit);
        returns the full training graph's ``(operator, GCN structure)`` built from them."""
        from ..distributed import broadcast_object, world
        from ..model.operator import PathOperator

        shared = broadcast_object(
            {
                kind: (model.tables_[kind], refiner.rows.cpu(), refiner.cols.cpu())
                for kind, refiner in scorer.refiners.items()
            },
            device,
        )
        if world()[0] == 0:
            return operator, structure
        for kind, (table, rows, cols) in shared.items():
            model.tables_[kind] = table
            refiner = scorer.refiners[kind]
            refiner.rows, refiner.cols = rows.to(refiner.threshold.device), cols.to(refiner.threshold.device)
        operator = PathOperator.from_tables(
            model.tables_, len(graph.users), len(graph.items), len(graph.interests), exponent=model.config.exponent
        )
        return operator, to_torch_csr(operator.structure(), device=device)

    def _kept(self, epoch: int) -> str:
        """Where the last good state is, for a message that stops training."""
        if self.checkpoint_dir is not None and (self.checkpoint_dir / "state.json").exists():
            return f"the checkpoint of the last finished epoch is kept in {self.checkpoint_dir} (resume from it with other settings only by starting over)"
        return "nothing was saved (pass a checkpoint directory to keep each finished epoch)"

    @torch.no_grad()
    def _calibrate_cold(
        self,
        model,
        graph,
        scorer,
        train,
        sampler,
        rng: np.random.Generator,
        times,
        device: torch.device,
        show_progress: bool = True,
    ) -> dict[str, Any]:
        """Set ``cold_bias`` so that items without user edges rank as often as they should (the training loss on simulated cold items).

        Each of ``cold_draws`` draws hides items as cold (:func:`hold_out` with ``cold_share``) and a
        share ``holdout`` of the other pairs, scores every target user once with the trained
        parameters, and samples negatives (``loss="bpr"``) or keeps each user's logits over the candidates
        (``"softmax"``); the bias ``b`` then minimises that loss over all
        draws, where a cold item's scores scale by ``s_c(b) / s_c(0)`` (its gate; exact while a cold
        item ends its walks and is never walked through, as with the default edge types; with typed gates
        its item–interest gate, over which such walks arrive unless item–item edges are on), found
        on a grid of step 0.05 in ``[-3, 6]`` (softmax, whose loss costs a pass over every logit: step 0.25,
        then 0.05 around the best point). Shares mirror the split's protocol when it is a
        cold-item protocol (its ``cold_fraction`` and test share), else ``TrainConfig.cold_items``
        and ``holdout``.
        """
        from ..baselines import NegativeSampler
        from ..model.path_model import GATE_BOUND

        cfg = self.config
        protocol = graph.split.protocol
        if protocol.method == "cold-item":
            share = float(protocol.params.get("cold_fraction", cfg.cold_items))
            ratios = protocol.params.get("ratios", [0.8, 0.1, 0.1])
            holdout = float(ratios[-1]) / float(sum(ratios))
        else:
            share, holdout = cold_training_share(cfg, protocol) or 0.1, cfg.holdout
        if cfg.cold_draws == 0 or share == 0 or "user-item" not in model.config.edge_types:
            with torch.no_grad():
                scorer.cold_bias.zero_()
            return {"bias": 0.0, "draws": 0}
        # negatives among the items with positives, the ranked candidates (simulated cold items among them)
        sampler = NegativeSampler(train, seed=cfg.seed + 2, items=items_with_positives(train))
        softmax = cfg.loss == "softmax"
        per_target = 1 if softmax else cfg.negatives
        candidates = items_with_positives(train)
        candidates_on_device = torch.from_numpy(candidates).to(device)
        column = np.full(train.shape[1], -1, dtype=np.int64)  # item code -> its column among the candidates
        column[candidates] = np.arange(len(candidates))
        pos_f, neg_f, pos_h, neg_h, pos_cold, neg_cold = [], [], [], [], [], []
        batches: list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]] = []  # softmax
        bar = progress(total=cfg.cold_draws, desc="calibrate cold items", unit="draw") if show_progress else _NoBar()
        for _ in range(cfg.cold_draws):
            kept, target_users, target_items = hold_out(train, holdout, rng, times, share)
            operator, start_weights, blocks, structure, cold = epoch_graph(graph, model, kept, device)
            z = scorer.node_vectors(structure, cold).float()
            scorer.cold_bias.zero_()
            s, p = scorer.gates(z, cold)
            h = scorer.gate_input(z)[operator.n_users : operator.n_users + operator.n_items]
            if h.dim() == 2:  # typed gates: walks into an item without user edges arrive over its item–interest edges
                h = h[:, scorer.types.index("item-interest")]
            h = h.cpu().numpy()
            cold_np = cold.cpu().numpy()
            h_c, cold_c = (
                torch.from_numpy(h[candidates]).double(),
                torch.from_numpy(cold_np[candidates]),
            )  # shared by the draw's batches
            users = np.unique(target_users)
            for begin in range(0, len(users), cfg.user_batch):
                batch = users[begin : begin + cfg.user_batch]
                rows, _, t_items, negs = batch_pairs(batch, target_users, target_items, per_target, sampler)
                scores = scorer.walk_scores(
                    blocks, s, p, torch.from_numpy(batch).to(device), start=start_columns(start_weights, batch, device)
                )
                if softmax:  # the batch's logits over the candidates, the user's kept items at -inf
                    allowed = allowed_items(kept, batch, candidates_on_device, device)[:, candidates]
                    logits = (
                        (scores[:, candidates] / cfg.softmax_temperature)
                        .double()
                        .masked_fill(~allowed, float("-inf"))
                        .cpu()
                    )
                    batches.append((logits, torch.from_numpy(rows), torch.from_numpy(column[t_items]), h_c, cold_c))
                    pos_cold.append(cold_np[t_items])
                    continue
                scores = scores.cpu().numpy()
                pos_f.append(scores[rows, t_items])
                neg_f.append(scores[rows, negs])
                pos_h.append(h[t_items])
                neg_h.append(h[negs])
                pos_cold.append(cold_np[t_items])
                neg_cold.append(cold_np[negs])
            bar.update(1)
        bar.close()
        log_gate = lambda x: GATE_BOUND * np.tanh(x / GATE_BOUND)
        pos_cold = np.concatenate(pos_cold)
        if softmax:

            def loss(b: float) -> float:
                """Mean softmax cross-entropy of the targets, cold candidates' logits scaled by their gate ratio."""
                total, count = 0.0, 0
                for logits, rows, targets, h_c, cold_c in batches:
                    ratio = torch.where(
                        cold_c,
                        torch.exp(torch.from_numpy(log_gate(h_c.numpy() + b) - log_gate(h_c.numpy()))),
                        torch.ones_like(h_c),
                    )
                    adjusted = logits * ratio  # -inf stays -inf (ratio > 0)
                    terms = torch.logsumexp(adjusted, dim=1)[rows] - adjusted[rows, targets]
                    total += float(terms.sum())
                    count += len(rows)
                return total / max(count, 1)
        else:
            pos_f, neg_f, pos_h, neg_h = (np.concatenate(x).astype(np.float64) for x in (pos_f, neg_f, pos_h, neg_h))
            neg_cold = np.concatenate(neg_cold)

            def loss(b: float) -> float:
                fp = pos_f * np.where(pos_cold, np.exp(log_gate(pos_h + b) - log_gate(pos_h)), 1.0)
                fn = neg_f * np.where(neg_cold, np.exp(log_gate(neg_h + b) - log_gate(neg_h)), 1.0)
                return float(np.logaddexp(0.0, -(fp - fn)).mean())

        grid = np.round(np.arange(-3.0, 6.0 + 1e-9, 0.25 if softmax else 0.05), 2)
        losses = np.array([loss(b) for b in grid])
        if softmax:  # refine around the coarse minimum
            centre = float(grid[int(np.argmin(losses))])
            grid = np.round(np.arange(max(-3.0, centre - 0.25), min(6.0, centre + 0.25) + 1e-9, 0.05), 2)
            losses = np.array([loss(b) for b in grid])
        bias = float(grid[int(np.argmin(losses))])
        scorer.cold_bias.fill_(bias)
        return {
            "bias": bias,
            "draws": cfg.cold_draws,
            "cold_share": share,
            "holdout": holdout,
            "loss_kind": cfg.loss,
            "cold_targets": int(pos_cold.sum()) // per_target,
            "targets": len(pos_cold) // per_target,
            "loss_at_0": loss(0.0),
            "loss": float(losses.min()),
        }

    @staticmethod
    @torch.no_grad()
    def _init_coefficients(
        scorer, operator, structure, rng: np.random.Generator, device: torch.device, not_cold: np.ndarray | None = None
    ) -> None:
        """Scale ``c_k`` so each walk length starts with unit spread over items (BPR's sigmoid needs O(1) gaps)."""
        blocks = operator.torch_blocks(device=device)
        cold = cold_mask(operator, device, not_cold)
        s, p = scorer.gates(scorer.node_vectors(structure, cold), cold)
        sample = np.sort(rng.choice(operator.n_users, size=min(64, operator.n_users), replace=False))
        n = operator.n_nodes
        y = torch.zeros(n, len(sample), device=device)
        y[torch.from_numpy(sample).to(device), torch.arange(len(sample), device=device)] = 1.0
        lo, hi = operator.n_users, operator.n_users + operator.n_items
        for k in range(scorer.config.max_length):
            y = scorer.apply_weights(blocks, s, p, y)
            spread = float(y[lo:hi].std())
            scorer.length_coef[k] = 1.0 / spread if spread > 0 else 1.0


class _EpochLog:
    """Appends one row per epoch to a CSV or JSON-lines file."""

    def __init__(self, path: str):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._header_done = self.path.exists() and self.path.stat().st_size > 0

    def write(self, record: dict[str, Any]) -> None:
        if self.path.suffix == ".jsonl":
            with self.path.open("a") as f:
                f.write(json.dumps(record) + "\n")
            return
        with self.path.open("a", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(record))
            if not self._header_done:
                writer.writeheader()
                self._header_done = True
            writer.writerow(record)
