"""Paired CI for the setting measure.py chose on validation (rs-4 seed 0): ridge 100, side 1.0, theta ridge 1 + interest 0.05; EASE ridge 100."""
import time
import torch
from interestgraph.data.formats import load_source
from interestgraph.graph.build import build_interest_graph
from interestgraph.encoder import TextEncoder
from interestgraph.evaluate import compare, evaluate
from interestgraph.model import ItemPathConfig, ItemPathModel

torch.set_num_threads(1)
log = load_source("/work/shared/datasets/ml-latest-small", "movielens").log
graph = build_interest_graph(log, protocol="rs-4", seed=0, encoder=TextEncoder())
t = time.time()
path = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0, "interest": 0.05}, ridge=100.0, side_weight=1.0)).fit(graph)
print(f"path fit {time.time() - t:.1f}s")
ease = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0}, ridge=100.0, side_weight=0.0)).fit(graph)
a = evaluate(path, graph.split, part="test", cutoffs=(20,), name="item-path")
b = evaluate(ease, graph.split, part="test", cutoffs=(20,), name="ease")
print(a.describe()); print(b.describe())
print(compare(a, b, "ndcg@20"))
