"""LightGCN (He et al., 2020) on the user–item graph of training positives, via PyG.

Nodes are users ``0..U-1`` and items ``U..U+I-1``; every training positive
``(u, i)`` gives the two directed edges ``u → U+i`` and ``U+i → u``. The
propagation is :class:`torch_geometric.nn.models.LightGCN` (``LGConv`` layers,
layer outputs averaged with ``α_k = 1/(L+1)``) with the symmetric
normalisation ``1/√(deg_a deg_b)`` computed once (``gcn_norm`` without self
loops) and passed as edge weights, so each step does only the ``L`` sparse
products. Training is the shared BPR loop (:mod:`._bpr`): the full graph is
propagated once per mini-batch step (as in PyG's example), L2 applies to the
base (layer-0) embeddings of the batch's rows. ``score`` is the plain dot
product of the final embeddings; the harness masks seen items (PyG's
``LightGCN.recommend`` does not).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..data.splits import Split
from ._bpr import BPRModel


class LightGCN(BPRModel):
    """LightGCN baseline with BPR training and early stopping on validation NDCG@20.

    Args:
        dim: embedding width ``d``.
        layers: propagation layers ``L``.
        lr: Adam learning rate.
        l2: weight of ``½‖e⁰‖²/batch`` on the base embeddings of the batch's rows.
        batch_size: training pairs per step.
        max_epochs: most epochs.
        patience: evaluations without a better validation NDCG@20 before stopping.
        eval_every: epochs between validation evaluations.
        seed: seeds torch (initialisation) and the pair order / negative sampler.

    Fitted attributes: ``module_`` (the PyG ``LightGCN``, ``U + I`` nodes), ``edge_index_``
    ``(2, 2·n_train_pairs)``, ``edge_weight_`` (normalised), ``best_epoch_``, ``epochs_``,
    ``history_``, ``best_valid_ndcg_``, ``train_seconds_``.
    """

    _name = "LightGCN"

    def __init__(self, dim: int = 64, layers: int = 3, lr: float = 1e-3, l2: float = 1e-4, batch_size: int = 2048, max_epochs: int = 1000, patience: int = 5, eval_every: int = 10, seed: int = 2020):
        self.dim = dim
        self.layers = layers
        self.lr = lr
        self.l2 = l2
        self.batch_size = batch_size
        self.max_epochs = max_epochs
        self.patience = patience
        self.eval_every = eval_every
        self.seed = seed

    def _build(self, split: Split, train: sp.csr_matrix) -> torch.nn.Module:
        from torch_geometric.nn.conv.gcn_conv import gcn_norm
        from torch_geometric.nn.models import LightGCN as PyGLightGCN

        if not isinstance(self.layers, (int, np.integer)) or isinstance(self.layers, bool) or self.layers < 1:
            raise ValueError(f"layers must be a positive integer, got {self.layers!r}")
        n_users, n_items = train.shape
        coo = train.tocoo()
        u = torch.from_numpy(coo.row.astype(np.int64))
        i = torch.from_numpy(coo.col.astype(np.int64)) + n_users
        self.edge_index_ = torch.stack([torch.cat([u, i]), torch.cat([i, u])])
        n_nodes = n_users + n_items
        _, self.edge_weight_ = gcn_norm(self.edge_index_, None, n_nodes, add_self_loops=False)
        module = PyGLightGCN(n_nodes, self.dim, self.layers, normalize=False)
        # LightGCN's own initialisation (N(0, 0.1²)), with the fit's seeded generator
        torch.nn.init.normal_(module.embedding.weight, std=0.1)
        return module

    def _embeddings(self) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.module_.get_embedding(self.edge_index_, self.edge_weight_)
        return out[: self.n_users_], out[self.n_users_:]

    def _base_rows(self, users: torch.Tensor, pos: torch.Tensor, neg: torch.Tensor) -> list[torch.Tensor]:
        weight = self.module_.embedding.weight
        return [weight[users], weight[self.n_users_ + pos], weight[self.n_users_ + neg]]
