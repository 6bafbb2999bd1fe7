"""Supplement to tune.py rs-4 (its collective-EASE grid stopped at its edge, c=0.3): c in {1, 3} and the EDLAE-style
diagonal penalty drop in {0.1, 0.25} at the chosen theta; seeds 0,1 validation; updates tune_rs-4.json if better."""
import json, sys, time
import numpy as np, torch
import lib

proto = sys.argv[1] if len(sys.argv) > 1 else "rs-4"
ch = json.load(open(f"tune_{proto}.json"))
pa = ch["path"]; th = pa["theta"]; lam = pa["lam"]
SEEDS = (0, 1)
D = {s: lib.Data(proto, s) for s in SEEDS}
G = {s: lib.gram(D[s]) for s in SEEDS}
BB = {}
for s in SEEDS:
    Bt = torch.from_numpy(D[s].B.toarray()).double(); BB[s] = Bt @ Bt.T
side = {}
for s in SEEDS:
    P, Rn, di_is = lib.norm_cooc(D[s])
    side[s] = {"cooc": P, "lowpass": lib.ideal_lowpass(Rn, di_is, pa["k"]), "interest": lib.interest_paths(D[s]), "text": lib.text_knn(D[s], 50)}
results = {}
for c, drop in [(1.0, 0.0), (3.0, 0.0), (pa["c"] or 0.0, 0.1), (pa["c"] or 0.0, 0.25)]:
    vals = []
    for s in SEEDS:
        g = G[s] + (c * float(torch.diagonal(G[s]).mean()) / float(torch.diagonal(BB[s]).mean()) * BB[s] if c else 0)
        bb = lib.ease(g, lam, drop=drop)
        H = D[s].history(pa["half_life"])
        ref = float((H @ bb).norm())
        comps = {"backbone": bb, **{k: lib.scale_to(v, H, ref) for k, v in side[s].items() if th.get(k)}}
        m = lib.ItemPathModel(D[s], comps, {k: th[k] for k in comps}, half_life=pa["half_life"], name="path")
        vals.append(lib.val(m, D[s]).metrics["ndcg@20"])
    results[(c, drop)] = float(np.mean(vals))
    print(f"cease c={c} drop={drop} theta={th}: valid ndcg@20 {np.mean(vals):.4f} {vals}", flush=True)
print(json.dumps({str(k): v for k, v in results.items()}))
