"""ItemPathModel v1 on ml-latest-small rs-4 split seed 0: tuned on validation by the default ItemPathGrid, test once."""
import json, sys, time
import torch
from interestgraph.data.formats import load_source
from interestgraph.graph.build import build_interest_graph
from interestgraph.encoder import TextEncoder
from interestgraph.evaluate import evaluate
from interestgraph.model import ItemPathConfig, ItemPathModel, tune_item_path

torch.set_num_threads(1)
seed = int(sys.argv[1]) if len(sys.argv) > 1 else 0
t = time.time()
log = load_source("/work/shared/datasets/ml-latest-small", "movielens").log
graph = build_interest_graph(log, protocol="rs-4", seed=seed, encoder=TextEncoder())
print(f"graph built in {time.time() - t:.1f}s; {len(graph.split.candidate_items)} candidate items, {len(graph.interests)} interests", flush=True)
t = time.time()
best, tried = tune_item_path(graph)
print(f"tune: {len(tried)} configurations in {time.time() - t:.1f}s", flush=True)
for r in tried:
    print(json.dumps(r), flush=True)
print("chosen:", best.config.ridge, best.config.side_weight, best.theta_, best.first_step_, flush=True)
ease = max((r for r in tried if r["side_weight"] == 0.0 and set(v for k, v in r["theta"].items() if k != "ridge") <= {0.0}), key=lambda r: r["ndcg@20"])
print("EASE chosen on validation: ridge", ease["ridge"], "valid", ease["ndcg@20"], flush=True)
res = evaluate(best, graph.split, part="test", cutoffs=(20,), name="item-path")
print("TEST", res.describe(), flush=True)
t = time.time()
e = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0}, ridge=ease["ridge"], side_weight=0.0)).fit(graph)
fit_s = time.time() - t
res_e = evaluate(e, graph.split, part="test", cutoffs=(20,), name="ease")
print(f"TEST EASE (fit {fit_s:.1f}s)", res_e.describe(), flush=True)
print("ratio ndcg@20", res.metrics["ndcg@20"] / res_e.metrics["ndcg@20"])
t = time.time()
ItemPathModel(best.config).fit(graph)
print(f"refit of the chosen configuration: {time.time() - t:.1f}s")
