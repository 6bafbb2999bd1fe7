"""Build the interest graph once per (protocol, seed) with the package and cache what the prototype needs:
item-interest edges (npz), item text vectors (npy, split independent) and the graph's own user-item weights."""
import sys, time
from pathlib import Path
import numpy as np, scipy.sparse as sp
from interestgraph.data.formats import load_source
from interestgraph.graph.build import build_interest_graph
from interestgraph.encoder import TextEncoder
from interestgraph.encoder.config import EncoderConfig

C = Path("/work/proto/cache")
log = load_source("/work/shared/datasets/ml-latest-small", "movielens").log
enc = TextEncoder(EncoderConfig(cache_dir=str(C / "enc")))
for spec in sys.argv[1:]:
    proto, seed = spec.split(":")
    out = C / f"{proto}_{seed}_ii.npz"
    if out.exists():
        continue
    t = time.time()
    g = build_interest_graph(log, protocol=proto, seed=int(seed), encoder=enc)
    e = g.edges["item-interest"]
    n_int = len(g.interests)
    B = sp.csr_matrix((e["weight"].to_numpy(), (e["src"].to_numpy(), e["dst"].to_numpy())), shape=(log.n_items, n_int))
    sp.save_npz(out, B)
    g.interests.to_csv(C / f"{proto}_{seed}_interests.csv", index=False)
    if not (C / "item_vectors.npy").exists():
        np.save(C / "item_vectors.npy", g.item_vectors.numpy())
    print(spec, "interests", n_int, "item-interest edges", len(e), f"{time.time()-t:.1f}s", flush=True)
