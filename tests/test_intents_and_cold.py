"""Free-text intents folded in through the encoder, and cold items (training with hidden items, the calibrated cold
gate)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from interestgraph.baselines import NegativeSampler
from interestgraph.cli import main
from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.evaluate import evaluate
from interestgraph.graph.build import build_interest_graph
from interestgraph.graph.propagation import to_torch_csr
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.recommend import explain_intent, map_intent, recommend_for_intent
from interestgraph.train.trainer import cold_training_share, hold_out

FAST = dict(epochs=3, user_batch=64, negatives=4, warmup_epochs=1, verbose=False, seed=3)


@pytest.fixture(scope="module")
def model():
    log = generate_synthetic(n_users=60, n_items=90, n_interactions=1_800, seed=11).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    return InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(graph)


def _interest_labels(model) -> list[str]:
    nodes = model.nodes
    return nodes.loc[nodes["type"] == "interest", "label"].tolist()


def test_an_intent_maps_to_its_interests_with_the_documented_weights(model):
    label = _interest_labels(model)[3]
    intent = map_intent(model, label, encoder=LexicalEncoder(), top=3, threshold=0.0)
    assert intent.interests["label"].iloc[0] == label and intent.interests["similarity"].iloc[0] == pytest.approx(
        1.0, abs=1e-5
    )
    assert len(intent.interests) == 3 and (np.diff(intent.interests["similarity"]) <= 0).all()
    v = intent.interests["interest"].to_numpy()
    sim = intent.interests["similarity"].to_numpy(dtype=np.float64)
    a = model.config.exponent
    expected = (
        model.type_weights["item-interest"]
        * model.node_gates[v]
        * sim
        * sim.sum() ** -a
        * model.degrees["item-interest"][v] ** -a
    )
    assert intent.weights == pytest.approx(expected, rel=1e-12)


def test_intent_scores_are_the_query_walks_and_explanations_add_up(model):
    label = _interest_labels(model)[5]
    table = recommend_for_intent(model, label, k=5, encoder=LexicalEncoder(), top=2, threshold=0.0)
    intent = map_intent(model, label, encoder=LexicalEncoder(), top=2, threshold=0.0)
    # a new user with only a query reaches items by user → query → interest → item: brute force over W
    w = model.adjacency.toarray()
    n_u, n_i = model.n_users, model.n_items
    first = model.type_weights["user-item"]
    brute = np.zeros(n_i)
    for v, wq in zip(intent.interests["interest"], intent.weights):
        brute += model.coefficients[2] * first * wq * w[v, n_u : n_u + n_i]
    top = np.argsort(-brute, kind="stable")[:5]
    assert model.item_ids.get_indexer(table["item_id"]).tolist() == top.tolist()
    assert table["score"].to_numpy() == pytest.approx(brute[top], rel=1e-9)
    assert [r["label"] for r in table.attrs["interests"]] == intent.interests["label"].tolist()
    e = explain_intent(
        model, label, table["item_id"].iloc[0], top=2, encoder=LexicalEncoder(), top_interests=2, threshold=0.0
    )
    assert e.score == pytest.approx(table["score"].iloc[0], rel=1e-12) and abs(e.unexplained) < 1e-9 * abs(e.score)
    assert sum(p.contribution for p in e.paths) + e.remainder == pytest.approx(e.score, rel=1e-12)
    assert [n["type"] for n in e.paths[0].nodes] == ["user", "query", "interest", "item"] and e.paths[0].nodes[1][
        "label"
    ] == label
    for p in e.paths:
        assert p.contribution == pytest.approx(p.coefficient * float(np.prod(p.weights)), rel=1e-12)
    # with liked items as well: the items add their own walks, and the explanation still adds up
    items = list(model.item_ids[model.seen[2].indices[:3]])
    mixed = recommend_for_intent(model, label, k=3, items=items, encoder=LexicalEncoder(), top=2, threshold=0.0)
    assert not set(mixed["item_id"]) & set(items)
    e2 = explain_intent(
        model, label, mixed["item_id"].iloc[0], items=items, encoder=LexicalEncoder(), top_interests=2, threshold=0.0
    )
    assert e2.score == pytest.approx(mixed["score"].iloc[0], rel=1e-12) and abs(e2.unexplained) < 1e-9 * abs(e2.score)
    assert {p.nodes[1]["type"] for p in e2.paths} <= {"item", "query"}


def test_intents_refuse_bad_input(model):
    with pytest.raises(ValueError, match="text"):
        map_intent(model, "   ", encoder=LexicalEncoder())
    with pytest.raises(ValueError, match="encoder"):
        map_intent(model, "anything", encoder=LexicalEncoder(dim=256))
    with pytest.raises(ValueError, match="no interest point"):
        map_intent(model, "zzzz qqqq", encoder=LexicalEncoder(), threshold=0.99)
    with pytest.raises(ValueError, match="top"):
        map_intent(model, "anything", encoder=LexicalEncoder(), top=0)
    with pytest.raises(ValueError, match="threshold"):
        map_intent(model, "anything", encoder=LexicalEncoder(), threshold=2.0)


def test_a_loaded_model_answers_intents_identically_and_the_cli_prints_them(model, tmp_path, capsys):
    saved = model.save(tmp_path / "m")
    loaded = InterestGraphModel.load(saved)
    label = _interest_labels(model)[1]
    a = recommend_for_intent(model, label, k=4, encoder=LexicalEncoder(), threshold=0.0)
    b = recommend_for_intent(loaded, label, k=4, threshold=0.0)  # the model's own (lexical) encoder by default
    assert a.equals(b)
    assert main(["recommend", str(saved), "--query", label, "-k", "3", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 1 and set(rows[0]) == {"item", "title", "score"}
    assert main(["explain", str(saved), "--query", label, "--item", str(rows[0]["item"]), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["score"] == pytest.approx(rows[0]["score"], rel=1e-9)
    assert sum(p["contribution"] for p in out["paths"]) + out["remainder"] == pytest.approx(out["score"], rel=1e-9)
    assert main(["recommend", str(saved), "--query", label, "-k", "2"]) == 0
    assert "query → interests" in capsys.readouterr().out
    assert main(["recommend", str(saved), "--user", str(model.user_ids[0]), "--query", label]) == 2
    assert main(["explain", str(saved), "--item", str(rows[0]["item"])]) == 2


def test_hold_out_hides_whole_items_as_cold():
    rng = np.random.default_rng(0)
    train = sp.random(50, 40, density=0.3, random_state=1, format="csr")
    train.data[:] = 1.0
    kept, users, items = hold_out(train, 0.2, rng, None, cold_share=0.25)
    with_positives = np.flatnonzero(np.diff(train.tocsc().indptr) > 0)
    hidden = np.setdiff1d(with_positives, np.flatnonzero(np.diff(kept.tocsc().indptr) > 0))
    assert len(hidden) >= round(0.25 * len(with_positives))
    for i in hidden[:5]:  # every edge of a hidden item is a target
        assert set(users[items == i]) == set(train[:, i].nonzero()[0])
    assert kept.nnz + len(users) == train.nnz


def test_negatives_come_from_the_pool_and_are_never_positives():
    train = sp.csr_matrix(np.array([[1, 0, 0, 1, 0], [0, 1, 0, 0, 0]], dtype=float))
    sampler = NegativeSampler(train, seed=0, items=np.array([0, 1, 2]))
    draws = sampler.sample(np.repeat([0, 1], 200))
    assert set(draws[:200]) == {1, 2} and set(draws[200:]) == {0, 2}
    with pytest.raises(ValueError, match="items"):
        NegativeSampler(train, items=np.array([7]))
    with pytest.raises(ValueError, match="every item"):
        NegativeSampler(train, items=np.array([0, 3]))


def test_cold_items_get_the_cold_bias_and_no_id_vector(model):
    scorer = model.scorer
    cold = torch.zeros(model.n_items, dtype=torch.bool)
    cold[[2, 5]] = True
    original = scorer.cold_bias.item()
    with torch.no_grad():
        scorer.cold_bias.fill_(0.7)
        z = torch.randn(
            model.n_users + model.n_items + len(model.nodes[model.nodes["type"] == "interest"]), scorer.config.dim
        )
        s0, _ = scorer.gates(z)
        s1, _ = scorer.gates(z, cold)
        x0, x1 = scorer.base_vectors(), scorer.base_vectors(cold)
        scorer.cold_bias.fill_(original)
    changed = torch.nonzero(~torch.isclose(s0, s1)).flatten().tolist()
    assert changed == [model.n_users + 2, model.n_users + 5]
    assert torch.equal(x1[model.n_users + 2], scorer.projection(scorer.item_text)[2])
    assert torch.equal(x0[model.n_users + 3], x1[model.n_users + 3])


@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_under_cold_4_cold_items_are_trained_for_and_calibrated(loss):
    log = generate_synthetic(n_users=80, n_items=120, n_interactions=3_000, seed=5).log
    graph = build_interest_graph(log, protocol="cold-4", encoder=LexicalEncoder())
    assert cold_training_share(TrainConfig(), graph.split.protocol) == pytest.approx(0.1)
    assert (
        cold_training_share(
            TrainConfig(), build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).split.protocol
        )
        == 0.0
    )
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST, loss=loss)).fit(graph)
    calib = model.report_.cold_calibration
    assert calib["loss_kind"] == loss
    assert calib["draws"] == 4 and calib["cold_share"] == pytest.approx(0.1) and calib["holdout"] == pytest.approx(0.1)
    assert 0 < calib["cold_targets"] < calib["targets"] and calib["loss"] <= calib["loss_at_0"]
    assert model.scorer.cold_bias.item() == pytest.approx(calib["bias"])
    calibrated = evaluate(model, graph.split, part="test").cold["recall@20"]
    with torch.no_grad():
        model.scorer.cold_bias.zero_()
    model.refreeze(model.operator, to_torch_csr(model.operator.structure()))
    uncalibrated = evaluate(model, graph.split, part="test").cold["recall@20"]
    assert calibrated > uncalibrated
