"""Adding catalog items to a trained model without retraining (``InterestGraphModel.add_items``)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interestgraph.cli import main
from interestgraph.data import generate_synthetic
from interestgraph.data.schema import InteractionLog
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import DataError
from interestgraph.evaluate import positive_matrix
from interestgraph.graph import InterestGraph
from interestgraph.graph.build import GraphConfig, build_interest_graph
from interestgraph.graph.propagation import to_torch_csr
from interestgraph.interests.extract import InterestConfig
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.paths import build_operator, cold_mask, observed_without_positives
from interestgraph.recommend import explain, recommend

FAST = dict(epochs=3, user_batch=64, negatives=4, warmup_epochs=1, verbose=False, seed=5)
NEW = ["i87", "i88", "i89", "i90"]  # the last IDs: they sort after every other item, as appended items do
# no mined keywords: their TF-IDF statistics change with the catalog, and added items do not get them
CONFIG = GraphConfig(interests=InterestConfig(keywords_per_item=0))


@pytest.fixture(scope="module")
def logs():
    log = generate_synthetic(n_users=60, n_items=90, n_interactions=1_800, seed=11).log
    inter = log.interactions[~log.interactions["item_id"].isin(NEW)][
        ["user_id", "item_id", "timestamp", "event", "value", "text"]
    ]
    items = log.items.copy()
    # the new items carry only labels other items carry too, so both catalogs give the same interest points
    old = items[~items["item_id"].isin(NEW)]
    for field in log.interest_fields:
        known = {v for cell in old[field] for v in cell}
        items[field] = [
            cell if i not in NEW else [v for v in cell if v in known] for i, cell in zip(items["item_id"], items[field])
        ]
    fields = dict(interest_fields=log.interest_fields, text_fields=log.text_fields)
    full = InteractionLog.from_frames(inter, items, **fields)  # the new items in the catalog, without events
    small = InteractionLog.from_frames(inter, items[~items["item_id"].isin(NEW)], **fields)
    return small, full, items[items["item_id"].isin(NEW)].reset_index(drop=True)


@pytest.fixture(scope="module")
def trained(logs):
    small, _, _ = logs
    graph = build_interest_graph(small, CONFIG, protocol="rs-4", encoder=LexicalEncoder())
    return InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(graph)


def _copy(model, tmp_path, name):
    model.save(tmp_path / name, overwrite=True)
    return InterestGraphModel.load(tmp_path / name)


def test_added_items_get_exactly_the_weights_of_catalog_items_without_events(logs, trained, tmp_path):
    _, full, new_items = logs
    model = _copy(trained, tmp_path, "m")
    before = model.scorer
    summary = model.add_items(new_items, encoder=LexicalEncoder()).added_items
    assert summary["item_id"].tolist() == NEW and model.n_items == 90
    assert all(len(m) > 0 for m in summary["interests"])
    # the reference: the same trained parameters frozen on a graph built with those items in the catalog
    graph = build_interest_graph(full, CONFIG, protocol="rs-4", encoder=LexicalEncoder())
    assert graph.items[-4:].tolist() == NEW and len(graph.interests) == model.layout["interest"]
    operator = build_operator(graph, model.config)
    scorer = before.with_items(4, graph.item_vectors[-4:])
    not_cold = observed_without_positives(graph.split, positive_matrix(graph.split, "train"))
    cold = cold_mask(operator, not_cold=not_cold)
    assert cold[-4:].all()
    expected = scorer.effective_adjacency(operator, to_torch_csr(operator.structure()), cold)
    got = model.adjacency
    # equal up to float32 rounding (the GCN and gates run in float32; the sum order differs)
    assert got.shape == expected.shape and (got != 0).sum() == (expected != 0).sum()
    assert abs(got - expected).max() < 1e-6 * abs(expected).max()
    # renormalisation reached old edges too: the new items raised their interests' degrees
    old = trained.adjacency
    n_u = model.n_users
    assert abs(got[: n_u + 86, : n_u + 86] - old[: n_u + 86, : n_u + 86]).max() > 0


def test_a_loaded_model_refrozen_with_no_new_item_is_unchanged(trained, tmp_path):
    model = _copy(trained, tmp_path, "m0")
    assert model.tables is not None and model.not_cold is not None
    from interestgraph.paths import PathOperator

    operator = PathOperator.from_tables(
        model.tables, model.n_users, model.n_items, model.layout["interest"], exponent=model.config.exponent
    )
    w = model.scorer.effective_adjacency(
        operator, to_torch_csr(operator.structure()), cold_mask(operator, not_cold=model.not_cold)
    )
    # float32 rounding only: the GCN's float32 products may take other kernel paths on loaded buffers
    assert abs(w - trained.adjacency).max() < 1e-6 * abs(trained.adjacency).max()


def test_new_items_are_recommended_through_their_interests_and_survive_save(logs, trained, tmp_path):
    _, _, new_items = logs
    model = _copy(trained, tmp_path, "m2").add_items(new_items, encoder=LexicalEncoder())
    scores = model.score(np.arange(model.n_users), dtype=torch.float64).numpy()
    assert (
        (scores[:, -4:] > 0).any(axis=0).all()
    )  # each new item is reached by walks (user → item → interest → new item)
    users = model.user_ids[:10]
    top = recommend(model, users, k=3, candidates=NEW)
    assert set(top["item_id"]) <= set(NEW) and len(top) == 30
    e = explain(model, top["user_id"].iloc[0], top["item_id"].iloc[0], top=50)
    assert e.score == pytest.approx(top["score"].iloc[0], rel=1e-6)
    assert sum(p.contribution for p in e.paths) + e.remainder == pytest.approx(e.score, rel=1e-9)
    assert any(p.nodes[-2]["type"] == "interest" for p in e.paths)  # ... → interest → new item
    saved = _copy(model, tmp_path, "m3")
    assert saved.item_ids[-4:].tolist() == NEW and saved.nodes["added"].sum() == 4
    assert np.array_equal(
        saved.score(np.arange(5), dtype=torch.float64).numpy(), model.score(np.arange(5), dtype=torch.float64).numpy()
    )
    assert "items added after training" in (tmp_path / "m3" / "model_card.md").read_text()
    # adding again on the loaded copy continues the numbering; an added item cannot be added twice
    extra = new_items.iloc[:1].assign(item_id="i99")
    saved.add_items(extra, encoder=LexicalEncoder())
    assert saved.n_items == 91 and saved.item_ids[-1] == "i99" and len(saved.added_items) == 1
    with pytest.raises(DataError, match="already in the model"):
        saved.add_items(extra, encoder=LexicalEncoder())


def test_new_items_get_the_keywords_the_build_would_mine(logs, tmp_path):
    from interestgraph.interests.extract import keywords_of_texts

    small, _, new_items = logs
    graph = build_interest_graph(small, protocol="rs-4", encoder=LexicalEncoder())  # keyword mining on (the default)
    assert graph.keyword_terms is not None and len(graph.keyword_terms) > 0
    graph.save(tmp_path / "g")
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(InterestGraph.load(tmp_path / "g"))
    model = _copy(model, tmp_path, "kw").add_items(new_items, encoder=LexicalEncoder())
    texts = (new_items["title"] + ". " + new_items["description"]).tolist()
    keywords = keywords_of_texts(texts, graph.keyword_terms, graph.config.interests)
    lookup = {label: k for k, label in enumerate(graph.interests["label"])}
    keywords = keywords[keywords["label"].isin(list(lookup))]
    assert len(keywords) > 0
    rows = model.tables["item-interest"][86:].toarray()
    for row in range(4):
        expected = np.zeros(rows.shape[1])
        for field in ("categories", "tags"):
            for label in set(new_items[field].iloc[row]):
                expected[lookup[label]] = 1.0
        for label, weight in zip(
            keywords.loc[keywords["item"] == row, "label"], keywords.loc[keywords["item"] == row, "weight"]
        ):
            expected[lookup[label]] += weight
        assert rows[row] == pytest.approx(expected, abs=1e-6)
        assert set(model.added_items["interests"].iloc[row]) == {
            graph.interests["label"].iloc[k] for k in np.flatnonzero(expected)
        }


def test_item_item_edges_of_new_items_are_their_nearest_texts(logs, tmp_path):
    small, _, new_items = logs
    graph = build_interest_graph(
        small,
        GraphConfig(interests=InterestConfig(keywords_per_item=0), item_k=3, item_threshold=0.1),
        protocol="rs-4",
        encoder=LexicalEncoder(),
    )
    model = InterestGraphModel(
        ModelConfig(dim=8, edge_types=("user-item", "item-interest", "interest-interest", "item-item")),
        TrainConfig(**FAST),
    ).fit(graph)
    model.add_items(new_items, encoder=LexicalEncoder())
    table = model.tables["item-item"].tocsr()
    vectors = model.scorer.item_text.numpy().astype(np.float64)
    vectors /= np.maximum(np.linalg.norm(vectors, axis=1, keepdims=True), 1e-12)
    for row in range(86, 90):
        sims = vectors @ vectors[row]
        sims[row] = -np.inf
        best = set(np.argsort(-sims)[:3][sims[np.argsort(-sims)[:3]] >= 0.1])
        listed = set(table[row].indices)
        assert best <= listed and len(listed) >= len(best)  # its own k, plus new items that listed it
        assert table[row, list(best)].toarray().ravel() == pytest.approx(sims[list(best)], abs=1e-5)
    assert model.added_items["text_neighbours"].between(1, 3).all()


def test_models_with_w_v_u_means_or_without_item_interest_edges(logs, tmp_path):
    small, _, new_items = logs
    graph = build_interest_graph(small, CONFIG, protocol="rs-4", encoder=LexicalEncoder())
    mean = InterestGraphModel(ModelConfig(dim=8, user_interest_mean=True), TrainConfig(**FAST)).fit(graph)
    mean.scorer.user_interest = mean.scorer.user_interest.to("meta")  # as if trained on another device
    mean.add_items(new_items, encoder=LexicalEncoder())
    assert mean.scorer.user_interest.device.type == "cpu" and mean.n_items == 90
    loaded = _copy(mean, tmp_path, "mean")
    assert loaded.user_interest is not None and (loaded.user_interest != mean.user_interest).nnz == 0
    no_ii = InterestGraphModel(
        ModelConfig(dim=8, edge_types=("user-item", "user-interest", "interest-interest")), TrainConfig(**FAST)
    ).fit(graph)
    summary = no_ii.add_items(new_items, encoder=LexicalEncoder()).added_items
    assert all(m == [] for m in summary["interests"])  # nothing reported that no walk uses
    n_u = no_ii.n_users
    assert no_ii.adjacency[n_u + 86 : n_u + 90].nnz == 0


def test_add_items_refuses_bad_input_and_leaves_the_model_as_it_was(logs, trained, tmp_path):
    _, _, new_items = logs
    model = _copy(trained, tmp_path, "m4")
    w = model.adjacency.copy()
    with pytest.raises(TypeError, match="DataFrame"):
        model.add_items(new_items.to_dict("records"))
    with pytest.raises(DataError, match="no rows"):
        model.add_items(new_items.iloc[:0])
    with pytest.raises(DataError, match="already in the model"):
        model.add_items(new_items.assign(item_id=model.item_ids[:4]), encoder=LexicalEncoder())
    with pytest.raises(DataError, match="duplicate"):
        model.add_items(new_items.assign(item_id="i95"), encoder=LexicalEncoder())
    with pytest.raises(DataError, match="must hold lists"):
        model.add_items(new_items.assign(categories="action|drama"), encoder=LexicalEncoder())
    with pytest.raises(ValueError, match="encoder"):
        model.add_items(new_items, encoder=LexicalEncoder(dim=128))
    assert model.n_items == 86 and (model.adjacency != w).nnz == 0
    unknown = new_items.iloc[:1].assign(item_id="i98", categories=[["no such interest"]], tags=[[]])
    summary = model.add_items(unknown, encoder=LexicalEncoder()).added_items
    assert summary["interests"].iloc[0] == [] and summary["unknown_labels"].iloc[0] == ["no such interest"]


def test_cli_add_items_writes_a_new_model(logs, trained, tmp_path, capsys):
    _, _, new_items = logs
    trained.save(tmp_path / "cli-in", overwrite=True)
    csv = tmp_path / "new.csv"
    new_items.assign(categories=new_items["categories"].map("|".join), tags=new_items["tags"].map("|".join)).to_csv(
        csv, index=False
    )
    code = main(
        [
            "add-items",
            str(tmp_path / "cli-in"),
            "--items",
            str(csv),
            "--list-field",
            "categories",
            "--list-field",
            "tags",
            "--out",
            str(tmp_path / "cli-out"),
            "--json",
            "-q",
        ]
    )
    assert code == 0
    out = json.loads(capsys.readouterr().out)
    assert [r["item_id"] for r in out["items"]] == NEW and out["n_items"] == 90
    loaded = InterestGraphModel.load(tmp_path / "cli-out")
    assert loaded.item_ids[-4:].tolist() == NEW
    assert (
        main(
            [
                "add-items",
                str(tmp_path / "cli-in"),
                "--items",
                str(tmp_path / "missing.csv"),
                "--out",
                str(tmp_path / "x"),
                "-q",
            ]
        )
        == 1
    )
    assert not (tmp_path / "x").exists()
