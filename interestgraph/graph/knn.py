"""Compatibility alias: the blockwise cosine kNN now lives in :mod:`interestgraph.ops.knn`.

It is a neutral operation (the interest extraction, the graph build and the model all use it), so it sits with the
other shared helpers below every layer. Import it from :mod:`interestgraph.ops`; this module only keeps
``interestgraph.graph.knn.cosine_topk`` working for existing code.
"""

from ..ops.knn import cosine_topk, topk_to_edges

__all__ = ["cosine_topk", "topk_to_edges"]
