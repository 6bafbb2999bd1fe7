"""Baselines behind the harness interface: exact small cases, the sampler, and each one against most-popular."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch
from scipy.stats import chisquare

from interestgraph.baselines import BPRMF, ItemKNN, LightGCN, MostPopular, NegativeSampler, TextContent, tune_lightgcn
from interestgraph.data import InteractionLog, generate_synthetic, given_split, split_log
from interestgraph.encoder import LexicalEncoder
from interestgraph.evaluate import evaluate, positive_matrix

FAST = dict(lr=5e-3, batch_size=512, eval_every=2, patience=3, seed=7)


# ------------------------------------------------------------------ fixtures
@pytest.fixture(scope="module")
def tiny():
    """3 users x 4 items. Train: a {i1, i2}, b {i2, i3}, c {i1, i2, i3}; i4 only held out."""
    rows = [
        ("a", "i1", "train"),
        ("a", "i2", "train"),
        ("a", "i4", "test"),
        ("b", "i2", "train"),
        ("b", "i3", "train"),
        ("b", "i4", "test"),
        ("c", "i1", "train"),
        ("c", "i2", "train"),
        ("c", "i3", "train"),
        ("c", "i4", "valid"),
    ]
    frame = pd.DataFrame(rows, columns=["user_id", "item_id", "part"])
    items = pd.DataFrame(
        {"item_id": ["i1", "i2", "i3", "i4"], "title": ["red apple", "green apple", "blue car", "red car"]}
    )
    log = InteractionLog.from_frames(frame[["user_id", "item_id"]], items)
    split = given_split(log, frame["part"].to_numpy(), name="tiny")
    users = split.log.user_ids.get_indexer(["a", "b", "c"])
    items_order = split.log.item_ids.get_indexer(["i1", "i2", "i3", "i4"])
    return split, users, items_order


@pytest.fixture(scope="module")
def synthetic_split():
    """A small planted-interest log with mild popularity skew (so personalisation can win)."""
    log = generate_synthetic(n_users=300, n_items=200, n_interactions=12000, popularity_skew=0.3, seed=1).log
    return split_log(log, "rs-4")


@pytest.fixture(scope="module")
def pop_result(synthetic_split):
    return evaluate(MostPopular().fit(synthetic_split), synthetic_split, cutoffs=(20,))


@pytest.fixture(scope="module")
def bpr(synthetic_split):
    return BPRMF(max_epochs=40, **{**FAST, "lr": 1e-2}).fit(synthetic_split)


@pytest.fixture(scope="module")
def lightgcn(synthetic_split):
    return LightGCN(max_epochs=30, **FAST).fit(synthetic_split)


# ------------------------------------------------------------------ exact small cases
def test_most_popular_counts_training_positives(tiny):
    split, users, items = tiny
    model = MostPopular()
    assert model.fit(split) is model
    scores = model.score(users)
    assert scores.shape == (3, 4) and scores.dtype == torch.float32
    np.testing.assert_array_equal(scores.numpy()[:, items], [[2, 3, 2, 0]] * 3)


def test_itemknn_all_neighbours_exact(tiny):
    split, users, items = tiny
    model = ItemKNN(k=100)
    assert model.fit(split) is model
    s12, s13, s23 = 2 / math.sqrt(6), 1 / 2, 2 / math.sqrt(6)
    expected = [
        [s12, s12, s13 + s23, 0.0],  # a has i1, i2
        [s12 + s13, s23, s23, 0.0],  # b has i2, i3
        [s12 + s13, s12 + s23, s13 + s23, 0.0],  # c has i1, i2, i3
    ]
    scores = model.score(users)
    assert scores.shape == (3, 4) and scores.dtype == torch.float32
    np.testing.assert_allclose(scores.numpy()[:, items], expected, rtol=1e-6)


def test_itemknn_top1_and_shrink_exact(tiny):
    split, users, items = tiny
    # k=1: N(i1)={i2}, N(i2)={i1} (tie with i3 broken by item code), N(i3)={i2}, N(i4)={}
    s = 2 / math.sqrt(6)
    np.testing.assert_allclose(
        ItemKNN(k=1).fit(split).score(users).numpy()[:, items], [[s, s, s, 0], [s, 0, s, 0], [s, s, s, 0]], rtol=1e-6
    )
    # shrink adds to the cosine denominator
    r12, r13, r23 = 2 / (math.sqrt(6) + 1), 1 / (2 + 1), 2 / (math.sqrt(6) + 1)
    got = ItemKNN(k=100, shrink=1.0).fit(split).score(users).numpy()[:, items]
    np.testing.assert_allclose(got[0], [r12, r12, r13 + r23, 0.0], rtol=1e-6)
    assert ItemKNN(k=1).fit(split).neighbours_.getnnz(axis=1).max() == 1


def test_text_content_is_cosine_of_mean_profile(tiny):
    split, users, _items = tiny
    encoder = LexicalEncoder(dim=64)
    model = TextContent(encoder=encoder)
    assert model.fit(split) is model
    vectors = encoder.encode(split.log.item_texts())
    train = torch.from_numpy(positive_matrix(split, "train").toarray())
    profile = torch.nn.functional.normalize(train @ vectors / train.sum(1, keepdim=True), dim=1)
    scores = model.score(users)
    assert scores.shape == (3, 4) and scores.dtype == torch.float32
    torch.testing.assert_close(scores, (profile @ vectors.T)[torch.as_tensor(users)])


def test_bad_arguments_name_themselves(tiny):
    split, _, _ = tiny
    for model, name in [
        (ItemKNN(k=0), "k"),
        (ItemKNN(shrink=-1.0), "shrink"),
        (BPRMF(lr=-1.0), "lr"),
        (BPRMF(dim=0), "dim"),
        (BPRMF(l2=-1.0), "l2"),
        (LightGCN(layers=0), "layers"),
        (BPRMF(loss="hinge"), "loss"),
        (LightGCN(loss="softmax", temperature=0.0), "temperature"),
        (LightGCN(patience=0), "patience"),
        (TextContent(encoder=object()), "encoder"),
    ]:
        with pytest.raises(ValueError, match=name):
            model.fit(split)
    with pytest.raises(RuntimeError, match="not fitted"):
        MostPopular().score(np.array([0]))


# ------------------------------------------------------------------ negative sampler
def test_negative_sampler_never_returns_a_training_positive(synthetic_split):
    train = positive_matrix(synthetic_split, "train")
    sampler = NegativeSampler(train, seed=3)
    users = np.repeat(np.arange(train.shape[0]), 50)
    negatives = sampler.sample(users)
    assert negatives.shape == users.shape and negatives.dtype == np.int64
    assert len(users) > 10_000
    assert train[users, negatives].sum() == 0
    assert not sampler.is_positive(users, negatives).any()
    coo = train.tocoo()
    assert sampler.is_positive(coo.row, coo.col).all()


def test_negative_sampler_is_uniform_over_non_positives():
    # one heavy user (positives on 15 of 20 items) and one light user
    train = sp.csr_matrix(np.array([[1] * 15 + [0] * 5, [1] + [0] * 19], dtype=np.float32))
    sampler = NegativeSampler(train, seed=0)
    draws = sampler.sample(np.zeros(20_000, dtype=np.int64))
    assert set(np.unique(draws)) == {15, 16, 17, 18, 19}
    assert chisquare(np.bincount(draws, minlength=20)[15:]).pvalue > 1e-3
    light = sampler.sample(np.ones(19_000, dtype=np.int64))
    counts = np.bincount(light, minlength=20)
    assert counts[0] == 0 and chisquare(counts[1:]).pvalue > 1e-3
    # same seed, same draws
    np.testing.assert_array_equal(
        NegativeSampler(train, seed=5).sample(np.arange(2).repeat(100)),
        NegativeSampler(train, seed=5).sample(np.arange(2).repeat(100)),
    )
    with pytest.raises(ValueError, match="every item"):
        NegativeSampler(sp.csr_matrix(np.ones((2, 3))))


# ------------------------------------------------------------------ against most-popular, via the harness
def test_itemknn_beats_most_popular(synthetic_split, pop_result):
    result = evaluate(ItemKNN(k=50).fit(synthetic_split), synthetic_split, cutoffs=(20,))
    assert result.metrics["ndcg@20"] > pop_result.metrics["ndcg@20"] + 0.05


@pytest.mark.parametrize("fixture", ["bpr", "lightgcn"])
def test_bpr_models_beat_most_popular_and_keep_the_best_epoch(fixture, request, synthetic_split, pop_result):
    model = request.getfixturevalue(fixture)
    n_users, n_items = synthetic_split.log.n_users, synthetic_split.log.n_items
    scores = model.score(np.arange(5))
    assert scores.shape == (5, n_items) and scores.dtype == torch.float32
    result = evaluate(model, synthetic_split, cutoffs=(20,))
    assert result.metrics["ndcg@20"] > pop_result.metrics["ndcg@20"] + 0.05
    # early stopping: the history is recorded and the best validation epoch's weights are back
    assert 1 <= model.best_epoch_ <= model.epochs_ and len(model.history_) == model.epochs_
    evaluated = {h["epoch"]: h["valid_ndcg@20"] for h in model.history_ if "valid_ndcg@20" in h}
    assert (
        model.best_epoch_ in evaluated
        and evaluated[model.best_epoch_] == max(evaluated.values()) == model.best_valid_ndcg_
    )
    again = evaluate(model, synthetic_split, part="valid", cutoffs=(20,)).metrics["ndcg@20"]
    assert again == pytest.approx(model.best_valid_ndcg_, abs=1e-9)
    assert all(np.isfinite(h["loss"]) for h in model.history_) and model.train_seconds_ > 0
    assert n_users == model.n_users_


@pytest.mark.parametrize("cls", [BPRMF, LightGCN])
def test_softmax_loss_trains_the_bpr_models(cls, synthetic_split, pop_result):
    model = cls(max_epochs=20, loss="softmax", temperature=0.5, **{**FAST, "lr": 1e-2}).fit(synthetic_split)
    losses = [h["loss"] for h in model.history_]
    # the first epoch's loss starts near log(n_items) (all logits near 0) and falls
    assert losses[0] < np.log(synthetic_split.log.n_items) + 0.5 and losses[-1] < losses[0] - 0.1
    assert evaluate(model, synthetic_split, cutoffs=(20,)).metrics["ndcg@20"] > pop_result.metrics["ndcg@20"] + 0.05


def test_early_stopping_stops_and_restores(synthetic_split):
    model = LightGCN(max_epochs=200, lr=5e-2, batch_size=256, eval_every=1, patience=2, seed=7).fit(synthetic_split)
    assert model.epochs_ < 200
    assert model.epochs_ - model.best_epoch_ == 2  # stopped after `patience` evaluations without improvement
    assert evaluate(model, synthetic_split, part="valid", cutoffs=(20,)).metrics["ndcg@20"] == pytest.approx(
        model.best_valid_ndcg_, abs=1e-9
    )


def test_fixed_seed_gives_the_same_scores(synthetic_split):
    users = np.arange(10)
    for make in (lambda: BPRMF(max_epochs=3, **FAST), lambda: LightGCN(max_epochs=3, **FAST)):
        first, second = make().fit(synthetic_split), make().fit(synthetic_split)
        assert torch.equal(first.score(users), second.score(users))
        untimed = lambda model: [{k: v for k, v in h.items() if k != "seconds"} for h in model.history_]
        assert untimed(first) == untimed(second)


def test_lightgcn_graph_is_the_symmetric_training_bipartite_graph(lightgcn, synthetic_split):
    train = positive_matrix(synthetic_split, "train")
    n_users = train.shape[0]
    adjacency = lightgcn.adjacency_.to_dense().numpy()
    assert adjacency.shape == (n_users + train.shape[1],) * 2
    assert np.allclose(adjacency, adjacency.T)
    assert np.count_nonzero(adjacency) == 2 * train.nnz
    assert set(zip(*np.nonzero(adjacency[:n_users, n_users:]))) == set(zip(*train.nonzero()))
    degree = np.concatenate([np.diff(train.indptr), np.diff(train.tocsc().indptr)]).astype(float)
    u, i = train.nonzero()
    assert np.allclose(adjacency[u, n_users + i], 1 / np.sqrt(degree[u] * degree[n_users + i]))


def test_lightgcn_propagation_matches_pyg(lightgcn):
    from torch_geometric.nn.conv.gcn_conv import gcn_norm
    from torch_geometric.nn.models import LightGCN as PyGLightGCN

    weight = lightgcn.module_.embedding.weight.detach()
    coo = lightgcn.adjacency_.to_sparse_coo().coalesce()
    edge_index = coo.indices()
    reference = PyGLightGCN(weight.shape[0], weight.shape[1], lightgcn.layers, normalize=False)
    reference.embedding.weight.data.copy_(weight)
    _, edge_weight = gcn_norm(edge_index, None, weight.shape[0], add_self_loops=False)
    expected = reference.get_embedding(edge_index, edge_weight).detach()
    users, items = lightgcn._embeddings()
    assert torch.allclose(torch.cat([users, items]).detach(), expected, atol=1e-6)


def test_tune_lightgcn_picks_on_validation(synthetic_split):
    best, table = tune_lightgcn(
        synthetic_split, grid={"lr": (1e-3, 5e-3)}, max_epochs=4, batch_size=256, eval_every=2, seed=7
    )
    assert list(table["lr"]) == [1e-3, 5e-3] and table["chosen"].sum() == 1
    chosen = table[table["chosen"]].iloc[0]
    assert chosen["valid_ndcg@20"] == table["valid_ndcg@20"].max() == best.best_valid_ndcg_
    assert best.lr == chosen["lr"] and {"best_epoch", "epochs", "train_seconds"} <= set(table.columns)
    with pytest.raises(ValueError, match="both"):
        tune_lightgcn(synthetic_split, grid={"lr": (1e-3,)}, lr=1e-3)


# ------------------------------------------------------------------ cold items
def test_text_content_reaches_cold_items_unlike_most_popular():
    log = generate_synthetic(n_users=300, n_items=200, n_interactions=12000, popularity_skew=0.3, seed=1).log
    split = split_log(log, "cold-4")
    assert len(split.cold_items) > 0
    text = evaluate(TextContent(encoder=LexicalEncoder()).fit(split), split, cutoffs=(20,))
    pop = evaluate(MostPopular().fit(split), split, cutoffs=(20,))
    assert text.cold["users"] > 0 and text.cold["hit@20"] > 0.05
    assert pop.cold["hit@20"] == 0.0


def test_on_epoch_sees_every_epoch_can_stop_training_and_its_time_is_not_training_time(synthetic_split):
    import time

    seen = []

    def on_epoch(model, record):
        seen.append((record["epoch"], record["seconds"], float(model.score(np.array([0]))[0, 0])))
        time.sleep(0.3)
        return record["epoch"] == 3

    model = LightGCN(**{**FAST, "max_epochs": 50, "patience": 50}).fit(synthetic_split, on_epoch=on_epoch)
    assert [e for e, _, _ in seen] == [1, 2, 3] and model.epochs_ == 3
    seconds = [s for _, s, _ in seen]
    assert seconds == sorted(seconds) and model.train_seconds_ < 0.9 + seconds[-1]  # the 0.9 s of sleeping is left out
    assert model.train_seconds_ >= seconds[-1] and len({v for _, _, v in seen}) == 3  # score reads each epoch's weights
    assert [r["seconds"] for r in model.history_] == seconds
    # stopping from the callback keeps the best validation weights, as an early stop does
    assert model.best_epoch_ == 2 and model.history_[1]["valid_ndcg@20"] == model.best_valid_ndcg_
    with pytest.raises(ValueError, match="on_epoch"):
        LightGCN(**FAST).fit(synthetic_split, on_epoch="print")


def test_bpr_models_name_a_bad_device_and_train_the_same_on_an_explicit_cpu(synthetic_split):
    with pytest.raises(ValueError, match="device"):
        BPRMF(**{**FAST, "max_epochs": 1}, device="tpu").fit(synthetic_split)
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="cuda"):
            LightGCN(**{**FAST, "max_epochs": 1}, device="cuda").fit(synthetic_split)
    users = np.arange(5)
    default = LightGCN(**{**FAST, "max_epochs": 2}).fit(synthetic_split)
    explicit = LightGCN(**{**FAST, "max_epochs": 2}, device="cpu").fit(synthetic_split)
    assert explicit.device_ == torch.device("cpu") and torch.equal(default.score(users), explicit.score(users))


def test_converged_says_whether_early_stopping_or_the_cap_ended_training(synthetic_split):
    capped = BPRMF(max_epochs=2, patience=5, **{k: v for k, v in FAST.items() if k != "patience"}).fit(synthetic_split)
    assert capped.epochs_ == 2 and capped.converged_ is False
    stopped = BPRMF(
        max_epochs=200, patience=1, lr=0.5, **{k: v for k, v in FAST.items() if k not in ("patience", "lr")}
    )
    stopped.fit(synthetic_split)
    assert stopped.epochs_ < 200 and stopped.converged_ is True
