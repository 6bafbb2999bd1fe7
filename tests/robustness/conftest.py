"""A tiny graph and model saved once per session, for the artifact tests (which damage copies of them)."""

from __future__ import annotations

import pytest

from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig


@pytest.fixture(scope="session")
def saved(tmp_path_factory):
    """``(root, graph, model)``: a 40-user graph and a model trained on it, saved as ``root/g`` and ``root/m``
    (about 2 s). Tests copy them before damaging anything."""
    root = tmp_path_factory.mktemp("saved")
    log = generate_synthetic(n_users=40, n_items=50, n_interactions=800, seed=2).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    graph.save(root / "g")
    model = InterestGraphModel(ModelConfig(dim=8, gate_rank=2), TrainConfig(epochs=2, verbose=False, seed=1))
    model.fit(graph).save(root / "m")
    return root, graph, model
