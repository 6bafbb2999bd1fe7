"""Named item–item components ``F_c`` of the closed-form path model ``s(u, i) = Σ_j r(u, j) Σ_c θ_c F_c[j, i]``.

Each component has one job: build one item × item operator from an :class:`ItemData` (``fit``), apply it to a batch
of first-step weights (``apply(history) = history @ F``) and read single entries (``entries(rows, i) = F[rows, i]``,
what :meth:`~interestgraph.model.ItemPathModel.explain` lists). Only the ridge backbone is a dense item × item matrix;
the others are kept in a form that grows with the log (the normalised user–item matrix, a top-k sparse matrix,
low-rank factors), so they fit catalogues of any size. ``expandable`` says whether a term ``r(u, j) F_c[j, i]`` is a
finite sum over walks ``j → … → i`` of the graph (so it can be expanded further into walks) or not (a ridge
coefficient, a low-rank projection).

============ ===================================================== ============================ ====================
name         matrix ``F_c``                                        kept as                      walks (expandable)
============ ===================================================== ============================ ====================
``ridge``    EASE (Steck 2019): ``B = −P / diag(P)``,              dense ``(n, n)``; refuses    no (a ridge
             ``P = (G + λI)⁻¹``, zero diagonal, ``G = XᵀX``          ``n > max_dense_items``      coefficient)
             (+ interests as side rows: collective EASE)
``cooc``     GF-CF's linear filter ``P̃ = R̃ᵀR̃``                    ``R̃`` (sparse, nnz(X))       yes: j → u' → i
``cooc2``    ``P̃²``                                                ``R̃``                        yes: j→u'→j'→u''→i
``cheby``    ChebyCF's ``D^-β p(L̃) D^β``, ``p`` the degree-K         ``R̃`` + K + 1 coefficients   yes (a polynomial
             Chebyshev interpolant of a plateau low-pass                                         in ``P̃``)
``lowpass``  GF-CF's ideal low-pass ``D^-½ V_k V_kᵀ D^½``          ``(n, k)`` factors           no (low rank)
``spectral`` SGFCF's weighted low-pass ``D^-ε V_k diag(σ̂^q) V_kᵀ``   ``(n, k)`` factors           no (low rank)
             in the normalisation ``D_u^-ε X D_i^-ε``
``interest`` ``D_i^-a A D_v^-1 Aᵀ D_i^-a``, zero diagonal            sparse ``A`` (nnz(A))        yes: j → v → i
``text``     cosine of the item vectors, top-k per row,              sparse ``(n, n)``, k per row yes: j → i (text)
             negatives dropped
``transition`` ``D_out^-a T D_in^-b``, ``T[j, i]`` = Σ over users of   sparse ``(n, n)``, the pairs yes: j → i (i came
             ``decay^(g-1)`` for i coming ``g ≤ window`` positives   of the sequences             after j)
             after j in their training sequence (time order)
============ ===================================================== ============================ ====================

(``X`` the users' 0/1 training positives, ``R̃ = D_u^-½ X D_i^-½``, ``L̃ = I − 2P̃``, ``D = D_i`` the item degrees,
``V_k`` the top-k right singular vectors of ``R̃`` (of ``R̃_ε = D_u^-ε X D_i^-ε`` for ``spectral``, ``σ̂`` its singular
values over the largest), ``A`` the item–interest weights, ``D_out`` / ``D_in`` the row and
column sums of ``T``.) Every component's fitted state
is a flat ``{name: tensor}`` dict (:meth:`ItemComponent.tensors`, :meth:`ItemComponent.load_tensors`) so the model
saves it as safetensors.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..ops import check_positive_int, cosine_topk
from ..ops.spectral import (
    chebyshev_coefficients,
    chebyshev_filter,
    chebyshev_series,
    degree_power,
    leading_right_singular_pairs,
    normalised_matrix,
    plateau,
    torch_csr,
)
from .config import check_number

#: the default ceiling on dense item × item matrices (20,000² float32 = 1.6 GB each)
MAX_DENSE_ITEMS = 20_000
#: catalogues up to this size get the ideal low-pass from an exact eigendecomposition (``lowpass_solver="auto"``)
EXACT_LOWPASS_ITEMS = 6_000
#: up to this many users per product the components take their few-user route (latency): the first co-occurrence
#: step sparse × sparse, the further ones as torch CSR products of a dense block (int32 indices, MKL), the low-pass
#: as one torch product; above it sparse × dense blocks through scipy (throughput). Both give the same scores to
#: the dtype's rounding.
SPARSE_BATCH = 32


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


class ItemAggregates:
    """The log-sized item × item sums of the training positives, computed somewhere other than this process (on
    Spark's executors: :class:`interestgraph.spark.SparkItemAggregates`), in the item order of a log's codes.

    Subclasses implement both methods; :class:`ItemData` takes the rows and columns of its own items from them and
    checks their shape. Each must equal :func:`cooccurrence` / :func:`transition_counts` of the same positives.
    """

    def cooccurrence(self, user_exponent: float) -> sp.spmatrix:
        """``Xᵀ D_u^-e X``: ``[j, i]`` sums ``d_u^-e`` over the users with training positives on both (``d_u`` the
        user's positives; the diagonal holds the item degrees at ``e`` = 0)."""
        raise NotImplementedError

    def transition_counts(self, window: int, decay: float) -> sp.spmatrix:
        """``T[j, i]``: ``Σ decay ** (g - 1)`` over the users' sequences for ``i`` ``g ≤ window`` positives after
        ``j`` (time order, ties by item code), zero diagonal."""
        raise NotImplementedError


def cooccurrence(positives: sp.spmatrix, user_exponent: float = 0.0) -> sp.csr_matrix:
    """``Xᵀ D_u^-e X`` of the 0/1 pattern ``X`` of ``positives`` (float64 CSR): what :class:`ItemAggregates`
    computes elsewhere."""
    x = sp.csr_matrix(positives, dtype=np.float64)
    x.eliminate_zeros()
    x.data[:] = 1.0
    left = x if user_exponent == 0 else sp.diags(degree_power(np.diff(x.indptr).astype(np.float64), -user_exponent)) @ x
    return sp.csr_matrix(left.T @ x)


def transition_counts(times: sp.spmatrix, window: int, decay: float) -> sp.csr_matrix:
    """``T[j, i]`` of :meth:`ItemAggregates.transition_counts` from the positives' ``times`` (float64 CSR)."""
    times = sp.csr_matrix(times)
    n = times.shape[1]
    users = np.repeat(np.arange(times.shape[0]), np.diff(times.indptr))
    order = np.lexsort((times.indices, times.data, users))  # by user, then time, then item
    users, items = users[order], times.indices[order]
    rows, cols, values = [], [], []
    for gap in range(1, window + 1):
        same = users[:-gap] == users[gap:]
        if not same.any():
            break
        rows.append(items[:-gap][same])
        cols.append(items[gap:][same])
        values.append(np.full(int(same.sum()), decay ** (gap - 1)))
    if not rows:
        return sp.csr_matrix((n, n), dtype=np.float64)
    counts = sp.csr_matrix(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=(n, n), dtype=np.float64
    )
    counts.setdiag(0.0)  # an item repeated in one sequence does not lead to itself
    counts.eliminate_zeros()
    return counts


class ItemData:
    """What the components are fitted from, in one item order.

    Args:
        positives: ``(n_users, n_items)`` sparse training positives (nonzero = positive).
        item_interest: ``(n_items, n_interests)`` sparse item–interest weights, or None.
        item_vectors: ``(n_items, d)`` float tensor of item text vectors, or None.
        times: ``(n_users, n_items)`` sparse event times of the positives (any increasing clock, stored + 1 so
            time 0 stays an entry; the pattern of ``positives``), or None: the order of each user's sequence.
        aggregates: the item × item sums computed elsewhere (:class:`ItemAggregates`, in the order of
            ``aggregate_items``' codes), or None: computed here from ``positives`` and ``times``.
        aggregate_items: ``(n_items,)`` codes of these items in ``aggregates``' order (None: the same order).
    """

    def __init__(
        self,
        positives: sp.spmatrix,
        item_interest: sp.spmatrix | None = None,
        item_vectors: torch.Tensor | None = None,
        times: sp.spmatrix | None = None,
        aggregates: ItemAggregates | None = None,
        aggregate_items: np.ndarray | None = None,
    ) -> None:
        self.positives = sp.csr_matrix(positives)
        self.item_interest = None if item_interest is None else sp.csr_matrix(item_interest)
        self.item_vectors = item_vectors
        self.times = None if times is None else sp.csr_matrix(times)
        if self.times is not None and self.times.shape != self.positives.shape:
            raise ValueError(f"times has shape {self.times.shape}, positives {self.positives.shape}")
        if aggregates is not None and not isinstance(aggregates, ItemAggregates):
            raise TypeError(f"aggregates must be an ItemAggregates, got {type(aggregates).__name__}")
        self.aggregates = aggregates
        self.aggregate_items = None if aggregate_items is None else np.asarray(aggregate_items, dtype=np.int64)
        if self.aggregate_items is not None and self.aggregate_items.shape != (self.n_items,):
            raise ValueError(f"aggregate_items has shape {self.aggregate_items.shape}, expected ({self.n_items},)")
        self._normalised: dict[float, tuple[sp.csr_matrix, np.ndarray]] = {}

    def _aggregated(self, name: str, matrix: sp.spmatrix) -> sp.csr_matrix:
        """``matrix`` (from :attr:`aggregates`) at these items' rows and columns, its shape checked."""
        matrix = sp.csr_matrix(matrix, dtype=np.float64)
        items = self.aggregate_items
        expected = self.n_items if items is None else None
        if matrix.shape[0] != matrix.shape[1] or (expected is not None and matrix.shape[0] != expected):
            raise ValueError(
                f"aggregates.{name}: expected a square matrix"
                + ("" if expected is None else f" of {expected} items")
                + f", got shape {matrix.shape}"
            )
        if items is None:
            return matrix
        if len(items) and (items.min() < 0 or items.max() >= matrix.shape[0]):
            raise ValueError(f"aggregates.{name}: shape {matrix.shape} does not hold item codes up to {items.max()}")
        return sp.csr_matrix(matrix[items][:, items])

    def cooccurrence(self, user_exponent: float = 0.0) -> sp.csr_matrix:
        """:func:`cooccurrence` of the positives (from :attr:`aggregates` when given)."""
        if self.aggregates is not None:
            return self._aggregated("cooccurrence", self.aggregates.cooccurrence(user_exponent))
        return cooccurrence(self.positives, user_exponent)

    def transition_counts(self, window: int, decay: float) -> sp.csr_matrix:
        """:func:`transition_counts` of the positives' times (from :attr:`aggregates` when given)."""
        if self.aggregates is not None:
            return self._aggregated("transition_counts", self.aggregates.transition_counts(window, decay))
        if self.times is None:
            raise ValueError("transition counts need the positives' times (the order of each user's sequence)")
        return transition_counts(self.times, window, decay)

    @property
    def n_items(self) -> int:
        return self.positives.shape[1]

    def binary(self) -> sp.csr_matrix:
        """The positives as a 0/1 float64 CSR."""
        x = sp.csr_matrix(self.positives, dtype=np.float64)
        x.data[:] = 1.0
        return x

    def normalised(self, exponent: float = 0.5) -> tuple[sp.csr_matrix, np.ndarray]:
        """``(R̃_ε, item degrees)`` of the binary positives, ``R̃_ε = D_u^-ε X D_i^-ε`` (ε = ``exponent``; computed once
        per ε, shared by the components)."""
        key = float(exponent)
        if key not in self._normalised:
            self._normalised[key] = normalised_matrix(self.binary(), key)
        return self._normalised[key]


def has_order(times: sp.spmatrix | None) -> bool:
    """Whether positives' times (:attr:`ItemData.times`) order anything: at least two different times."""
    return times is not None and times.nnz > 1 and bool(times.data.min() != times.data.max())


def csr_tensors(prefix: str, matrix: sp.spmatrix) -> dict[str, torch.Tensor]:
    """``matrix`` as ``<prefix>.indptr`` / ``.indices`` (int64), ``.data``, ``.shape`` tensors (for safetensors)."""
    matrix = sp.csr_matrix(matrix)
    return {
        f"{prefix}.indptr": torch.from_numpy(matrix.indptr.astype(np.int64)),
        f"{prefix}.indices": torch.from_numpy(matrix.indices.astype(np.int64)),
        f"{prefix}.data": torch.from_numpy(matrix.data.copy()),  # a copy: components may share one matrix
        f"{prefix}.shape": torch.tensor(matrix.shape, dtype=torch.int64),
    }


def csr_from_tensors(prefix: str, tensors: dict[str, torch.Tensor]) -> sp.csr_matrix:
    """The CSR :func:`csr_tensors` stored under ``prefix``; ValueError naming ``prefix`` when the parts do not make
    one."""
    shape = tuple(int(v) for v in tensors[f"{prefix}.shape"].tolist())
    indptr = tensors[f"{prefix}.indptr"].numpy()
    indices = tensors[f"{prefix}.indices"].numpy()
    data = tensors[f"{prefix}.data"].numpy()
    if len(shape) != 2 or len(indptr) != shape[0] + 1 or len(indices) != len(data) or indptr[-1] != len(data):
        raise ValueError(f"{prefix}: inconsistent sparse matrix arrays")
    if len(indices) and (indices.min() < 0 or indices.max() >= shape[1]):
        raise ValueError(f"{prefix}: column indices outside 0..{shape[1] - 1}")
    if np.any(np.diff(indptr) < 0):
        raise ValueError(f"{prefix}: row pointers are not increasing")
    return sp.csr_matrix((data, indices, indptr), shape=shape)


class ItemComponent:
    """Base of the components: ``fit``, ``apply``, ``entries``, a scale factor and the flat fitted state.

    Attributes:
        scale_: the product of the :meth:`rescale` factors (1.0 after ``fit``); ``apply`` and ``entries`` include it.
        n_items_: the catalogue size it was fitted on.
    """

    name = "component"
    expandable = False

    def __init__(self, *, max_dense_items: int = MAX_DENSE_ITEMS, dtype: torch.dtype = torch.float32) -> None:
        check_positive_int("max_dense_items", max_dense_items)
        if dtype not in (torch.float32, torch.float64):
            raise ValueError(f"dtype must be torch.float32 or torch.float64, got {dtype!r}")
        self.max_dense_items = max_dense_items
        self.dtype = dtype
        self.scale_ = 1.0

    @property
    def numpy_dtype(self) -> np.dtype:
        return np.dtype(np.float64 if self.dtype == torch.float64 else np.float32)

    def fit(self, data: ItemData) -> ItemComponent:
        """Build the fitted state from ``data``; returns self."""
        self._fit(data)
        self.n_items_ = data.n_items
        self.scale_ = 1.0
        return self

    def _fit(self, data: ItemData) -> None:
        raise NotImplementedError

    def _check_fitted(self) -> None:
        if not hasattr(self, "n_items_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted: call fit(data) first")

    def apply(self, history: sp.spmatrix, shared: dict | None = None) -> torch.Tensor:
        """``(B, n_items)`` scores ``history @ F`` (times ``scale_``) for ``(B, n_items)`` first-step weights.

        ``shared``: a dict the caller passes to every component of one model for the same ``history``, so products
        they have in common (``H P̃`` for ``cooc`` and ``cooc2``) are computed once."""
        self._check_fitted()
        history = sp.csr_matrix(history, dtype=self.numpy_dtype)
        if history.shape[1] != self.n_items_:
            raise ValueError(f"{self.name}: history has {history.shape[1]} items, the component {self.n_items_}")
        self._shared = shared
        try:
            out = np.asarray(self._apply(history), dtype=self.numpy_dtype)
        finally:
            self._shared = None
        if self.scale_ != 1.0:
            out = out * self.scale_  # never in place: ``out`` may be a product shared with another component
        return torch.from_numpy(np.ascontiguousarray(out))

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        raise NotImplementedError

    def entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        """``F[rows, column]`` (times ``scale_``) as float64 ``(len(rows),)``."""
        self._check_fitted()
        rows = np.asarray(rows, dtype=np.int64).reshape(-1)
        if not 0 <= int(column) < self.n_items_:
            raise IndexError(f"{self.name}: item {column} outside 0..{self.n_items_ - 1}")
        return np.asarray(self._entries(rows, int(column)), dtype=np.float64).reshape(-1) * self.scale_

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        raise NotImplementedError

    def rescale(self, factor: float) -> None:
        """Multiply the component by ``factor`` (the model makes components comparable before weighting)."""
        check_number("factor", factor, 0.0, low_open=True)
        self.scale_ *= float(factor)

    def dense(self) -> torch.Tensor:
        """The whole ``(n_items, n_items)`` matrix (times ``scale_``); refused above ``max_dense_items``."""
        self._check_fitted()
        check_dense(type(self).__name__, self.n_items_, self.max_dense_items, self.dtype)
        return self.apply(sp.identity(self.n_items_, format="csr"))

    # ------------------------------------------------------------- fitted state
    def tensors(self) -> dict[str, torch.Tensor]:
        """The fitted state as a flat ``{name: tensor}`` dict (with ``scale`` and ``n_items``)."""
        self._check_fitted()
        return {
            "scale": torch.tensor([self.scale_], dtype=torch.float64),
            "n_items": torch.tensor([self.n_items_], dtype=torch.int64),
            **self._tensors(),
        }

    def _tensors(self) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def load_tensors(self, tensors: dict[str, torch.Tensor]) -> ItemComponent:
        """Set the fitted state from :meth:`tensors`' output (shapes checked); returns self."""
        try:
            n_items = int(tensors["n_items"].reshape(-1)[0])
            scale = float(tensors["scale"].reshape(-1)[0])
            if n_items < 1 or not np.isfinite(scale) or scale <= 0:
                raise ValueError(f"{self.name}: n_items {n_items} / scale {scale} out of range")
            self.n_items_ = n_items
            self._load(tensors)
        except KeyError as error:
            raise ValueError(f"{self.name}: missing tensor {error.args[0]!r}") from None
        self.scale_ = scale
        return self

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        raise NotImplementedError

    def _check_shape(self, key: str, tensor: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        if tuple(tensor.shape) != shape:
            raise ValueError(f"{self.name}: tensor {key!r} has shape {tuple(tensor.shape)}, expected {shape}")
        return tensor


class RidgeCooccurrence(ItemComponent):
    """EASE's item–item ridge regression (Steck 2019), optionally with interests as pseudo-user side rows.

    ``G = XᵀX + side_weight · s · AAᵀ`` with ``s = mean diag(XᵀX) / mean diag(AAᵀ)`` (so ``side_weight`` is
    relative to the users' weight), ``P = (G + ridge·I)⁻¹``, ``F = −P / diag(P)`` column-wise, zero diagonal:
    the ridge regression of each item's column on the others'. Solved in float64; the only dense component.
    """

    name = "ridge"
    expandable = False

    def __init__(self, ridge: float = 100.0, side_weight: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        check_number("ridge", ridge, 0.0, low_open=True)
        check_number("side_weight", side_weight, 0.0)
        self.ridge = ridge
        self.side_weight = side_weight

    def _fit(self, data: ItemData) -> None:
        check_dense(type(self).__name__, data.n_items, self.max_dense_items, self.dtype)
        gram = torch.from_numpy(data.cooccurrence().toarray())
        if self.side_weight > 0:
            if data.item_interest is None:
                raise ValueError("RidgeCooccurrence: side_weight > 0 needs item_interest (the graph has none)")
            a = sp.csr_matrix(data.item_interest, dtype=np.float64)
            side = torch.from_numpy((a @ a.T).toarray())
            side_mean = float(torch.diagonal(side).mean())
            if side_mean > 0:
                gram.add_(side, alpha=self.side_weight * float(torch.diagonal(gram).mean()) / side_mean)
            del side
        gram.diagonal().add_(self.ridge)
        # XᵀX + λI is symmetric positive definite: a Cholesky inverse, in place where it can be, so no more than two
        # (n, n) float64 matrices are alive at once
        factor = torch.linalg.cholesky(gram)
        del gram
        inverse = torch.cholesky_inverse(factor)
        del factor
        inverse.div_(-torch.diagonal(inverse).clone()[None, :])
        inverse.fill_diagonal_(0.0)
        self.matrix_ = inverse.to(self.dtype).contiguous()

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        return (torch.from_numpy(history.toarray()).to(self.dtype) @ self.matrix_).numpy()

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        return self.matrix_[torch.from_numpy(rows), column].double().numpy()

    def dense(self) -> torch.Tensor:
        self._check_fitted()
        return self.matrix_ * self.scale_

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"matrix": self.matrix_}

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        n = self.n_items_
        check_dense(type(self).__name__, n, self.max_dense_items, self.dtype)
        self.matrix_ = self._check_shape("matrix", tensors["matrix"], (n, n)).to(self.dtype).contiguous()


class _NormalisedComponent(ItemComponent):
    """A component applied through ``R̃`` (never forming ``P̃``): keeps ``R̃`` in CSR and CSC and the item degrees."""

    def _fit(self, data: ItemData) -> None:
        norm, degree = data.normalised()
        self._set_norm(sp.csr_matrix(norm, dtype=self.numpy_dtype), np.asarray(degree, dtype=np.float64))

    def _set_norm(self, norm: sp.csr_matrix, degree: np.ndarray) -> None:
        self.norm_ = norm
        self.norm_t_ = sp.csr_matrix(norm.T)
        self.item_degree_ = degree
        self._cache: dict = {}  # derived forms of R̃ (torch operators, float64 copies); shared with share_normalised

    def _gram(self, rows: np.ndarray) -> np.ndarray:
        """``(n_items, B)`` ``P̃ Y`` for a dense block ``Y`` ``(n_items, B)``."""
        return self.norm_t_ @ (self.norm_ @ rows)

    def _torch_norm(self, exact: bool = False) -> tuple[torch.Tensor, torch.Tensor]:
        """``(R̃, R̃ᵀ)`` as torch CSR tensors (int32 indices, sharing ``norm_``'s arrays; ``exact``: float64),
        built on first use."""
        key = "torch64" if exact else "torch"
        if key not in self._cache:
            self._cache[key] = tuple(torch_csr(matrix) for matrix in self._exact_norm(exact))
        return self._cache[key]

    def _exact_norm(self, exact: bool = True) -> tuple[sp.csr_matrix, sp.csr_matrix]:
        """``(R̃, R̃ᵀ)`` as scipy CSR in float64 (``exact``, for the explanations' terms; converted once) or in the
        component's dtype."""
        if not exact or self.norm_.dtype == np.float64:
            return self.norm_, self.norm_t_
        if "scipy64" not in self._cache:
            self._cache["scipy64"] = (
                sp.csr_matrix(self.norm_, dtype=np.float64),
                sp.csr_matrix(self.norm_t_, dtype=np.float64),
            )
        return self._cache["scipy64"]

    def _gram_few(self, block: torch.Tensor) -> torch.Tensor:
        """``P̃ Y`` for a dense torch ``(n_items,)`` vector or contiguous ``(n_items, B)`` block of a few signals (a
        new tensor): two CSR products, matrix–vector for one signal; float64 blocks through float64 operators."""
        norm, norm_t = self._torch_norm(block.dtype == torch.float64)
        if block.dim() == 1:
            return torch.mv(norm_t, torch.mv(norm, block))
        return norm_t @ (norm @ block)

    def _laplacian_few(self, block: torch.Tensor) -> torch.Tensor:
        """``L̃ Y = Y − 2 P̃ Y`` for :meth:`_gram_few`'s blocks (a new tensor)."""
        return self._gram_few(block).mul_(-2.0).add_(block)

    def _rows_gram(self, rows: np.ndarray) -> np.ndarray:
        """``(B, n_items)`` ``rows @ P̃`` for dense ``(B, n_items)`` rows (``P̃`` is symmetric): torch CSR products for
        up to :data:`SPARSE_BATCH` rows, scipy sparse × dense blocks above."""
        if rows.shape[0] > SPARSE_BATCH:
            return self._gram(np.ascontiguousarray(rows.T)).T
        block = torch.from_numpy(np.ascontiguousarray(rows, dtype=self.norm_.dtype))
        if block.shape[0] == 1:
            return self._gram_few(block[0])[None, :].numpy()
        return self._gram_few(block.T.contiguous()).T.numpy()

    def _history_gram(self, history: sp.csr_matrix) -> np.ndarray:
        """``(B, n_items)`` dense ``H P̃`` (unscaled): sparse products for a few users (one user's top-k in
        milliseconds), sparse × dense blocks for batches (``2 · nnz(R̃) · B`` multiply-adds); reused through
        ``apply``'s ``shared`` dict."""
        shared = getattr(self, "_shared", None)
        if shared is not None and "gram" in shared:
            return shared["gram"]
        if history.shape[0] <= SPARSE_BATCH:
            gram = np.asarray(((history @ self.norm_t_) @ self.norm_).toarray())
        else:
            gram = self._gram(np.ascontiguousarray(history.toarray().T)).T
        if shared is not None:
            shared["gram"] = gram
        return gram

    def _column(self, column: int) -> np.ndarray:
        """``P̃ e_column`` as a dense ``(n_items,)`` float64 vector, computed in float64: ``P̃`` is symmetric, so it is
        the row ``r R̃`` with ``r`` R̃'s column (a sparse row of R̃ᵀ): only the rows of the item's users are read."""
        norm, norm_t = self._exact_norm()
        return np.asarray((norm_t[[column]] @ norm).toarray(), dtype=np.float64).ravel()

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {**csr_tensors("norm", self.norm_), "item_degree": torch.from_numpy(self.item_degree_.copy())}

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        norm = csr_from_tensors("norm", tensors)
        if norm.shape[1] != self.n_items_:
            raise ValueError(f"{self.name}: 'norm' has {norm.shape[1]} items, expected {self.n_items_}")
        degree = self._check_shape("item_degree", tensors["item_degree"], (self.n_items_,)).double().numpy()
        self._set_norm(sp.csr_matrix(norm, dtype=self.numpy_dtype), degree)


def share_normalised(components) -> int:
    """Let the fitted components applied through ``R̃`` (``cooc``, ``cooc2``, ``cheby``) that hold equal copies of it
    (fitted on one :class:`ItemData`, or loaded from one artifact) hold one: a third of their memory, and one user's
    scores read one matrix (its measured effect: benchmarks/README.md, one-user latency). Scores are unchanged.
    Returns how many components now share another's matrix."""
    shared = 0
    holders: list[_NormalisedComponent] = []
    for component in components:
        if not isinstance(component, _NormalisedComponent) or not hasattr(component, "n_items_"):
            continue
        for holder in holders:
            if holder.norm_ is component.norm_ or _equal_csr(holder.norm_, component.norm_):
                component.norm_, component.norm_t_ = holder.norm_, holder.norm_t_
                component._cache = holder._cache
                shared += 1
                break
        else:
            holders.append(component)
    return shared


def _equal_csr(a: sp.csr_matrix, b: sp.csr_matrix) -> bool:
    return (
        a.shape == b.shape
        and a.dtype == b.dtype
        and a.nnz == b.nnz
        and np.array_equal(a.indptr, b.indptr)
        and np.array_equal(a.indices, b.indices)
        and np.array_equal(a.data, b.data)
    )


class LinearFilter(_NormalisedComponent):
    """GF-CF's linear filter ``P̃ = R̃ᵀR̃`` (Shen et al. 2021): ``F[j, i] = Σ_u' x_u'j x_u'i / √(d_j d_u'² d_i)``."""

    name = "cooc"
    expandable = True

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        return self._history_gram(history)

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        return self._column(column)[rows]


class SquaredFilter(_NormalisedComponent):
    """``P̃²``: two co-occurrence steps (walks ``j → u' → j' → u'' → i``)."""

    name = "cooc2"
    expandable = True

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        return self._rows_gram(self._history_gram(history))  # (B, n) H P̃ P̃

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        once = torch.from_numpy(self._column(column))
        return self._gram_few(once).numpy()[rows]  # float64 products


class ChebyshevFilter(_NormalisedComponent):
    """ChebyCF's polynomial filter (Kim et al., SIGIR 2025) without its ideal pass (that is :class:`IdealLowPass`):
    ``F = D^-β p(L̃) D^β``, ``p`` the degree-``order`` Chebyshev interpolant of the plateau
    ``h(λ̃) = ½ − ½ sign(λ̃)|λ̃|^φ`` on ``L̃ = I − 2P̃`` (:mod:`interestgraph.ops.spectral`)."""

    name = "cheby"
    expandable = True

    def __init__(self, order: int = 8, flatness: float = 1.5, beta: float = 0.4, **kwargs) -> None:
        super().__init__(**kwargs)
        check_positive_int("order", order)
        check_number("flatness", flatness, 0.0, low_open=True)
        check_number("beta", beta, 0.0, 1.0)
        self.order = order
        self.flatness = flatness
        self.beta = beta

    def _set_norm(self, norm: sp.csr_matrix, degree: np.ndarray) -> None:
        super()._set_norm(norm, degree)
        flatness = float(self.flatness)
        self.coefficients_ = chebyshev_coefficients(lambda x: plateau(x, flatness), int(self.order))
        self.pre_ = degree_power(degree, -float(self.beta))
        self.post_ = degree_power(degree, float(self.beta))

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        pre = self.pre_.astype(self.numpy_dtype)
        post = self.post_.astype(self.numpy_dtype)
        if history.shape[0] > SPARSE_BATCH:
            x = np.asarray(history.multiply(pre[None, :]).toarray())
            out = chebyshev_filter(self.norm_, self.norm_t_, self.coefficients_, np.ascontiguousarray(x.T)).T
            return out * post[None, :]
        # a few users: the first step L̃ y = y − 2 P̃ y through sparse × sparse products (y has the history's few
        # nonzeros), the K − 1 others as torch CSR products of the dense signals
        x = sp.csr_matrix(history.multiply(pre[None, :]), dtype=self.numpy_dtype)
        start = x.toarray()
        first = start - 2.0 * ((x @ self.norm_t_) @ self.norm_).toarray()
        if len(start) == 1:
            signal, first_step = torch.from_numpy(start[0]), torch.from_numpy(first[0])
        else:
            signal, first_step = torch.from_numpy(np.ascontiguousarray(start.T)), torch.from_numpy(first.T.copy())
        out = chebyshev_series(self._laplacian_few, self.coefficients_, signal, first_step)
        out = out[None, :] if out.dim() == 1 else out.T
        return out.numpy() * post[None, :]

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        # p(L̃) e_i in float64 (exact terms): the first step from P̃'s sparse column, the others as torch products
        unit = torch.zeros(self.n_items_, dtype=torch.float64)
        unit[column] = 1.0
        first = unit - 2.0 * torch.from_numpy(self._column(column))
        response = chebyshev_series(self._laplacian_few, self.coefficients_, unit, first).numpy()
        return self.pre_[rows] * response[rows] * self.post_[column]  # p(L̃) is symmetric


class _LowRank(ItemComponent):
    """A low-rank component kept as two ``(n_items, rank)`` factors, ``F = left · rightᵀ``: not expandable into walks.
    Subclasses set ``left_`` and ``right_`` in ``_fit``."""

    expandable = False

    def _set_factors(self, left: np.ndarray, right: np.ndarray) -> None:
        # copies: the singular vectors may be the SVD cache's own arrays
        self.left_ = torch.tensor(np.asarray(left), dtype=self.dtype)
        self.right_ = torch.tensor(np.asarray(right), dtype=self.dtype)

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        inner = np.asarray(history @ self.left_.numpy())  # (B, rank)
        if history.shape[0] > SPARSE_BATCH:
            return inner @ self.right_.numpy().T
        # a few users: torch's products (MKL, the thread pool of the other components' few-user route; numpy's
        # BLAS pool next to it made two threads contend), one matrix–vector product for one user
        if history.shape[0] == 1:
            return torch.mv(self.right_, torch.from_numpy(inner[0]))[None, :].numpy()
        return (torch.from_numpy(inner) @ self.right_.T).numpy()

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        return (self.left_[torch.from_numpy(rows)].double() @ self.right_[column].double()).numpy()

    def _tensors(self) -> dict[str, torch.Tensor]:
        return {"left": self.left_, "right": self.right_}

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        left, right = tensors["left"], tensors["right"]
        if left.dim() != 2:
            raise ValueError(f"{self.name}: tensor 'left' must be 2-D, got shape {tuple(left.shape)}")
        shape = (self.n_items_, int(left.shape[1]))
        self.left_ = self._check_shape("left", left, shape).to(self.dtype).contiguous()
        self.right_ = self._check_shape("right", right, shape).to(self.dtype).contiguous()


def _check_solver(solver: str, power_iterations: int) -> None:
    if not isinstance(power_iterations, int) or isinstance(power_iterations, bool) or power_iterations < 0:
        raise ValueError(f"power_iterations must be an integer >= 0, got {power_iterations!r}")
    if solver not in ("auto", "exact", "randomized"):
        raise ValueError(f"solver must be 'auto', 'exact' or 'randomized', got {solver!r}")


def _leading_pairs(
    data: ItemData, epsilon: float, rank: int, solver: str, power_iterations: int, seed: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(σ (k,), V (n_items, k), item degrees)``: the top-``rank`` singular values and right singular vectors of
    ``R̃_ε = D_u^-ε X D_i^-ε``, from an eigendecomposition of ``R̃_εᵀR̃_ε = D_i^-ε Xᵀ D_u^-2ε X D_i^-ε`` (its Gram
    from :meth:`ItemData.cooccurrence`) when ``solver`` is ``"exact"`` or ``"auto"`` up to
    :data:`EXACT_LOWPASS_ITEMS` items, else a seeded randomised SVD of :meth:`ItemData.normalised`'s ``R̃_ε``. Both
    solvers cap the rank at ``min(n_users, n_items) − 1`` and drop the directions of (numerically) zero singular
    value, which span nothing the data holds (an eigendecomposition of the Gram leaves them at ``σ ~ √(n·eps) σ_1``,
    hence the relative floor of 1e-6), so they give the same factors."""
    rank = min(rank, max(min(data.positives.shape) - 1, 1))
    norm, degree = data.normalised(epsilon)
    if solver == "exact" or (solver == "auto" and data.n_items <= EXACT_LOWPASS_ITEMS):
        scale = degree_power(degree, -epsilon)
        gram = data.cooccurrence(2.0 * epsilon).toarray()
        gram *= scale[:, None]
        gram *= scale[None, :]
        eigenvalues, vectors = torch.linalg.eigh(torch.from_numpy(gram))
        order = torch.argsort(eigenvalues, descending=True)[:rank]
        values, vectors = np.sqrt(np.clip(eigenvalues[order].numpy(), 0.0, None)), vectors[:, order].numpy()
    else:
        values, vectors = leading_right_singular_pairs(
            norm, rank, solver="randomized", power_iterations=power_iterations, seed=seed
        )
    kept = values > 1e-6 * values.max() if len(values) and values.max() > 0 else np.zeros(len(values), bool)
    return values[kept], vectors[:, kept], degree


class IdealLowPass(_LowRank):
    """GF-CF's ideal low-pass filter ``D_i^-β V_k V_kᵀ D_i^β`` (Shen et al. 2021: β = ½; ChebyCF's ideal pass uses
    its own β), ``V_k`` the top-``rank`` right
    singular vectors of ``R̃ = D_u^-½ X D_i^-½``: exact (the eigenvectors of ``R̃ᵀR̃``) up to
    :data:`EXACT_LOWPASS_ITEMS` items with ``solver="auto"``, a seeded randomised SVD above. A low-rank term: not
    expandable into walks. Kept as two ``(n_items, rank)`` factors. The randomised SVD's cost is mostly its
    ``power_iterations + 1`` orthonormalisations of an ``(n_items, 2·rank)`` block (Gowalla, rank 512: ~17 s each on
    one core), so the default takes 2 (GF-CF's baseline here takes 7)."""

    name = "lowpass"

    def __init__(
        self,
        rank: int = 64,
        solver: str = "auto",
        seed: int = 0,
        beta: float = 0.5,
        power_iterations: int = 2,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive_int("rank", rank)
        _check_solver(solver, power_iterations)
        check_number("beta", beta, 0.0, 1.0)
        self.power_iterations = power_iterations
        self.beta = beta
        self.rank = rank
        self.solver = solver
        self.seed = seed

    def _fit(self, data: ItemData) -> None:
        _, top, degree = _leading_pairs(data, 0.5, self.rank, self.solver, self.power_iterations, self.seed)
        beta = float(self.beta)
        self._set_factors(degree_power(degree, -beta)[:, None] * top, degree_power(degree, beta)[:, None] * top)


class SpectralLowPass(_LowRank):
    """A frequency-weighted low-pass in a generalised normalisation, after SGFCF (S. Peng, X. Liu, K. Sugiyama,
    T. Mine, "How Powerful is Graph Filtering for Recommendation", KDD 2024; without its individualised filter):

        F = D_i^-ε V_k diag(σ̂^q) V_kᵀ,

    ``V_k`` and ``σ`` the top-``rank`` right singular vectors and values of ``R̃_ε = D_u^-ε X D_i^-ε`` (its generalised
    normalisation with ε = ``epsilon``; ½ is GF-CF's), ``σ̂ = σ / σ_1`` and ``q`` = ``sharpness`` (0: the plain
    projection; > 0 weighs the lowest frequencies more). A user's row ``x`` maps to ``x D_i^-ε V_k diag(σ̂^q) V_kᵀ``,
    which is SGFCF's ``U_k diag(σ̂^(q+1)) V_kᵀ`` up to the user's own scale: unlike :class:`IdealLowPass` the output is
    not scaled back by ``D_i^β``, so popular items are not lifted. A low-rank term: not expandable into walks.
    Exact (an eigendecomposition of ``R̃_εᵀR̃_ε``) up to :data:`EXACT_LOWPASS_ITEMS` items with ``solver="auto"``, a
    seeded randomised SVD above."""

    name = "spectral"

    def __init__(
        self,
        rank: int = 256,
        epsilon: float = 0.3,
        sharpness: float = 0.0,
        solver: str = "auto",
        seed: int = 0,
        power_iterations: int = 2,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive_int("rank", rank)
        check_number("epsilon", epsilon, 0.0, 1.0)
        check_number("sharpness", sharpness, 0.0)
        _check_solver(solver, power_iterations)
        self.rank = rank
        self.epsilon = epsilon
        self.sharpness = sharpness
        self.solver = solver
        self.seed = seed
        self.power_iterations = power_iterations

    def _fit(self, data: ItemData) -> None:
        epsilon = float(self.epsilon)
        values, top, degree = _leading_pairs(data, epsilon, self.rank, self.solver, self.power_iterations, self.seed)
        weight = (values / values.max()) ** float(self.sharpness) if len(values) else values
        self._set_factors(degree_power(degree, -epsilon)[:, None] * top * weight[None, :], top)


class InterestPaths(ItemComponent):
    """Item → interest → item paths ``D_i^-a A D_v^-1 Aᵀ D_i^-a``, zero diagonal (an interest shared by many items
    counts less; ``exponent`` a damps items with many interests). Kept as the sparse ``D_i^-a A D_v^-½``."""

    name = "interest"
    expandable = True

    def __init__(self, exponent: float = 0.5, **kwargs) -> None:
        super().__init__(**kwargs)
        check_number("exponent", exponent, 0.0, 1.0)
        self.exponent = exponent

    def _fit(self, data: ItemData) -> None:
        if data.item_interest is None:
            raise ValueError("InterestPaths needs item_interest (the graph has no item-interest edges)")
        a = sp.csr_matrix(data.item_interest, dtype=np.float64)
        item_degree = np.asarray(a.sum(axis=1)).ravel()
        interest_degree = np.asarray(a.sum(axis=0)).ravel()
        half = sp.diags(degree_power(item_degree, -self.exponent)) @ a @ sp.diags(degree_power(interest_degree, -0.5))
        self._set_half(sp.csr_matrix(half))

    def _set_half(self, half: sp.csr_matrix) -> None:
        self.half_ = half  # (n_items, n_interests), F = half halfᵀ − diag
        self.half_t_ = sp.csr_matrix(half.T)
        self.diagonal_ = np.asarray(half.multiply(half).sum(axis=1)).ravel()

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        through = np.asarray((history @ self.half_).toarray(), dtype=self.numpy_dtype)  # (B, n_interests)
        out = np.asarray((self.half_ @ through.T).T, dtype=self.numpy_dtype)
        entries = history.tocoo()  # the zero diagonal: only the history's own entries change
        np.subtract.at(out, (entries.row, entries.col), entries.data * self.diagonal_[entries.col])
        return out

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        values = np.asarray((self.half_[rows] @ self.half_t_[:, [column]]).toarray()).ravel()
        values[rows == column] = 0.0
        return values

    def _tensors(self) -> dict[str, torch.Tensor]:
        return csr_tensors("half", self.half_)

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        half = csr_from_tensors("half", tensors)
        if half.shape[0] != self.n_items_:
            raise ValueError(f"{self.name}: 'half' has {half.shape[0]} items, expected {self.n_items_}")
        self._set_half(sp.csr_matrix(half, dtype=np.float64))


class _SparseItemMatrix(ItemComponent):
    """A component kept as one sparse ``(n_items, n_items)`` matrix ``matrix_`` (built by ``_fit``)."""

    def _apply(self, history: sp.csr_matrix) -> np.ndarray:
        return np.asarray((history @ self.matrix_).toarray())

    def _entries(self, rows: np.ndarray, column: int) -> np.ndarray:
        return np.asarray(self.matrix_[rows][:, [column]].toarray()).ravel()

    def _tensors(self) -> dict[str, torch.Tensor]:
        return csr_tensors("matrix", self.matrix_)

    def _load(self, tensors: dict[str, torch.Tensor]) -> None:
        matrix = csr_from_tensors("matrix", tensors)
        if matrix.shape != (self.n_items_, self.n_items_):
            raise ValueError(f"{self.name}: 'matrix' has shape {matrix.shape}, expected {(self.n_items_,) * 2}")
        self.matrix_ = sp.csr_matrix(matrix, dtype=np.float64)


class TextNeighbours(_SparseItemMatrix):
    """Cosine of the item text vectors, the ``k`` best per row kept (negatives dropped, zero diagonal); items
    without a vector (zero rows) have no neighbours. Kept as a sparse ``(n_items, n_items)`` matrix."""

    name = "text"
    expandable = True

    def __init__(self, k: int = 50, **kwargs) -> None:
        super().__init__(**kwargs)
        check_positive_int("k", k)
        self.k = k

    def _fit(self, data: ItemData) -> None:
        if data.item_vectors is None:
            raise ValueError("TextNeighbours needs item_vectors (the graph has no item text vectors)")
        vectors = torch.as_tensor(data.item_vectors, dtype=torch.float32)
        n = data.n_items
        if len(vectors) != n:
            raise ValueError(f"TextNeighbours: {len(vectors)} item vectors for {n} items")
        k = min(self.k, max(n - 1, 1))
        index, score = cosine_topk(vectors, k, candidate_dtype=None, show_progress=False)
        keep = (index >= 0) & (score > 0)
        rows = torch.arange(n)[:, None].expand_as(index)[keep].numpy()
        self.matrix_ = sp.csr_matrix(
            (score[keep].double().numpy(), (rows, index[keep].numpy())), shape=(n, n), dtype=np.float64
        )


class Transitions(_SparseItemMatrix):
    """What users take next: ``T[j, i]`` sums, over the users, ``decay ** (g - 1)`` for every ``i`` that comes ``g``
    positives after ``j`` in their training sequence (time order, ties by item code), ``g ≤ window``; kept as the
    sparse ``D_out^-a T D_in^-b`` (``a`` = ``source_exponent`` damps items followed by many, ``b`` =
    ``target_exponent`` popular successors). Directed: ``T`` is not symmetric, so with a recency-weighted first
    step the items that follow a user's latest ones score most. Its cost grows with ``window ×`` the positives.

    Raises (``fit``): ValueError when the data carry no times, or every time is the same (no order to follow).
    """

    name = "transition"
    expandable = True

    def __init__(
        self,
        window: int = 10,
        decay: float = 0.8,
        source_exponent: float = 0.5,
        target_exponent: float = 0.25,
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        check_positive_int("window", window)
        check_number("decay", decay, 0.0, 1.0, low_open=True)
        check_number("source_exponent", source_exponent, 0.0, 1.0)
        check_number("target_exponent", target_exponent, 0.0, 1.0)
        self.window, self.decay = window, decay
        self.source_exponent, self.target_exponent = source_exponent, target_exponent

    def _fit(self, data: ItemData) -> None:
        if data.times is None:
            raise ValueError("Transitions needs the positives' times (the order of each user's sequence)")
        times = data.times  # the pattern of the positives (ItemData's contract)
        if times.nnz and not has_order(times):
            raise ValueError("Transitions: every positive has the same time, so the sequences have no order")
        counts = data.transition_counts(self.window, self.decay)
        out_degree = np.asarray(counts.sum(axis=1)).ravel()
        in_degree = np.asarray(counts.sum(axis=0)).ravel()
        self.matrix_ = sp.csr_matrix(
            sp.diags(degree_power(out_degree, -self.source_exponent))
            @ counts
            @ sp.diags(degree_power(in_degree, -self.target_exponent))
        )


#: component name → class, in the model's order
COMPONENTS: dict[str, type[ItemComponent]] = {
    cls.name: cls
    for cls in (
        RidgeCooccurrence,
        LinearFilter,
        SquaredFilter,
        ChebyshevFilter,
        IdealLowPass,
        SpectralLowPass,
        InterestPaths,
        TextNeighbours,
        Transitions,
    )
}
