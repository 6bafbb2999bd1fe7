"""EASE: the closed-form item–item ridge regression of Steck (2019).

H. Steck, "Embarrassingly Shallow Autoencoders for Sparse Data", WWW 2019.
With ``X`` the ``(n_users, n_items)`` 0/1 matrix of training positives, EASE
solves

    min_B ‖X − X B‖²_F + λ ‖B‖²_F   subject to   diag(B) = 0,

whose solution is, with ``G = XᵀX + λI`` and ``P = G⁻¹``,

    B = I − P · diag(1 / diag(P))      (so B[i, j] = −P[i, j] / P[j, j] off the diagonal, 0 on it),

and ``score(u, ·) = X[u] B``. Only items with a training positive enter the
regression (the others have a zero column in ``X``, so their row and column of
``B`` are zero; they score 0).

``B`` is dense: the fit holds about three ``n × n`` matrices (``G``, its
Cholesky factor, the inverse) for the ``n`` items with a training positive, so
memory grows with ``n²`` and time with ``n³``. In float32 one matrix is
``4 n²`` bytes: ml-latest-small (~9k items) 0.3 GB, Gowalla's 40,981 items
6.7 GB (about 20 GB at peak), a 100k-item catalogue 40 GB. ``max_memory_gb``
stops the fit before it allocates when the estimate is larger.
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp
import torch

from ..data.splits import Split
from .fitted import FittedIds

#: matrices of ``n × n`` held at once during the fit (Gram matrix, Cholesky factor, inverse)
MATRICES_AT_PEAK = 3


def ease_memory_gb(n_items: int, dtype: str = "float32") -> float:
    """Estimated peak memory (GB, 1e9 bytes) of an EASE fit over ``n_items`` items."""
    width = 4 if dtype == "float32" else 8
    return MATRICES_AT_PEAK * width * float(n_items) ** 2 / 1e9


class EASE(FittedIds):
    """Embarrassingly shallow autoencoder (see the module docstring).

    Args:
        l2: the ridge penalty λ (> 0).
        max_memory_gb: refuse to fit when the estimated peak (three ``n × n`` matrices) exceeds it.
        dtype: ``"float32"`` (default) or ``"float64"``.

    Attributes:
        weights_: ``(n_active, n_active)`` float tensor ``B`` over the items with a training positive (zero diagonal).
        active_: ``(n_active,)`` int64 item codes of those items.
        train_: ``(n_users, n_items)`` CSR of training positives (the ``seen`` matrix).
    """

    seen_attribute = "train_"  # the training positives (FittedIds.seen)

    def __init__(self, l2: float = 500.0, max_memory_gb: float = 8.0, dtype: str = "float32"):
        self.l2 = l2
        self.max_memory_gb = max_memory_gb
        self.dtype = dtype

    def _check(self) -> None:
        for name in ("l2", "max_memory_gb"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or isinstance(value, bool) or not np.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        if self.dtype not in ("float32", "float64"):
            raise ValueError(f"dtype must be 'float32' or 'float64', got {self.dtype!r}")

    def fit(self, split: Split) -> EASE:
        """Solve the ridge regression on the training positives.

        Raises:
            MemoryError: the estimated peak memory exceeds ``max_memory_gb`` (nothing is allocated).
        """
        self._check()
        train = split.positive_matrix("train")
        active = np.flatnonzero(np.asarray(train.sum(axis=0)).ravel() > 0)
        needed = ease_memory_gb(len(active), self.dtype)
        if needed > self.max_memory_gb:
            raise MemoryError(
                f"EASE over {len(active):,} items with a training positive needs about {needed:.1f} GB "
                f"({MATRICES_AT_PEAK} dense {len(active):,} x {len(active):,} {self.dtype} matrices), more than "
                f"max_memory_gb={self.max_memory_gb:g}; one matrix is {needed / MATRICES_AT_PEAK:.1f} GB. "
                "Raise max_memory_gb if the machine has it, or use a sparse model (GFCF, ChebyCF, ItemKNN)"
            )
        dtype = torch.float32 if self.dtype == "float32" else torch.float64
        x = sp.csc_matrix(train)[:, active]
        gram = torch.from_numpy((x.T @ x).toarray()).to(dtype)  # (n, n)
        gram.diagonal().add_(float(self.l2))
        factor = torch.linalg.cholesky(gram)
        del gram
        inverse = torch.cholesky_inverse(factor)  # P = G⁻¹, symmetric
        del factor
        inverse.div_(-inverse.diagonal().clone().unsqueeze(0))  # B[i, j] = −P[i, j] / P[j, j]
        inverse.diagonal().zero_()
        self.weights_ = inverse
        self.active_ = active
        self.train_ = train
        self.user_ids_, self.item_ids_ = split.log.user_ids, split.log.item_ids
        return self

    def _fitted(self):
        if not hasattr(self, "weights_"):
            raise RuntimeError("EASE is not fitted; call fit(split) first")
        return self

    def score(self, users: np.ndarray) -> torch.Tensor:
        """``(len(users), n_items)`` float32 ``X[u] B`` (training items are scored too; the harness masks them)."""
        self._fitted()
        users = np.asarray(users, dtype=np.int64)
        rows = sp.csr_matrix(self.train_[users][:, self.active_])
        weights = self.weights_.numpy()
        out = np.zeros((len(users), self.train_.shape[1]), dtype=np.float32)
        out[:, self.active_] = np.asarray(rows.astype(weights.dtype) @ weights, dtype=np.float32)
        return torch.from_numpy(out)
