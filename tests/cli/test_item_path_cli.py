"""The item-path model from the command line: train --model-type item-path, then recommend / explain from its artifact
(known users, new users' items, readable shares that add up to the score) and clear refusals."""

from __future__ import annotations

import json

import numpy as np
import pytest

from interestgraph.cli import main
from interestgraph.model import ItemPathModel
from interestgraph.model.item_path import QUERY_TOP
from interestgraph.recommend import explain, explain_item_path, recommend, recommend_for_intent, recommend_for_items


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    root = tmp_path_factory.mktemp("item-path-cli")
    graph, model = root / "graph", root / "model"
    build = "build --format synthetic --n-users 80 --n-items 120 --n-events 3000 --protocol rs-4 --encoder lexical -q"
    assert main([*build.split(), "--out", str(graph)]) == 0
    grid = json.dumps({"item-path": {"ridge": [50.0, 200.0]}})
    assert main(["train", str(graph), "--model-type", "item-path", "--grid", grid, "--out", str(model), "--json"]) == 0
    return graph, model


def test_train_chooses_the_item_path_setting_on_validation_and_saves_titles(trained, capsys):
    graph, model_dir = trained
    capsys.readouterr()
    assert main(["train", str(graph), "--model-type", "item-path", "--out", str(model_dir), "--json"]) == 2  # exists
    assert "--overwrite" in capsys.readouterr().err
    model = ItemPathModel.load(model_dir)
    assert model.config.ridge in (50.0, 200.0)  # from the --grid given
    assert model.facts["protocol"]["name"] == "rs-4" and "rs-4" in model.facts["protocol_line"]
    titles = model.titles_
    assert titles is not None and len(titles) == model.n_items and all(isinstance(t, str) and t for t in titles)
    assert "ItemPathModel(" in model.describe()


def test_recommend_and_explain_a_known_user_add_up(trained, capsys):
    _, model_dir = trained
    model = ItemPathModel.load(model_dir)
    user = str(model.user_ids[5])
    capsys.readouterr()
    assert main(["recommend", str(model_dir), "--user", user, "-k", "5", "--explain", "2", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = recommend(model, [user], k=5)
    assert [r["item"] for r in rows] == list(expected["item_id"])
    assert [r["title"] for r in rows] == list(expected["title"]) and all(rows[0]["title"] for _ in rows)
    seen = set(model.item_ids[model.seen[5].indices])
    assert not seen & {r["item"] for r in rows}
    for row in rows[:2]:
        why = row["explanation"]
        assert why["user"] == user and why["item"] == row["item"]
        assert why["score"] == pytest.approx(row["score"], rel=1e-6)
        shown = sum(r["contribution"] for r in why["reasons"])
        assert shown + why["remainder"] + why["prior"] == pytest.approx(why["score"], rel=1e-5, abs=1e-8)
        assert sum(why["by_component"].values()) == pytest.approx(why["score"], rel=1e-5, abs=1e-8)
        assert abs(why["unexplained"]) < 1e-5 * max(1.0, abs(why["score"]))
        for reason in why["reasons"]:  # every reason is an item the user liked, its parts add up to it
            assert reason["item"] in seen
            assert sum(reason["components"].values()) == pytest.approx(reason["contribution"], rel=1e-9)
        assert why["prior"] == 0.0  # a known user has no prior
    top = rows[0]["item"]
    full = explain(model, user, top, top=1_000)  # every liked item listed: nothing left over
    assert full.remainder == pytest.approx(0.0, abs=1e-12)
    assert set(full.by_component) <= set(model.components_)
    assert "because you liked" in str(full) and "by component" in str(full)


def test_new_users_items_rank_and_explain_with_the_prior(trained, capsys):
    _, model_dir = trained
    model = ItemPathModel.load(model_dir)
    given = [str(x) for x in model.item_ids[[3, 7, 11]]]
    capsys.readouterr()
    assert main(["recommend", str(model_dir), "--items", ",".join(given), "-k", "4", "--explain", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = recommend_for_items(model, given, k=4)
    assert [r["item"] for r in rows] == list(expected["item_id"])
    assert not set(given) & {r["item"] for r in rows}
    why = rows[0]["explanation"]
    assert why["user"] is None and why["given"] == given
    assert why["prior"] > 0  # the default new_user_prior
    total = sum(r["contribution"] for r in why["reasons"]) + why["remainder"] + why["prior"]
    assert total == pytest.approx(why["score"], rel=1e-5)
    assert {r["item"] for r in why["reasons"]} <= set(given)
    assert main(["explain", str(model_dir), "--items", ",".join(given), "--item", rows[0]["item"], "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["score"] == pytest.approx(why["score"], rel=1e-6)
    lower = explain_item_path(model, rows[0]["item"], items=given, prior=0.0)
    assert lower.prior == 0.0 and lower.score < why["score"]
    assert float(np.float64(lower.unexplained)) == pytest.approx(0.0, abs=1e-6)


def test_a_free_text_query_steps_to_matching_items_and_explains_exactly(trained, capsys):
    _, model_dir = trained
    model = ItemPathModel.load(model_dir)
    assert model.query_vectors_ is not None and model.query_vectors_.shape[0] == model.n_items
    capsys.readouterr()
    assert main(["recommend", str(model_dir), "--query", "space adventure", "-k", "4", "--explain", "1", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    expected = recommend_for_intent(model, "space adventure", k=4)
    assert [r["item"] for r in rows] == list(expected["item_id"])
    matched = {m["item_id"]: m["similarity"] for m in expected.attrs["matched"]}
    assert 0 < len(matched) <= QUERY_TOP and all(0 < v <= 1 for v in matched.values())
    why = rows[0]["explanation"]
    assert why["query"] == "space adventure" and why["user"] is None and why["prior"] > 0  # QUERY_PRIOR
    total = sum(r["contribution"] for r in why["reasons"]) + why["remainder"] + why["prior"]
    assert total == pytest.approx(why["score"], rel=1e-5)
    for reason in why["reasons"]:  # every reason is a matched item, with the cosine that weighted its first step
        assert reason["matched"] == pytest.approx(matched[reason["item"]], rel=1e-6)
    # with items given too: their paths add to the matched items' and the given items are not recommended
    given = [str(x) for x in model.item_ids[[3, 7]]]
    both = recommend_for_intent(model, "space adventure", k=4, items=given)
    assert not set(given) & set(both["item_id"])
    assert (
        main(
            [
                "explain",
                str(model_dir),
                "--query",
                "space adventure",
                "--items",
                ",".join(given),
                "--item",
                str(both["item_id"].iloc[0]),
                "--json",
            ]
        )
        == 0
    )
    explained = json.loads(capsys.readouterr().out)
    assert explained["score"] == pytest.approx(float(both["score"].iloc[0]), rel=1e-6)
    full = explain_item_path(model, both["item_id"].iloc[0], items=given, query="space adventure", top=1_000)
    assert full.remainder == pytest.approx(0.0, abs=1e-12) and full.score == pytest.approx(explained["score"])
    assert any(r.item_id in given for r in full.reasons)  # the given items speak too ...
    for reason in full.reasons:  # ... as liked items; the matched ones carry their cosine
        assert reason.matched == (pytest.approx(matched[reason.item_id]) if reason.item_id in matched else None)


def test_batch_explain_and_recommend_read_the_item_path_artifact(trained, capsys):
    _, model_dir = trained
    capsys.readouterr()
    assert main(["recommend", str(model_dir), "--all-users", "-k", "2", "--json", "-q"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    model = ItemPathModel.load(model_dir)
    assert len(lines) == model.n_users and all(len(json.loads(line)["items"]) == 2 for line in lines)
    item = str(model.item_ids[0])
    assert main(["explain", str(model_dir), "--all-users", "--item", item, "--json", "-q"]) == 0
    explained = [json.loads(line) for line in capsys.readouterr().out.strip().splitlines()]
    assert len(explained) == model.n_users and {e["item"] for e in explained} == {item}


def test_evaluate_finds_the_graph_the_model_records(trained, capsys):
    graph, model_dir = trained
    capsys.readouterr()
    assert main(["evaluate", str(model_dir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    model = ItemPathModel.load(model_dir)
    assert model.facts["graph_path"] == str(graph.resolve())
    assert set(result) == {str(model_dir), "pop", "itemknn"}  # beside the default baselines
    assert main(["evaluate", str(graph), "--models", str(model_dir), "--json"]) == 0
    same = json.loads(capsys.readouterr().out)[str(model_dir)]
    assert result[str(model_dir)]["ndcg@20"] == same["ndcg@20"] and same["part"] == "test"


def test_the_grid_s_config_entry_sets_what_the_sweep_starts_from(trained, tmp_path, capsys):
    """``"config"`` in the item-path grid: ItemPathConfig fields (here the spectral component's ε and rank) under the
    sweep; a bad one is refused by name and nothing is written."""
    graph, _ = trained
    grid = {"item-path": {"ridge": [100.0], "side_weight": [0.0], "components": ["spectral"], "theta": [0.5]}}
    grid["item-path"]["config"] = {"spectral_rank": 6, "spectral_epsilon": 0.25}
    out = tmp_path / "spectral"
    capsys.readouterr()
    command = ["train", str(graph), "--model-type", "item-path", "--grid", json.dumps(grid), "--out", str(out)]
    assert main([*command, "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["config"] == {"spectral_rank": 6, "spectral_epsilon": 0.25}  # the run says what it started from
    assert printed["configurations"] == 2  # the ridge backbone, then spectral at θ 0.5
    model = ItemPathModel.load(out)
    assert model.config.spectral_rank == 6 and model.config.spectral_epsilon == 0.25
    grid["item-path"]["config"] = {"spectral_epsilon": 2.0}
    out = tmp_path / "refused"
    assert main(["train", str(graph), "--model-type", "item-path", "--grid", json.dumps(grid), "--out", str(out)]) == 2
    assert "spectral_epsilon" in capsys.readouterr().err and not out.exists()
    grid["item-path"]["config"] = {"no_such_field": 1}
    bad = tmp_path / "bad"
    assert main(["train", str(graph), "--model-type", "item-path", "--grid", json.dumps(grid), "--out", str(bad)]) == 2
    assert "no_such_field" in capsys.readouterr().err and not bad.exists()


def test_refusals_name_the_problem(trained, tmp_path, capsys):
    graph, model_dir = trained
    capsys.readouterr()
    from interestgraph.graph import InterestGraph

    bare = ItemPathModel().fit(InterestGraph.load(graph)).save(tmp_path / "bare")  # fitted without a query index
    assert main(["recommend", str(bare), "--query", "space robots"]) == 2
    assert "without a query index" in capsys.readouterr().err
    items = tmp_path / "new.csv"
    items.write_text("item_id,title\nnew1,Something New\n")
    assert main(["add-items", str(model_dir), "--items", str(items), "--out", str(tmp_path / "m2")]) == 2
    assert "is an item-path model" in capsys.readouterr().err and not (tmp_path / "m2").exists()
    assert main(["train", str(graph), "--model-type", "item-path", "--epochs", "3", "--out", str(tmp_path / "m3")]) == 2
    err = capsys.readouterr().err
    assert "--epochs" in err and "interest-graph model only" in err and not (tmp_path / "m3").exists()
    assert main(["train", str(graph), "--grid", "{}", "--out", str(tmp_path / "m4")]) == 2
    assert "--model-type item-path" in capsys.readouterr().err
    assert main(["train", str(graph), "--tune-encoder", "--out", str(tmp_path / "m5")]) == 2
    assert "--encoder-mode" in capsys.readouterr().err
    lexical = ["train", str(graph), "--model-type", "item-path", "--tune-encoder", "--out", str(tmp_path / "m6")]
    assert main(lexical) == 2 and not (tmp_path / "m6").exists()
    assert "fine-tunes the packaged MiniLM" in capsys.readouterr().err
    assert main(["recommend", str(model_dir), "--user", "nobody"]) == 1
    assert "not among the model's" in capsys.readouterr().err
    assert main(["explain", str(model_dir), "--items", "nope", "--item", str(graph)]) == 1
    assert "unknown" in capsys.readouterr().err
    assert main(["inspect", str(model_dir)]) == 2
    assert "is an item-path model directory" in capsys.readouterr().err
