"""Gowalla (LightGCN split): the item-item path model with sparse/low-rank components, never a dense 41k x 41k.

  s(u, .) = sum_c theta_c  r_u F_c, components (all applied through sparse products, F never formed):
    cooc     F = R~ᵀR~,  R~ = D_u^-1/2 X D_i^-1/2                 (GF-CF's linear filter; u->j->u'->i walks)
    cooc2    F = (R~ᵀR~)^2                                          (5-step co-occurrence walks; weight may be < 0)
    lowpass  F = D_i^-1/2 V_k V_kᵀ D_i^1/2, V_k top-k right sing. vectors of R~ (randomised SVD)
usage: python gowalla.py tune   (valid carved from train.txt: 10% per user, seed 0; grid on valid)
       python gowalla.py test THETA_JSON   (refit on all train.txt, test once)
"""
import json, os, resource, sys, time
import numpy as np, scipy.sparse as sp, torch
from interestgraph.data.formats.lightgcn import load_lightgcn

torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
T0 = time.time()
KS = tuple(int(x) for x in os.environ.get("KS", "256,512").split(","))
N_VALID_USERS = 10_000
GW = os.environ.get("GW", "/work/shared/datasets/gowalla")


def rss_gib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def say(*a):
    print(f"[{time.time()-T0:7.1f}s rss {rss_gib():.2f} GiB]", *a, flush=True)


def csr_t(m: sp.csr_matrix) -> torch.Tensor:
    m = m.tocsr().astype(np.float32)
    return torch.sparse_csr_tensor(torch.from_numpy(m.indptr.astype(np.int64)), torch.from_numpy(m.indices.astype(np.int64)),
                                   torch.from_numpy(m.data), size=m.shape)


class Fitted:
    def __init__(self, X: sp.csr_matrix, k: int, a: float = 0.5, svd_iter: int = 2):
        self.X = X
        du = np.asarray(X.sum(1)).ravel()
        di = np.asarray(X.sum(0)).ravel()
        self.du_is = np.where(du > 0, np.maximum(du, 1) ** -0.5, 0).astype(np.float32)
        self.di_a = np.where(di > 0, np.maximum(di, 1) ** -a, 0).astype(np.float32)
        self.di_is = np.where(di > 0, np.maximum(di, 1) ** -0.5, 0).astype(np.float32)
        Rn = sp.diags(self.du_is) @ X @ sp.diags(self.di_a)
        self.R, self.RT = csr_t(Rn), csr_t(Rn.T.tocsr())
        say("normalised R", Rn.nnz)
        t = time.time()
        torch.manual_seed(0)
        Rs = sp.diags(self.du_is) @ X @ sp.diags(self.di_is)
        coo = Rs.tocoo()
        Rcoo = torch.sparse_coo_tensor(np.vstack([coo.row, coo.col]), coo.data.astype(np.float32), size=Rs.shape)
        _, S, V = torch.svd_lowrank(Rcoo, q=k, niter=svd_iter)
        self.V = V.float().contiguous()   # (n_items, k)
        self.S = S
        self.svd_s = time.time() - t
        say(f"randomised SVD rank {k}: {self.svd_s:.1f}s")

    def components(self, Xb: torch.Tensor, k: int, names) -> dict[str, torch.Tensor]:
        """r_u F_c for a dense (B, n_items) batch of histories."""
        out = {}
        y = torch.sparse.mm(self.R, Xb.T)            # (n_users, B): u -> j -> u'
        p1 = torch.sparse.mm(self.RT, y)              # (n_items, B): -> i
        out["cooc"] = p1.T
        if "cooc2" in names:
            out["cooc2"] = torch.sparse.mm(self.RT, torch.sparse.mm(self.R, p1)).T
        if "lowpass" in names:
            V = self.V[:, :k]
            di_is = torch.from_numpy(self.di_is)
            di_s = torch.where(di_is > 0, 1.0 / di_is, torch.zeros_like(di_is))
            out["lowpass"] = ((Xb * di_is) @ V) @ V.T * di_s
        return out


def metrics_for(scores: torch.Tensor, seen: sp.csr_matrix, target: sp.csr_matrix, rows, blocked):
    """recall@20, ndcg@20 per user (the harness's definitions; seen and non-candidate items masked)."""
    s = scores + torch.where(blocked, -torch.inf, 0.0)[None, :]   # a new tensor: the caller's scores are kept
    sr = seen[rows].tocoo()
    s[torch.from_numpy(sr.row).long(), torch.from_numpy(sr.col).long()] = -torch.inf
    top = torch.topk(s, 20, dim=1, sorted=True).indices.numpy().astype(np.int64)
    rel = target[rows].tocoo()
    n = s.shape[1]
    keys = rel.row.astype(np.int64) * n + rel.col
    hits = np.isin(np.arange(len(rows))[:, None] * n + top, keys)
    n_rel = np.bincount(rel.row, minlength=len(rows)).astype(np.int64)
    disc = 1 / np.log2(np.arange(2, 22))
    idcg = np.cumsum(disc)[np.clip(np.minimum(n_rel, 20) - 1, 0, None)]
    return hits.sum(1) / n_rel, (hits * disc).sum(1) / idcg


def run(split, part, configs, k_max, a=0.5, batch=1024):
    """Evaluate every config {theta: {...}, k: int} in one pass; returns {name: (recall, ndcg)} and timings."""
    X = split.positive_matrix("train").tocsr().astype(np.float32)
    seen = X if part == "valid" else (X + split.positive_matrix("valid")).tocsr()
    target = split.positive_matrix(part).tocsr()
    cand = np.zeros(X.shape[1], bool)
    cand[split.log.item_ids.get_indexer(split.candidate_items)] = True
    blocked = torch.from_numpy(~cand)
    t = time.time()
    fit = Fitted(X, k_max, a=a)
    fit_s = time.time() - t
    say(f"fit {fit_s:.1f}s")
    users = np.flatnonzero(np.asarray(target.sum(1)).ravel() > 0)
    if part == "valid" and len(users) > N_VALID_USERS:  # a seeded sample of the validation users (time)
        users = np.sort(np.random.default_rng(0).choice(users, N_VALID_USERS, replace=False))
    names = {c for cfg in configs.values() for c, v in cfg["theta"].items() if v}
    res = {n: ([], []) for n in configs}
    t = time.time()
    for start in range(0, len(users), batch):
        rows = users[start:start + batch]
        Xb = torch.from_numpy(X[rows].toarray())
        ks = sorted({cfg["k"] for cfg in configs.values()})
        per_k = {kk: fit.components(Xb, kk, names) for kk in ks}
        for n, cfg in configs.items():
            comps = per_k[cfg["k"]]
            sc = sum(v * comps[c] for c, v in cfg["theta"].items() if v)
            r, nd = metrics_for(sc, seen, target, rows, blocked)
            res[n][0].append(r)
            res[n][1].append(nd)
    score_s = time.time() - t
    say(f"scored {len(users)} users x {len(configs)} configs in {score_s:.1f}s")
    out = {n: (float(np.concatenate(r).mean()), float(np.concatenate(nd).mean())) for n, (r, nd) in res.items()}
    per_user = {n: np.concatenate(nd) for n, (r, nd) in res.items()}
    return out, per_user, {"fit_s": fit_s, "svd_s": fit.svd_s, "score_s": score_s, "peak_rss_gib": rss_gib()}


if __name__ == "__main__":
    mode = sys.argv[1]
    if mode == "tune":
        split = load_lightgcn(GW, valid_ratio=0.1, seed=0)
        say("loaded", split.summary() if hasattr(split, "summary") else "")
        configs = {}
        for al in (0.1, 0.3, 0.5):
            configs[f"gfcf k=256 alpha={al}"] = {"k": 256, "theta": {"cooc": 1.0, "lowpass": al}}
        configs["gfcf k=512 alpha=0.3"] = {"k": 512, "theta": {"cooc": 1.0, "lowpass": 0.3}}
        for b in (-0.3, -0.1, 0.1):
            configs[f"path k=256 alpha=0.3 cooc2={b}"] = {"k": 256, "theta": {"cooc": 1.0, "lowpass": 0.3, "cooc2": b}}
        configs["path k=512 alpha=0.3 cooc2=-0.1"] = {"k": 512, "theta": {"cooc": 1.0, "lowpass": 0.3, "cooc2": -0.1}}
        out, _, times = run(split, "valid", configs, k_max=max(KS))
        for n, v in sorted(out.items(), key=lambda x: -x[1][1]):
            print(f"{n:40s} recall@20 {v[0]:.4f} ndcg@20 {v[1]:.4f}")
        json.dump({"valid": out, "times": times, "n_configs": len(configs)}, open("gowalla_tune.json", "w"), indent=1)
        print(times)
    else:
        chosen = json.loads(sys.argv[2])
        split = load_lightgcn(GW, valid_ratio=0.0)
        out, per_user, times = run(split, "test", chosen, k_max=max(c["k"] for c in chosen.values()))
        for n, v in out.items():
            print(f"TEST {n:40s} recall@20 {v[0]:.4f} ndcg@20 {v[1]:.4f}")
        np.savez("gowalla_test_per_user.npz", **{n.replace(" ", "_"): v for n, v in per_user.items()})
        names = list(per_user)
        if len(names) >= 2:
            rng = np.random.default_rng(0)
            d = per_user[names[0]] - per_user[names[1]]
            idx = rng.integers(0, len(d), (2000, len(d)))
            m = d[idx].mean(1)
            print(f"{names[0]} - {names[1]} ndcg@20 {d.mean():+.4f} CI [{np.quantile(m,.025):+.4f}, {np.quantile(m,.975):+.4f}]")
        print(times)
        json.dump({"test": out, "times": times}, open("gowalla_test.json", "w"), indent=1)
