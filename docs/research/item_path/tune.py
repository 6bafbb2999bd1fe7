"""Validation grids on ml-latest-small, split seeds 0 and 1 (mean validation NDCG@20 over the two picks).
usage: python tune.py rs-4|tl-4  -> writes tune_<proto>.json and prints every configuration's figure."""
import json, sys, time, itertools
import numpy as np, torch
import lib
from interestgraph.baselines.itemknn import ItemKNN

proto = sys.argv[1]
SEEDS = (0, 1)
CE_GRID = (0.03, 0.1, 0.3) if proto == "rs-4" else (0.1, 0.3, 1.0, 3.0)
ROUNDS = 2 if proto == "rs-4" else 1
t0 = time.time()
D = {s: lib.Data(proto, s) for s in SEEDS}
G = {s: lib.gram(D[s]) for s in SEEDS}
log = {}


def run(key, make, half_life=None):
    """make(seed) -> (comps, theta); mean valid ndcg@20 over SEEDS."""
    vals = []
    for s in SEEDS:
        comps, theta = make(s)
        m = lib.ItemPathModel(D[s], comps, theta, half_life=half_life, name=key)
        vals.append(lib.val(m, D[s]).metrics["ndcg@20"])
    log[key] = (float(np.mean(vals)), vals)
    print(f"{key:60s} {np.mean(vals):.4f} {vals}  [{time.time()-t0:.0f}s]", flush=True)
    return float(np.mean(vals))


def best(prefix):
    ks = [k for k in log if k.startswith(prefix)]
    return max(ks, key=lambda k: log[k][0])


# ---- EASE, lambda grid
E = {s: {} for s in SEEDS}
for lam in (50, 100, 200, 400, 800):
    for s in SEEDS:
        E[s][lam] = lib.ease(G[s], lam)
    run(f"ease lam={lam}", lambda s, lam=lam: ({"e": E[s][lam]}, {"e": 1.0}))
lam_star = int(best("ease").split("=")[1])
for s in SEEDS:  # keep memory down
    E[s] = {lam_star: E[s][lam_star]}

# ---- GF-CF: alpha x k
P = {}
LP = {s: {} for s in SEEDS}
for s in SEEDS:
    Pn, Rn, di_is = lib.norm_cooc(D[s])
    P[s] = Pn
    for k in (32, 64, 128, 256):
        LP[s][k] = lib.ideal_lowpass(Rn, di_is, k)
for k in (32, 64, 128, 256):
    for a in (0.0, 0.1, 0.3, 0.5, 1.0):
        if a == 0.0 and k != 32:
            continue
        run(f"gfcf k={k} alpha={a}", lambda s, k=k, a=a: ({"p": P[s], "l": LP[s][k]}, {"p": 1.0, "l": a}))
gk = best("gfcf")
k_star = int(gk.split("k=")[1].split()[0])

# ---- ItemKNN (package), k x shrink
for k, sh in itertools.product((50, 100, 200), (0.0, 10.0)):
    vals = []
    for s in SEEDS:
        m = ItemKNN(k=k, shrink=sh).fit(D[s].split)
        vals.append(lib.val(m, D[s], name="itemknn").metrics["ndcg@20"])
    log[f"itemknn k={k} shrink={sh}"] = (float(np.mean(vals)), vals)
    print(f"itemknn k={k} shrink={sh} {np.mean(vals):.4f} {vals}", flush=True)

# ---- recency half-life on the EASE backbone (tl-4 only)
h_star = None
if proto == "tl-4":
    for h in (5, 10, 20, 40, 80):
        run(f"ease lam={lam_star} recency h={h}", lambda s: ({"e": E[s][lam_star]}, {"e": 1.0}), half_life=h)
    hb = best(f"ease lam={lam_star} recency")
    if log[hb][0] > log[f"ease lam={lam_star}"][0]:
        h_star = int(hb.split("h=")[1])

# ---- collective EASE: interests as pseudo-user rows, G + c * mean(diag G)/mean(diag BBᵀ) * B Bᵀ
CE = {}
for c in CE_GRID:
    for s in SEEDS:
        Bt = torch.from_numpy(D[s].B.toarray()).double()
        BB = Bt @ Bt.T
        scale = c * float(torch.diagonal(G[s]).mean()) / float(torch.diagonal(BB).mean())
        CE[(s, c)] = lib.ease(G[s] + scale * BB, lam_star)
    run(f"cease lam={lam_star} c={c}", lambda s, c=c: ({"e": CE[(s, c)]}, {"e": 1.0}), half_life=h_star)
cb = best("cease")
base_key = "cease" if log[cb][0] > log[best(f"ease lam={lam_star}")][0] and True else "ease"
c_star = float(cb.split("c=")[1]) if base_key == "cease" else None
for k in [k for k in CE if k[1] != c_star]:
    del CE[k]

# ---- components on the chosen backbone, each scaled so ||X F_c|| = ||X F_backbone||, coordinate ascent
comps = {}
for s in SEEDS:
    bb = CE[(s, c_star)] if base_key == "cease" else E[s][lam_star]
    H = D[s].history(h_star)
    ref = float((H @ bb).norm())
    comps[s] = {
        "backbone": bb,
        "cooc": lib.scale_to(P[s], H, ref),
        "lowpass": lib.scale_to(LP[s][k_star], H, ref),
        "interest": lib.scale_to(lib.interest_paths(D[s]), H, ref),
        "text": lib.scale_to(lib.text_knn(D[s], 50), H, ref),
    }
theta = {"backbone": 1.0, "cooc": 0.0, "lowpass": 0.0, "interest": 0.0, "text": 0.0}
cur = run(f"path {base_key} {theta}", lambda s: (comps[s], dict(theta)), half_life=h_star)
for rnd in range(ROUNDS):
    for c in ("cooc", "lowpass", "interest", "text"):
        for t in (-0.1, 0.05, 0.1, 0.2, 0.4, 0.8):
            if t == theta[c]:
                continue
            trial = dict(theta, **{c: t})
            v = run(f"path {base_key} {trial}", lambda s: (comps[s], dict(trial)), half_life=h_star)
            if v > cur:
                cur, best_t = v, t
                theta = trial
chosen = {
    "ease": {"lam": lam_star},
    "gfcf": {"k": k_star, "alpha": float(gk.split("alpha=")[1])},
    "itemknn": best("itemknn"),
    "path": {"backbone": base_key, "lam": lam_star, "c": c_star, "k": k_star, "half_life": h_star, "theta": theta},
    "configs_scored_on_validation": len(log),
    "valid": log,
}
json.dump(chosen, open(f"tune_{proto}.json", "w"), indent=1)
print(json.dumps({k: v for k, v in chosen.items() if k != "valid"}))
