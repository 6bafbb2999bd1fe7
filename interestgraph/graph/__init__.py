"""The interest graph: users, items and interest points joined by typed, weighted edges.

from interestgraph.graph import build_interest_graph, InterestGraph
graph = build_interest_graph(log, protocol="rs-4")     # edges from the training part only
graph.save("graphs/shop")
graph = InterestGraph.load("graphs/shop")
graph.user_interests("u42", top=10)                    # w(v|u)
graph.interest_timeline("u42")                         # top interests per month
data = graph.to_pyg()                                  # torch_geometric HeteroData
"""

from ..ops.knn import cosine_topk, topk_to_edges
from .build import all_train_split, build_interest_graph
from .config import GraphConfig
from .interest_graph import EDGE_TYPES, GRAPH_FORMAT, GRAPH_VERSION, InterestGraph

__all__ = [
    "EDGE_TYPES",
    "GRAPH_FORMAT",
    "GRAPH_VERSION",
    "GraphConfig",
    "InterestGraph",
    "all_train_split",
    "build_interest_graph",
    "cosine_topk",
    "topk_to_edges",
]
