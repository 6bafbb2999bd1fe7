"""Top-K recommendation and exact explanations from fitted and loaded path models."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from interestgraph.cli import main
from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.recommend import explain, recommend

FAST = dict(epochs=3, user_batch=64, negatives=4, warmup_epochs=1, verbose=False, seed=3)


@pytest.fixture(scope="module")
def temporal_model():
    """A model on a temporal split: first-step weights are on, so explanations must carry them."""
    log = generate_synthetic(n_users=80, n_items=100, n_interactions=2_500, seed=4).log
    graph = build_interest_graph(log, protocol="tl-4", encoder=LexicalEncoder())
    config = ModelConfig(
        dim=8, gate_rank=2, edge_types=("user-item", "item-interest", "interest-interest", "item-item")
    )
    return InterestGraphModel(config, TrainConfig(**FAST)).fit(graph)


@pytest.fixture(scope="module")
def saved(temporal_model, tmp_path_factory):
    return temporal_model.save(tmp_path_factory.mktemp("models") / "m")


def test_recommend_is_the_score_ranking_without_seen_items(temporal_model):
    model = temporal_model
    user = model.user_ids[7]
    table = recommend(model, [user], k=10)
    scores = model.score(np.array([7]))[0].clone()
    seen = model.seen[7].indices
    assert len(seen) and not set(model.item_ids.get_indexer(table["item_id"])) & set(seen.tolist())
    scores[torch.from_numpy(seen.astype(np.int64))] = -torch.inf
    expected = torch.topk(scores, 10)
    assert table["rank"].tolist() == list(range(1, 11)) and (table["user_id"] == user).all()
    assert table["score"].to_numpy() == pytest.approx(expected.values.numpy().astype(np.float64))
    assert model.item_ids.get_indexer(table["item_id"]).tolist() == expected.indices.tolist()
    with_seen = recommend(model, [user], k=len(model.item_ids), exclude_seen=False)
    assert set(model.item_ids[seen]) <= set(with_seen["item_id"])


def test_recommend_candidates_all_users_and_bad_arguments(temporal_model):
    model = temporal_model
    candidates = list(model.item_ids[:5])
    table = recommend(model, None, k=3, candidates=candidates, batch_size=16)
    assert set(table["item_id"]) <= set(candidates) and table["user_id"].nunique() == len(model.user_ids)
    assert (table.groupby("user_id")["score"].apply(lambda s: (np.diff(s.to_numpy()) <= 0).all())).all()
    with pytest.raises(KeyError, match="unknown"):
        recommend(model, ["nobody"])
    with pytest.raises(KeyError, match="items"):
        recommend(model, None, candidates=["no-such-item"])
    with pytest.raises(ValueError, match="k must"):
        recommend(model, None, k=0)


def test_explanation_adds_up_to_the_score(temporal_model):
    """(a): all walks sum to the production score; the shown walks plus the remainder equal it too."""
    model = temporal_model
    assert model.first_step == "order"
    for u in (0, 5, 11):
        for item in recommend(model, [model.user_ids[u]], k=3)["item_id"]:
            e = explain(model, model.user_ids[u], item, top=4)
            production = float(model.score(np.array([u]), dtype=torch.float64)[0, model.item_ids.get_loc(item)])
            assert e.score == pytest.approx(production, rel=1e-12)
            assert abs(e.unexplained) <= 1e-9 * max(1.0, abs(e.score))
            assert sum(p.contribution for p in e.paths) + e.remainder == pytest.approx(e.score, rel=1e-12, abs=1e-12)
            assert len(e.paths) == min(4, e.n_paths) and e.n_paths > 0
            assert [abs(p.contribution) for p in e.paths] == sorted(
                (abs(p.contribution) for p in e.paths), reverse=True
            )
            assert e.by_interest["contribution"].sum() == pytest.approx(e.score, rel=1e-9)
            for p in e.paths:  # each contribution is c_k · r · Π w of its own steps
                assert p.contribution == pytest.approx(
                    p.coefficient * p.first_step * float(np.prod(p.weights)), rel=1e-12
                )
                assert (
                    p.nodes[0]["type"] == "user" and p.nodes[-1]["type"] == "item" and len(p.edges) == len(p.nodes) - 1
                )
                assert set(p.edges) <= {"user-item", "item-interest", "interest-interest", "item-item"}


def test_a_loaded_model_recommends_and_explains_identically(temporal_model, saved):
    loaded = InterestGraphModel.load(saved)
    user = temporal_model.user_ids[3]
    a, b = recommend(temporal_model, [user], k=8), recommend(loaded, [str(user)], k=8)
    assert a.equals(b)
    item = a["item_id"][0]
    assert explain(loaded, user, item).to_dict() == explain(temporal_model, user, item).to_dict()
    assert explain(loaded, user, item, top=0).remainder == pytest.approx(explain(loaded, user, item).score)
    with pytest.raises(ValueError, match="top"):
        explain(loaded, user, item, top=-1)


def test_cli_recommend_and_explain_print_the_documented_json(saved, temporal_model, capsys):
    user = str(temporal_model.user_ids[2])
    assert main(["recommend", str(saved), "--user", user, "-k", "4", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) == 4 and set(rows[0]) == {"item", "title", "score"}
    assert main(["explain", str(saved), "--user", user, "--item", str(rows[0]["item"]), "--top", "3", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"score", "paths", "remainder"} <= set(out) and len(out["paths"]) <= 3
    assert set(out["paths"][0]) >= {"nodes", "contribution"} and set(out["paths"][0]["nodes"][0]) == {
        "type",
        "id",
        "label",
    }
    assert sum(p["contribution"] for p in out["paths"]) + out["remainder"] == pytest.approx(out["score"], rel=1e-9)
    assert main(["recommend", str(saved), "--user", user, "-k", "2"]) == 0
    assert "rank" in capsys.readouterr().out
    # a user the model does not hold: a data condition (exit 1) with the reason (issue 29)
    assert main(["explain", str(saved), "--user", "nobody", "--item", str(rows[0]["item"])]) == 1
    assert "'nobody' is not among the model's" in capsys.readouterr().err


def test_a_folded_in_user_scores_like_the_training_user_with_the_same_items(tmp_path):
    """Fold-in of a training user's items reproduces that user's scores (unseen items) up to its gate."""
    from interestgraph.recommend import fold_in_scores, fold_in_walks, recommend_for_items

    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_500, seed=6).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(graph)
    loaded = InterestGraphModel.load(model.save(tmp_path / "m"))
    for u in (1, 9):
        items = list(model.item_ids[model.seen[u].indices])
        folded = fold_in_scores(loaded, items)
        known = model.score(np.array([u]), dtype=torch.float64)[0].numpy()
        unseen = np.setdiff1d(np.arange(model.n_items), model.seen[u].indices)
        gate = model.node_gates[u]
        assert folded[unseen] * gate == pytest.approx(known[unseen], rel=1e-9, abs=1e-12)
        target = model.item_ids[unseen[np.argmax(known[unseen])]]
        walks = fold_in_walks(loaded, items, target)
        assert sum(v for _, v in walks) == pytest.approx(folded[model.item_ids.get_loc(target)], rel=1e-9)
        top = recommend_for_items(loaded, items, k=5)
        assert not set(top["item_id"]) & set(items) and top["item_id"].iloc[0] == target
    with pytest.raises(ValueError, match="at least one"):
        recommend_for_items(loaded, [])
    with pytest.raises(ValueError, match="twice"):
        recommend_for_items(loaded, [model.item_ids[0], model.item_ids[0]])
    with pytest.raises(KeyError, match="unknown"):
        recommend_for_items(loaded, ["no-such-item"])
    assert (
        main(["recommend", str(tmp_path / "m"), "--items", ",".join(map(str, model.item_ids[:3])), "-k", "3", "--json"])
        == 0
    )
    assert main(["recommend", str(tmp_path / "m"), "-k", "3"]) == 2


# ------------------------------------------------------------------ any recommender (the contract)
@pytest.fixture(scope="module")
def small_split():
    """5 users x 5 items. Train: a {i1, i2}, b {i2, i3}, c {i1, i2, i3}, d {i3, i4}, e {i4, i5}; one held-out pair
    each."""
    import pandas as pd

    from interestgraph.data import InteractionLog, given_split

    train = {"a": "i1 i2", "b": "i2 i3", "c": "i1 i2 i3", "d": "i3 i4", "e": "i4 i5"}
    held_out = {"a": "i4", "b": "i5", "c": "i4", "d": "i1", "e": "i2"}
    rows = [(u, i, "train") for u, items in train.items() for i in items.split()]
    rows += [(u, i, "test") for u, i in held_out.items()]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "part"])
    items = pd.DataFrame({"item_id": [f"i{k}" for k in range(1, 6)], "title": [f"t{k}" for k in range(1, 6)]})
    log = InteractionLog.from_frames(frame[["user_id", "item_id"]], items)
    return given_split(log, frame["part"].to_numpy(), name="small")


def _expected_top(model, split, user, k):
    """The top-k by the model's own score with the split's training positives masked, computed here."""
    code = split.log.user_ids.get_loc(user)
    scores = model.score(np.array([code]))[0].clone()
    train = split.positive_matrix("train")
    scores[torch.from_numpy(train[code].indices.astype(np.int64))] = -torch.inf
    top = torch.topk(scores, k)
    return list(split.log.item_ids[top.indices.numpy()]), top.values.numpy().astype(np.float64)


def test_recommend_ranks_for_a_most_popular_baseline(small_split):
    from interestgraph.baselines import MostPopular
    from interestgraph.evaluate import Recommender

    model = MostPopular().fit(small_split)
    assert isinstance(model, Recommender)
    table = recommend(model, ["a", "e"], k=3)
    # a saw i1, i2: the rest by training popularity (i3 x3, i4 x2, i5 x1); e saw i4, i5
    assert table.loc[table["user_id"] == "a", "item_id"].tolist() == ["i3", "i4", "i5"]
    assert table.loc[table["user_id"] == "a", "score"].tolist() == [3.0, 2.0, 1.0]
    e = table.loc[table["user_id"] == "e"]
    assert set(e["item_id"][:2]) == {"i2", "i3"} and e["item_id"].iloc[2] == "i1"  # i2 and i3 tie at 3
    assert table["rank"].tolist() == [1, 2, 3, 1, 2, 3]
    assert table["title"].isna().all()  # a baseline holds no titles
    everything = recommend(model, None, k=5)
    train = small_split.positive_matrix("train")
    for user, rows in everything.groupby("user_id"):
        code = small_split.log.user_ids.get_loc(user)
        seen = set(small_split.log.item_ids[train[code].indices])
        assert not seen & set(rows["item_id"]) and len(rows) == 5 - len(seen)
    with_seen = recommend(model, ["a"], k=5, exclude_seen=False)
    assert with_seen["score"].tolist() == [3.0, 3.0, 2.0, 2.0, 1.0] and with_seen["item_id"].iloc[-1] == "i5"


def test_recommend_ranks_for_an_itemknn_baseline(small_split):
    from interestgraph.baselines import ItemKNN

    model = ItemKNN(k=2).fit(small_split)
    for user in ("a", "b", "c", "d", "e"):
        table = recommend(model, [user], k=2)
        items, scores = _expected_top(model, small_split, user, 2)
        assert table["item_id"].tolist() == items
        assert table["score"].to_numpy() == pytest.approx(scores)
    # a liked i1 and i2; i3 is the only unseen item that co-occurs with them, so it leads with a positive score
    top = recommend(model, ["a"], k=1)
    assert top["item_id"].tolist() == ["i3"] and top["score"].iloc[0] > 0
    among = recommend(model, ["a"], k=3, candidates=["i4", "i5"])  # neither co-occurs with a's items: both score 0
    assert sorted(among["item_id"]) == ["i4", "i5"] and (among["score"] == 0).all()


def test_recommend_and_walk_functions_name_what_a_model_lacks(small_split):
    from interestgraph.baselines import ItemKNN, MostPopular
    from interestgraph.recommend import recommend_for_items

    with pytest.raises(TypeError, match="lacks score, user_ids, item_ids, seen"):
        recommend(object(), ["a"])
    with pytest.raises(RuntimeError, match="MostPopular is not fitted"):
        recommend(MostPopular(), ["a"])
    model = ItemKNN(k=2).fit(small_split)
    with pytest.raises(TypeError, match=r"explain\(\) follows walks .* needs an InterestGraphModel .* not ItemKNN"):
        explain(model, "a", "i3")
    with pytest.raises(TypeError, match=r"recommend_for_items\(\) .* not ItemKNN"):
        recommend_for_items(model, ["i1"])
    with pytest.raises(KeyError, match="unknown"):
        recommend(model, ["nobody"])


def test_every_item_path_component_has_a_reading():
    """An explanation names each component's share in words: a component added without its reading would print a
    bare name."""
    from interestgraph.paths import COMPONENTS
    from interestgraph.recommend.reasons import COMPONENT_READING

    assert set(COMPONENT_READING) == set(COMPONENTS)
    assert all(reading and reading != name for name, reading in COMPONENT_READING.items())
