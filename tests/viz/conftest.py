"""Shared fixtures of the viz tests: a tiny graph whose first items carry hostile titles, and a model trained on it."""

from __future__ import annotations

import dataclasses

import pytest

from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph import InterestGraph
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

HOSTILE = '<script>document.documentElement.setAttribute("data-pwned","1")</script>'
TITLES = [
    HOSTILE,
    "Tom & Jerry </script><img src=x onerror=\"document.documentElement.setAttribute('data-pwned','2')\">",
    "Costs $5 and $10 \u2028 line",
]


def hostile_log(seed: int = 4):
    log = generate_synthetic(n_users=80, n_items=100, n_interactions=2_500, seed=seed).log
    items = log.items.copy()
    items.loc[items.index[:3], "title"] = TITLES
    return dataclasses.replace(log, items=items)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A graph saved and loaded (so the model records its path) and a model trained and saved on it."""
    root = tmp_path_factory.mktemp("viz")
    graph = build_interest_graph(hostile_log(), protocol="tl-4", encoder=LexicalEncoder())
    graph = InterestGraph.load(graph.save(root / "graph"))
    model = InterestGraphModel(
        ModelConfig(dim=8, gate_rank=2),
        TrainConfig(epochs=3, user_batch=64, negatives=4, warmup_epochs=1, verbose=False, seed=3),
    ).fit(graph)
    model.save(root / "model")
    return graph, model, root


@pytest.fixture(scope="module")
def titles():
    return TITLES


@pytest.fixture(scope="module")
def make_log():
    return hostile_log


@pytest.fixture(scope="module")
def user(trained):
    return busy_user(trained[0])


def busy_user(graph) -> object:
    """A user who has one of the hostile-titled items and a few interests (so escaping is exercised)."""
    ui = graph.edges["user-item"]
    owners = ui[ui["dst"].isin([0, 1, 2])]["src"].value_counts()
    return graph.users[int(owners.index[0])]
