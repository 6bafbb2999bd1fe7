"""Training-free graph filters on the normalised item–item graph: GF-CF and ChebyCF.

Both start from the ``(n_users, n_items)`` 0/1 matrix ``R`` of training
positives, its degree matrices ``D_U`` (items per user) and ``D_I`` (users per
item), the normalised matrix

    R̃ = D_U^{-1/2} R D_I^{-1/2}           (zero rows/columns for zero degrees)

and the normalised item–item graph ``P̃ = R̃ᵀR̃``, whose eigenvalues lie in
``[0, 1]`` (its Laplacian ``L = I − P̃``). A user's score row is a filter of
the user's training row ``r_u``:

* :class:`GFCF` (Y. Shen, Y. Wu, Y. Zhang, C. Shan, J. Zhang, K. B. Letaief,
  D. Li, "How Powerful is Graph Convolution for Recommendation?", CIKM 2021):
  a linear filter plus an ideal low-pass,

      s_u = r_u P̃ + α · r_u D_I^{-1/2} V Vᵀ D_I^{1/2},

  with ``V`` the ``k`` leading right singular vectors of ``R̃`` (the ``k``
  lowest frequencies of ``L``). The authors' code uses ``k = 256`` and
  ``α = 0.3`` on Gowalla.
* :class:`ChebyCF` (C. Kim, J. Chae, J. Jung, S. Kang, "Graph Spectral
  Filtering with Chebyshev Interpolation for Recommendation", SIGIR 2025): a
  degree-``K`` Chebyshev interpolation of a plateau-shaped low-pass on the
  rescaled Laplacian ``L̃ = 2L − I = I − 2P̃`` (spectrum in ``[−1, 1]``), plus
  the ideal pass of GF-CF, between degree normalisations of power ``β``:

      x   = r_u D_I^{-β}
      s_u = ( Σ_{k=0..K} c_k T_k(L̃) x  +  α · x V Vᵀ ) D_I^{β}

  where ``T_k`` are Chebyshev polynomials (``T_0 = I``, ``T_1 = L̃``,
  ``T_{k+1} = 2 L̃ T_k − T_{k−1}``) applied to the row vector ``x``, ``V`` the
  ``η`` leading right singular vectors of ``R̃``, and ``c_k`` the Chebyshev
  interpolation coefficients of the target transfer function

      h(λ̃) = ½ − ½ · sign(λ̃) · |λ̃|^φ          (λ̃ ∈ [−1, 1]; h(−1) = 1 passes the lowest frequency),

  a low-pass whose flatness ``φ`` widens the pass and stop plateaus:
  ``c_k = (2 − [k = 0]) / (K + 1) · Σ_{j=0..K} h(x_j) T_k(x_j)`` at the
  Chebyshev nodes ``x_j = cos((j + ½) π / (K + 1))``. As ``K`` grows the
  polynomial converges to ``h(L̃)`` (the exact spectral filter; checked in the
  tests). The authors' code (github.com/chanwoo0806/ChebyCF) evaluates ``h``
  at the Chebyshev–Lobatto points ``cos((K − j) π / K)`` rather than at the
  nodes; here ``h`` is sampled at the nodes, as interpolation is defined. Its
  Gowalla setting is ``K = 8``, ``φ = 1.5``, ``η = 512``, ``α = 0.2``, ``β = 0.4``.

Scores never form a dense ``n_items × n_items`` matrix: GF-CF keeps ``P̃``
sparse (``nnz ≤ Σ_u d_u²``); ChebyCF applies ``L̃`` to a batch of dense rows as
``x − 2 (x R̃ᵀ) R̃`` (``2 nnz(R)`` multiply-adds per user per order), so memory is
``batch × (n_users + n_items)`` plus ``n_items × η`` for ``V``.

The leading singular vectors come from a seeded randomised SVD (Halko,
Martinsson & Tropp 2011; ``power_iterations`` subspace iterations with QR
re-orthonormalisation, ``k`` extra columns of oversampling) or from ARPACK
(``svd="arpack"``, exact to tolerance, slower). The last basis computed is
kept (the last two, keyed by the training matrix and the SVD settings) so a
validation sweep over ``α``, ``β``, ``φ`` or ``K`` computes it once.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..data.splits import Split
from ..ops.spectral import (
    SVD_SOLVERS,
    chebyshev_coefficients,
    chebyshev_filter,
    degree_power,
    leading_right_singular_vectors,
    normalised_matrix,
    plateau,
)
from .fitted import FittedIds

__all__ = [
    "GFCF",
    "SVD_SOLVERS",
    "ChebyCF",
    "chebyshev_coefficients",
    "degree_power",
    "leading_right_singular_vectors",
    "normalised_matrix",
    "plateau",
]


class _GraphFilter(FittedIds):
    """Shared fitted state and contract properties of the filters."""

    seen_attribute = "train_"  # the training positives (FittedIds.seen)

    def _fit_common(self, split: Split) -> None:
        train = split.positive_matrix("train")
        self.train_ = train
        self.norm_, self.item_degree_ = normalised_matrix(train)
        self.user_ids_, self.item_ids_ = split.log.user_ids, split.log.item_ids

    def _fitted(self):
        if not hasattr(self, "norm_"):
            raise RuntimeError(f"{type(self).__name__} is not fitted; call fit(split) first")
        return self


def _check_number(name: str, value, *, minimum: float = 0.0, strict: bool = False) -> None:
    if (
        not isinstance(value, (int, float, np.integer, np.floating))
        or isinstance(value, bool)
        or not np.isfinite(value)
        or (value <= minimum if strict else value < minimum)
    ):
        raise ValueError(f"{name} must be a number {'>' if strict else '>='} {minimum:g}, got {value!r}")


def _check_int(name: str, value, minimum: int) -> None:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")


class GFCF(_GraphFilter):
    """GF-CF: linear filter ``P̃`` plus ``α`` times an ideal low-pass of rank ``k`` (see the module docstring).

    Args:
        alpha: weight of the ideal low-pass (0 keeps the linear filter only).
        k: rank of the ideal low-pass (leading right singular vectors of ``R̃``).
        svd: ``"randomized"`` (default) or ``"arpack"``.
        power_iterations: subspace iterations of the randomised SVD.
        seed: seed of the SVD's random start.

    Attributes:
        train_: ``(n_users, n_items)`` CSR of training positives (the ``seen`` matrix).
        norm_: ``R̃``, float64 CSR. item_degree_: ``(n_items,)`` users per item.
        item_graph_: ``P̃ = R̃ᵀR̃``, float32 CSR ``(n_items, n_items)``.
        basis_: ``(n_items, k)`` float32 ``V`` (None when ``alpha == 0``).
    """

    def __init__(
        self, alpha: float = 0.3, k: int = 256, svd: str = "randomized", power_iterations: int = 7, seed: int = 0
    ):
        self.alpha = alpha
        self.k = k
        self.svd = svd
        self.power_iterations = power_iterations
        self.seed = seed

    def fit(self, split: Split) -> GFCF:
        """Build ``P̃`` and, when ``alpha > 0``, the rank-``k`` ideal low-pass basis."""
        _check_number("alpha", self.alpha)
        _check_int("k", self.k, 1)
        _check_int("power_iterations", self.power_iterations, 0)
        if self.svd not in SVD_SOLVERS:
            raise ValueError(f"svd must be one of {SVD_SOLVERS}, got {self.svd!r}")
        self._fit_common(split)
        self.item_graph_ = sp.csr_matrix(self.norm_.T @ self.norm_, dtype=np.float32)
        self.basis_ = None
        if self.alpha > 0:
            basis = leading_right_singular_vectors(
                self.norm_, self.k, solver=self.svd, power_iterations=self.power_iterations, seed=self.seed
            )
            self.basis_ = basis.astype(np.float32)
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 ``r_u P̃ + α r_u D_I^{-1/2} V Vᵀ D_I^{1/2}`` (training items included)."""
        self._fitted()
        rows = sp.csr_matrix(self.train_[np.asarray(users, dtype=np.int64)], dtype=np.float32)
        out = np.asarray((rows @ self.item_graph_).toarray(), dtype=np.float32)
        if self.basis_ is not None:
            pre = rows.multiply(degree_power(self.item_degree_, -0.5)[None, :].astype(np.float32)).tocsr()
            ideal = (pre @ self.basis_) @ self.basis_.T
            out += float(self.alpha) * ideal * degree_power(self.item_degree_, 0.5).astype(np.float32)[None, :]
        return torch.from_numpy(out)


class ChebyCF(_GraphFilter):
    """ChebyCF: Chebyshev-interpolated plateau low-pass plus an ideal pass, degree-normalised
    (see the module docstring; Kim et al., SIGIR 2025).

    Args:
        order: Chebyshev degree ``K``.
        flatness: plateau exponent ``φ`` of the target transfer function (> 0).
        ideal_rank: ``η``, rank of the ideal pass (0 turns it off).
        alpha: weight of the ideal pass (0 turns it off).
        beta: degree-normalisation power ``β`` (0 turns it off).
        svd, power_iterations, seed: the ideal pass's SVD (as :class:`GFCF`).

    Attributes:
        train_: ``(n_users, n_items)`` CSR of training positives (the ``seen`` matrix).
        norm_: ``R̃``, float64 CSR; item_degree_: ``(n_items,)`` users per item.
        coefficients_: ``(order + 1,)`` Chebyshev coefficients ``c_k``.
        basis_: ``(n_items, η)`` float32 ``V`` (None when the ideal pass is off).
    """

    def __init__(
        self,
        order: int = 8,
        flatness: float = 1.5,
        ideal_rank: int = 256,
        alpha: float = 0.2,
        beta: float = 0.4,
        svd: str = "randomized",
        power_iterations: int = 7,
        seed: int = 0,
    ):
        self.order = order
        self.flatness = flatness
        self.ideal_rank = ideal_rank
        self.alpha = alpha
        self.beta = beta
        self.svd = svd
        self.power_iterations = power_iterations
        self.seed = seed

    def fit(self, split: Split) -> ChebyCF:
        """Build ``R̃``, the interpolation coefficients and, when on, the ideal-pass basis."""
        _check_int("order", self.order, 0)
        _check_number("flatness", self.flatness, strict=True)
        _check_int("ideal_rank", self.ideal_rank, 0)
        _check_number("alpha", self.alpha)
        _check_number("beta", self.beta)
        _check_int("power_iterations", self.power_iterations, 0)
        if self.svd not in SVD_SOLVERS:
            raise ValueError(f"svd must be one of {SVD_SOLVERS}, got {self.svd!r}")
        self._fit_common(split)
        flatness = float(self.flatness)
        self.coefficients_ = chebyshev_coefficients(lambda x: plateau(x, flatness), int(self.order))
        self.basis_ = None
        if self.ideal_rank > 0 and self.alpha > 0:
            basis = leading_right_singular_vectors(
                self.norm_, self.ideal_rank, solver=self.svd, power_iterations=self.power_iterations, seed=self.seed
            )
            self.basis_ = basis.astype(np.float32)
        self._norm32 = sp.csr_matrix(self.norm_, dtype=np.float32)
        self._norm32_t = sp.csr_matrix(self._norm32.T)
        self._pre = degree_power(self.item_degree_, -float(self.beta)).astype(np.float32)
        self._post = degree_power(self.item_degree_, float(self.beta)).astype(np.float32)
        return self

    def polynomial(self, x: np.ndarray) -> np.ndarray:
        """``Σ_k c_k T_k(L̃)`` applied to the rows of ``x`` ``(B, n_items)`` (the three-term recurrence)."""
        columns = np.ascontiguousarray(x.T)  # (n_items, B): sparse @ dense runs on contiguous columns
        return chebyshev_filter(self._norm32, self._norm32_t, self.coefficients_, columns).T

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 ChebyCF scores (training items included; the harness masks them)."""
        self._fitted()
        rows = np.asarray(self.train_[np.asarray(users, dtype=np.int64)].toarray(), dtype=np.float32)
        x = rows * self._pre[None, :] if self.beta > 0 else rows
        out = self.polynomial(x)
        if self.basis_ is not None:
            out = out + float(self.alpha) * ((x @ self.basis_) @ self.basis_.T)
        if self.beta > 0:
            out = out * self._post[None, :]
        return torch.from_numpy(np.ascontiguousarray(out, dtype=np.float32))
