"""Joint training: refined similarity edges (prune, re-mine) and the encoder fine-tuned in the same optimisation."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from interestgraph.data import generate_synthetic
from interestgraph.encoder import TextEncoder
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import build_interest_graph, describe_encoder
from interestgraph.graph.propagation import to_torch_csr
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.model.encoding import checked_encoder, model_encoder_identity
from interestgraph.paths.refine import SimilarityRefiner, pair_cosines
from interestgraph.recommend import explain

FAST = dict(epochs=3, user_batch=32, negatives=4, warmup_epochs=1, verbose=False, seed=3)


@pytest.fixture(scope="module")
def log():
    return generate_synthetic(n_users=40, n_items=60, n_interactions=1_000, seed=4).log


@pytest.fixture(scope="module")
def minilm_graph(log):
    return build_interest_graph(log, protocol="rs-4", encoder=TextEncoder())


@pytest.fixture(scope="module")
def lexical_graph(log):
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())


# ------------------------------------------------------------------ refined edges
def test_remining_adds_exactly_the_top_k_neighbours_and_pruning_drops_weak_edges():
    torch.manual_seed(0)
    z = torch.randn(3 + 12, 5)  # 3 other nodes, then the refined type's 12
    refiner = SimilarityRefiner("interest-interest", offset=3, n=12, temperature=0.1)
    refiner.set_pattern(sp.csr_matrix(([1.0], ([0], [1])), shape=(12, 12)))
    assert refiner.n_edges == 2  # both directions
    unit = torch.nn.functional.normalize(z[3:], dim=1)
    cos = (unit @ unit.T).fill_diagonal_(-2.0)
    expected = {(0, 1), (1, 0)}
    for a in range(12):
        for b in cos[a].topk(2).indices.tolist():
            expected |= {(a, b), (b, a)}
    stats = refiner.remine(z, k=2, prune_below=0.0)
    assert set(zip(refiner.rows.tolist(), refiner.cols.tolist())) == expected
    assert stats["edges_before"] == 1 and stats["pruned"] == 0 and stats["edges"] == len(expected) // 2
    # with θ at the median cosine, pruning at weight 0.5 keeps exactly the edges above the median
    refiner.init_threshold(z)
    weights = refiner.weights(z).detach()
    stats = refiner.remine(z, k=0, prune_below=0.5)
    assert refiner.n_edges == int((weights >= 0.5).sum()) and stats["pruned"] == int((weights < 0.5).sum()) // 2
    assert torch.all(refiner.weights(z) >= 0.5)


def test_refined_block_is_the_normalised_sigmoid_of_cosines_with_gradients():
    torch.manual_seed(1)
    z = torch.randn(10, 4, requires_grad=True)
    refiner = SimilarityRefiner("item-item", offset=2, n=6, temperature=0.2)
    table = sp.random(6, 6, density=0.5, random_state=0, format="csr")
    refiner.set_pattern(table)
    block = refiner.block(z, exponent=0.5)
    y = torch.randn(10, 3)
    got = block @ y
    w = torch.sigmoid((pair_cosines(z[2:8], refiner.rows, refiner.cols) - refiner.threshold) / 0.2).detach().numpy()
    dense = sp.csr_matrix((w, (refiner.rows.numpy(), refiner.cols.numpy())), shape=(6, 6)).toarray()
    assert np.allclose(dense, dense.T)
    d = dense.sum(axis=1) ** -0.5
    full = np.zeros((10, 10))
    full[2:8, 2:8] = d[:, None] * dense * d[None, :]
    assert np.allclose(got.detach().numpy(), full @ y.numpy(), atol=1e-5)
    got.sum().backward()
    assert z.grad is not None and float(z.grad[2:8].abs().sum()) > 0 and float(z.grad[:2].abs().sum()) == 0


def test_refined_model_trains_remines_on_schedule_and_scores_stay_walk_sums(lexical_graph, tmp_path):
    config = ModelConfig(dim=8, similarity_edges="refined", remine_every=2, remine_k=3, prune_below=0.2)
    model = InterestGraphModel(config, TrainConfig(**{**FAST, "epochs": 4})).fit(lexical_graph)
    remined = [h["epoch"] for h in model.report_.history if "interest-interest_edges" in h]
    assert remined == [2, 4]
    table = model.tables["interest-interest"]
    start = lexical_graph.edges["interest-interest"]
    assert table.nnz > 0 and np.allclose((table - table.T).data, 0.0)
    # weights are the refiner's sigmoid, not the graph's cosines, and no stored edge is below the prune level
    assert table.data.min() >= 0.2 - 1e-12 or model.report_.best_epoch % 2 == 1
    assert not np.allclose(
        np.asarray(table[start["src"].to_numpy(), start["dst"].to_numpy()]).ravel(), start["weight"].to_numpy()
    )
    # the frozen W was built from the refined table: scores are exact walk sums, explanations add up
    scores = model.score(np.array([0]), dtype=torch.float64)[0].numpy()
    item = int(np.argmax(np.where(model.seen[0].toarray().ravel() > 0, -np.inf, scores)))
    assert abs(sum(c for _, c in model.walks(0, item)) - scores[item]) < 1e-9 * max(1.0, abs(scores[item]))
    shown = explain(model, lexical_graph.users[0], lexical_graph.items[item], top=3)
    assert abs(shown.unexplained) < 1e-6
    # interest scores attribute the walks behind the user's top items to the interests they visit, exactly
    mass = model.interest_scores(np.array([0]), top=5, dtype=torch.float64)[0].numpy()
    start = (
        {model.n_users + int(j): float(w) for j, w in zip(model.start[0].indices, model.start[0].data)}
        if model.start is not None
        else None
    )
    from interestgraph.paths import walk_contributions

    masked = np.where(model.seen[0].toarray().ravel() > 0, -np.inf, scores)
    brute = np.zeros_like(mass)
    first_interest = model.n_users + model.n_items
    for item in np.argsort(-masked, kind="stable")[:5]:
        for nodes, contribution in walk_contributions(
            model.adjacency, model.coefficients, 0, model.n_users + int(item), start=start
        ):
            for node in nodes[1:-1]:
                if node >= first_interest:
                    brute[node - first_interest] += contribution
    assert brute.max() > 0 and np.allclose(mass, brute, rtol=1e-9, atol=1e-12 * brute.max())
    model.save(tmp_path / "refined")
    loaded = InterestGraphModel.load(tmp_path / "refined")
    assert (abs(loaded.adjacency - model.adjacency)).max() == 0
    assert (abs(loaded.tables["interest-interest"] - table)).max() == 0


def test_refinement_needs_a_similarity_type_and_resume_is_refused(lexical_graph, tmp_path):
    with pytest.raises(ValueError, match="similarity_edges"):
        ModelConfig(edge_types=("user-item", "item-interest"), similarity_edges="refined")
    with pytest.raises(ValueError, match="similarity_edges must be"):
        ModelConfig(similarity_edges="learned")
    with pytest.raises(ValueError, match="prune_below"):
        ModelConfig(prune_below=1.5)
    from interestgraph.train import Trainer

    with pytest.raises(ValueError, match="checkpoint_dir"):
        Trainer(TrainConfig(**FAST), checkpoint_dir=tmp_path / "ckpt").fit(
            InterestGraphModel(ModelConfig(dim=8, similarity_edges="refined")), lexical_graph
        )


# ------------------------------------------------------------------ the encoder in the optimisation
def _encoder_params(model_or_encoder) -> dict[str, torch.Tensor]:
    return {n: p.detach().clone() for n, p in model_or_encoder.model.named_parameters()}


@pytest.mark.parametrize("mode", ["top", "lora"])
def test_encoder_parameters_change_only_where_the_mode_trains_them(minilm_graph, mode, tmp_path):
    base = _encoder_params(TextEncoder())
    train = TrainConfig(**{**FAST, "epochs": 2}, encoder_mode=mode, encoder_warmup_epochs=0, encoder_lr=1e-3)
    model = InterestGraphModel(ModelConfig(dim=8), train).fit(minilm_graph)
    state = model.encoder_state
    assert state and model.encoder_tuning["mode"] == mode
    tuned = checked_encoder(model)  # the model's own encoder: the base weights plus the trained state
    after = _encoder_params(tuned)
    trained = set(state)
    changed = {n for n, p in after.items() if n in trained and not torch.equal(p, base.get(n, torch.zeros(0)))}
    if mode == "top":
        assert trained and all(
            n.startswith("encoder.layer.5.") for n in trained
        )  # MiniLM has 6 layers: only the top one trains
        assert changed  # and it moved
        frozen = {n for n in after if n not in trained}
        assert all(torch.equal(after[n], base[n]) for n in frozen)
    else:
        assert trained and all("lora_" in n for n in trained)
        assert any(torch.count_nonzero(state[n]) for n in trained if "lora_B" in n)  # B starts at 0 and trained
        base_named = {
            n.replace("base_model.model.", "").replace(".base_layer", ""): p
            for n, p in after.items()
            if "lora_" not in n
        }
        assert all(torch.equal(p, base[n]) for n, p in base_named.items() if n in base)
    # the stored item and interest vectors are the tuned encoder's, and a saved model brings that encoder back
    labels = [str(x) for x in minilm_graph.interests["label"]][:20]
    assert torch.allclose(tuned.encode(labels), model.scorer.interest_text[:20], atol=1e-5)
    assert torch.max(torch.abs(TextEncoder().encode(labels) - model.scorer.interest_text[:20])) > 1e-6
    model.save(tmp_path / mode)
    loaded = InterestGraphModel.load(tmp_path / mode)
    assert model_encoder_identity(loaded) == model_encoder_identity(model) == describe_encoder(tuned)
    assert f"fine-tuned {mode} sha256:" in model_encoder_identity(loaded)
    with pytest.raises(ValueError, match="not by"):
        checked_encoder(loaded, TextEncoder())  # the base encoder did not make these vectors


def test_frozen_mode_keeps_the_graphs_vectors(minilm_graph):
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(minilm_graph)
    assert model.encoder_state is None
    assert torch.equal(model.scorer.interest_text, minilm_graph.interest_vectors.float())


def test_a_joint_step_lowers_the_loss(minilm_graph):
    from interestgraph.train.joint import JointEncoder
    from interestgraph.train.sampling import hold_out

    torch.manual_seed(0)
    # with user-interest edges, interest-interest edges lie on scored walks (u→v→v'→i), so their refined weights
    # reach the loss directly (without them no walk of <= 3 steps from a user to an item crosses one)
    edges = ("user-item", "item-interest", "user-interest", "interest-interest")
    model = InterestGraphModel(ModelConfig(dim=8, similarity_edges="refined", edge_types=edges), TrainConfig(**FAST))
    from interestgraph.evaluate import positive_matrix
    from interestgraph.paths import PathScorer, build_operator, graph_tables

    tables = graph_tables(minilm_graph, model.config)
    operator = build_operator(minilm_graph, model.config)
    scorer = PathScorer.from_graph(model.config, minilm_graph, operator.types)
    scorer.refiners["interest-interest"].set_pattern(tables["interest-interest"])
    with torch.no_grad():  # a trained gate reads z (zero at initialisation, where only the refined edges carry text)
        scorer.node_gate.weight.normal_(std=0.5)
    joint = JointEncoder(
        minilm_graph,
        TrainConfig(**FAST, encoder_mode="top", encoder_interests=32, encoder_items=8),
        torch.device("cpu"),
    )
    train = positive_matrix(minilm_graph.split, "train")
    rng = np.random.default_rng(0)
    kept, users, items = hold_out(train, 0.3, rng)
    op = build_operator(minilm_graph, model.config, user_item=kept)
    blocks, structure = op.torch_blocks(), to_torch_csr(op.structure())
    negatives = np.array(
        [int(np.setdiff1d(np.arange(train.shape[1]), train[u].indices)[k % 7]) for k, u in enumerate(users)]
    )
    params = list(scorer.parameters()) + joint.parameters()
    optimiser = torch.optim.SGD(params, lr=0.05)

    def loss_now(draw: int) -> torch.Tensor:
        text = joint.step_text(scorer, np.concatenate([items, negatives]), np.random.default_rng(draw))
        z = scorer.node_vectors(structure, None, text)
        s, p = scorer.gates(z)
        batch = np.unique(users)
        scores = scorer.walk_scores(scorer.step_blocks(blocks, z), s, p, torch.from_numpy(batch))
        rows = torch.from_numpy(np.searchsorted(batch, users))
        return -torch.nn.functional.logsigmoid(
            scores[rows, torch.from_numpy(items)] - scores[rows, torch.from_numpy(negatives)]
        ).mean()

    joint.encoder.eval()  # no dropout: the same draw gives the same loss
    before = loss_now(7)
    optimiser.zero_grad()
    before.backward()
    grads = [p.grad for p in joint.parameters()]
    assert all(g is not None for g in grads) and sum(float(g.abs().sum()) for g in grads) > 0
    assert float(scorer.refiners["interest-interest"].threshold.grad.abs()) > 0
    optimiser.step()
    joint.encoder.eval()
    with torch.no_grad():
        after = loss_now(7)
    assert float(after) < float(before.detach())


def test_encoder_training_is_refused_where_there_is_nothing_to_tune(lexical_graph):
    with pytest.raises(ValueError, match="encoder_mode"):
        InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST, encoder_mode="top")).fit(lexical_graph)
    with pytest.raises(ValueError, match="encoder_mode"):
        TrainConfig(encoder_mode="all")
    with pytest.raises(ValueError, match="encoder_lr"):
        TrainConfig(encoder_lr=0)
