"""Named item–item components ``F_c`` of the closed-form path model ``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]``.

Each component has one job: build one ``(n_items, n_items)`` matrix from an :class:`ItemData` (``fit``) and apply
it to a batch of first-step weights (``apply(history) = history @ F``). ``expandable`` says whether a term
``r(u, j) F_c[j, i]`` is a finite sum over walks ``j → … → i`` of the graph (so it can be expanded further into
walks) or not (a ridge coefficient, a low-rank projection).

==================== ============================================================= ======================
component            matrix                                                        walks (expandable)
==================== ============================================================= ======================
RidgeCooccurrence    EASE (Steck 2019): ``B = −P / diag(P)``, ``P = (G + λI)⁻¹``,  no (a ridge
                     zero diagonal; ``G = XᵀX``, plus ``c·s·AAᵀ`` with interests  coefficient, a
                     as side rows (collective EASE) when ``side_weight > 0``        Neumann series)
InterestPaths        ``D_i^-a A D_v^-1 Aᵀ D_i^-a``, zero diagonal                  yes: j → v → i
TextNeighbours       cosine of the item vectors, top-k per row, negatives dropped  yes: j → i (text)
IdealLowPass         GF-CF's ``D_i^-½ V_k V_kᵀ D_i^½`` (``V_k`` the top-k right    no (low rank)
                     singular vectors of ``D_u^-½ X D_i^-½``)
==================== ============================================================= ======================

(``X`` the users' training positives, ``A`` the item–interest weights.) Every matrix is dense, so a component
refuses catalogues above ``max_dense_items`` with a :class:`DenseSizeError` naming the item count and the memory
one matrix would need.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
import torch

from ..ops import check_positive_int, cosine_topk
from .config import check_number

#: the default ceiling on dense item × item matrices (20,000² float32 = 1.6 GB each)
MAX_DENSE_ITEMS = 20_000


class DenseSizeError(ValueError):
    """A dense item × item matrix was asked for a catalogue above ``max_dense_items``."""


def check_dense(name: str, n_items: int, max_dense_items: int, dtype: torch.dtype) -> None:
    """Raise :class:`DenseSizeError` when an ``(n_items, n_items)`` ``dtype`` matrix exceeds ``max_dense_items``."""
    if n_items > max_dense_items:
        size = n_items * n_items * torch.empty((), dtype=dtype).element_size()
        raise DenseSizeError(
            f"{name}: {n_items:,} items need a dense {n_items:,} x {n_items:,} matrix of {size / 2**30:.2f} GiB "
            f"({dtype}), above max_dense_items={max_dense_items:,}; raise max_dense_items if the memory is there"
        )


@dataclass(eq=False)
class ItemData:
    """What the components are fitted from, in one item order.

    Attributes:
        positives: ``(n_users, n_items)`` CSR of the training positives (nonzero = positive).
        item_interest: ``(n_items, n_interests)`` CSR of item–interest weights, or None.
        item_vectors: ``(n_items, d)`` float tensor of item text vectors, or None.
    """

    positives: sp.csr_matrix
    item_interest: sp.csr_matrix | None = None
    item_vectors: torch.Tensor | None = None

    @property
    def n_items(self) -> int:
        return self.positives.shape[1]

    def binary(self) -> sp.csr_matrix:
        """The positives as a 0/1 float64 CSR."""
        x = sp.csr_matrix(self.positives, dtype=np.float64)
        x.data[:] = 1.0
        return x


class ItemComponent:
    """Base of the components: a fitted ``matrix_`` ``(n_items, n_items)`` and ``apply``.

    Attributes:
        matrix_: the fitted dense ``F_c`` (times ``scale_``).
        scale_: the product of the :meth:`rescale` factors (1.0 after ``fit``).
    """

    name = "component"
    expandable = False

    def __init__(self, *, max_dense_items: int = MAX_DENSE_ITEMS, dtype: torch.dtype = torch.float32) -> None:
        check_positive_int("max_dense_items", max_dense_items)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        self.max_dense_items = max_dense_items
        self.dtype = dtype
        self.matrix_: torch.Tensor | None = None
        self.scale_ = 1.0

    def fit(self, data: ItemData) -> ItemComponent:
        """Build ``matrix_`` from ``data``; returns self."""
        check_dense(type(self).__name__, data.n_items, self.max_dense_items, self.dtype)
        self.matrix_ = self._build(data).to(self.dtype).contiguous()
        self.scale_ = 1.0
        return self

    def _build(self, data: ItemData) -> torch.Tensor:
        raise NotImplementedError

    @property
    def matrix(self) -> torch.Tensor:
        if self.matrix_ is None:
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(data) first")
        return self.matrix_

    def apply(self, history: torch.Tensor) -> torch.Tensor:
        """``(B, n_items)`` scores ``history @ F`` for ``(B, n_items)`` first-step weights."""
        return history.to(self.dtype) @ self.matrix

    def rescale(self, factor: float) -> None:
        """Multiply ``matrix_`` by ``factor`` (the model makes components comparable before weighting)."""
        check_number("factor", factor, 0.0, low_open=True)
        self.matrix_ = self.matrix * factor
        self.scale_ *= factor


class RidgeCooccurrence(ItemComponent):
    """EASE's item–item ridge regression (Steck 2019), optionally with interests as pseudo-user side rows.

    ``G = XᵀX + side_weight · s · AAᵀ`` with ``s = mean diag(XᵀX) / mean diag(AAᵀ)`` (so ``side_weight`` is
    relative to the users' weight), ``P = (G + ridge·I)⁻¹``, ``F = −P / diag(P)`` column-wise, zero diagonal:
    the ridge regression of each item's column on the others'. Solved in float64.
    """

    name = "ridge"
    expandable = False

    def __init__(self, ridge: float = 100.0, side_weight: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        check_number("ridge", ridge, 0.0, low_open=True)
        check_number("side_weight", side_weight, 0.0)
        self.ridge = ridge
        self.side_weight = side_weight

    def _build(self, data: ItemData) -> torch.Tensor:
        x = data.binary()
        gram = torch.from_numpy((x.T @ x).toarray())
        if self.side_weight > 0:
            if data.item_interest is None:
                raise ValueError("RidgeCooccurrence: side_weight > 0 needs item_interest (the graph has none)")
            a = sp.csr_matrix(data.item_interest, dtype=np.float64)
            side = torch.from_numpy((a @ a.T).toarray())
            side_mean = float(torch.diagonal(side).mean())
            if side_mean > 0:
                gram += (self.side_weight * float(torch.diagonal(gram).mean()) / side_mean) * side
        gram.diagonal().add_(self.ridge)
        inverse = torch.linalg.inv(gram)
        out = -inverse / torch.diagonal(inverse)[None, :]
        out.fill_diagonal_(0.0)
        return out


class InterestPaths(ItemComponent):
    """Item → interest → item paths ``D_i^-a A D_v^-1 Aᵀ D_i^-a``, zero diagonal (an interest shared by many items
    counts less; ``exponent`` a damps items with many interests)."""

    name = "interest"
    expandable = True

    def __init__(self, exponent: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        check_number("exponent", exponent, 0.0, 1.0)
        self.exponent = exponent

    def _build(self, data: ItemData) -> torch.Tensor:
        if data.item_interest is None:
            raise ValueError("InterestPaths needs item_interest (the graph has no item-interest edges)")
        a = sp.csr_matrix(data.item_interest, dtype=np.float64)
        item_degree = np.asarray(a.sum(axis=1)).ravel()
        interest_degree = np.asarray(a.sum(axis=0)).ravel()
        di = np.zeros_like(item_degree)
        np.power(item_degree, -self.exponent, out=di, where=item_degree > 0)
        dv = np.zeros_like(interest_degree)
        np.divide(1.0, interest_degree, out=dv, where=interest_degree > 0)
        an = sp.diags(di) @ a
        out = torch.from_numpy((an @ sp.diags(dv) @ an.T).toarray())
        out.fill_diagonal_(0.0)
        return out


class TextNeighbours(ItemComponent):
    """Cosine of the item text vectors, the ``k`` best per row kept (negatives dropped, zero diagonal); items
    without a vector (zero rows) have no neighbours."""

    name = "text"
    expandable = True

    def __init__(self, k: int = 50, **kwargs) -> None:
        super().__init__(**kwargs)
        check_positive_int("k", k)
        self.k = k

    def _build(self, data: ItemData) -> torch.Tensor:
        if data.item_vectors is None:
            raise ValueError("TextNeighbours needs item_vectors (the graph has no item text vectors)")
        vectors = torch.as_tensor(data.item_vectors, dtype=torch.float32)
        n = data.n_items
        if len(vectors) != n:
            raise ValueError(f"TextNeighbours: {len(vectors)} item vectors for {n} items")
        k = min(self.k, max(n - 1, 1))
        index, score = cosine_topk(vectors, k, candidate_dtype=None, show_progress=False)
        keep = (index >= 0) & (score > 0)
        rows = torch.arange(n)[:, None].expand_as(index)[keep]
        out = torch.zeros(n, n, dtype=torch.float64)
        out[rows, index[keep]] = score[keep].double()
        return out


class IdealLowPass(ItemComponent):
    """GF-CF's ideal low-pass filter ``D_i^-½ V_k V_kᵀ D_i^½`` (Shen et al. 2021), ``V_k`` the top-``rank`` right
    singular vectors of ``R̃ = D_u^-½ X D_i^-½`` (exact, from the eigenvectors of ``R̃ᵀR̃``). A low-rank term:
    not expandable into walks."""

    name = "lowpass"
    expandable = False

    def __init__(self, rank: int = 64, **kwargs) -> None:
        super().__init__(**kwargs)
        check_positive_int("rank", rank)
        self.rank = rank

    def _build(self, data: ItemData) -> torch.Tensor:
        x = data.binary()
        du = np.asarray(x.sum(axis=1)).ravel()
        di = np.asarray(x.sum(axis=0)).ravel()
        du_is = np.zeros_like(du)
        np.power(du, -0.5, out=du_is, where=du > 0)
        di_is = np.zeros_like(di)
        np.power(di, -0.5, out=di_is, where=di > 0)
        rn = sp.diags(du_is) @ x @ sp.diags(di_is)
        values, vectors = torch.linalg.eigh(torch.from_numpy((rn.T @ rn).toarray()))
        top = vectors[:, torch.argsort(values, descending=True)[: self.rank]]
        di_s = torch.from_numpy(np.sqrt(di))
        return (torch.from_numpy(di_is)[:, None] * top) @ (top.T * di_s[None, :])


#: component name → class
COMPONENTS: dict[str, type[ItemComponent]] = {
    cls.name: cls for cls in (RidgeCooccurrence, InterestPaths, TextNeighbours, IdealLowPass)
}
