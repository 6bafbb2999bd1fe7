"""BPR matrix factorisation: ``score(u, i) = p_u · q_i``, trained with the shared BPR loop (:mod:`._bpr`)."""

from __future__ import annotations

import scipy.sparse as sp
import torch

from ..data.splits import Split
from ._bpr import BPRModel


class _MF(torch.nn.Module):
    def __init__(self, n_users: int, n_items: int, dim: int):
        super().__init__()
        self.users = torch.nn.Embedding(n_users, dim)
        self.items = torch.nn.Embedding(n_items, dim)
        torch.nn.init.normal_(self.users.weight, std=0.1)
        torch.nn.init.normal_(self.items.weight, std=0.1)


class BPRMF(BPRModel):
    """Matrix factorisation with the BPR loss and uniform negatives (Rendle et al., 2009).

    Args:
        dim: embedding width ``d``.
        lr: Adam learning rate.
        l2: weight of ``½‖e‖²/batch`` on the user, positive and negative rows of each batch.
        batch_size: training pairs per step.
        max_epochs: most epochs.
        patience: evaluations without a better validation NDCG@20 before stopping.
        eval_every: epochs between validation evaluations.
        seed: seeds torch (initialisation) and the pair order / negative sampler.
        device: where the parameters and products live: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or
            ``"auto"`` (CUDA when available).
        loss: ``"bpr"`` (default: one sampled negative per pair) or ``"softmax"`` (cross-entropy of each
            pair's item against the whole catalogue, logits ``⟨e_u, e_i⟩ / temperature``; the negative
            sampler still draws, for the L2 term's rows, so the random streams match).
        temperature: divides the logits of ``"softmax"``.

    Fitted attributes: ``module_`` (user ``(n_users, d)`` and item ``(n_items, d)`` embeddings),
    ``best_epoch_``, ``epochs_``, ``history_``, ``best_valid_ndcg_``, ``train_seconds_``.
    """

    _name = "BPRMF"

    def __init__(
        self,
        dim: int = 64,
        lr: float = 1e-3,
        l2: float = 1e-4,
        batch_size: int = 2048,
        max_epochs: int = 300,
        patience: int = 5,
        eval_every: int = 5,
        seed: int = 2020,
        device: str = "cpu",
        loss: str = "bpr",
        temperature: float = 1.0,
    ):
        self.dim = dim
        self.lr = lr
        self.l2 = l2
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.eval_every = eval_every
        self.seed = seed
        self.device = device
        self.loss = loss
        self.temperature = temperature

    def _build(self, split: Split, train: sp.csr_matrix) -> torch.nn.Module:
        return _MF(train.shape[0], train.shape[1], self.dim)

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        return self.module_.users.weight, self.module_.items.weight

    def _base_rows(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> list[torch.Tensor]:
        return [self.module_.users.weight[users], self.module_.items.weight[pos], self.module_.items.weight[neg]]
