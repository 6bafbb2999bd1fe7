"""Baseline recommenders, behind the harness's interface (``fit(split) -> self``, ``score(users)``).

    from interestgraph.baselines import ItemKNN
    from interestgraph.evaluate import evaluate
    print(evaluate(ItemKNN(k=100).fit(split), split).describe())

- :class:`MostPopular`: training positives per item.
- :class:`ItemKNN`: item–item cosine, top-k neighbours (sparse).
- :class:`BPRMF`: matrix factorisation with the BPR loss.
- :class:`LightGCN`: PyG's LightGCN on the user–item graph, BPR loss.
- :func:`tune_lightgcn`: LightGCN's lr / L2 / layers picked on validation NDCG@20.
- :class:`TextContent`: encoder similarity between a user's items and the candidates.

BPRMF and LightGCN share one training loop (:mod:`._bpr`: negative sampler,
early stopping on validation NDCG@20, best-weights restore).
"""

from ..train.sampling import NegativeSampler
from .bprmf import BPRMF
from .itemknn import ItemKNN
from .lightgcn import LightGCN
from .popular import MostPopular
from .text import TextContent
from .tune import DEFAULT_GRID, tune_lightgcn

__all__ = [
    "BPRMF",
    "DEFAULT_GRID",
    "ItemKNN",
    "LightGCN",
    "MostPopular",
    "NegativeSampler",
    "TextContent",
    "tune_lightgcn",
]
