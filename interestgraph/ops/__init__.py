"""Neutral helpers that several layers share and that depend on no layer: argument checks, ranking masks, kNN.

Nothing here imports another part of :mod:`interestgraph` (except :mod:`interestgraph.errors`), so any
layer may use it without creating a back-edge in the import graph.
"""

from .ranking import check_positive_int, mask_seen

__all__ = ["check_positive_int", "mask_seen"]
