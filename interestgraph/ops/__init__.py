"""Neutral helpers that several layers share and that depend on no layer: argument checks, ranking masks, kNN.

Nothing here imports another part of :mod:`interestgraph` (except :mod:`interestgraph.errors`), so any
layer may use it without creating a back-edge in the import graph.
"""

from .knn import cosine_topk, topk_to_edges
from .ranking import check_positive_int, mask_seen

__all__ = ["check_positive_int", "cosine_topk", "mask_seen", "topk_to_edges"]
