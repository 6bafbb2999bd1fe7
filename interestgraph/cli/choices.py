"""The names the parser offers (input formats, protocols, the split seed), spelled out here so that building the parser
(and so ``interestgraph --help``) imports neither pandas nor the data layer; ``tests/cli/test_startup.py`` checks them
against :data:`interestgraph.data.formats.FORMATS` and :data:`interestgraph.data.protocols.PROTOCOLS`."""

from __future__ import annotations

#: input formats of ``--format`` (``interestgraph.data.formats.FORMATS``)
FORMATS = ("movielens", "amazon", "lightgcn", "csv", "dataset", "synthetic")
#: raw-data formats: the ones ``--format`` is needed for (an artifact directory says what it is in its manifest)
RAW_FORMATS = ("movielens", "amazon", "lightgcn", "csv")
#: named protocols (``interestgraph.data.protocols.PROTOCOLS``), sorted
PROTOCOLS = ("cold-4", "rs-4", "tl-4")
#: the protocols' seed (``interestgraph.data.protocols.DEFAULT_SEED``)
DEFAULT_SPLIT_SEED = 2020
#: manifest ``format`` of each artifact kind, and the verb that writes it
ARTIFACTS = {
    "interestgraph-dataset": ("dataset directory", "interestgraph generate"),
    "interestgraph-graph": ("graph directory", "interestgraph build"),
    "interestgraph-model": ("model directory", "interestgraph train"),
    "interestgraph-item-path-model": ("item-path model directory", "interestgraph train --model-type item-path"),
}
