"""The intent benchmark's protocol and core (benchmarks/intent.py, interestgraph.evaluate.intents): the time cut keeps
every held-out target out of training, metrics weigh users equally, and planted queries retrieve their items."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestgraph.baselines.retrieval import BM25Retrieval, TfidfRetrieval
from interestgraph.data import InteractionLog, generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.evaluate.intents import (
    PLANTED_LOG,
    mean_ci,
    mix,
    paired_ci,
    planted_intents,
    score_queries,
    tag_intents,
    user_means,
)

ROOT = Path(__file__).resolve().parents[1]
# ../shared from the repository root (a git worktree one level deeper reads ../../shared)
ML_SMALL = (
    next(
        (
            p
            for p in (ROOT.parent / "shared", ROOT.parents[1] / "shared")
            if (p / "datasets" / "ml-latest-small").is_dir()
        ),
        ROOT.parent / "shared",
    )
    / "datasets"
    / "ml-latest-small"
)


def _tiny_tag_log() -> InteractionLog:
    rows = []
    # user 1 rates movies 1..8 at t = 10..80 and tags five of them later; movie 2 is rated early, tagged last
    for k in range(1, 9):
        rows.append((1, k, 10 * k, "rating", 5.0, None))
    for t, (movie, tag) in enumerate([(1, "Funny"), (3, "dark"), (4, "space"), (5, "Space "), (2, "time travel")]):
        rows.append((1, movie, 100 + t, "tag", 1.0, tag))
    rows.append((1, 9, 200, "rating", 5.0, None))  # after the test cut: never in training
    for k in range(1, 11):  # user 2 never tags
        rows.append((2, k, 10 * k, "rating", 4.0, None))
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp", "event", "value", "text"])
    catalog = pd.DataFrame(
        {"item_id": range(1, 11), "title": [f"Movie {k}" for k in range(1, 11)], "genres": [["Comedy"]] * 10}
    )
    return InteractionLog.from_frames(frame, catalog, interest_fields=("genres",), text_fields=("title",))


def test_tag_queries_are_cut_in_time_and_no_target_reaches_training():
    intents = tag_intents(_tiny_tag_log(), test_share=0.2, valid_share=0.4)
    q = intents.queries
    # five tag events: the last one is test, the two before it validation ('space' twice: one query, two movies)
    assert q[q["part"] == "test"][["text", "items"]].values.tolist() == [["time travel", [2]]]
    assert q[q["part"] == "valid"][["text", "items"]].values.tolist() == [["space", [4, 5]]]
    inter = intents.split.log.interactions
    train = inter[inter["part"] == "train"]
    user1 = train[train["user_id"] == 1]
    # movies 2, 4, 5 were rated early but are held-out targets: they left training with them; so did all from t=102
    assert sorted(user1.loc[user1["event"] == "rating", "item_id"]) == [1, 3, 6, 7, 8]
    assert 2 not in set(user1["item_id"]) and 9 not in set(user1["item_id"])
    assert set(user1.loc[user1["event"] == "tag", "text"]) == {"Funny", "dark"}
    assert intents.history()[0, intents.split.log.item_ids.get_loc(2)] == 0
    # user 2 keeps their last positive (10 % of 10) for the recommender's validation, nothing in test
    user2 = inter[inter["user_id"] == 2]
    assert (user2["part"] == "valid").sum() == 1 and (user2["part"] == "test").sum() == 0
    # 'time travel': 'time' and 'travel' are in no title, genre or earlier tag
    assert q.loc[q["part"] == "test", "unseen_words"].tolist() == [2]


def test_tag_intents_rejects_a_log_without_tags():
    log = _tiny_tag_log()
    no_tags = log.with_interactions(log.interactions[log.interactions["event"] != "tag"])
    with pytest.raises(ValueError, match="no tag events"):
        tag_intents(no_tags)
    with pytest.raises(ValueError, match="test_share"):
        tag_intents(log, test_share=1.5)


def test_metrics_weigh_each_user_once_and_rank_every_item():
    intents = tag_intents(_tiny_tag_log(), test_share=0.2, valid_share=0.4)
    ids = intents.split.log.item_ids
    part = intents.part("valid")

    def perfect(batch):
        scores = np.zeros((len(batch), len(ids)))
        for r, items in enumerate(batch["items"]):
            scores[r, ids.get_indexer(items)] = 1.0
        return scores

    best = score_queries(intents, "valid", perfect, name="perfect")
    worst = score_queries(intents, "valid", lambda b: -perfect(b), name="worst", cutoffs=(3,))
    assert best.metrics["ndcg@20"] == pytest.approx(1.0) and best.metrics["recall@20"] == pytest.approx(1.0)
    assert worst.metrics["recall@3"] == 0.0 and len(part) == best.metrics["queries"] == 1
    # masking the history deletes no target: the perfect ranking stays perfect
    assert score_queries(intents, "valid", perfect, name="p", mask_history=True).metrics["ndcg@20"] == 1.0
    # one user with three queries and one with one: the user mean, not the query mean
    per_query = pd.DataFrame({"query": range(4), "user_id": ["a", "a", "a", "b"], "ndcg@20": [1.0, 1.0, 1.0, 0.0]})
    assert user_means(per_query)["ndcg@20"].mean() == pytest.approx(0.5)
    mean, low, high = mean_ci(np.array([0.0, 1.0, 0.5, 0.5]))
    assert mean == 0.5 and low < 0.5 < high
    results = [score_queries(intents, "valid", f, name=n) for f, n in ((perfect, "a"), (lambda b: -perfect(b), "b"))]
    paired = paired_ci(*results)
    gap = results[0].metrics["ndcg@20"] - results[1].metrics["ndcg@20"]  # 10 items: the worst still ranks them, last
    assert 0 < gap < 1 and paired["difference"] == pytest.approx(gap) and paired["users"] == 1
    assert mix(np.array([[0.0, 2.0, -np.inf]]), np.array([[1.0, 0.0, 3.0]]), 0.25).tolist() == [[0.25 / 3, 0.75, 0.25]]


def test_text_baselines_find_the_document_with_the_words():
    docs = ["a space opera with robots", "a quiet romantic comedy", "robots in the kitchen, cooking"]
    for model in (TfidfRetrieval(), BM25Retrieval()):
        scores = model.fit(docs).score(["space robots", "romantic", "nothing shared"])
        assert scores.shape == (3, 3) and scores[0].argmax() == 0 and scores[1].argmax() == 1
        assert (scores[2] == 0).all()


@pytest.fixture(scope="module")
def planted():
    data = generate_synthetic(n_users=250, n_items=250, n_interactions=7_500, seed=5, **PLANTED_LOG)
    return planted_intents(data, seed=5)


def test_planted_paraphrases_are_absent_from_the_catalogue_and_held_out(planted):
    s = planted.summary()
    assert s["test"]["queries"] >= 20 and s["valid"]["queries"] >= 20
    # a paraphrase is a phrase the catalogue does not contain: most queries hold a word never seen before the cut
    assert s["test"]["queries_with_unseen_word"] >= 0.5 * s["test"]["queries"]
    train = planted.split.positive_pairs("train")
    held = planted.part("test").explode("items")
    keys = set(zip(train["user_id"], train["item_id"]))
    assert not any(k in keys for k in zip(held["user_id"], held["items"]))


def test_the_benchmark_core_runs_and_planted_queries_retrieve_their_items(planted):
    sys.path.insert(0, str(ROOT))
    from benchmarks.intent import markdown, run
    from interestgraph.graph import build_interest_graph
    from interestgraph.model import InterestGraphModel, ItemPathModel, ModelConfig, TrainConfig

    encoder = LexicalEncoder()
    graph = build_interest_graph(planted.split, encoder=encoder)
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=3, verbose=False, seed=0)).fit(graph)
    item_path = ItemPathModel().fit(graph).index_queries(graph, encoder)
    # the tuned-encoder rows' code path, with the same encoder standing in for a fine-tuned one
    report = run(
        planted, model, encoder, argparse.Namespace(quick=True), item_path=item_path, tuned=(item_path, encoder)
    )
    alone = report["tasks"]["query alone"]
    # queries written from the planted interest find its items far above popularity
    assert alone["model query route"]["recall@20"][0] > 0.3
    assert alone["model query route"]["ndcg@20"][0] > 3 * alone["popularity"]["ndcg@20"][0]
    assert alone["TF-IDF"]["recall@20"][0] > alone["popularity"]["recall@20"][0]
    personal = report["tasks"]["query + history"]
    assert personal["model, history alone"]["recall@20"][0] > alone["popularity"]["recall@20"][0]
    assert {c["b"] for c in report["comparisons"]} >= {"model query route", "model, history alone"}
    assert "| model query route |" in markdown(report, "python benchmarks/intent.py")
    # the item-path model's route: the query steps to matching items and its paths go on from them
    assert alone["item-path query route"]["ndcg@20"][0] > 3 * alone["popularity"]["ndcg@20"][0]
    assert personal["item-path route, history as items"]["ndcg@20"][0] > personal["item-path query route"]["ndcg@20"][0]
    assert report["choices"]["item-path query route"]["chosen"] == {"top": 5, "prior": 0.0}  # quick: one setting
    assert "| item-path query route |" in markdown(report, "python benchmarks/intent.py")
    same = report["tasks"]["query alone"]["item-path query route (tuned encoder)"]
    assert same["ndcg@20"] == alone["item-path query route"]["ndcg@20"]  # the same encoder: the same scores
    assert "item-path route, history as items (tuned encoder)" in personal


@pytest.mark.skipif(not (ML_SMALL / "tags.csv").is_file(), reason="ml-latest-small not in ../shared/datasets")
def test_movielens_tag_queries_keep_their_targets_out_of_training():
    from interestgraph.data import load_movielens

    intents = tag_intents(load_movielens(ML_SMALL))
    s = intents.summary()
    assert intents.notes[0].startswith("58 tagging users")
    assert s["test"]["queries"] > 300 and s["valid"]["queries"] > 300
    history = intents.history()
    held = intents.queries.explode("items")
    rows = intents.split.log.user_ids.get_indexer(held["user_id"])
    cols = intents.split.log.item_ids.get_indexer(held["items"].astype(np.int64))
    assert np.asarray(history[rows, cols]).sum() == 0


def test_cold_users_are_out_of_training_and_given_their_first_positives():
    from interestgraph.evaluate.cold_users import cold_user_split, score_cold_users

    log = generate_synthetic(n_users=120, n_items=150, n_interactions=3_600, seed=2).log
    cold = cold_user_split(log, share=0.2, given=(1, 3), seed=0)
    held = set(cold.users["user_id"])
    assert held and not held & set(cold.split.log.interactions["user_id"])
    assert set(cold.users["part"]) == {"valid", "test"} and (cold.users["positives"].map(len) > 3).all()
    ids = cold.split.log.item_ids
    seen_given = []

    def oracle(given):  # ranks each user's later positives first; remembers what it was given
        seen_given.extend(given)
        users = cold.part("test")
        scores = np.zeros((len(given), len(ids)))
        for r, positives in enumerate(users["positives"]):
            scores[r, ids.get_indexer(positives)] = 1.0
        return scores

    result = score_cold_users(cold, "test", 3, oracle, name="oracle")
    assert result.metrics["recall@20"] == pytest.approx(1.0) or (result.per_user["n_relevant"] > 20).any()
    first = cold.part("test")["positives"].iloc[0]
    assert seen_given[0] == first[:3] and result.per_user["n_relevant"].iloc[0] == len(first) - 3
    with pytest.raises(ValueError, match="share"):
        cold_user_split(log, share=0.0)


def test_cold_users_with_text_get_their_first_tags_and_queries_as_one_line():
    from interestgraph.evaluate.cold_users import TEXT_EVENTS, TEXT_PARTS, cold_user_split, score_cold_users_text

    log = generate_synthetic(n_users=120, n_items=150, n_interactions=3_600, seed=2).log
    cold = cold_user_split(log, share=0.2, given=(1, 3), seed=0)
    inter = log.interactions
    for user, line in zip(cold.users["user_id"], cold.users["text"]):
        own = inter[(inter["user_id"] == user) & inter["event"].isin(TEXT_EVENTS) & inter["text"].notna()]
        texts = list(dict.fromkeys(own.sort_values("timestamp", kind="stable")["text"].str.strip()))
        assert line == ("; ".join(texts[:TEXT_PARTS]) if texts else None)
        if texts:  # none of it reaches training: the user left the log entirely
            assert user not in set(cold.split.log.interactions["user_id"])
    assert cold.users["text"].notna().sum() >= 10
    ids = cold.split.log.item_ids
    users = cold.part("test")
    users = users[users["text"].notna()].reset_index(drop=True)

    def oracle(lines):  # every positive first: nothing is masked, all positives are relevant
        assert lines == users["text"].tolist()
        scores = np.zeros((len(lines), len(ids)))
        for r, positives in enumerate(users["positives"]):
            scores[r, ids.get_indexer(positives)] = 1.0
        return scores

    result = score_cold_users_text(cold, "test", oracle, name="oracle")
    assert result.given == 0 and len(result.per_user) == len(users)
    assert (result.per_user["n_relevant"].to_numpy() == users["positives"].map(len).to_numpy()).all()
    small = result.per_user["n_relevant"] <= 20
    assert result.per_user.loc[small, "recall@20"].eq(1.0).all()


def test_text_document_pairs_use_interest_labels_and_training_tags_only():
    from interestgraph.evaluate.intents import item_documents, text_document_pairs

    intents = tag_intents(_tiny_tag_log(), test_share=0.2, valid_share=0.4)
    documents = item_documents(intents.split)
    pairs = text_document_pairs(intents.split)
    ids = intents.split.log.item_ids
    assert ("Comedy", documents[ids.get_loc(1)]) in pairs and sum(t == "Comedy" for t, _ in pairs) == 10
    tags = {(t, d) for t, d in pairs if t != "Comedy"}
    # the training tags, each with its movie; 'space' (validation) and 'time travel' (test) never
    assert tags == {("Funny", documents[ids.get_loc(1)]), ("dark", documents[ids.get_loc(3)])}
