import time, lib, torch
d = lib.Data("rs-4", 0); print(d.X.shape, d.B.shape, d.X.nnz)
t=time.time(); G = lib.gram(d); print("gram", time.time()-t)
for lam in (200, 500):
    t=time.time(); E = lib.ease(G, lam); t1=time.time()-t
    m = lib.ItemPathModel(d, {"ease": E}, {"ease": 1.0}, name=f"ease{lam}")
    r = lib.val(m, d); print(lam, f"{t1:.1f}s", r.metrics)
