"""The typed, normalised adjacency the path model walks on.

Nodes of all types share one index: users ``[0, U)``, items ``[U, U+I)``,
interests ``[U+I, U+I+V)``. Each edge type ``t`` of the
:class:`~interestgraph.graph.InterestGraph` that the model uses becomes one
symmetric block ``Â_t`` (``(N, N)``, both directions stored), normalised on its
own:

    Â_t = D_t^{-a} A_t D_t^{-a}

with ``D_t`` the weighted degree of each node *within type t* and ``a`` the
normalisation exponent (0.5 is LightGCN's; smaller keeps more of the popular
items' mass). Normalising per type keeps the blocks on one scale whatever the
raw weights mean (binary interactions, tag counts, cosines), so a learned
per-type factor ``γ_t`` compares like with like.

User–item edges are the training positives (binary by default: the graph's
decayed weights are relative to the last event of the whole log, which makes
users who stopped long ago vanish from item degrees; see :class:`PathOperator`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..graph.interest_graph import EDGE_ENDS, EDGE_TYPES
from ..graph.propagation import to_torch_csr

#: edge types the model can walk on, in block order (the graph's own types and ends)
MODEL_EDGE_TYPES = EDGE_TYPES
_ENDS = EDGE_ENDS


def normalise_block(block: sp.spmatrix, exponent: float) -> sp.csr_matrix:
    """``D_r^{-a} B D_c^{-a}`` of a non-negative ``(n_rows, n_cols)`` block (row / column weighted degrees)."""
    b = sp.csr_matrix(block, dtype=np.float64)
    rows = np.asarray(b.sum(axis=1)).ravel()
    cols = np.asarray(b.sum(axis=0)).ravel()
    rows[rows == 0] = 1.0
    cols[cols == 0] = 1.0
    return sp.csr_matrix(sp.diags(rows**-exponent) @ b @ sp.diags(cols**-exponent))


@dataclass(eq=False)
class PathOperator:
    """Node layout and per-type normalised blocks of one graph.

    Attributes:
        n_users, n_items, n_interests: node counts ``U``, ``I``, ``V``.
        types: the edge types in use, in block order.
        blocks: ``{type: (N, N) float64 CSR}``, symmetric, normalised per type.
        exponent: the normalisation exponent ``a``.
        degrees: ``{type: (N,) float64}`` raw weighted degree of every node within the type (the
            ``D_t`` of the normalisation; what a node folded in later is normalised against).
    """

    n_users: int
    n_items: int
    n_interests: int
    types: tuple[str, ...]
    blocks: dict[str, sp.csr_matrix]
    exponent: float
    degrees: dict[str, np.ndarray] | None = None

    @property
    def n_nodes(self) -> int:
        return self.n_users + self.n_items + self.n_interests

    def offset(self, node_type: str) -> int:
        """Index of the first node of ``node_type`` (``user``, ``item`` or ``interest``)."""
        return {"user": 0, "item": self.n_users, "interest": self.n_users + self.n_items}[node_type]

    @classmethod
    def from_tables(
        cls, tables: dict[str, sp.spmatrix], n_users: int, n_items: int, n_interests: int, exponent: float = 0.5
    ) -> PathOperator:
        """Blocks from raw ``(n_src, n_dst)`` matrices keyed by edge type (only the types given are used).

        Raises:
            ValueError: an unknown type, a shape that does not fit the node counts,
                negative or non-finite weights, or a bad ``exponent``.
        """
        if not (isinstance(exponent, (int, float)) and 0.0 <= exponent <= 1.0):
            raise ValueError(f"exponent must be a number in [0, 1], got {exponent!r}")
        sizes = {"user": n_users, "item": n_items, "interest": n_interests}
        n = n_users + n_items + n_interests
        offsets = {"user": 0, "item": n_users, "interest": n_users + n_items}
        blocks: dict[str, sp.csr_matrix] = {}
        degrees: dict[str, np.ndarray] = {}
        for kind in MODEL_EDGE_TYPES:
            if kind not in tables:
                continue
            src, dst = _ENDS[kind]
            raw = sp.csr_matrix(tables[kind], dtype=np.float64)
            if raw.shape != (sizes[src], sizes[dst]):
                raise ValueError(f"{kind}: matrix shape {raw.shape} does not match ({sizes[src]}, {sizes[dst]})")
            if raw.nnz and (not np.isfinite(raw.data).all() or (raw.data < 0).any()):
                raise ValueError(f"{kind}: edge weights must be finite and >= 0")
            if src == dst:  # a similarity block: make it symmetric (max of both directions), no self loops
                raw = raw.maximum(raw.T).tolil()
                raw.setdiag(0)
                raw = sp.csr_matrix(raw)
                raw.eliminate_zeros()
                full = _place(normalise_block(raw, exponent), offsets[src], offsets[src], n)
                degree = np.asarray(_place(raw, offsets[src], offsets[src], n).sum(axis=1)).ravel()
            else:
                half = normalise_block(raw, exponent)
                full = _place(half, offsets[src], offsets[dst], n)
                full = sp.csr_matrix(full + full.T)
                placed = _place(raw, offsets[src], offsets[dst], n)
                degree = np.asarray(placed.sum(axis=1)).ravel() + np.asarray(placed.sum(axis=0)).ravel()
            degrees[kind] = degree
            full.sort_indices()
            blocks[kind] = full
        unknown = sorted(set(tables) - set(MODEL_EDGE_TYPES))
        if unknown:
            raise ValueError(f"unknown edge types {unknown}; the model walks on {', '.join(MODEL_EDGE_TYPES)}")
        return cls(n_users, n_items, n_interests, tuple(blocks), blocks, float(exponent), degrees)

    def items_without_users(self) -> np.ndarray:
        """``(n_items,)`` bool: items with no user–item edge in this operator (cold items, or items hidden as cold
        while training)."""
        if "user-item" not in self.blocks:
            return np.zeros(self.n_items, dtype=bool)
        lo = self.n_users
        block = self.blocks["user-item"][lo : lo + self.n_items]
        return np.diff(block.indptr) == 0

    def torch_blocks(
        self, dtype: torch.dtype = torch.float32, device: torch.device | str | None = None
    ) -> list[torch.Tensor]:
        """The blocks as ``torch.sparse_csr_tensor`` s, in :attr:`types` order."""
        return [to_torch_csr(self.blocks[t], dtype=dtype, device=device) for t in self.types]

    def structure(self) -> sp.csr_matrix:
        """``(N, N)`` symmetric sum of all blocks, renormalised ``D^{-1/2} (Σ_t Â_t) D^{-1/2}`` (for the GCN)."""
        from ..graph.propagation import symmetric_normalise

        total = sp.csr_matrix((self.n_nodes, self.n_nodes))
        for block in self.blocks.values():
            total = total + block
        return symmetric_normalise(total)


def _place(block: sp.csr_matrix, row0: int, col0: int, n: int) -> sp.csr_matrix:
    coo = block.tocoo()
    return sp.csr_matrix((coo.data, (coo.row + row0, coo.col + col0)), shape=(n, n))
