"""Test once, seeds 0,1,2, the settings tune.py chose on validation (seeds 0,1): EASE, GF-CF, ItemKNN, the path model.
usage: python final.py rs-4|tl-4 [seeds]"""
import json, sys, time
import numpy as np, torch
import lib
from interestgraph.baselines.itemknn import ItemKNN
from interestgraph.evaluate import compare, average_runs

proto = sys.argv[1]
seeds = [int(s) for s in (sys.argv[2] if len(sys.argv) > 2 else "0,1,2").split(",")]
FOLD = len(sys.argv) > 3 and sys.argv[3] == "foldin"  # test histories = train + valid for every item-item model
import pandas as pd
ch = json.load(open(f"tune_{proto}.json"))
pa = ch["path"]
kn = ch["itemknn"]
kk, ks = int(kn.split("k=")[1].split()[0]), float(kn.split("shrink=")[1])
res = {n: [] for n in ("ease", "gfcf", "itemknn", "path")}
fit_s = {}
for s in seeds:
    d = lib.Data(proto, s, ("train", "valid") if FOLD else ("train",))
    G = lib.gram(d)
    t = time.time(); E = lib.ease(G, ch["ease"]["lam"]); fit_s.setdefault("ease", []).append(time.time() - t)
    t = time.time()
    P, Rn, di_is = lib.norm_cooc(d)
    k_g = ch["gfcf"]["k"]
    LPg = lib.ideal_lowpass(Rn, di_is, k_g)
    fit_s.setdefault("gfcf", []).append(time.time() - t)
    res["ease"].append(lib.val(lib.ItemPathModel(d, {"e": E}, {"e": 1.0}, name="ease"), d, "test"))
    res["gfcf"].append(lib.val(lib.ItemPathModel(d, {"p": P, "l": LPg}, {"p": 1.0, "l": ch["gfcf"]["alpha"]}, name="gfcf"), d, "test"))
    if not FOLD:
        res["itemknn"].append(lib.val(ItemKNN(k=kk, shrink=ks).fit(d.split), d, "test", name="itemknn"))
    # the path model
    t = time.time()
    H = d.history(pa["half_life"])
    if pa["backbone"] == "cease":
        Bt = torch.from_numpy(d.B.toarray()).double(); BB = Bt @ Bt.T
        bb = lib.ease(G + pa["c"] * float(torch.diagonal(G).mean()) / float(torch.diagonal(BB).mean()) * BB, pa["lam"])
    else:
        bb = E if pa["lam"] == ch["ease"]["lam"] else lib.ease(G, pa["lam"])
    ref = float((H @ bb).norm())
    th = pa["theta"]
    comps = {"backbone": bb}
    if th.get("cooc"): comps["cooc"] = lib.scale_to(P, H, ref)
    if th.get("lowpass"): comps["lowpass"] = lib.scale_to(lib.ideal_lowpass(Rn, di_is, pa["k"]), H, ref)
    if th.get("interest"): comps["interest"] = lib.scale_to(lib.interest_paths(d), H, ref)
    if th.get("text"): comps["text"] = lib.scale_to(lib.text_knn(d, 50), H, ref)
    fit_s.setdefault("path", []).append(time.time() - t)
    res["path"].append(lib.val(lib.ItemPathModel(d, comps, {c: th[c] for c in comps}, half_life=pa["half_life"], name="path"), d, "test"))
    print(f"seed {s}: " + "  ".join(f"{n} {r[-1].metrics['ndcg@20']:.4f}/{r[-1].metrics['recall@20']:.4f}" for n, r in res.items() if r), flush=True)
    for n in [m for m in ("ease", "gfcf", "itemknn") if res[m]]:
        print("   ", compare(res["path"][-1], res[n][-1])["statement"][:140], flush=True)
print(f"\n{proto} TEST, split seeds {seeds} (settings chosen on validation of seeds 0,1): NDCG@20 / Recall@20 mean ± std over seeds")
res = {n: r for n, r in res.items() if r}
tag = f"{proto}{'_foldin' if FOLD else ''}"
per = {n: pd.concat([r.per_user.set_index("user_id")["ndcg@20"].rename(f"seed{s}") for r, s in zip(rs, seeds)], axis=1) for n, rs in res.items()}
pd.concat(per, axis=1).to_csv(f"final_{tag}_per_user.csv")
for n, rs in res.items():
    nd = [r.metrics["ndcg@20"] for r in rs]; rc = [r.metrics["recall@20"] for r in rs]
    print(f"  {n:8s} ndcg@20 {np.mean(nd):.4f} ± {np.std(nd):.4f}  recall@20 {np.mean(rc):.4f} ± {np.std(rc):.4f}  per seed {[round(x,4) for x in nd]}  fit s {np.mean(fit_s.get(n,[0])):.1f}")
rng = np.random.default_rng(0)
for n in [m for m in ("ease", "gfcf", "itemknn") if m in res]:
    a, b = per["path"].dropna(), per[n].dropna()
    common = a.index.intersection(b.index)
    diff = (a.loc[common] - b.loc[common]).mean(axis=1).to_numpy()  # per-user, averaged over seeds
    boots = diff[rng.integers(0, len(diff), (10000, len(diff)))].mean(1)
    ratio = a.loc[common].to_numpy().mean() / b.loc[common].to_numpy().mean()
    print(f"  path vs {n}, per-user NDCG@20 averaged over seeds: {diff.mean():+.4f} CI [{np.quantile(boots,.025):+.4f}, {np.quantile(boots,.975):+.4f}]  ratio {ratio:.4f}  ({len(common)} users)")
