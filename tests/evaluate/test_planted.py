"""``planted_recovery`` (:mod:`interestgraph.evaluate.planted`) on a hand-built graph and truth."""

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from interestgraph.evaluate import planted_recovery


class Truth:
    def __init__(self, planted):
        self.planted = planted

    def interests_of(self, user, at=None):
        assert at == 100  # the graph's decay reference time is passed through
        return self.planted[user]


GRAPH = SimpleNamespace(
    interests=pd.DataFrame({"label": ["jazz", "rock", "folk", "opera"]}),
    users=pd.Index(["u0", "u1"]),
    reference_time=100,
    edges={
        "user-interest": pd.DataFrame(
            {"src": [0, 0, 0, 1, 1], "dst": [0, 1, 2, 3, 2], "weight": [0.5, 0.3, 0.2, 0.9, 0.1]}
        )
    },
)
# top 2: u0's strongest (jazz) and rock are found; u1's strongest (rock) is not, folk is; "unknown" is not in the graph
TRUTH = Truth({"u0": ["jazz", "rock"], "u1": ["rock", "folk", "unknown"]})


def test_graph_edges_ranking():
    found = planted_recovery(GRAPH, TRUTH, top=1)
    assert found == pytest.approx({"strongest_in_top10": 0.5, "planted_in_top10": 1 / 4})
    found = planted_recovery(GRAPH, TRUTH, top=2)
    assert found == pytest.approx({"strongest_in_top10": 0.5, "planted_in_top10": 3 / 4})


def test_scores_ranking():
    scores = np.array([[0.0, 0.1, 0.9, 0.8], [0.0, 1.0, 0.5, 0.0]])
    found = planted_recovery(GRAPH, TRUTH, top=1, scores=scores)
    assert found == pytest.approx({"strongest_in_top10": 0.5, "planted_in_top10": 1 / 4})


def test_benchmark_and_demo_import_it_from_evaluate():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    for path in ("interestgraph/cli/demo.py", "benchmarks/planted_recovery.py"):
        text = (root / path).read_text(encoding="utf-8")
        assert "def planted_recovery" not in text and "planted_recovery" in text
    from interestgraph.cli import demo

    assert demo.planted_recovery is planted_recovery  # the old name still resolves (notebooks use it)
