"""Spectral helpers of the normalised user–item matrix, shared by the graph filters (:mod:`interestgraph.baselines`)
and the item–item path model's components (:mod:`interestgraph.paths.components`).

``R̃ = D_U^{-1/2} R D_I^{-1/2}`` (:func:`normalised_matrix`), its leading right singular vectors
(:func:`leading_right_singular_vectors`: a seeded randomised SVD, Halko, Martinsson & Tropp 2011, or ARPACK; the last
:data:`BASIS_CACHE_SIZE` bases are cached under the matrix's content and the settings so a validation sweep computes
each once), and Chebyshev interpolation of a transfer function on the rescaled Laplacian ``L̃ = I − 2 R̃ᵀR̃``
(:func:`chebyshev_coefficients`, :func:`plateau`, :func:`chebyshev_filter`; :func:`chebyshev_series` is the same
recurrence on torch tensors for a few signals, over :func:`torch_csr` operators).
"""

from __future__ import annotations

import hashlib
import math
import warnings
from collections.abc import Callable

import numpy as np
import scipy.sparse as sp
import torch
from scipy.sparse.linalg import svds

SVD_SOLVERS = ("randomized", "arpack")

#: bases kept (the last two computed: a baseline's sweep and refit, or the two low-rank components of one fit)
BASIS_CACHE_SIZE = 2
_BASIS_CACHE: dict[tuple, tuple[np.ndarray, np.ndarray]] = {}


def normalised_matrix(train: sp.spmatrix, exponent: float = 0.5) -> tuple[sp.csr_matrix, np.ndarray]:
    """``(R̃, d_I)``: ``D_U^-ε R D_I^-ε`` as float64 CSR (ε = ``exponent``; ½ is the symmetric normalisation of GF-CF and
    ChebyCF, SGFCF's generalised normalisation tunes it) and the item degrees ``(n_items,)`` (float64)."""
    train = sp.csr_matrix(train, dtype=np.float64)
    user_degree = np.asarray(train.sum(axis=1)).ravel()
    item_degree = np.asarray(train.sum(axis=0)).ravel()
    if exponent == 0.5:  # 1/√d exactly as before the exponent was a setting (the same bits, the same figures)
        du = np.where(user_degree > 0, 1.0 / np.sqrt(np.maximum(user_degree, 1e-300)), 0.0)
        di = np.where(item_degree > 0, 1.0 / np.sqrt(np.maximum(item_degree, 1e-300)), 0.0)
    else:
        du = degree_power(user_degree, -float(exponent))
        di = degree_power(item_degree, -float(exponent))
    return sp.csr_matrix(sp.diags(du) @ train @ sp.diags(di)), item_degree


def degree_power(degree: np.ndarray, power: float) -> np.ndarray:
    """``degree ** power`` with 0 where the degree is 0 (for any sign of ``power``)."""
    return np.where(degree > 0, np.maximum(degree, 1e-300) ** power, 0.0)


def leading_right_singular_vectors(
    matrix: sp.csr_matrix, k: int, *, solver: str = "randomized", power_iterations: int = 7, seed: int = 0
) -> np.ndarray:
    """``(n_cols, k)`` float64 orthonormal columns spanning the ``k`` leading right singular vectors of ``matrix``
    (the vectors of :func:`leading_right_singular_pairs`)."""
    return leading_right_singular_pairs(matrix, k, solver=solver, power_iterations=power_iterations, seed=seed)[1]


def leading_right_singular_pairs(
    matrix: sp.csr_matrix, k: int, *, solver: str = "randomized", power_iterations: int = 7, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """``(values (k,), vectors (n_cols, k))``: the ``k`` leading singular values of ``matrix`` and its right singular
    vectors in the same order (descending from the randomised SVD, ascending from ARPACK), float64. The cached arrays
    are shared: copy before writing to them.

    ``k`` is capped at ``min(matrix.shape) − 1`` (ARPACK's limit). The last
    :data:`BASIS_CACHE_SIZE` results are cached under the matrix's content and these settings.
    """
    k = int(min(k, min(matrix.shape) - 1))
    if k < 1:
        raise ValueError(f"the matrix {matrix.shape} is too small for a rank-{k} ideal low-pass")
    digest = hashlib.sha256()
    for part in (matrix.indptr, matrix.indices, matrix.data):
        digest.update(np.ascontiguousarray(part).tobytes())
    key = (matrix.shape, digest.hexdigest(), k, solver, int(power_iterations), int(seed))
    if key in _BASIS_CACHE:
        return _BASIS_CACHE[key]
    if solver == "arpack":
        rng = np.random.default_rng(seed)
        _, values, vt = svds(matrix, k=k, which="LM", v0=rng.standard_normal(min(matrix.shape)))
        pair = (np.ascontiguousarray(values), np.ascontiguousarray(vt.T))  # ARPACK's order: ascending
    elif solver == "randomized":
        pair = randomized_pairs(matrix, k, power_iterations, seed)
    else:
        raise ValueError(f"svd must be one of {SVD_SOLVERS}, got {solver!r}")
    while len(_BASIS_CACHE) >= BASIS_CACHE_SIZE:
        del _BASIS_CACHE[next(iter(_BASIS_CACHE))]  # the oldest entry
    _BASIS_CACHE[key] = pair
    return pair


def randomized_pairs(matrix: sp.csr_matrix, k: int, power_iterations: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Halko–Martinsson–Tropp randomised range finder on ``Mᵀ`` with subspace iterations, then an exact SVD of the
    small projected matrix; returns the top-``k`` singular values ``(k,)`` and right singular vectors
    ``(n_cols, k)``."""
    n_cols = matrix.shape[1]
    width = min(2 * k, min(matrix.shape))
    rng = np.random.default_rng(seed)
    transposed = sp.csr_matrix(matrix.T)
    q = np.linalg.qr(transposed @ (matrix @ rng.standard_normal((n_cols, width))))[0]  # (n_cols, width)
    for _ in range(power_iterations):
        q = np.linalg.qr(transposed @ (matrix @ q))[0]
    small = np.asarray(matrix @ q)  # (n_rows, width): M ≈ M Q Qᵀ
    _, values, vt = np.linalg.svd(small, full_matrices=False)
    return np.ascontiguousarray(values[:k]), np.ascontiguousarray(q @ vt[:k].T)


def plateau(x: np.ndarray, flatness: float) -> np.ndarray:
    """ChebyCF's target transfer function ``h(λ̃) = ½ − ½ sign(λ̃) |λ̃|^φ`` on ``[−1, 1]``."""
    x = np.asarray(x, dtype=np.float64)
    return 0.5 - 0.5 * np.sign(x) * np.abs(x) ** float(flatness)


def chebyshev_coefficients(function, order: int) -> np.ndarray:
    """``(order + 1,)`` coefficients ``c_k`` of the degree-``order`` Chebyshev interpolant of ``function`` on
    ``[−1, 1]`` at the Chebyshev nodes ``cos((j + ½) π / (order + 1))``: ``p(x) = Σ_k c_k T_k(x)``."""
    n = order + 1
    nodes = np.cos((np.arange(n) + 0.5) * math.pi / n)
    values = function(nodes)
    k = np.arange(n)
    basis = np.cos(np.outer(k, np.arccos(nodes)))  # T_k(x_j)
    coefficients = (2.0 / n) * basis @ values
    coefficients[0] /= 2.0
    return coefficients


def chebyshev_filter(
    norm: sp.csr_matrix, norm_t: sp.csr_matrix, coefficients: np.ndarray, columns: np.ndarray
) -> np.ndarray:
    """``Σ_k c_k T_k(L̃) y`` for a ``(n_items, B)`` block of column signals ``y``, ``L̃ y = y − 2 R̃ᵀ(R̃ y)``
    (``norm`` = ``R̃``, ``norm_t`` = ``R̃ᵀ`` as CSR, both in the signals' dtype; the three-term recurrence)."""
    c = [float(v) for v in coefficients]

    def laplacian(y: np.ndarray) -> np.ndarray:
        return y - 2.0 * (norm_t @ (norm @ y))

    previous = columns
    out = c[0] * previous
    if len(c) > 1:
        current = laplacian(previous)
        out = out + c[1] * current
        for k in range(2, len(c)):
            previous, current = current, 2.0 * laplacian(current) - previous
            out = out + c[k] * current
    return out


def torch_csr(matrix: sp.spmatrix) -> torch.Tensor:
    """``matrix`` as a CPU ``torch.sparse_csr_tensor`` (same shape and dtype) with int32 indices where they fit,
    sharing the CSR's arrays when their dtypes already match.

    int32 matters: on CPU torch hands int32 CSR matrix–vector products to MKL; with int64 indices they are several
    times slower (measured in benchmarks/README.md, one-user latency of the item-path model)."""
    m = sp.csr_matrix(matrix)
    index = np.int32 if max(m.nnz, *m.shape) < 2**31 else np.int64
    with warnings.catch_warnings():  # "sparse CSR support is in beta": the products used here are stable
        warnings.simplefilter("ignore", UserWarning)
        return torch.sparse_csr_tensor(
            torch.from_numpy(m.indptr.astype(index, copy=False)),
            torch.from_numpy(m.indices.astype(index, copy=False)),
            torch.from_numpy(m.data),
            size=m.shape,
            check_invariants=False,
        )


def chebyshev_series(
    laplacian: Callable[[torch.Tensor], torch.Tensor],
    coefficients: np.ndarray,
    start: torch.Tensor,
    first: torch.Tensor | None = None,
) -> torch.Tensor:
    """``Σ_k c_k T_k(L̃) y`` for an ``(n,)`` or ``(n, B)`` torch signal ``y = start``: :func:`chebyshev_filter`'s
    three-term recurrence, written for a few signals (no copies beyond one new vector per step).

    Args:
        laplacian: ``y ↦ L̃ y`` on tensors shaped like ``start``; returns a new tensor.
        coefficients: ``(K + 1,)`` Chebyshev coefficients.
        start: the signal ``y`` (not modified).
        first: ``L̃ y`` when the caller has it already (from a cheaper product); None computes it.
    """
    c = [float(v) for v in coefficients]
    out = start * c[0]
    if len(c) == 1:
        return out
    previous = start
    current = laplacian(start) if first is None else first
    out.add_(current, alpha=c[1])
    for k in range(2, len(c)):
        following = laplacian(current).mul_(2.0).sub_(previous)  # T_k = 2 L̃ T_{k-1} − T_{k-2}
        previous, current = current, following
        out.add_(current, alpha=c[k])
    return out
