"""The path model: exact walk sums, training, early stopping, determinism, save / load."""

from __future__ import annotations

import json

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import ArtifactError
from interestgraph.evaluate import evaluate
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import (
    InterestGraphModel,
    ModelConfig,
    PathOperator,
    TrainConfig,
    build_operator,
    walk_contributions,
)
from interestgraph.paths import PathScorer
from interestgraph.train import hold_out

FAST = dict(epochs=3, user_batch=64, negatives=4, warmup_epochs=1, verbose=False)


@pytest.fixture(scope="module")
def graph():
    log = generate_synthetic(n_users=120, n_items=150, n_interactions=4_000, seed=3).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())


@pytest.fixture(scope="module")
def fitted(graph):
    return InterestGraphModel(
        ModelConfig(
            dim=16, gate_rank=2, edge_types=("user-item", "item-interest", "interest-interest", "user-interest")
        ),
        TrainConfig(epochs=6, patience=6, seed=5, user_batch=64, negatives=4, verbose=False),
    ).fit(graph)


def _float64_scorer(graph, config):
    operator = build_operator(graph, config)
    scorer = PathScorer(
        config,
        len(graph.users),
        len(graph.items),
        len(graph.interests),
        graph.item_vectors,
        graph.interest_vectors,
        operator.types,
    ).double()
    torch.manual_seed(0)
    with torch.no_grad():  # non-trivial gates and coefficients
        scorer.node_gate.weight.normal_(std=0.5)
        scorer.pair_gate.weight.normal_(std=0.5)
        scorer.type_raw.normal_()
        scorer.length_coef.copy_(torch.tensor([0.3, -1.2, 2.5], dtype=torch.float64))
    return operator, scorer


@pytest.mark.parametrize("typed_gates", [False, True])
def test_score_equals_the_walk_sum_in_float64(graph, typed_gates):
    config = ModelConfig(
        dim=8,
        gate_rank=3,
        edge_types=("user-item", "item-interest", "user-interest", "interest-interest", "item-item"),
        typed_gates=typed_gates,
    )
    operator, scorer = _float64_scorer(graph, config)
    from interestgraph.graph.propagation import to_torch_csr

    structure = to_torch_csr(operator.structure(), dtype=torch.float64)
    blocks = operator.torch_blocks(dtype=torch.float64)
    users = torch.tensor([0, 5, 17])
    with torch.no_grad():
        s, p = scorer.gates(scorer.node_vectors(structure))
        training_path = scorer.walk_scores(blocks, s, p, users)
    assert s.shape == (
        (scorer.n_users + scorer.n_items + scorer.n_interests, 5)
        if typed_gates
        else (scorer.n_users + scorer.n_items + scorer.n_interests,)
    )
    w = scorer.effective_adjacency(operator, structure)
    c = scorer.length_coefficients()
    assert abs(w - w.T).max() < 1e-12  # one weight per undirected edge
    if typed_gates:  # an edge of type t carries γ_t s_a^(t) s_b^(t) Â_t[a, b]
        gamma, gates = scorer.type_weights().detach().numpy(), s.numpy()
        for t, kind in enumerate(operator.types):
            coo = operator.blocks[kind].tocoo()
            a, b = coo.row[0], coo.col[0]
            assert w[a, b] == pytest.approx(
                gamma[t] * gates[a, t] * gates[b, t] * coo.data[0] * (1 + p[a].numpy() @ p[b].numpy()), rel=1e-12
            )
    for row, user in enumerate(users.tolist()):
        for item in (0, 3, 42, 99):
            walks = walk_contributions(w, c, user, len(graph.users) + item)
            assert sum(v for _, v in walks) == pytest.approx(float(training_path[row, item]), rel=1e-9, abs=1e-12)
            for nodes, _ in walks:  # every walk is on real edges
                assert nodes[0] == user and nodes[-1] == len(graph.users) + item
                assert all(w[a, b] != 0 for a, b in zip(nodes, nodes[1:]))


def test_zeroing_an_edge_removes_exactly_the_walks_through_it(fitted):
    w, c = fitted.adjacency, fitted.coefficients
    user, item = 3, int(torch.argmax(fitted.score(np.array([3]))[0]))
    target = fitted.n_users + item
    walks = walk_contributions(w, c, user, target)
    nodes, _ = max(walks, key=lambda t: abs(t[1]))
    a, b = nodes[1], nodes[2]  # an edge on the strongest walk
    through = sum(v for n, v in walks if any({x, y} == {a, b} for x, y in zip(n, n[1:])))
    cut = sp.lil_matrix(w)
    cut[a, b] = 0.0
    cut[b, a] = 0.0
    after = sum(v for _, v in walk_contributions(sp.csr_matrix(cut), c, user, target))
    before = sum(v for _, v in walks)
    assert before - after == pytest.approx(through, rel=1e-9)


def test_edge_weight_times_gradient_is_the_use_weighted_walk_sum(fitted):
    w, c = fitted.adjacency, fitted.coefficients
    user, item = 7, 11
    target = fitted.n_users + item
    walks = walk_contributions(w, c, user, target)
    nodes, _ = max(walks, key=lambda t: abs(t[1]))
    a, b = nodes[-2], nodes[-1]
    dense = torch.tensor(w.toarray(), dtype=torch.float64)
    weight = dense[a, b].clone().requires_grad_(True)
    m = dense.clone()
    m[a, b] = weight
    m[b, a] = weight
    f = sum(float(c[k]) * torch.linalg.matrix_power(m, k + 1)[user, target] for k in range(len(c)))
    f.backward()
    uses = sum(sum(1 for x, y in zip(n, n[1:]) if {x, y} == {a, b}) * v for n, v in walks)
    assert float(weight.detach() * weight.grad) == pytest.approx(uses, rel=1e-9)


def test_training_loss_falls_and_beats_popularity(graph, fitted):
    # same seed, so both runs see the same targets and negatives every epoch; only learning differs
    frozen = InterestGraphModel(
        fitted.config, TrainConfig(**{**fitted.train.to_dict(), "lr": 1e-12, "path_lr": 1e-12})
    ).fit(graph)
    assert [h["targets"] for h in frozen.report_.history] == [h["targets"] for h in fitted.report_.history]
    assert fitted.report_.history[-1]["loss"] < 0.95 * frozen.report_.history[-1]["loss"]
    from interestgraph.baselines import MostPopular

    ours = evaluate(fitted, graph.split, cutoffs=(20,)).metrics["ndcg@20"]
    pop = evaluate(MostPopular().fit(graph.split), graph.split, cutoffs=(20,)).metrics["ndcg@20"]
    assert ours > pop


class _FixedScores(torch.nn.Module):
    """A stand-in scorer whose walk scores are a given ``(B, n_items)`` tensor (the loss's arithmetic alone)."""

    def __init__(self, scores: torch.Tensor, n_users: int, n_items: int):
        super().__init__()
        self.scores = torch.nn.Parameter(scores)
        self.user_embedding = torch.nn.Embedding(n_users, 2)
        self.item_embedding = torch.nn.Embedding(n_items, 2)

    def node_vectors(self, structure, cold, text=None):
        return torch.zeros(1, 1)

    def gates(self, z, cold):
        return None, None

    def step_blocks(self, blocks, z):
        return blocks

    def walk_scores(self, blocks, s, p, users, start=None):
        return self.scores


def test_softmax_step_is_each_targets_cross_entropy_over_its_allowed_items():
    import contextlib

    from interestgraph.train import StepLoss
    from interestgraph.train.sampling import allowed_items

    rng = np.random.default_rng(0)
    scores = torch.tensor(rng.normal(size=(2, 6)) * 3)
    kept = sp.csr_matrix(np.array([[1, 0, 0, 0, 0, 0], [0, 0, 1, 1, 0, 0], [0, 0, 0, 0, 0, 1]], dtype=np.float64))
    batch = np.array([0, 1])
    candidates = torch.tensor([0, 1, 2, 3, 4])  # item 5 has no training positive: never a candidate
    allowed = allowed_items(kept, batch, candidates, torch.device("cpu"))
    assert allowed.tolist() == [[False, True, True, True, True, False], [True, True, False, False, True, False]]
    rows, pos_items = torch.tensor([0, 0, 1]), torch.tensor([2, 4, 0])
    step = StepLoss(
        _FixedScores(scores, 2, 6), l2=0.0, autocast=contextlib.nullcontext(), loss="softmax", temperature=0.5
    )
    loss, ranking = step(
        None,
        None,
        [],
        torch.tensor(batch),
        None,
        rows,
        torch.tensor([0, 0, 1]),
        pos_items,
        torch.tensor([1, 1, 1]),
        allowed=allowed,
    )
    logits = scores.numpy() / 0.5
    expected = np.mean(
        [
            np.log(np.exp(logits[r][allowed[r].numpy()]).sum()) - logits[r, i]
            for r, i in zip(rows.tolist(), pos_items.tolist())
        ]
    )
    assert float(ranking.detach()) == pytest.approx(expected, rel=1e-12) and float(loss.detach()) == float(
        ranking.detach()
    )
    bpr = StepLoss(_FixedScores(scores, 2, 6), l2=0.0, autocast=contextlib.nullcontext(), loss="bpr")
    _, ranking = bpr(
        None, None, [], torch.tensor(batch), None, rows, torch.tensor([0, 0, 1]), pos_items, torch.tensor([1, 3, 4])
    )
    diff = scores.numpy()[[0, 0, 1], [2, 4, 0]] - scores.numpy()[[0, 0, 1], [1, 3, 4]]
    assert float(ranking.detach()) == pytest.approx(np.mean(np.log1p(np.exp(-diff))), rel=1e-12)


@pytest.mark.parametrize("loss", ["softmax", "bpr"])
def test_both_losses_train_on_the_tiny_graph(graph, fitted, loss):
    from interestgraph.baselines import MostPopular

    # the fitted fixture's settings; the same seed without learning sees the same targets every epoch
    train = TrainConfig(**{**fitted.train.to_dict(), "loss": loss})
    model = InterestGraphModel(fitted.config, train).fit(graph)
    frozen = InterestGraphModel(fitted.config, TrainConfig(**{**train.to_dict(), "lr": 1e-12, "path_lr": 1e-12})).fit(
        graph
    )
    assert model.report_.history[-1]["loss"] < 0.97 * frozen.report_.history[-1]["loss"]
    ours = evaluate(model, graph.split, cutoffs=(20,)).metrics["ndcg@20"]
    assert ours > evaluate(MostPopular().fit(graph.split), graph.split, cutoffs=(20,)).metrics["ndcg@20"]


def test_early_stopping_restores_the_best_epoch(graph, tmp_path):
    log = tmp_path / "log.csv"
    model = InterestGraphModel(
        ModelConfig(dim=8, gate_rank=1, user_interest_mean=True),
        TrainConfig(
            epochs=30,
            patience=2,
            lr=0.3,
            path_lr=0.5,
            seed=1,
            user_batch=64,
            negatives=4,
            verbose=False,
            log_path=str(log),
        ),
    ).fit(graph)
    assert model.report_.epochs - model.report_.best_epoch == 2
    assert model.scorer.user_interest is not None and model.scorer.user_interest.shape == (
        len(graph.users),
        len(graph.interests),
    )
    import pandas as pd

    rows = pd.read_csv(log)
    assert len(rows) == model.report_.epochs and list(rows["valid_ndcg@20"]) == pytest.approx(
        [h["valid_ndcg@20"] for h in model.report_.history]
    )
    best = max(h["valid_ndcg@20"] for h in model.report_.history)
    assert model.report_.best_valid_ndcg == best
    assert evaluate(model, graph.split, part="valid", cutoffs=(20,)).metrics["ndcg@20"] == pytest.approx(best, abs=1e-9)


def test_fixed_seed_is_deterministic(graph):
    make = lambda: InterestGraphModel(ModelConfig(dim=8, gate_rank=2), TrainConfig(seed=9, **FAST)).fit(graph)
    first, second = make(), make()
    users = np.arange(20)
    assert torch.equal(first.score(users), second.score(users))
    assert [h["loss"] for h in first.report_.history] == [h["loss"] for h in second.report_.history]


def test_save_load_round_trip_is_exact(fitted, tmp_path):
    target = fitted.save(tmp_path / "m")
    loaded = InterestGraphModel.load(target)
    users = np.arange(len(fitted.graph.users))
    assert torch.equal(loaded.score(users), fitted.score(users))
    assert loaded.walks(2, 5) == fitted.walks(2, 5)
    manifest = json.loads((target / "manifest.json").read_text())
    assert manifest["format"] == "interestgraph-model" and manifest["protocol"]["name"] == "rs-4"
    card = (target / "model_card.md").read_text()
    assert "licence" in card and "lexical" in card.lower() and "rs-4" in card
    assert not list(target.rglob("*.pkl")) and not list(target.rglob("*.pt"))
    assert loaded.train.loss == fitted.train.loss == "softmax" and "loss=softmax" in loaded.describe()
    # a model saved before TrainConfig had a loss was trained with BPR, and loads saying so
    del manifest["train_config"]["loss"]
    (target / "manifest.json").write_text(json.dumps(manifest))
    older = InterestGraphModel.load(target)
    assert older.train.loss == "bpr" and "loss=bpr" in older.describe()
    assert torch.equal(older.score(users), fitted.score(users))
    (target / "operator.safetensors").write_bytes(b"corrupt")
    with pytest.raises(ArtifactError, match="operator.safetensors"):
        InterestGraphModel.load(target)


def test_trainer_resumes_from_a_checkpoint(graph, tmp_path):
    from interestgraph.train import Trainer

    config = dict(dim=8, gate_rank=1)
    straight = InterestGraphModel(
        ModelConfig(**config), TrainConfig(seed=4, **{**FAST, "epochs": 4, "patience": 10})
    ).fit(graph)
    first = InterestGraphModel(ModelConfig(**config), TrainConfig(seed=4, **{**FAST, "epochs": 2, "patience": 10}))
    Trainer(first.train, checkpoint_dir=tmp_path / "ckpt").fit(first, graph)
    resumed = InterestGraphModel(ModelConfig(**config), TrainConfig(seed=4, **{**FAST, "epochs": 4, "patience": 10}))
    Trainer(resumed.train, checkpoint_dir=tmp_path / "ckpt").fit(resumed, graph)
    assert [h["loss"] for h in resumed.report_.history] == [h["loss"] for h in straight.report_.history]
    assert torch.equal(resumed.score(np.arange(10)), straight.score(np.arange(10)))


def test_hold_out_never_targets_a_users_only_item():
    train = sp.csr_matrix(np.array([[1, 0, 0, 0], [1, 1, 1, 1], [0, 1, 1, 0]], dtype=float))
    kept, users, items = hold_out(train, 0.5, np.random.default_rng(0))
    assert 0 not in users  # one item: nothing to hide
    assert (
        kept + sp.csr_matrix((np.ones(len(users)), (users, items)), shape=train.shape)
    ).toarray().tolist() == train.toarray().tolist()
    assert np.bincount(users, minlength=3).tolist() == [0, 2, 1]


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(edge_types=("item-interest",)), "user-item"),
        (dict(edge_types=("user-item", "friends")), "unknown"),
        (dict(max_length=4), "max_length"),
        (dict(max_length=2), "max_length=2 reaches no unseen item"),
        (dict(exponent=1.5), "exponent"),
        (dict(gate_rank=-1), "gate_rank"),
    ],
)
def test_model_config_names_the_bad_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig(**kwargs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(lr=0), "lr"),
        (dict(holdout=1.0), "holdout"),
        (dict(device="tpu"), "device"),
        (dict(log_path="x.txt"), "log_path"),
        (dict(loss="hinge"), "loss must be"),
        (dict(softmax_temperature=0.0), "softmax_temperature"),
    ],
)
def test_train_config_names_the_bad_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(**kwargs)


def test_unfitted_model_and_bad_users_are_errors(fitted):
    with pytest.raises(RuntimeError, match="not fitted"):
        InterestGraphModel().score(np.array([0]))
    with pytest.raises(IndexError, match="users"):
        fitted.score(np.array([10_000]))


def test_operator_blocks_are_symmetric_and_typed(graph):
    operator = build_operator(graph, ModelConfig(edge_types=("user-item", "item-interest", "interest-interest")))
    assert operator.types == ("user-item", "item-interest", "interest-interest")
    for kind, block in operator.blocks.items():
        assert abs(block - block.T).max() < 1e-12, kind
    ui = operator.blocks["user-item"]
    u0, i0 = operator.offset("item"), operator.offset("interest")
    assert ui[:u0, u0:i0].nnz * 2 == ui.nnz  # only user–item entries
    with pytest.raises(ValueError, match="shape"):
        PathOperator.from_tables({"user-item": sp.csr_matrix((2, 2))}, 3, 2, 1)


def test_hold_out_latest_takes_each_users_most_recent_items():
    train = sp.csr_matrix(np.array([[1, 1, 1, 1], [1, 1, 0, 0]], dtype=float))
    times = sp.csr_matrix(np.array([[10, 40, 20, 30], [5, 1, 0, 0]], dtype=float))
    _, users, items = hold_out(train, 0.5, np.random.default_rng(0), times)
    assert sorted(zip(users.tolist(), items.tolist())) == [(0, 1), (0, 3), (1, 0)]
    with pytest.raises(ValueError, match="pattern"):
        hold_out(train, 0.5, np.random.default_rng(0), sp.csr_matrix(np.eye(2, 4)))


def test_recency_weights_are_relative_to_each_users_last_item():
    from interestgraph.paths import SECONDS_PER_DAY, recency_weights

    day = SECONDS_PER_DAY
    pattern = sp.csr_matrix(np.array([[1, 1, 0], [0, 1, 1]], dtype=float))
    times = sp.csr_matrix(np.array([[100 * day, 110 * day, 0], [0, 5 * day, 15 * day]]))
    w = recency_weights(pattern, times, half_life_days=10.0).toarray()
    assert w[0].tolist() == pytest.approx([0.5, 1.0, 0.0])  # ten days before the user's last item: half
    assert w[1].tolist() == pytest.approx([0.0, 0.5, 1.0])  # a user active long ago is not faded by others' recency


def test_temporal_split_uses_the_latest_hold_out():
    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_500, seed=2).log
    graph = build_interest_graph(log, protocol="tl-4", encoder=LexicalEncoder())
    model = InterestGraphModel(
        ModelConfig(dim=8, gate_rank=1, user_item_weights="recency"),
        TrainConfig(seed=1, holdout_mode="auto", **{**FAST, "epochs": 1}),
    ).fit(graph)
    assert model.report_.holdout_mode == "latest" and np.isfinite(model.report_.history[0]["loss"])


def test_order_weights_decay_by_position_from_the_latest():
    from interestgraph.paths import recency_weights

    pattern = sp.csr_matrix(np.array([[1, 1, 1, 0]], dtype=float))
    times = sp.csr_matrix(np.array([[30.0, 10.0, 20.0, 0.0]]))
    w = recency_weights(pattern, times, half_life_items=1.0).toarray()[0]
    assert w.tolist() == pytest.approx([1.0, 0.25, 0.5, 0.0])
    with pytest.raises(ValueError, match="user_item_weights"):
        ModelConfig(user_item_weights="newest")


def test_first_step_weights_keep_the_score_equal_to_the_walk_sum(graph):
    """With ``r(u, x_1)`` on the first step, the training product, the frozen scores and the enumeration agree."""
    from interestgraph.graph.propagation import to_torch_csr
    from interestgraph.paths import frozen_scores

    config = ModelConfig(
        dim=8,
        gate_rank=3,
        edge_types=("user-item", "item-interest", "user-interest", "interest-interest", "item-item"),
        first_step_weights="order",
    )
    operator, scorer = _float64_scorer(graph, config)
    structure = to_torch_csr(operator.structure(), dtype=torch.float64)
    blocks = operator.torch_blocks(dtype=torch.float64)
    rng = np.random.default_rng(0)
    train = operator.blocks["user-item"][: len(graph.users), len(graph.users) : len(graph.users) + len(graph.items)]
    start = sp.csr_matrix((rng.uniform(0.1, 1.0, train.nnz), train.indices, train.indptr), shape=train.shape)
    users = torch.tensor([0, 5, 17])
    with torch.no_grad():
        s, p = scorer.gates(scorer.node_vectors(structure))
        training_path = scorer.walk_scores(
            blocks, s, p, users, start=torch.from_numpy(start[users.numpy()].toarray().T)
        )
        plain = scorer.walk_scores(blocks, s, p, users)
    w = scorer.effective_adjacency(operator, structure)
    c = scorer.length_coefficients()
    frozen = frozen_scores(
        to_torch_csr(w, dtype=torch.float64),
        torch.from_numpy(c),
        users,
        len(graph.users),
        len(graph.items),
        start=torch.from_numpy(start[users.numpy()].toarray()),
    )
    assert torch.allclose(frozen, training_path, rtol=1e-10, atol=1e-12)
    assert not torch.allclose(plain, training_path)  # the factors change the scores
    n_users = len(graph.users)
    for row, user in enumerate(users.tolist()):
        r = start[user]
        factors = {n_users + int(j): float(v) for j, v in zip(r.indices, r.data)}
        for item in (0, 3, 42, 99):
            walks = walk_contributions(w, c, user, n_users + item, start=factors)
            assert sum(v for _, v in walks) == pytest.approx(float(training_path[row, item]), rel=1e-9, abs=1e-12)


def test_auto_first_step_weights_follow_the_split_and_survive_save_load(tmp_path):
    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_500, seed=2).log
    temporal = build_interest_graph(log, protocol="tl-4", encoder=LexicalEncoder())
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(seed=1, **{**FAST, "epochs": 2})).fit(temporal)
    assert model.first_step == "order" and model.report_.holdout_mode == "latest"
    # the latest training item of each user starts its walks with factor 1, the 4th latest with 1/2 (half-life 3)
    assert model.start.max() == pytest.approx(1.0) and model.start.shape == (len(temporal.users), len(temporal.items))
    assert "first_step=order" in model.describe()
    loaded = InterestGraphModel.load(model.save(tmp_path / "m"))
    users = np.arange(len(temporal.users))
    assert loaded.first_step == "order" and torch.equal(loaded.score(users), model.score(users))
    user, item = (
        0,
        int(temporal.split.positive_pairs("train").pipe(lambda p: temporal.items.get_indexer(p["item_id"]))[0]),
    )
    assert sum(v for _, v in loaded.walks(user, item)) == pytest.approx(
        float(loaded.score(np.array([user]), dtype=torch.float64)[0, item]), rel=1e-9
    )
    uniform = InterestGraphModel(ModelConfig(dim=8), TrainConfig(seed=1, **{**FAST, "epochs": 1}))
    random_graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    uniform.fit(random_graph)
    assert uniform.first_step == "uniform" and uniform.start is None and uniform.report_.holdout_mode == "random"
    with pytest.raises(ValueError, match="first_step_weights"):
        ModelConfig(first_step_weights="latest")
    with pytest.raises(ValueError, match="first_step_half_life_items"):
        ModelConfig(first_step_half_life_items=0)


def test_interest_scores_attribute_the_top_items_walks_with_first_step_weights_and_repeat_visits():
    """Walks u→v→v'→i (user–interest edges on) visit two interests: each gets the walk's whole contribution."""
    log = generate_synthetic(n_users=40, n_items=60, n_interactions=1_000, seed=4).log
    temporal = build_interest_graph(log, protocol="tl-4", encoder=LexicalEncoder())
    config = ModelConfig(dim=8, edge_types=("user-item", "item-interest", "user-interest", "interest-interest"))
    model = InterestGraphModel(config, TrainConfig(seed=2, **{**FAST, "epochs": 1})).fit(temporal)
    assert model.start is not None
    users, top = np.array([0, 3, 7]), 4
    mass = model.interest_scores(users, top=top, dtype=torch.float64).numpy()
    scores = model.score(users, dtype=torch.float64).numpy()
    n_users, first_interest = model.n_users, model.n_users + model.n_items
    two_interest_walks = 0
    for row, user in enumerate(users):
        r = model.start[user]
        factors = {n_users + int(j): float(v) for j, v in zip(r.indices, r.data)}
        masked = np.where(model.seen[user].toarray().ravel() > 0, -np.inf, scores[row])
        brute = np.zeros(mass.shape[1])
        for item in np.argsort(-masked, kind="stable")[:top]:
            for nodes, contribution in walk_contributions(
                model.adjacency, model.coefficients, int(user), n_users + int(item), start=factors
            ):
                visited = [n for n in nodes[1:-1] if n >= first_interest]
                two_interest_walks += len(visited) == 2
                for node in visited:
                    brute[node - first_interest] += contribution
        assert brute.max() > 0
        assert np.allclose(mass[row], brute, rtol=1e-9, atol=1e-12 * brute.max())
    assert two_interest_walks > 0
    with pytest.raises(ValueError, match="top"):
        model.interest_scores(users, top=0)
    with pytest.raises(IndexError, match="users"):
        model.interest_scores(np.array([model.n_users]))


def test_typed_gates_train_save_load_and_fold_in(graph, tmp_path):
    config = ModelConfig(
        dim=8, typed_gates=True, edge_types=("user-item", "item-interest", "interest-interest", "item-item")
    )
    model = InterestGraphModel(config, TrainConfig(seed=3, **FAST)).fit(graph)
    n = model.n_users + model.n_items + model.layout["interest"]
    assert model.node_gates.shape == (n, 4)
    items = model.n_users + np.arange(5)
    assert not np.allclose(model.gates_of(items, "user-item"), model.gates_of(items, "item-item"))  # trained apart
    with pytest.raises(KeyError, match="user-interest"):
        model.gates_of(items, "user-interest")
    users = np.arange(len(graph.users))
    scores = model.score(users[:3], dtype=torch.float64)
    item = int(torch.argmax(scores[0]))
    assert sum(v for _, v in model.walks(0, item)) == pytest.approx(float(scores[0, item]), rel=1e-9)
    loaded = InterestGraphModel.load(model.save(tmp_path / "typed"))
    assert loaded.config.typed_gates and torch.equal(loaded.score(users), model.score(users))
    # a new user folded in from items starts its walks with the items' user-item gates
    from interestgraph.recommend import recommend_for_items

    liked = list(graph.items[:3])
    assert len(recommend_for_items(loaded, liked, k=5)) == 5
