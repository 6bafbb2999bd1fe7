"""Exactness: for sampled (user, item) pairs, the explain terms r(u,j) theta_c F_c[j,i] add up to score(u)[i]."""
import json, numpy as np, torch
import lib

d = lib.Data("tl-4", 0)
G = lib.gram(d)
E = lib.ease(G, 200)
P, Rn, di_is = lib.norm_cooc(d)
H = d.history(20)
ref = float((H @ E).norm())
comps = {"backbone": E, "cooc": lib.scale_to(P, H, ref), "lowpass": lib.scale_to(lib.ideal_lowpass(Rn, di_is, 64), H, ref),
         "interest": lib.scale_to(lib.interest_paths(d), H, ref), "text": lib.scale_to(lib.text_knn(d, 50), H, ref)}
theta = {"backbone": 1.0, "cooc": -0.1, "lowpass": 0.2, "interest": 0.1, "text": 0.05}  # negative weights included
m = lib.ItemPathModel(d, comps, theta, half_life=20)
rng = np.random.default_rng(0)
worst_abs = worst_rel = 0.0
for u in rng.choice(d.X.shape[0], 20, replace=False):
    s = m.score(np.array([u]))[0]
    top = torch.topk(s, 5).indices.tolist() + [int(x) for x in rng.choice(d.active, 5)]
    for i in top:
        terms = m.explain(int(u), int(i))
        total = sum(t for _, _, t in terms)
        err = abs(total - float(s[i]))
        worst_abs = max(worst_abs, err)
        worst_rel = max(worst_rel, err / max(abs(float(s[i])), 1e-12))
print(f"200 pairs: max |sum(explain) - score| = {worst_abs:.2e}, max relative {worst_rel:.2e} (score in float32, terms in float64)")
u, i = 0, int(torch.topk(m.score(np.array([0]))[0], 1).indices)
terms = sorted(m.explain(u, i), key=lambda t: -abs(t[2]))
print("user 0, top item", i, "n terms", len(terms), "largest 5:", [(j, c, round(t, 5)) for j, c, t in terms[:5]])
