"""Behaviour pinned before the model/train re-layering (issue 24), so the refactor is proven not to change it.

- A tiny model saved by the code before the change (``tests/fixtures/model_v_before``, written by
  ``tests/fixtures/make_model_v_before.py`` at commit 3027d74) loads and gives the same scores and walk
  contributions (within 1e-6).
- A short fit with a fixed seed (2 epochs, seed 0, ``rs-4``) gives the same losses, validation NDCG@20, cold bias
  and test metrics (within 1e-4) on the synthetic default and on ml-latest-small, as measured before the change.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from interestgraph.data import generate_synthetic, load_movielens
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.evaluate import evaluate
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
ML_SMALL = Path("/work/shared/datasets/ml-latest-small")

#: measured with the code of commit 3027d74 (``TrainConfig(epochs=2, verbose=False, seed=0)``, lexical encoder)
PINNED = {
    "synthetic": {
        "losses": [5.977499997919866, 5.883138449963504],
        "valid": [0.2983603923645432, 0.2986440179057954],
        "cold_bias": 0.65,
        "test": {"recall@20": 0.5617075444635685, "ndcg@20": 0.3230974506899059, "mrr@20": 0.301688189617966},
    },
    "ml": {
        "losses": [8.046492121241114, 7.728610450130809],
        "valid": [0.1685424075229311, 0.16913076446262254],
        "cold_bias": 1.1,
        "test": {"recall@20": 0.26777059927137664, "ndcg@20": 0.1883962497652008, "mrr@20": 0.2801188833392367},
    },
}


def test_a_model_saved_before_the_change_scores_the_same():
    expected = json.loads((FIXTURES / "model_v_before_expected.json").read_text())
    model = InterestGraphModel.load(FIXTURES / "model_v_before")
    scores = model.score(np.array(expected["users"]), dtype=torch.float64).numpy()
    np.testing.assert_allclose(scores, np.array(expected["scores"]), rtol=0, atol=1e-6)
    for case in expected["walks"]:
        walks = {tuple(p): c for p, c in model.walks(case["user"], case["item"])}
        for path, contribution in case["walks"]:
            assert walks[tuple(path)] == pytest.approx(contribution, abs=1e-6)
    assert model.coefficients.tolist() == pytest.approx(expected["coefficients"], abs=1e-6)
    assert model.adjacency.shape == (expected["n_nodes"], expected["n_nodes"])
    assert model.adjacency.nnz == expected["nnz"]


def _check_pinned(log, pinned: dict) -> None:
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    model = InterestGraphModel(ModelConfig(), TrainConfig(epochs=2, verbose=False, seed=0)).fit(graph)
    history = model.report_.history
    assert [h["loss"] for h in history] == pytest.approx(pinned["losses"], abs=1e-4)
    assert [h["valid_ndcg@20"] for h in history] == pytest.approx(pinned["valid"], abs=1e-4)
    assert model.report_.cold_calibration["bias"] == pytest.approx(pinned["cold_bias"], abs=1e-4)
    metrics = evaluate(model, graph.split, part="test", cutoffs=(20,)).metrics
    for name, value in pinned["test"].items():
        assert metrics[name] == pytest.approx(value, abs=1e-4), name


def test_a_short_fit_on_the_synthetic_default_gives_the_pinned_metrics():
    _check_pinned(generate_synthetic().log, PINNED["synthetic"])


@pytest.mark.skipif(not (ML_SMALL / "ratings.csv").is_file(), reason=f"ml-latest-small not found at {ML_SMALL}")
def test_a_short_fit_on_ml_latest_small_gives_the_pinned_metrics():
    _check_pinned(load_movielens(ML_SMALL), PINNED["ml"])
