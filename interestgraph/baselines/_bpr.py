"""The BPR training loop shared by :class:`~.BPRMF` and :class:`~.LightGCN`.

One loop, written once: every epoch walks all training positive pairs
``(u, i)`` in a seeded random order, in mini-batches; each pair gets one
uniform negative ``j`` that is *not* a training positive of ``u``
(:class:`~interestgraph.train.sampling.NegativeSampler`, vectorised, collisions resampled; the losses are
:mod:`interestgraph.train.losses`' objects), and the loss is

    -mean log σ(s(u, i) - s(u, j)) + l2 · ½ (‖e_u‖² + ‖e_i‖² + ‖e_j‖²) / batch

with ``e`` the *base* embeddings of the rows used in the batch (LightGCN's
convention). Every ``eval_every`` epochs the model is scored on the
validation part with :func:`interestgraph.evaluate.evaluate` (NDCG@20); the
best epoch's weights are kept and restored at the end, and training stops
after ``patience`` evaluations without improvement. With no validation part,
training runs ``max_epochs`` and keeps the last weights.

The parameters and products live on ``device`` (``"cpu"``, ``"cuda"`` or
``"auto"``); negatives are drawn on the CPU (a numpy generator, so a seed gives
the same pairs on every device) and the batch's indices moved over. ``fit(split,
on_epoch=f)`` calls ``f(model, record)`` after every epoch (the module in eval
mode, ``score`` reading the current weights), so a caller can log test metrics
or stop early; the time spent in ``f`` is left out of ``train_seconds_``.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import scipy.sparse as sp
import torch

from ..data.splits import Split
from ..device import resolve_device
from ..evaluate import evaluate
from ..progress import progress
from ..train.callbacks import Callback, CallbackList
from ..train.losses import BPRLoss, SoftmaxLoss
from ..train.sampling import NegativeSampler

VALID_METRIC = "ndcg@20"


def check_bpr_params(params: dict[str, Any]) -> None:
    """ValueError naming the first bad BPR training argument."""
    positive_int = ("dim", "batch_size", "max_epochs", "patience", "eval_every")
    for name in positive_int:
        value = params.get(name)
        if name in params and (not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1):
            raise ValueError(f"{name} must be a positive integer, got {value!r}")
    for name in ("lr",):
        value = params[name]
        if not isinstance(value, (int, float)) or not np.isfinite(value) or value <= 0:
            raise ValueError(f"{name} must be a positive number, got {value!r}")
    value = params["l2"]
    if not isinstance(value, (int, float)) or not np.isfinite(value) or value < 0:
        raise ValueError(f"l2 must be a number >= 0, got {value!r}")
    loss = params.get("loss", "bpr")
    if loss not in ("bpr", "softmax"):
        raise ValueError(f"loss must be 'bpr' or 'softmax', got {loss!r}")
    value = params.get("temperature", 1.0)
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
        raise ValueError(f"temperature must be a positive number, got {value!r}")
    seed = params["seed"]
    if not isinstance(seed, (int, np.integer)) or isinstance(seed, bool):
        raise ValueError(f"seed must be an integer, got {seed!r}")
    device = params.get("device", "cpu")
    if not isinstance(device, str) or not (
        device.strip().lower() in ("cpu", "auto") or device.strip().lower().startswith("cuda")
    ):
        raise ValueError(f"device must be 'cpu', 'cuda', 'cuda:N' or 'auto', got {device!r}")
    resolve_device(device)  # ValueError naming the device when CUDA is asked for and absent


class BPRModel:
    """Base of the BPR-trained embedding models (fit / score, early stopping).

    Subclasses implement ``_build(split, train) -> torch.nn.Module``,
    ``_embeddings() -> (users (n_users, d), items (n_items, d))`` (the final
    embeddings, with autograd) and ``_base_rows(users, pos, neg)`` (the base
    embedding rows that the L2 term penalises).
    """

    _name = "BPR"

    def _params(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "dim",
                "lr",
                "l2",
                "batch_size",
                "max_epochs",
                "patience",
                "eval_every",
                "seed",
                "device",
                "loss",
                "temperature",
            )
        }

    # ------------------------------------------------------------ subclass hooks
    def _build(self, split: Split, train: sp.csr_matrix) -> torch.nn.Module:  # pragma: no cover - abstract
        raise NotImplementedError

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:  # pragma: no cover - abstract
        raise NotImplementedError

    def _base_rows(
        self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor
    ) -> list[torch.Tensor]:  # pragma: no cover
        raise NotImplementedError

    # ------------------------------------------------------------ fit / score
    def fit(
        self,
        split: Split,
        on_epoch: Callable[[BPRModel, dict[str, float]], bool | None] | None = None,
        callbacks: Iterable[Callback] = (),
    ) -> BPRModel:
        """Train with BPR on the training positives of ``split``, early-stopped on its validation NDCG@20.

        Args:
            split: the split whose training positives train and whose validation part stops training.
            on_epoch: optional ``f(model, record)`` called after every epoch with that epoch's history
                record; returning True stops training (the best weights so far are kept, as at an early
                stop). Its time is not counted in ``train_seconds_``.
            callbacks: :class:`~interestgraph.train.Callback` objects (``on_epoch_begin``, ``on_batch_end``,
                which may stop the epoch: it is then validated and training ends, ``on_validation_begin``,
                ``on_epoch_end``); ``on_batch_end`` gets the batch's loss as a 0-d tensor on the device.

        Sets ``module_`` (the torch module, best weights), ``user_ids_``, ``item_ids_``, ``seen_`` (the
        recommender contract: :attr:`user_ids`, :attr:`item_ids`, :attr:`seen`), ``best_epoch_``,
        ``epochs_`` (epochs run), ``converged_`` (early stopping ended it: True; the ``max_epochs`` cap or a hook:
        False; no validation part: None), ``history_`` (``[{"epoch", "loss", "seconds", "valid_ndcg@20"}, ...]``,
        ``seconds`` the training time so far, the metric only on evaluated epochs), ``best_valid_ndcg_``
        and ``train_seconds_``. Runs with deterministic torch kernels, so the same seed gives the same scores
        (on CUDA they only warn where no deterministic kernel exists).
        """
        check_bpr_params(self._params())
        if on_epoch is not None and not callable(on_epoch):
            raise ValueError(f"on_epoch must be callable, got {type(on_epoch).__name__}")
        self.device_ = torch.device(resolve_device(self.device))
        # multi-threaded CPU gradient accumulation (index_put / scatter-add) sums in a varying
        # order; deterministic kernels make a fixed seed give bit-identical weights. The global
        # switch is restored afterwards.
        previous = torch.are_deterministic_algorithms_enabled()
        warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
        torch.use_deterministic_algorithms(True, warn_only=self.device_.type == "cuda")
        try:
            return self._fit(split, on_epoch, CallbackList(callbacks))
        finally:
            torch.use_deterministic_algorithms(previous, warn_only=warn_only)

    def _fit(self, split: Split, on_epoch=None, hooks: CallbackList | None = None) -> BPRModel:
        hooks = hooks if hooks is not None else CallbackList()
        started = time.perf_counter()
        outside = 0.0  # seconds spent in on_epoch, left out of the training time
        device = self.device_
        torch.manual_seed(self.seed)
        train = split.positive_matrix("train")
        coo = train.tocoo()
        pair_users, pair_items = coo.row.astype(np.int64), coo.col.astype(np.int64)
        if len(pair_users) == 0:
            raise ValueError("split has no training positives to fit on")
        has_valid = len(split.positive_pairs("valid")) > 0
        self.n_users_, self.n_items_ = train.shape
        self.user_ids_, self.item_ids_, self.seen_ = split.log.user_ids, split.log.item_ids, train
        self.module_ = self._build(split, train).to(device)
        self._cache = None
        sampler = NegativeSampler(train, seed=self.seed)
        order_rng = np.random.default_rng(self.seed + 1)
        optimiser = torch.optim.Adam(self.module_.parameters(), lr=self.lr)
        self.history_: list[dict[str, float]] = []
        best, best_state, best_epoch, stale = -np.inf, None, 0, 0
        bar = progress(total=self.max_epochs, desc=f"train {self._name}", unit="epoch")
        epoch = 0
        for epoch in range(1, self.max_epochs + 1):
            hooks.on_epoch_begin(epoch)
            self.module_.train()
            self._cache = None
            order = order_rng.permutation(len(pair_users))
            total, stopped = 0.0, False
            for index, start in enumerate(range(0, len(order), self.batch_size)):
                idx = order[start : start + self.batch_size]
                users_np = pair_users[idx]
                negs_np = sampler.sample(users_np)
                users = torch.from_numpy(users_np).to(device)
                pos = torch.from_numpy(pair_items[idx]).to(device)
                neg = torch.from_numpy(negs_np).to(device)
                user_emb, item_emb = self._embeddings()
                u = user_emb[users]
                reg = sum(r.pow(2).sum() for r in self._base_rows(users, pos, neg)) / (2 * len(idx))
                if self.loss == "softmax":  # full softmax over the catalogue: every item is a negative
                    fit_term = SoftmaxLoss(self.temperature).over_catalogue(u @ item_emb.T, pos)
                else:
                    s_pos = (u * item_emb[pos]).sum(dim=1)
                    s_neg = (u * item_emb[neg]).sum(dim=1)
                    fit_term = BPRLoss.pair_terms(s_pos, s_neg).mean()
                loss = fit_term + self.l2 * reg
                optimiser.zero_grad()
                loss.backward()
                optimiser.step()
                total = total + loss.detach() * len(idx)  # summed on the device: no synchronisation per step
                if hooks.on_batch_end(epoch, index, loss.detach()):
                    stopped = True
                    break
            record: dict[str, float] = {"epoch": epoch, "loss": float(total) / len(order)}
            if has_valid and (epoch % self.eval_every == 0 or epoch == self.max_epochs or stopped):
                hooks.on_validation_begin(epoch)
                self.module_.eval()
                self._cache = None
                value = evaluate(self, split, part="valid", cutoffs=(20,), name=self._name).metrics[VALID_METRIC]
                record[f"valid_{VALID_METRIC}"] = value
                if value > best:
                    best, best_epoch, stale = value, epoch, 0
                    best_state = copy.deepcopy(self.module_.state_dict())
                else:
                    stale += 1
            record["seconds"] = time.perf_counter() - started - outside
            if stopped:
                record["stopped"] = True
            self.history_.append(record)
            bar.update(1)
            stop = hooks.on_epoch_end(epoch, record) or stopped
            if on_epoch is not None:
                called = time.perf_counter()
                self.module_.eval()
                self._cache = None
                stop = bool(on_epoch(self, record)) or stop
                self._cache = None
                outside += time.perf_counter() - called
            if stop or (has_valid and stale >= self.patience):
                break
        bar.close()
        if best_state is not None:
            self.module_.load_state_dict(best_state)
        else:
            best_epoch = epoch
        self.module_.eval()
        self._cache = None
        self.best_epoch_ = best_epoch
        self.epochs_ = epoch
        # converged: validation stopped improving for `patience` evaluations (early stopping); False when the epoch
        # cap or a hook ended training first; None without a validation part (nothing to converge on)
        self.converged_ = (stale >= self.patience) if has_valid else None
        self.best_valid_ndcg_ = float(best) if best_state is not None else float("nan")
        self.train_seconds_ = time.perf_counter() - started - outside
        return self

    # ------------------------------------------------------------ the recommender contract
    def _fitted(self, name: str):
        if not hasattr(self, "module_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(split) first")
        return getattr(self, name)

    @property
    def user_ids(self):
        """User code → original user ID (``pandas.Index``)."""
        return self._fitted("user_ids_")

    @property
    def item_ids(self):
        """Item code → original item ID (``pandas.Index``)."""
        return self._fitted("item_ids_")

    @property
    def seen(self) -> sp.csr_matrix:
        """``(n_users, n_items)`` CSR of the items excluded from rankings: the training positives."""
        return self._fitted("seen_")

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 dot products of the final user and item embeddings (products on the
        fit's device, returned on the CPU)."""
        if not hasattr(self, "module_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(split) first")
        if self._cache is None:
            with torch.no_grad():
                user_emb, item_emb = self._embeddings()
            self._cache = (user_emb.detach(), item_emb.detach())
        user_emb, item_emb = self._cache
        users = torch.as_tensor(np.asarray(users), dtype=torch.long).to(user_emb.device)
        return (user_emb[users] @ item_emb.T).to(torch.float32).cpu()
