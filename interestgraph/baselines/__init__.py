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
- :class:`EASE`: closed-form item–item ridge regression (Steck 2019), dense.
- :class:`GFCF`: normalised co-occurrence filter plus an ideal low-pass (Shen et al. 2021).
- :class:`ChebyCF`: Chebyshev-interpolated low-pass plus ideal pass (Kim et al. 2025).
- :func:`tune_linear` / :func:`tune_grid`: those three chosen on validation NDCG@20 over stated grids.

BPRMF and LightGCN share one training loop (:mod:`._bpr`: negative sampler,
early stopping on validation NDCG@20, best-weights restore).
"""

from ..train.sampling import NegativeSampler
from .bprmf import BPRMF
from .ease import EASE, ease_memory_gb
from .filters import GFCF, ChebyCF
from .itemknn import ItemKNN
from .lightgcn import LightGCN
from .linear_tune import CHEBYCF_GRID, EASE_GRID, GFCF_GRID, LINEAR_MODELS, describe_grid, tune_grid, tune_linear
from .popular import MostPopular
from .text import TextContent
from .tune import DEFAULT_GRID, tune_lightgcn

__all__ = [
    "BPRMF",
    "CHEBYCF_GRID",
    "DEFAULT_GRID",
    "EASE",
    "EASE_GRID",
    "GFCF",
    "GFCF_GRID",
    "LINEAR_MODELS",
    "ChebyCF",
    "ItemKNN",
    "LightGCN",
    "MostPopular",
    "NegativeSampler",
    "TextContent",
    "describe_grid",
    "ease_memory_gb",
    "tune_grid",
    "tune_lightgcn",
    "tune_linear",
]
