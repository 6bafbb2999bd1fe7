"""The closed-form item–item path model: exact explanations, the components' algebra, tuning on validation."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from interestgraph.baselines import GFCF, ChebyCF
from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.evaluate import Recommender, evaluate
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import ItemPathConfig, ItemPathGrid, ItemPathModel, tune_item_path
from interestgraph.model.item_path import QUERY_TOP
from interestgraph.ops.spectral import chebyshev_coefficients, plateau
from interestgraph.paths import (
    ChebyshevFilter,
    DenseSizeError,
    IdealLowPass,
    InterestPaths,
    ItemData,
    LinearFilter,
    ModelConfig,
    RidgeCooccurrence,
    SpectralLowPass,
    SquaredFilter,
    TextNeighbours,
    check_dense,
    first_step_matrix,
)

THETA = {"ridge": 1.0, "interest": 0.2, "text": -0.1, "lowpass": 0.05}  # a negative weight included


@pytest.fixture(scope="module")
def graph():
    log = generate_synthetic(n_users=120, n_items=150, n_interactions=4_000, seed=3).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())


@pytest.fixture(scope="module")
def temporal_graph():
    log = generate_synthetic(n_users=100, n_items=120, n_interactions=3_000, seed=4).log
    return build_interest_graph(log, protocol="tl-4", encoder=LexicalEncoder())


@pytest.fixture(scope="module")
def fitted(graph):
    return ItemPathModel(ItemPathConfig(theta=THETA, dtype="float64", lowpass_rank=8)).fit(graph)


def _tiny_positives(seed: int = 0, users: int = 9, items: int = 5) -> sp.csr_matrix:
    rng = np.random.default_rng(seed)
    x = (rng.random((users, items)) < 0.5).astype(np.float64)
    x[0] = 1.0  # no empty column
    return sp.csr_matrix(x)


def test_explain_terms_sum_to_the_score(fitted, graph):
    assert set(fitted.components_) == set(THETA) and fitted.skipped_ == {}
    assert fitted.expandable() == {"ridge": False, "interest": True, "text": True, "lowpass": False}
    users = np.array([0, 7, 31, 64])
    scores = fitted.score(users)
    assert scores.dtype == torch.float64 and scores.shape == (4, len(graph.items))
    rng = np.random.default_rng(1)
    history = fitted.history_
    for row, user in enumerate(users):
        items = [int(scores[row].argmax()), *rng.choice(fitted.active_items_, 5, replace=False).tolist()]
        for item in items:
            terms = fitted.explain(user, item)
            assert abs(sum(t.value for t in terms) - float(scores[row, item])) < 1e-6
            assert {t.history_item for t in terms} <= set(fitted.active_items_[history[user].indices].tolist())
            assert {t.component for t in terms} <= set(THETA)
    assert any(t.value < 0 for t in fitted.explain(0, int(scores[0].argmax())) if t.component == "text")
    outside = np.setdiff1d(np.arange(len(graph.items)), fitted.active_items_)
    if len(outside):
        assert fitted.explain(0, int(outside[0])) == [] and float(scores[0, outside[0]]) == 0.0


def test_zero_weight_removes_exactly_its_contribution(fitted):
    users = np.arange(20)
    full = fitted.score(users)
    for name in THETA:
        without = fitted.reweighted({**THETA, name: 0.0}).score(users)
        history = torch.from_numpy(fitted.history_[users].toarray())
        part = torch.zeros_like(full)
        part[:, torch.from_numpy(fitted.active_items_)] = THETA[name] * history @ fitted.components_[name].dense()
        torch.testing.assert_close(full - without, part, rtol=0, atol=1e-12)
        item = int(fitted.active_items_[3])
        own = sum(t.value for t in fitted.explain(5, item) if t.component == name)
        assert abs(own - float(part[5, item])) < 1e-12
    assert fitted.theta_ == THETA  # reweighted copies leave the original alone


def _column_ridge(dense: np.ndarray, lam: float) -> np.ndarray:
    """Each column ridge-regressed on the others (coefficient of an item on itself 0), one solve per column."""
    n = dense.shape[1]
    out = np.zeros((n, n))
    for i in range(n):
        others = [j for j in range(n) if j != i]
        a = dense[:, others]
        out[others, i] = np.linalg.solve(a.T @ a + lam * np.eye(n - 1), a.T @ dense[:, i])
    return out


def test_ease_equals_a_direct_ridge_solve_with_zero_diagonal():
    x = _tiny_positives()
    x.data[:] = 3.0  # positives count as 1 whatever their stored value
    b = RidgeCooccurrence(2.5, dtype=torch.float64).fit(ItemData(x)).dense().numpy()
    np.testing.assert_allclose(b, _column_ridge((x.toarray() > 0).astype(float), 2.5), atol=1e-10)
    assert (np.diag(b) == 0).all()


def test_collective_ease_equals_ease_on_the_stacked_matrix():
    x = _tiny_positives(1)
    a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0]], dtype=np.float64))
    side = RidgeCooccurrence(1.0, side_weight=0.5, dtype=torch.float64).fit(ItemData(x, item_interest=a))
    gram_mean = float(np.diag((x.T @ x).toarray()).mean())
    side_mean = float(np.diag((a @ a.T).toarray()).mean())
    stacked = np.vstack([x.toarray(), np.sqrt(0.5 * gram_mean / side_mean) * a.T.toarray()])
    np.testing.assert_allclose(side.dense().numpy(), _column_ridge(stacked, 1.0), atol=1e-10)


def test_low_pass_and_neighbour_components_on_small_inputs():
    x = _tiny_positives(2, users=12, items=6)
    low = IdealLowPass(2, dtype=torch.float64).fit(ItemData(x)).dense().numpy()
    dense = x.toarray()
    du, di = dense.sum(1), dense.sum(0)
    rn = dense / np.sqrt(du)[:, None] / np.sqrt(di)[None, :]
    v = np.linalg.svd(rn)[2][:2].T
    np.testing.assert_allclose(low, (v / np.sqrt(di)[:, None]) @ (v.T * np.sqrt(di)[None, :]), atol=1e-10)
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0], [0.7, 0.7], [0.0, 0.0]])
    text = TextNeighbours(2, dtype=torch.float64).fit(ItemData(x, item_vectors=vectors)).dense()
    assert (text >= 0).all() and (torch.diagonal(text) == 0).all()
    assert ((text > 0).sum(1) <= 2).all() and (text[5] == 0).all()  # a zero vector has no neighbours
    assert text[0, 1] == pytest.approx(float(torch.nn.functional.cosine_similarity(vectors[0], vectors[1], dim=0)))
    a = sp.csr_matrix(np.array([[1, 0], [1, 1], [0, 1], [0, 0], [1, 0], [0, 1]], dtype=np.float64))
    paths = InterestPaths(0.5, dtype=torch.float64).fit(ItemData(x, item_interest=a)).dense()
    assert float(paths[0, 4]) == pytest.approx(1 / 3)  # one shared interest of degree 3, both items degree 1
    assert float(paths[0, 3]) == 0.0 and (torch.diagonal(paths) == 0).all()


def test_spectral_low_pass_is_sgfcfs_weighted_projection():
    """``F = D^-ε V_k diag(σ̂^q) V_kᵀ`` from the SVD of ``D_u^-ε X D_i^-ε``; a user's normalised row maps to SGFCF's
    ``U_k diag(σ_k σ̂^q) V_kᵀ``; the exact and the randomised solver agree; bad settings are refused by name."""
    x = _tiny_positives(2, users=12, items=6)
    dense = x.toarray()
    du, di = dense.sum(1), dense.sum(0)
    rn = dense * du[:, None] ** -0.3 * di[None, :] ** -0.3
    u, values, vt = np.linalg.svd(rn)
    weight = (values[:3] / values[0]) ** 1.5
    expected = (di[:, None] ** -0.3 * vt[:3].T * weight[None, :]) @ vt[:3]
    settings = ("exact", "randomized")
    for solver in settings:
        got = SpectralLowPass(3, epsilon=0.3, sharpness=1.5, solver=solver, power_iterations=4, dtype=torch.float64)
        got = got.fit(ItemData(x)).dense().numpy()
        np.testing.assert_allclose(got, expected, atol=1e-10, err_msg=solver)
    np.testing.assert_allclose(
        (dense * du[:, None] ** -0.3) @ expected, u[:, :3] @ np.diag(values[:3] * weight) @ vt[:3], atol=1e-10
    )
    plain = SpectralLowPass(2, epsilon=0.5, sharpness=0.0, dtype=torch.float64).fit(ItemData(x)).dense().numpy()
    lowpass = IdealLowPass(2, beta=0.5, dtype=torch.float64).fit(ItemData(x)).dense().numpy()
    np.testing.assert_allclose(plain * di[None, :] ** 0.5, lowpass, atol=1e-10)  # GF-CF's, before D^½ on the right
    # a rank above the data's: both solvers cap it and drop the directions of zero singular value
    wide = _tiny_positives(5, users=5, items=12)
    fits = [
        SpectralLowPass(11, epsilon=0.3, solver=solver, dtype=torch.float64).fit(ItemData(wide)) for solver in settings
    ]
    assert fits[0].left_.shape[1] == fits[1].left_.shape[1] == min(wide.shape) - 1  # rank 5 data, capped as ARPACK
    np.testing.assert_allclose(fits[0].dense().numpy(), fits[1].dense().numpy(), atol=1e-8)
    lows = [
        IdealLowPass(11, solver=solver, dtype=torch.float64).fit(ItemData(wide)).dense().numpy() for solver in settings
    ]
    np.testing.assert_allclose(lows[0], lows[1], atol=1e-8)  # the ideal low-pass alike
    # the randomised SVD's subspace iteration converges to the exact pairs when the sketch is narrower than the items
    tall = _tiny_positives(6, users=40, items=30)
    exact, randomized = (
        SpectralLowPass(3, epsilon=0.4, sharpness=1.0, solver=solver, power_iterations=40, dtype=torch.float64)
        .fit(ItemData(tall))
        .dense()
        .numpy()
        for solver in ("exact", "randomized")
    )
    np.testing.assert_allclose(randomized, exact, atol=1e-6)
    with pytest.raises(ValueError, match="epsilon"):
        SpectralLowPass(2, epsilon=1.5)
    with pytest.raises(ValueError, match="sharpness"):
        SpectralLowPass(2, sharpness=-1.0)
    with pytest.raises(ValueError, match="spectral_epsilon"):
        ItemPathConfig(spectral_epsilon=-0.1)


def test_memory_guard_names_the_item_count(graph):
    with pytest.raises(DenseSizeError, match=r"144 items.*max_dense_items=100"):
        ItemPathModel(ItemPathConfig(theta={"ridge": 1.0}, max_dense_items=100)).fit(graph)
    sparse = ItemPathModel(ItemPathConfig(max_dense_items=100, lowpass_rank=8)).fit(graph)  # the default θ adapts
    assert set(sparse.theta_) == {"cooc", "lowpass", "interest", "text"} and sparse.combined_ is None
    with pytest.raises(DenseSizeError, match=r"41,000 items.*6\.26 GiB"):
        check_dense("ridge", 41_000, 20_000, torch.float32)


def test_evaluate_accepts_the_model(fitted, graph):
    assert isinstance(fitted, Recommender)
    result = evaluate(fitted, graph.split, part="valid", cutoffs=(20,))
    assert 0.1 < result.metrics["ndcg@20"] <= 1.0
    with pytest.raises(RuntimeError, match="not fitted"):
        ItemPathModel().score(np.array([0]))
    with pytest.raises(ValueError, match="unknown components"):
        ItemPathConfig(theta={"cooc": 1.0, "nope": 1.0})


def test_recency_first_step_on_temporal_splits(temporal_graph):
    model = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0, "interest": 0.1}, dtype="float64")).fit(temporal_graph)
    assert model.first_step_ == "order"
    expected = first_step_matrix(
        temporal_graph, ModelConfig(first_step_weights="order", first_step_half_life_items=5.0)
    )[:, model.active_items_]
    assert abs(model.history_ - expected).max() == 0.0
    assert model.history_.max() == 1.0 and model.history_.data.min() < 0.5
    scores = model.score(np.array([3]))
    item = int(scores[0].argmax())
    assert abs(sum(t.value for t in model.explain(3, item)) - float(scores[0, item])) < 1e-6
    uniform = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0}, first_step_weights="uniform")).fit(temporal_graph)
    assert uniform.first_step_ == "uniform" and set(uniform.history_.data.tolist()) == {1.0}


def test_tune_picks_the_best_validation_configuration(graph):
    grid = ItemPathGrid(ridge=(50.0, 400.0), side_weight=(0.0, 1.0), theta=(0.1, 0.3))
    best, tried = tune_item_path(graph, grid)
    assert len(tried) == 2 * 2 + 4 * 2  # every configuration scored on validation is recorded (4 components)
    values = [record["ndcg@20"] for record in tried]
    top = tried[int(np.argmax(values))]
    assert (best.config.ridge, best.config.side_weight) == (top["ridge"], top["side_weight"])
    assert {k: v for k, v in best.theta_.items() if v != 0} == top["theta"]
    again = evaluate(best, graph.split, part="valid", cutoffs=(20,)).metrics["ndcg@20"]
    assert again == pytest.approx(max(values), abs=1e-9)


def test_tune_tries_half_lives_on_temporal_splits(temporal_graph):
    grid = ItemPathGrid(ridge=(100.0,), side_weight=(0.0,), theta=(0.1,), half_life_items=(2.0, 8.0))
    best, tried = tune_item_path(temporal_graph, grid)
    assert len(tried) == 1 + 4 + 2 and all(record["first_step"] == "order" for record in tried)
    assert [record["half_life_items"] for record in tried[-2:]] == [2.0, 8.0]
    values = [record["ndcg@20"] for record in tried]
    assert best.config.first_step_half_life_items == tried[int(np.argmax(values))]["half_life_items"]
    again = evaluate(best, temporal_graph.split, part="valid", cutoffs=(20,)).metrics["ndcg@20"]
    assert again == pytest.approx(max(values), abs=1e-9)


# ---------------------------------------------------------------- the components that grow with the log
def _normalised(x: np.ndarray) -> np.ndarray:
    du, di = x.sum(1), x.sum(0)
    return x / np.sqrt(np.maximum(du, 1e-300))[:, None] / np.sqrt(np.maximum(di, 1e-300))[None, :]


def test_filter_components_equal_their_dense_definitions():
    x = _tiny_positives(3, users=14, items=7)
    data = ItemData(x)
    rn = _normalised(x.toarray())
    p = rn.T @ rn
    cooc = LinearFilter(dtype=torch.float64).fit(data)
    np.testing.assert_allclose(cooc.dense().numpy(), p, atol=1e-12)
    np.testing.assert_allclose(SquaredFilter(dtype=torch.float64).fit(data).dense().numpy(), p @ p, atol=1e-12)
    cheby = ChebyshevFilter(order=6, flatness=2.0, beta=0.3, dtype=torch.float64).fit(data)
    c = chebyshev_coefficients(lambda t: plateau(t, 2.0), 6)
    lt = np.eye(7) - 2 * p
    t_prev, t_cur = np.eye(7), lt
    poly = c[0] * t_prev + c[1] * t_cur
    for k in range(2, 7):
        t_prev, t_cur = t_cur, 2 * lt @ t_cur - t_prev
        poly = poly + c[k] * t_cur
    degree = x.toarray().sum(0)
    expected = np.diag(degree**-0.3) @ poly @ np.diag(degree**0.3)
    np.testing.assert_allclose(cheby.dense().numpy(), expected, atol=1e-10)
    for component in (cooc, cheby, SquaredFilter(dtype=torch.float64).fit(data)):
        matrix = component.dense().numpy()
        for column in range(7):
            np.testing.assert_allclose(component.entries(np.arange(7), column), matrix[:, column], atol=1e-12)
        one = component.apply(x[[2]])  # the sparse × sparse route for a single user
        np.testing.assert_allclose(one.numpy(), x[[2]].toarray() @ matrix, atol=1e-12)


def test_gfcf_and_chebycf_are_special_cases(graph):
    """θ = {cooc: 1, lowpass: α} without rescaling is GF-CF; {cheby: 1, lowpass: α} with the low-pass's β is ChebyCF."""
    split = graph.split
    active = np.sort(split.log.item_ids.get_indexer(split.candidate_items))
    users = np.arange(30)
    common = dict(rescale=False, dtype="float64", lowpass_rank=6, lowpass_solver="exact", first_step_weights="uniform")
    ours = ItemPathModel(ItemPathConfig(theta={"cooc": 1.0, "lowpass": 0.3}, **common)).fit(split)
    theirs = GFCF(alpha=0.3, k=6, svd="arpack").fit(split)
    np.testing.assert_allclose(ours.score(users)[:, active], theirs.score(users)[:, active].double(), atol=2e-5)
    config = ItemPathConfig(theta={"cheby": 1.0, "lowpass": 0.2}, lowpass_beta=0.4, cheby_beta=0.4, **common)
    ours = ItemPathModel(config).fit(split)
    theirs = ChebyCF(order=8, flatness=1.5, ideal_rank=6, alpha=0.2, beta=0.4, svd="arpack").fit(split)
    np.testing.assert_allclose(ours.score(users)[:, active], theirs.score(users)[:, active].double(), atol=2e-5)


def test_sparse_route_equals_the_dense_combination(graph):
    theta = {"cooc": 1.0, "cooc2": -0.2, "cheby": 0.3, "lowpass": 0.1, "spectral": 0.2, "interest": 0.2, "text": 0.1}
    config = ItemPathConfig(theta=theta, dtype="float64", lowpass_rank=8, spectral_rank=8)
    dense = ItemPathModel(config).fit(graph)
    sparse = ItemPathModel(dataclasses.replace(config, max_dense_items=50)).fit(graph)
    assert dense.combined_ is not None and sparse.combined_ is None
    users = np.arange(40)
    torch.testing.assert_close(sparse.score(users), dense.score(users), rtol=0, atol=1e-9)
    assert sparse.expandable() == {
        "cooc": True,
        "cooc2": True,
        "cheby": True,
        "lowpass": False,
        "spectral": False,
        **{"interest": True, "text": True},
    }
    scores = sparse.score(users)
    for user in (0, 11, 39):
        item = int(scores[user].argmax())
        terms = sparse.explain(user, item)
        assert terms and {t.component for t in terms} <= set(theta)
        assert abs(sum(t.value for t in terms) - float(scores[user, item])) < 1e-9


SPARSE_ROUTE_THETA = {
    "cooc": 1.0,
    "cooc2": -0.2,
    "cheby": 0.5,
    "lowpass": 0.1,
    "spectral": -0.1,
    "interest": 0.2,
    "text": 0.1,
}


@pytest.mark.parametrize("dtype, atol", [("float32", 2e-6), ("float64", 1e-12)])
def test_few_user_route_equals_the_batch_route_for_every_component(graph, dtype, atol):
    """Up to SPARSE_BATCH users go through the latency route (sparse first steps, torch CSR products with int32
    indices, one torch matrix-vector product for the low-pass); more users through scipy's blocks. Same scores."""
    from interestgraph.paths.components import SPARSE_BATCH

    config = ItemPathConfig(
        theta=SPARSE_ROUTE_THETA, dtype=dtype, lowpass_rank=8, spectral_rank=8, max_dense_items=50, rescale=True
    )
    model = ItemPathModel(config).fit(graph)
    assert model.combined_ is None and set(model.components_) == set(SPARSE_ROUTE_THETA)
    history = model.history_
    n_users = history.shape[0]
    assert n_users > SPARSE_BATCH  # the whole batch takes the batch route
    few = [
        np.array([0]),
        np.array([7]),
        np.array([3, 50, n_users - 1]),
        np.arange(SPARSE_BATCH) + n_users - SPARSE_BATCH,
    ]
    for name, component in model.components_.items():
        batch = component.apply(history)
        scale = float(batch.abs().max())
        assert scale > 0, name
        for users in few:
            alone = component.apply(history[users])
            assert alone.dtype == batch.dtype
            torch.testing.assert_close(
                alone, batch[users], rtol=0, atol=atol * scale, msg=lambda m, n=name: f"{n}: {m}"
            )
    # the model's one-user scores (components summed, shared products) equal its batch scores
    scores = model.score(np.arange(n_users))
    for user in (0, 5, 64, n_users - 1):
        one = model.score(np.array([user]))[0]
        torch.testing.assert_close(one, scores[user], rtol=0, atol=atol * float(scores.abs().max()))


def test_chebyshev_series_on_torch_equals_the_scipy_recurrence():
    from interestgraph.ops.spectral import chebyshev_filter, chebyshev_series, torch_csr

    x = sp.csr_matrix(_normalised(_tiny_positives(4, users=30, items=12).toarray()))
    norm, norm_t = torch_csr(x), torch_csr(sp.csr_matrix(x.T))
    assert norm.crow_indices().dtype == torch.int32 and norm.col_indices().dtype == torch.int32
    c = chebyshev_coefficients(lambda t: plateau(t, 2.0), 8)
    y = np.random.default_rng(0).random((12, 3))

    def laplacian(v):
        return v - 2.0 * (norm_t @ (norm @ v) if v.dim() == 2 else torch.mv(norm_t, torch.mv(norm, v)))

    expected = chebyshev_filter(x, sp.csr_matrix(x.T), c, y)
    block = torch.from_numpy(y)
    np.testing.assert_allclose(chebyshev_series(laplacian, c, block).numpy(), expected, atol=1e-12)
    assert torch.equal(block, torch.from_numpy(y))  # the start is not modified
    one = chebyshev_series(laplacian, c, block[:, 1].contiguous(), laplacian(block[:, 1].contiguous()))
    np.testing.assert_allclose(one.numpy(), expected[:, 1], atol=1e-12)
    np.testing.assert_allclose(chebyshev_series(laplacian, c[:1], block).numpy(), c[0] * y, atol=0)


def test_save_and_load_round_trip_and_refuse_tampering(fitted, graph, tmp_path):
    from safetensors.torch import load_file, save_file

    from interestgraph.artifacts import write_manifest
    from interestgraph.errors import ArtifactError

    path = fitted.save(tmp_path / "model")
    loaded = ItemPathModel.load(path)
    users = np.arange(25)
    torch.testing.assert_close(loaded.score(users), fitted.score(users), rtol=0, atol=1e-12)
    assert list(loaded.user_ids) == list(fitted.user_ids) and list(loaded.item_ids) == list(fitted.item_ids)
    assert loaded.theta_ == fitted.theta_ and loaded.first_step_ == fitted.first_step_
    item = int(fitted.score(users)[4].argmax())
    assert loaded.explain(4, item) == fitted.explain(4, item)
    given = [list(fitted.item_ids[:3])]
    torch.testing.assert_close(loaded.fold_in(given), fitted.fold_in(given), rtol=0, atol=1e-12)
    with pytest.raises(FileExistsError):
        fitted.save(path)
    # a NaN in any tensor, with the checksums recomputed, is refused by name
    tensors = load_file(str(path / "state.safetensors"))
    tensors["lowpass/left"][0, 0] = float("nan")
    save_file(tensors, str(path / "state.safetensors"))
    import json

    manifest = json.loads((path / "manifest.json").read_text())
    extra = {
        k: v for k, v in manifest.items() if k not in ("format", "format_version", "created_by", "created_at", "files")
    }
    write_manifest(path, format=manifest["format"], format_version=1, metadata=extra)
    with pytest.raises(ArtifactError, match="lowpass/left.*non-finite"):
        ItemPathModel.load(path)
    tensors["lowpass/left"][0, 0] = 0.0
    tensors["ridge/matrix"] = tensors["ridge/matrix"][:-1]
    save_file(tensors, str(path / "state.safetensors"))
    write_manifest(path, format=manifest["format"], format_version=1, metadata=extra)
    with pytest.raises(ArtifactError, match="matrix"):
        ItemPathModel.load(path)
    write_manifest(path, format=manifest["format"], format_version=2, metadata=extra)
    with pytest.raises(ArtifactError, match="version"):
        ItemPathModel.load(path)
    with pytest.raises(ArtifactError):
        ItemPathModel.load(tmp_path / "missing")


def test_save_and_load_the_gowalla_setting_with_three_normalised_components(graph, tmp_path):
    """cooc, cooc2 and cheby fitted together share one item-degree array; saving them once failed (safetensors
    refuses tensors sharing memory)."""
    theta = {"cooc": 0.1, "cooc2": 0.1, "cheby": 1.0, "lowpass": 0.1, "spectral": 0.3}
    config = ItemPathConfig(
        theta=theta, rescale=False, max_dense_items=50, lowpass_rank=6, lowpass_solver="exact", spectral_rank=5
    )
    model = ItemPathModel(config).fit(graph.split)
    loaded = ItemPathModel.load(model.save(tmp_path / "model"))
    users = np.arange(40)
    torch.testing.assert_close(loaded.score(users), model.score(users), rtol=0, atol=0)


def test_one_user_scores_on_a_gowalla_like_split_where_every_item_is_active(tmp_path):
    """The LightGCN format's setting: every item has a training pair (scores are the components' sum itself),
    cooc, cooc2 and cheby hold one R̃ (before and after saving), and one user's scores equal the batch's."""
    from interestgraph.data.formats.lightgcn import load_lightgcn

    rng = np.random.default_rng(7)
    n_users, n_items = 60, 40
    train = [
        sorted(set(rng.choice(n_items, rng.integers(3, 12), replace=False)) | {u % n_items}) for u in range(n_users)
    ]
    (tmp_path / "train.txt").write_text("".join(f"{u} {' '.join(map(str, items))}\n" for u, items in enumerate(train)))
    test = [sorted(set(rng.choice(n_items, 2, replace=False)) - set(items)) for items in train]
    (tmp_path / "test.txt").write_text("".join(f"{u} {' '.join(map(str, t))}\n" for u, t in enumerate(test) if t))
    split = load_lightgcn(tmp_path)
    theta = {"cooc": 0.1, "cooc2": 0.1, "cheby": 1.0, "lowpass": 0.1}
    config = ItemPathConfig(theta=theta, rescale=False, max_dense_items=20, lowpass_rank=6, lowpass_solver="exact")
    model = ItemPathModel(config).fit(split)
    assert model.combined_ is None and len(model.active_items_) == len(model.item_ids) == n_items
    loaded = ItemPathModel.load(model.save(tmp_path / "model"))
    for fitted in (model, loaded):
        norms = {id(fitted.components_[name].norm_) for name in ("cooc", "cooc2", "cheby")}
        assert len(norms) == 1  # one R̃ for the three
        batch = fitted.score(np.arange(n_users))
        parts = fitted.component_scores(np.arange(n_users))
        torch.testing.assert_close(batch, sum(theta[name] * parts[name] for name in theta), rtol=0, atol=1e-6)
        for user in (0, 31, n_users - 1):
            torch.testing.assert_close(fitted.score(np.array([user]))[0], batch[user], rtol=0, atol=2e-6)
            item = int(batch[user].argmax())  # float64 terms (float32 model) sum to the float32 score
            terms = fitted.explain(user, item)
            assert {t.component for t in terms} == set(theta)
            assert abs(sum(t.value for t in terms) - float(batch[user, item])) < 2e-6
    torch.testing.assert_close(loaded.score(np.arange(n_users)), model.score(np.arange(n_users)), rtol=0, atol=0)


def test_cold_items_get_their_own_weights_chosen_on_a_simulation(tmp_path):
    log = generate_synthetic(n_users=90, n_items=110, n_interactions=3_000, seed=5).log
    graph = build_interest_graph(log, protocol="cold-4", encoder=LexicalEncoder())
    grid = ItemPathGrid(
        ridge=(100.0,), side_weight=(0.0,), theta=(0.1,), cold_interest=(0.0, 2.0), cold_text=(0.0, 1.0)
    )
    best, tried = tune_item_path(graph, grid)
    simulated = [r for r in tried if r.get("simulation")]
    assert len(simulated) == 4 and len(tried) == 1 + 4 + 4
    top = simulated[int(np.argmax([r["ndcg@20"] for r in simulated]))]
    assert {k: v for k, v in best.cold_theta_.items() if v != 0} == top["cold_theta"]
    cold = best.cold_columns_
    codes = graph.split.log.item_ids.get_indexer(graph.split.cold_items)
    assert set(best.active_items_[cold].tolist()) == set(codes.tolist())
    for name in best.components_:
        weights = best.column_weights(name)
        assert (weights[~cold] == best.theta_[name]).all() and (weights[cold] == best.cold_theta_[name]).all()
    # scores on cold columns follow the cold weights exactly, and explanations still add up
    plain = best.reweighted(best.theta_)  # cold_theta None: warm weights everywhere
    users = np.arange(30)
    diff = best.score(users) - plain.score(users)
    warm_codes = torch.from_numpy(best.active_items_[~cold])
    assert float(diff[:, warm_codes].abs().max()) == 0.0
    scores = best.score(users)
    for user in (0, 9):
        item = int(codes[int(scores[user, torch.from_numpy(codes)].argmax())])
        assert abs(sum(t.value for t in best.explain(user, item)) - float(scores[user, item])) < 1e-5
    loaded = ItemPathModel.load(best.save(tmp_path / "cold"))
    assert loaded.cold_theta_ == best.cold_theta_ and (loaded.cold_columns_ == cold).all()
    torch.testing.assert_close(loaded.score(users), scores)
    with pytest.raises(ValueError, match="cold_theta weighs components"):
        ItemPathModel(ItemPathConfig(theta={"ridge": 1.0}, cold_theta={"text": 1.0})).fit(graph)


def test_evaluate_verb_tunes_the_item_path_model(capsys):
    import json

    from interestgraph.cli import main

    synthetic = ["--format", "synthetic", "--n-users", "60", "--n-items", "80", "--n-events", "1800"]
    grid = json.dumps({"item-path": {"ridge": [50, 400], "theta": [0.1, 0.3]}})
    assert main(["evaluate", *synthetic, "--models", "item-path,ease", "--grid", grid, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    path = result["item-path"]
    assert path["tuned"] and path["configurations"] == 2 + 2 + 2  # a plain split: the low-pass and the transitions
    assert path["setting"]["ridge"] in (50, 400) and 0 < path["ndcg@20"] <= 1
    assert main(["evaluate", *synthetic, "--models", "item-path", "--grid", '{"item-path": {"rounds": 0}}']) == 2
    assert "--grid item-path" in capsys.readouterr().err


def test_shared_products_leave_each_component_its_own_scores(graph):
    model = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0, "cooc": 0.5, "cooc2": -0.1}, dtype="float64")).fit(graph)
    assert model.components_["cooc"].scale_ != 1.0  # rescaled to the ridge: the shared H P̃ must not be scaled in place
    users = np.arange(12)
    together = model.component_scores(users)
    history = model.history_[users]
    for name, component in model.components_.items():
        alone = torch.zeros_like(together[name])
        alone[:, torch.from_numpy(model.active_items_)] = component.apply(history)
        torch.testing.assert_close(together[name], alone, rtol=0, atol=1e-12)


def test_save_refuses_to_overwrite_what_is_not_an_artifact(fitted, tmp_path):
    from interestgraph.errors import OutputError

    user_files = tmp_path / "notes"
    user_files.mkdir()
    (user_files / "notes.txt").write_text("mine")
    with pytest.raises(OutputError):
        fitted.save(user_files, overwrite=True)
    assert (user_files / "notes.txt").read_text() == "mine"
    path = fitted.save(tmp_path / "model")
    assert fitted.save(path, overwrite=True) == path  # an artifact of its own kind is replaced
    (path / "ids.parquet").write_bytes(b"not parquet")
    import json

    from interestgraph.artifacts import write_manifest

    manifest = json.loads((path / "manifest.json").read_text())
    own = ("format", "format_version", "created_by", "created_at", "files")
    write_manifest(
        path, format=manifest["format"], format_version=1, metadata={k: v for k, v in manifest.items() if k not in own}
    )
    from interestgraph.errors import ArtifactError

    with pytest.raises(ArtifactError, match="ids.parquet"):
        ItemPathModel.load(path)


def test_evaluate_verb_scores_a_saved_item_path_model(graph, tmp_path, capsys):
    import json

    from interestgraph.cli import main

    graph_dir = tmp_path / "graph"
    graph.save(graph_dir)
    model = ItemPathModel(ItemPathConfig(theta={"ridge": 1.0, "interest": 0.1}, lowpass_rank=8)).fit(graph)
    model.save(tmp_path / "model")
    assert main(["evaluate", str(graph_dir), "--models", str(tmp_path / "model"), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)[str(tmp_path / "model")]
    expected = evaluate(model, graph.split, part="test", cutoffs=(10, 20)).metrics["ndcg@20"]
    assert result["ndcg@20"] == pytest.approx(expected, abs=1e-6)  # the JSON rounds to 6 digits


def test_cheby_backbone_sweeps_chebycf_grid_and_starts_from_chebycf(graph):
    split = graph.split
    base = ItemPathConfig(rescale=False, max_dense_items=50, lowpass_rank=6, lowpass_solver="exact")
    grid = ItemPathGrid(
        large_backbone="cheby", cheby_flatness=(1.5, 2.0), cheby_beta=(0.3,), components=("lowpass",), theta=(0.2,)
    )
    best, tried = tune_item_path(split, grid, base)
    assert len(tried) == 2 + 1 and [r["theta"] for r in tried[:2]] == [{"cheby": 1.0}] * 2
    assert best.config.lowpass_beta == best.config.cheby_beta == 0.3  # the low-pass takes the backbone's β
    # {cheby: 1, lowpass: 0.2} at the chosen flatness is ChebyCF itself, scored in the sweep
    flatness = best.config.cheby_flatness
    theirs = ChebyCF(order=8, flatness=flatness, ideal_rank=6, alpha=0.2, beta=0.3, svd="arpack").fit(split)
    chebycf = evaluate(theirs, split, part="valid", cutoffs=(20,)).metrics["ndcg@20"]
    assert tried[-1]["theta"] == {"cheby": 1.0, "lowpass": 0.2}
    assert tried[-1]["ndcg@20"] == pytest.approx(chebycf, abs=1e-6)
    assert max(r["ndcg@20"] for r in tried) >= chebycf - 1e-6


def test_transitions_count_successors_in_time_order():
    from interestgraph.paths import Transitions

    # user 0 takes items 0, 1, 2 in that order (times 3, 5, 9); user 1 takes 2 then 0; user 2 has one item
    x = sp.csr_matrix(np.array([[1, 1, 1, 0], [1, 0, 1, 0], [0, 0, 0, 1]], dtype=np.float64))
    times = sp.csr_matrix(np.array([[3, 5, 9, 0], [8, 0, 2, 0], [0, 0, 0, 4]], dtype=np.float64))
    counts = np.zeros((4, 4))
    counts[0, 1] = counts[1, 2] = 1.0  # gap 1
    counts[0, 2] = 0.5  # gap 2, decay 0.5
    counts[2, 0] = 1.0  # user 1: 2 then 0
    component = Transitions(window=2, decay=0.5, source_exponent=0.5, target_exponent=0.25, dtype=torch.float64)
    dense = component.fit(ItemData(x, times=times)).dense().numpy()
    out, into = counts.sum(axis=1), counts.sum(axis=0)
    expected = np.divide(counts, np.sqrt(out)[:, None], where=out[:, None] > 0, out=np.zeros_like(counts))
    expected = np.divide(expected, into[None, :] ** 0.25, where=into[None, :] > 0, out=np.zeros_like(counts))
    np.testing.assert_allclose(dense, expected, rtol=0, atol=1e-12)
    assert dense[1, 0] == 0.0  # directed: item 1 never came before item 0
    window_one = Transitions(window=1, dtype=torch.float64).fit(ItemData(x, times=times)).dense().numpy()
    assert window_one[0, 2] == 0.0 and window_one[0, 1] > 0
    with pytest.raises(ValueError, match="needs the positives' times"):
        Transitions().fit(ItemData(x))
    with pytest.raises(ValueError, match="same time"):
        Transitions().fit(ItemData(x, times=x))


def test_sums_computed_elsewhere_are_taken_at_the_items_codes_and_checked(temporal_graph):
    """``fit(aggregates=...)``: the co-occurrence and transition sums come from an ``ItemAggregates`` in the log's item
    codes; in that order they give the local fit, in any other they do not (the order is the contract), and a wrong
    shape or type is refused by name."""
    from interestgraph.paths import ItemAggregates, cooccurrence, split_pair_times, transition_counts

    split = temporal_graph.split
    n = split.log.n_items

    class Elsewhere(ItemAggregates):
        def __init__(self, order: np.ndarray, rows: int | None = None) -> None:
            self.order, self.rows, self.calls = order, rows, []

        def _in_order(self, matrix):
            return sp.csr_matrix(matrix)[self.order][:, self.order][: self.rows]

        def cooccurrence(self, user_exponent):
            self.calls.append(("cooccurrence", user_exponent))
            return self._in_order(cooccurrence(split.positive_matrix("train"), user_exponent))

        def transition_counts(self, window, decay):
            self.calls.append(("transition_counts", window, decay))
            return self._in_order(transition_counts(split_pair_times(split), window, decay))

    theta = {"ridge": 1.0, "transition": 0.4, "lowpass": 0.2}
    config = ItemPathConfig(theta=theta, dtype="float64", lowpass_rank=6, lowpass_solver="exact", rescale=False)
    local = ItemPathModel(config).fit(temporal_graph)
    same = Elsewhere(np.arange(n))
    elsewhere = ItemPathModel(config).fit(temporal_graph, aggregates=same)
    assert ("cooccurrence", 0.0) in same.calls and ("cooccurrence", 1.0) in same.calls  # ridge; exact low-pass
    assert ("transition_counts", config.transition_window, config.transition_decay) in same.calls
    users = np.arange(30)
    np.testing.assert_allclose(elsewhere.score(users), local.score(users), rtol=1e-9, atol=1e-12)
    reversed_fit = ItemPathModel(config).fit(temporal_graph, aggregates=Elsewhere(np.arange(n)[::-1].copy()))
    assert not np.allclose(reversed_fit.score(users), local.score(users))
    # tuning takes them for every fit: the same configurations and validation figures as tuning locally
    grid = ItemPathGrid(ridge=(100.0,), side_weight=(0.0,), theta=(0.1,), half_life_items=(2.0,))
    counted = Elsewhere(np.arange(n))
    _, tried_elsewhere = tune_item_path(temporal_graph, grid, aggregates=counted)
    _, tried_here = tune_item_path(temporal_graph, grid)
    assert [r["ndcg@20"] for r in tried_elsewhere] == pytest.approx([r["ndcg@20"] for r in tried_here], abs=1e-9)
    assert [r["theta"] for r in tried_elsewhere] == [r["theta"] for r in tried_here] and counted.calls
    with pytest.raises(ValueError, match=r"aggregates.cooccurrence: expected a square matrix"):
        ItemPathModel(config).fit(temporal_graph, aggregates=Elsewhere(np.arange(n), rows=n - 1))
    with pytest.raises(TypeError, match="aggregates must be an ItemAggregates"):
        ItemPathModel(config).fit(temporal_graph, aggregates={"cooccurrence": None})


def test_transition_component_in_the_model_explains_saves_and_skips_without_order(
    temporal_graph, tmp_path, monkeypatch
):
    theta = {"ridge": 1.0, "transition": 0.4}
    config = ItemPathConfig(theta=theta, dtype="float64", first_step_half_life_items=3.0)
    dense = ItemPathModel(config).fit(temporal_graph)
    sparse = ItemPathModel(dataclasses.replace(config, theta={"cooc": 1.0, "transition": 0.4}, max_dense_items=50))
    sparse.fit(temporal_graph)
    assert "transition" in dense.components_ and dense.expandable()["transition"] is True
    users = np.arange(30)
    scores = sparse.score(users)
    for user in (0, 7, 29):
        item = int(scores[user].argmax())
        terms = sparse.explain(user, item)
        assert abs(sum(t.value for t in terms) - float(scores[user, item])) < 1e-9
    without = sparse.reweighted({"cooc": 1.0, "transition": 0.0}).score(users)
    assert float((scores - without).abs().max()) > 0  # the successors change the ranking input
    loaded = ItemPathModel.load(dense.save(tmp_path / "m"))
    torch.testing.assert_close(loaded.score(users), dense.score(users), rtol=0, atol=1e-12)
    # a log without order (every time equal): the component is skipped with its reason, the rest fits
    from interestgraph.model import item_path

    def same_time(split):
        times = sp.csr_matrix(split.positive_matrix("train"), dtype=np.float64)
        times.data[:] = 1.0
        return times

    monkeypatch.setattr(item_path, "split_pair_times", same_time)
    flat = ItemPathModel(config).fit(temporal_graph)
    assert "transition" not in flat.components_ and "no order" in flat.skipped_["transition"]


def test_fold_in_averages_the_paths_adds_the_prior_and_explains_exactly(fitted, graph):
    from interestgraph.recommend import recommend_for_items

    model = fitted
    user = int(np.flatnonzero(np.diff(model.history_.indptr) >= 3)[0])
    row = model.history_[user]
    given = list(model.item_ids[model.active_items_[row.indices]])
    # a uniform-first-step model: a training user's own items give that user's scores over their mass
    assert model.first_step_ == "uniform"
    paths = model.fold_in([given], prior=0.0)[0]
    np.testing.assert_allclose(paths.numpy(), model.score([user])[0].numpy() / row.sum(), rtol=1e-10, atol=1e-14)
    # the prior adds prior * prior_scale_ * popularity_ pseudo-mass, over the mass, popularity_ the training
    # positives over the largest
    counts = np.asarray(graph.split.positive_matrix("train").sum(axis=0)).ravel()
    np.testing.assert_allclose(model.popularity_, counts / counts.max())
    assert model.prior_scale_ > 0
    with_prior = model.fold_in([given, given[:1]], prior=2.0)
    mass = float(row.sum())
    np.testing.assert_allclose(
        with_prior[0].numpy(), paths.numpy() + 2.0 * model.prior_scale_ * model.popularity_ / mass, rtol=1e-10
    )
    default = model.fold_in([given])[0]
    np.testing.assert_allclose(
        default.numpy(), paths.numpy() + model.config.new_user_prior * model.prior_scale_ * model.popularity_ / mass
    )
    # one given item: the prior weighs `prior` times that item's mass
    one = model.fold_in([given[:1]], prior=2.0)[0].numpy()
    alone = model.fold_in([given[:1]], prior=0.0)[0].numpy()
    np.testing.assert_allclose(one, alone + 2.0 * model.prior_scale_ * model.popularity_, rtol=1e-10)
    # explain_fold_in: the path terms and the prior add up to the score; the prior is history item -1
    target = int(np.argsort(-with_prior[0].numpy())[5])
    terms = model.explain_fold_in(given, model.item_ids[target], prior=2.0)
    assert sum(t.value for t in terms) == pytest.approx(float(with_prior[0, target]), rel=1e-9)
    assert terms[-1].history_item == -1 and terms[-1].component == "popularity"
    assert {t.history_item for t in terms[:-1]} <= set(model.active_items_[row.indices].tolist())
    # recommend_for_items uses the fold-in and leaves the given items out
    table = recommend_for_items(model, given, k=5)
    assert not set(table["item_id"]) & set(given)
    order = np.argsort(
        -np.where(np.isin(np.arange(len(model.item_ids)), model.active_items_[row.indices]), -np.inf, default.numpy()),
        kind="stable",
    )[:5]
    assert list(table["item_id"]) == list(model.item_ids[order])
    # a recency model weights the last given item most
    order_model = dataclasses.replace(model.config, first_step_weights="order", first_step_half_life_items=1.0)
    recent = ItemPathModel(order_model).fit(graph)
    history = recent.fold_in_history([given[:3]])
    assert history.data.max() == 1.0 and sorted(history.data.tolist()) == [0.25, 0.5, 1.0]


def test_fold_in_refuses_bad_item_lists(fitted):
    known = list(fitted.item_ids[:2])
    with pytest.raises(ValueError, match="at least one item"):
        fitted.fold_in([[]])
    with pytest.raises(ValueError, match="listed twice"):
        fitted.fold_in([[known[0], known[0]]])
    with pytest.raises(ValueError, match="unknown item IDs"):
        fitted.fold_in([[known[0], "no such item"]])
    with pytest.raises(ValueError, match="one list of item IDs per new user"):
        fitted.fold_in(known)
    with pytest.raises(ValueError, match="prior"):
        fitted.fold_in([known], prior=-1.0)


def test_a_query_steps_to_its_matching_documents_and_the_paths_go_on(fitted, graph, temporal_graph, tmp_path):
    encoder = LexicalEncoder()
    model = fitted.index_queries(graph, encoder)
    assert fitted.query_vectors_ is None  # a copy: the fitted model is left as it was
    texts = ["space adventure", "slow cooking recipes"]
    # by hand: cosines with every active item's document, the 5 best (positive) as first steps, the paths from them
    queries = torch.nn.functional.normalize(torch.as_tensor(encoder.encode(texts)).float(), dim=1)
    cosine = (queries @ model.query_vectors_[torch.from_numpy(model.active_items_)].T).double().numpy()
    expected = np.zeros((len(texts), len(model.item_ids)))
    for r in range(len(texts)):
        best = np.argsort(-cosine[r])[:5]
        h = np.zeros(len(model.active_items_))
        h[best] = np.clip(cosine[r, best], 0, None)
        expected[r, model.active_items_] = h @ model.combined_.double().numpy() / h.sum()
    got = model.query_scores(texts, top=5, prior=0.0).double().numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-9)
    assert model.query_history(texts).getnnz(axis=1).max() == min(QUERY_TOP, len(model.active_items_))  # default
    # the terms add up, and a prior adds popularity over the same mass
    item = model.item_ids[int(np.argmax(got[0]))]
    terms = model.explain_query(texts[0], item, top=5, prior=0.0)
    assert sum(t.value for t in terms) == pytest.approx(got[0].max(), rel=1e-6)
    with_prior = model.query_scores(texts[:1], top=5, prior=2.0)[0].double().numpy()
    mass = np.sort(np.clip(cosine[0], 0, None))[-5:].sum()
    np.testing.assert_allclose(
        with_prior - got[0], 2.0 * model.prior_scale_ * model.popularity_ / mass, rtol=1e-6, atol=1e-9
    )
    # saved and loaded: the same scores; a model without the index, another encoder or another split is refused
    model.save(tmp_path / "q")
    loaded = ItemPathModel.load(tmp_path / "q").query_scores(texts, top=5, prior=0.0).numpy()
    np.testing.assert_allclose(loaded, got, rtol=1e-6)
    with pytest.raises(ValueError, match="no query index"):
        fitted.query_scores(texts)
    with pytest.raises(ValueError, match="query index was made by"):
        model.query_scores(texts, encoder=LexicalEncoder(64))
    with pytest.raises(ValueError, match="the same items"):
        fitted.index_queries(temporal_graph, encoder)
    with pytest.raises(ValueError, match="non-empty"):
        model.query_scores([" "])


def test_a_model_saved_before_titles_facts_and_the_query_index_still_loads(fitted, tmp_path):
    import json

    import pandas as pd

    from interestgraph.artifacts import write_manifest

    directory = fitted.save(tmp_path / "old")
    manifest = json.loads((directory / "manifest.json").read_text())
    ids = pd.read_parquet(directory / "ids.parquet")
    assert "title" in ids.columns and {"facts", "graph_path", "query_encoder"} <= set(manifest)
    ids.drop(columns="title").to_parquet(directory / "ids.parquet", index=False)  # what version 1 first wrote
    (directory / "manifest.json").unlink()
    old = {
        k: manifest[k] for k in ("config", "theta", "cold_theta", "skipped", "first_step", "components", "id_dtypes")
    }
    write_manifest(directory, format="interestgraph-item-path-model", format_version=1, metadata=old)
    loaded = ItemPathModel.load(directory)
    assert loaded.titles_ is None and loaded.facts_ == {} and loaded.query_vectors_ is None
    np.testing.assert_allclose(loaded.score(np.arange(5)).numpy(), fitted.score(np.arange(5)).numpy(), rtol=1e-6)
