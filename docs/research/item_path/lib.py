"""Prototype: closed-form item-item path model s(u,i) = sum_j r(u,j) sum_c theta_c F_c[j,i] (ml-latest-small)."""
from __future__ import annotations
import os, time
from functools import lru_cache
from pathlib import Path
import numpy as np, scipy.sparse as sp, torch
from interestgraph.data.formats import load_source
from interestgraph.data.protocols import split_log
from interestgraph.evaluate import evaluate, compare

C = Path("/work/proto/cache")
torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
CONFIGS = {"n": 0}  # every configuration scored on validation is counted here


@lru_cache(1)
def movielens():
    return load_source("/work/shared/datasets/ml-latest-small", "movielens").log


class Data:
    """One split: X (users x active items, 0/1 train positives), item-interest B, text vectors, recency ranks."""

    def __init__(self, proto: str, seed: int, history_parts: tuple[str, ...] = ("train",)):
        """history_parts: the parts whose positives form r(u, .) when scoring (components always use train only);
        ("train", "valid") folds the validation part in as history when test is scored."""
        self.proto, self.seed = proto, seed
        self.split = split_log(movielens(), proto, seed=seed)
        log = self.split.log
        self.n_users, self.n_items = log.n_users, log.n_items
        Xfull = self.split.positive_matrix("train").tocsr().astype(np.float32)
        cold = np.zeros(self.n_items, bool)
        if len(self.split.cold_items):
            cold[log.item_ids.get_indexer(self.split.cold_items)] = True
        self.active = np.flatnonzero((np.asarray(Xfull.sum(0)).ravel() > 0) | cold)
        self.cold = cold[self.active]
        self.X = Xfull[:, self.active].tocsr()
        self.X.data[:] = 1.0
        self.Xt = torch.from_numpy(self.X.toarray())
        Bi = sp.load_npz(C / f"{proto}_{seed}_ii.npz").tocsr()[self.active]
        self.B = Bi[:, np.flatnonzero(np.asarray(Bi.sum(0)).ravel() > 0)].tocsr().astype(np.float32)
        self.V = np.load(C / "item_vectors.npy")[self.active]
        # recency rank of each training pair within its user: 0 = most recent
        import pandas as pd
        tr = pd.concat([self.split.positive_pairs(p) for p in history_parts], ignore_index=True)
        u = log.user_ids.get_indexer(tr["user_id"])
        col = np.full(self.n_items, -1)
        col[self.active] = np.arange(len(self.active))
        j = col[log.item_ids.get_indexer(tr["item_id"])]
        keep = j >= 0  # history items with no training positive have no row in any component
        u, j, tr = u[keep], j[keep], tr[keep]
        ts = tr["timestamp"].to_numpy().astype(np.int64) if "timestamp" in tr else np.zeros(len(tr), np.int64)
        order = np.lexsort((-ts, u))
        rank = np.empty(len(u), np.int64)
        starts = np.r_[0, np.flatnonzero(np.diff(u[order])) + 1]
        counts = np.diff(np.r_[starts, len(u)])
        rank[order] = np.arange(len(u)) - np.repeat(starts, counts)
        self.rank = sp.csr_matrix((rank.astype(np.float32) + 1.0, (u, j)), shape=self.X.shape)  # +1 to keep rank 0
        self.Hu = torch.from_numpy((self.rank > 0).astype(np.float32).toarray())  # uniform history over history_parts

    def history(self, half_life: float | None) -> torch.Tensor:
        """r(u, j) dense (n_users, n_active): 1 on training items, or 0.5**(rank/h) (rank 0 = most recent)."""
        if half_life is None:
            return self.Hu
        R = self.rank.copy()
        R.data = (0.5 ** ((R.data - 1.0) / half_life)).astype(np.float32)
        return torch.from_numpy(R.toarray())


# ---------------------------------------------------------------- components (dense n_a x n_a float32 torch)
def gram(d: Data) -> torch.Tensor:
    return d.Xt.T.double() @ d.Xt.double()


def ease(G: torch.Tensor, lam: float, drop: float = 0.0) -> torch.Tensor:
    """EASE (Steck 2019); drop>0: EDLAE-style diagonal penalty lam + drop/(1-drop)*G_jj."""
    A = G.clone()
    diag = torch.diagonal(A)
    pen = lam + (drop / (1 - drop)) * diag if drop > 0 else torch.full_like(diag, lam)
    A[range(len(A)), range(len(A))] += pen
    P = torch.linalg.inv(A)
    Bm = -P / torch.diagonal(P)[None, :]
    Bm.fill_diagonal_(0.0)
    return Bm.float()


def norm_cooc(d: Data) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """GF-CF linear filter R~ᵀR~ with R~ = D_u^-1/2 X D_i^-1/2; returns (P~, R~, d_i^-1/2)."""
    du = d.Xt.sum(1).clamp(min=1)
    di = d.Xt.sum(0)
    di_is = torch.where(di > 0, di.clamp(min=1).rsqrt(), torch.zeros_like(di))
    Rn = d.Xt * du.rsqrt()[:, None] * di_is[None, :]
    return Rn.T @ Rn, Rn, di_is


def ideal_lowpass(Rn: torch.Tensor, di_is: torch.Tensor, k: int) -> torch.Tensor:
    """GF-CF ideal low-pass D^-1/2 V_k V_kᵀ D^1/2 (V: top-k right singular vectors of R~)."""
    _, _, Vh = torch.linalg.svd(Rn.double(), full_matrices=False)
    V = Vh[:k].T.float()
    di_s = torch.where(di_is > 0, 1.0 / di_is, torch.zeros_like(di_is))
    return (di_is[:, None] * V) @ (V.T * di_s[None, :])


def interest_paths(d: Data, a: float = 0.5) -> torch.Tensor:
    """item -> interest -> item: D_i^-a B D_v^-1 Bᵀ D_i^-a, zero diagonal (an interest shared by many items counts less)."""
    B = torch.from_numpy(d.B.toarray())
    dv = B.sum(0).clamp(min=1e-9)
    di = B.sum(1)
    di_a = torch.where(di > 0, di.clamp(min=1e-9) ** -a, torch.zeros_like(di))
    Bn = B * di_a[:, None]
    F = (Bn / dv[None, :]) @ Bn.T
    F.fill_diagonal_(0.0)
    return F


def text_knn(d: Data, k: int = 50) -> torch.Tensor:
    """cosine of MiniLM item vectors, top-k per row (zero diagonal, negatives dropped)."""
    V = torch.from_numpy(d.V)
    V = V / V.norm(dim=1, keepdim=True).clamp(min=1e-9)
    S = V @ V.T
    S.fill_diagonal_(0.0)
    top = torch.topk(S, k, dim=1)
    F = torch.zeros_like(S)
    F.scatter_(1, top.indices, top.values.clamp(min=0))
    return F


def scale_to(F: torch.Tensor, H: torch.Tensor, ref: float) -> torch.Tensor:
    """F rescaled so that ||H F||_F equals ref (components comparable before weighting)."""
    s = float((H @ F).norm())
    return F * (ref / s) if s > 0 else F


# ---------------------------------------------------------------- the model
class ItemPathModel:
    """s(u, i) = sum_j r(u, j) sum_c theta_c F_c[j, i]: exact per history item and per component."""

    def __init__(self, d: Data, comps: dict[str, torch.Tensor], theta: dict[str, float], half_life=None, name="itempath"):
        self.d, self.half_life, self.name = d, half_life, name
        self.theta = {c: t for c, t in theta.items() if t != 0}
        self.comps = {c: comps[c] for c in self.theta}
        F = torch.zeros_like(next(iter(comps.values())))
        for c, t in self.theta.items():
            F += t * comps[c]
        self.F = F
        self.H = d.history(half_life)

    def fit(self, split):
        return self

    def score(self, users) -> torch.Tensor:
        users = torch.as_tensor(np.asarray(users), dtype=torch.long)
        out = torch.zeros(len(users), self.d.n_items)
        out[:, torch.from_numpy(self.d.active)] = self.H[users] @ self.F
        return out

    def explain(self, user: int, item: int) -> list[tuple[int, str, float]]:
        """(history item code, component, r(u,j) theta_c F_c[j,i]) for every nonzero term; sums to score()."""
        col = int(np.searchsorted(self.d.active, item))
        assert self.d.active[col] == item
        h = self.H[user]
        js = torch.nonzero(h).ravel()
        terms = []
        for c, t in self.theta.items():
            vals = h[js].double() * t * self.comps[c][js, col].double()
            terms += [(int(self.d.active[j]), c, float(v)) for j, v in zip(js, vals) if v != 0]
        return terms


def val(model, d: Data, part="valid", name=None):
    CONFIGS["n"] += part == "valid"
    return evaluate(model, d.split, part=part, cutoffs=(20,), batch_size=1024, name=name or model.name)
