"""Refined similarity edges: interest–interest (and item–item) weights recomputed from the GCN's vectors while training.

The graph's similarity edges start as the encoder's top-k cosines. With
``ModelConfig.similarity_edges = "refined"`` a :class:`SimilarityRefiner` owns the
edge *set* of one similarity type and recomputes its *weights* at every training
step from the current GCN node vectors ``z`` (which move with the projection, the
GCN and, when it trains, the encoder):

    w_ab = σ((cos(z_a, z_b) − θ) / τ)        raw weight of the edge a–b, in (0, 1)

with a learned threshold ``θ`` (initialised to the median cosine of the starting
edges, so half of them start above 0.5) and a fixed temperature ``τ``
(``refine_temperature``). The block then goes through the same per-type
normalisation as every other block, ``Â[a, b] = d_a^{-a} w_ab d_b^{-a}`` with ``d`` the
refined weighted degrees, as a differentiable edge-list product
(:class:`EdgeListBlock`), so the loss's gradient reaches ``θ``, the projection, the GCN
and the encoder through the similarity edges too.

Every ``remine_every`` epochs the edge set itself changes (:meth:`SimilarityRefiner.remine`):
the top-``remine_k`` cosine neighbours of every node under the current ``z`` join as
candidates, and every edge whose weight is below ``prune_below`` is dropped. Between
re-minings the set is fixed. The frozen weights of a trained model (``W``) are built
from the final refined table (:meth:`SimilarityRefiner.table`), so explanations read the
same numbers that trained.

Shapes: ``n`` nodes of the refined type (interests, or items), ``E`` stored directed
edges (both directions of every pair), ``d`` the GCN width.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch
from torch import nn


class EdgeListBlock:
    """A symmetric ``(N, N)`` block given as an edge list, multiplied by dense ``(N, B)`` matrices with autograd.

    Args:
        rows, cols: ``(E,)`` global node indices (both directions stored).
        values: ``(E,)`` normalised edge values (may carry gradients).
        n_nodes: ``N``.
    """

    def __init__(self, rows: torch.Tensor, cols: torch.Tensor, values: torch.Tensor, n_nodes: int):
        self.rows, self.cols, self.values, self.n_nodes = rows, cols, values, n_nodes

    def __matmul__(self, y: torch.Tensor) -> torch.Tensor:
        out = torch.zeros(self.n_nodes, y.shape[1], dtype=y.dtype, device=y.device)
        return out.index_add(0, self.rows, self.values.to(y.dtype)[:, None] * y[self.cols])


def pair_cosines(z: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """``(E,)`` cosine of ``z[rows]`` and ``z[cols]`` (``z``: ``(n, d)``; zero vectors give 0)."""
    unit = nn.functional.normalize(z, dim=1)
    return (unit[rows] * unit[cols]).sum(dim=1)


class SimilarityRefiner(nn.Module):
    """Learned weights and a re-minable edge set for one similarity edge type.

    Args:
        kind: ``"interest-interest"`` or ``"item-item"``.
        offset: global index of the type's first node.
        n: node count of the type.
        temperature: ``τ`` of :func:`weights`.
        table: the starting ``(n, n)`` raw table (its pattern is the starting edge set; weights are recomputed).

    The edge set is not a buffer (it changes size when re-mined): it is saved with the
    model as the refined table, not in the scorer's ``state_dict``.
    """

    def __init__(self, kind: str, offset: int, n: int, temperature: float, table: sp.spmatrix | None = None):
        super().__init__()
        self.kind, self.offset, self.n, self.temperature = kind, int(offset), int(n), float(temperature)
        self.threshold = nn.Parameter(torch.zeros(1))
        self.rows = torch.zeros(0, dtype=torch.long)
        self.cols = torch.zeros(0, dtype=torch.long)
        if table is not None:
            self.set_pattern(table)

    # ------------------------------------------------------------------ the edge set
    def set_pattern(self, table: sp.spmatrix) -> None:
        """Take the symmetrised off-diagonal pattern of a ``(n, n)`` table as the edge set."""
        if table.shape != (self.n, self.n):
            raise ValueError(f"{self.kind}: table shape {table.shape} does not match ({self.n}, {self.n})")
        pattern = sp.csr_matrix(table, dtype=np.float64)
        pattern = (pattern + pattern.T).tocoo()
        keep = pattern.row != pattern.col
        device = self.threshold.device
        self.rows = torch.from_numpy(pattern.row[keep].astype(np.int64)).to(device)
        self.cols = torch.from_numpy(pattern.col[keep].astype(np.int64)).to(device)

    @property
    def n_edges(self) -> int:
        """Stored directed edges ``E`` (twice the pairs)."""
        return int(self.rows.numel())

    def _apply(self, fn, recurse=True):  # keep the edge lists on the module's device
        super()._apply(fn, recurse)
        self.rows, self.cols = fn(self.rows), fn(self.cols)
        return self

    # ------------------------------------------------------------------ weights
    def local(self, z: torch.Tensor) -> torch.Tensor:
        """``(n, d)`` the type's rows of the ``(N, d)`` node vectors."""
        return z[self.offset : self.offset + self.n]

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        """``(E,)`` raw weights ``σ((cos − θ) / τ)`` from the ``(N, d)`` node vectors."""
        cos = pair_cosines(self.local(z), self.rows, self.cols)
        return torch.sigmoid((cos - self.threshold) / self.temperature)

    def block(self, z: torch.Tensor, exponent: float) -> EdgeListBlock:
        """The normalised block ``D^{-a} W D^{-a}`` as an :class:`EdgeListBlock` over all ``N`` nodes
        (differentiable)."""
        w = self.weights(z)
        degree = torch.zeros(self.n, dtype=w.dtype, device=w.device).index_add(0, self.rows, w)
        scale = degree.clamp(min=1e-12).pow(-exponent)
        values = scale[self.rows] * w * scale[self.cols]
        return EdgeListBlock(self.rows + self.offset, self.cols + self.offset, values, z.shape[0])

    @torch.no_grad()
    def table(self, z: torch.Tensor) -> sp.csr_matrix:
        """``(n, n)`` float64 CSR of the current raw weights (symmetric; what the operator normalises)."""
        w = self.weights(z).double().cpu().numpy()
        return sp.csr_matrix((w, (self.rows.cpu().numpy(), self.cols.cpu().numpy())), shape=(self.n, self.n))

    @torch.no_grad()
    def init_threshold(self, z: torch.Tensor) -> float:
        """Set ``θ`` to the median cosine of the current edges (so half start above weight 0.5); returns it."""
        if self.n_edges:
            self.threshold.fill_(float(pair_cosines(self.local(z), self.rows, self.cols).median()))
        return float(self.threshold)

    @torch.no_grad()
    def remine(self, z: torch.Tensor, k: int, prune_below: float, chunk: int = 2048) -> dict[str, int]:
        """Add every node's top-``k`` cosine neighbours under ``z`` as candidates, then drop edges weighing <
        ``prune_below``.

        Returns:
            ``{"edges_before", "candidates_added", "pruned", "edges"}`` in undirected pairs.
        """
        before = sp.csr_matrix(
            (np.ones(self.n_edges), (self.rows.cpu().numpy(), self.cols.cpu().numpy())), shape=(self.n, self.n)
        )
        pattern = before.copy()
        if k > 0 and self.n > 1:
            unit = nn.functional.normalize(self.local(z).float(), dim=1)
            k = min(k, self.n - 1)
            heads, tails = [], []
            for begin in range(0, self.n, chunk):
                sims = unit[begin : begin + chunk] @ unit.T
                rows = torch.arange(begin, min(begin + chunk, self.n), device=sims.device)
                sims[rows - begin, rows] = -np.inf  # no self loops
                top = sims.topk(k, dim=1).indices
                heads.append(rows.repeat_interleave(k).cpu().numpy())
                tails.append(top.flatten().cpu().numpy())
            mined = sp.csr_matrix(
                (np.ones(sum(len(h) for h in heads)), (np.concatenate(heads), np.concatenate(tails))),
                shape=(self.n, self.n),
            )
            pattern = pattern + mined + mined.T
        self.set_pattern(pattern)
        candidates = self.n_edges
        w = self.weights(z)
        keep = w >= prune_below
        self.rows, self.cols = self.rows[keep], self.cols[keep]
        pairs_before = before.nnz // 2
        return {
            "edges_before": pairs_before,
            "candidates_added": (candidates - before.nnz) // 2,
            "pruned": int((~keep).sum()) // 2,
            "edges": self.n_edges // 2,
        }


__all__ = ["EdgeListBlock", "SimilarityRefiner", "pair_cosines"]
