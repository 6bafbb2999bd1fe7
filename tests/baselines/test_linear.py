"""EASE, GF-CF and ChebyCF against their formulas computed directly on tiny matrices; the memory guard; the tuner."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp

from interestgraph.baselines import (
    CHEBYCF_GRID,
    EASE,
    GFCF,
    ChebyCF,
    describe_grid,
    ease_memory_gb,
    tune_grid,
    tune_linear,
)
from interestgraph.baselines.filters import chebyshev_coefficients, leading_right_singular_vectors, plateau
from interestgraph.data import InteractionLog, given_split
from interestgraph.evaluate import evaluate


def make_split(n_users: int = 40, n_items: int = 25, density: float = 0.3, seed: int = 0):
    """A random 0/1 log; each pair goes to train (80 %), valid (10 %) or test (10 %)."""
    rng = np.random.default_rng(seed)
    dense = rng.random((n_users, n_items)) < density
    dense[np.arange(n_users), rng.integers(0, n_items, n_users)] = True  # every user has a pair
    users, items = np.nonzero(dense)
    part = rng.choice(["train", "valid", "test"], size=len(users), p=[0.8, 0.1, 0.1])
    frame = pd.DataFrame({"user_id": [f"u{u:03d}" for u in users], "item_id": [f"i{i:03d}" for i in items]})
    log = InteractionLog.from_frames(frame, None)
    return given_split(log, part, name="tiny-random")


@pytest.fixture(scope="module")
def split():
    return make_split()


def dense_train(split) -> np.ndarray:
    return split.positive_matrix("train").toarray().astype(np.float64)


def test_ease_equals_constrained_ridge_solved_per_column(split):
    """Column j of B solves min ‖X_j − X_{-j} b‖² + λ‖b‖² over the other items, with B[j, j] = 0."""
    x = dense_train(split)
    l2 = 3.0
    model = EASE(l2=l2, dtype="float64").fit(split)
    active = np.flatnonzero(x.sum(axis=0) > 0)
    xa = x[:, active]
    n = len(active)
    expected = np.zeros((n, n))
    for j in range(n):
        others = np.delete(np.arange(n), j)
        a = xa[:, others]
        expected[others, j] = np.linalg.solve(a.T @ a + l2 * np.eye(n - 1), a.T @ xa[:, j])
    np.testing.assert_allclose(model.weights_.numpy(), expected, atol=1e-9)
    users = np.arange(split.log.n_users)
    scores = model.score(users).numpy()
    assert scores.dtype == np.float32 and scores.shape == (split.log.n_users, split.log.n_items)
    np.testing.assert_allclose(scores[:, active], xa @ expected, atol=1e-5)
    # training items are scored too (masking is the harness's job): some training pair has a non-zero score
    assert np.abs(scores[x > 0]).max() > 0
    assert (model.seen != split.positive_matrix("train")).nnz == 0
    assert model.item_ids.equals(split.log.item_ids) and model.user_ids.equals(split.log.user_ids)
    np.testing.assert_allclose(EASE(l2=l2).fit(split).score(users).numpy(), scores, atol=1e-4)  # float32 agrees


def test_ease_memory_guard_names_items_and_memory(split):
    n_active = int((dense_train(split).sum(axis=0) > 0).sum())
    with pytest.raises(MemoryError, match=rf"{n_active} items .* needs about"):
        EASE(max_memory_gb=1e-9).fit(split)
    assert ease_memory_gb(40_981) == pytest.approx(3 * 6.718, rel=1e-3)  # Gowalla: 6.7 GB per matrix
    with pytest.raises(ValueError, match="l2 must be a positive number"):
        EASE(l2=0).fit(split)


def gfcf_dense(x: np.ndarray, alpha: float, k: int) -> np.ndarray:
    du, di = x.sum(axis=1), x.sum(axis=0)
    inv_u = np.where(du > 0, 1 / np.sqrt(np.maximum(du, 1)), 0)
    inv_i = np.where(di > 0, 1 / np.sqrt(np.maximum(di, 1)), 0)
    norm = inv_u[:, None] * x * inv_i[None, :]
    _, _, vt = np.linalg.svd(norm)
    v = vt[:k].T
    sqrt_i = np.where(di > 0, np.sqrt(di), 0)
    return x @ (norm.T @ norm) + alpha * (x * inv_i[None, :]) @ v @ v.T * sqrt_i[None, :]


@pytest.mark.parametrize("svd", ["randomized", "arpack"])
def test_gfcf_equals_dense_formula(split, svd):
    x = dense_train(split)
    model = GFCF(alpha=0.7, k=6, svd=svd, power_iterations=60).fit(split)  # a random matrix: a flat spectrum
    scores = model.score(np.arange(split.log.n_users)).numpy()
    np.testing.assert_allclose(scores, gfcf_dense(x, 0.7, 6), atol=2e-5)
    assert np.abs(scores[x > 0]).max() > 0
    linear_only = GFCF(alpha=0.0).fit(split)
    assert linear_only.basis_ is None
    np.testing.assert_allclose(linear_only.score(np.array([0, 3])).numpy(), gfcf_dense(x, 0.0, 1)[[0, 3]], atol=1e-5)


def test_randomized_basis_spans_the_leading_singular_subspace(split):
    """With a spectral gap the randomised range finder recovers the leading subspace to round-off."""
    rng = np.random.default_rng(5)
    left, _ = np.linalg.qr(rng.standard_normal((60, 8)))
    right, _ = np.linalg.qr(rng.standard_normal((40, 8)))
    matrix = sp.csr_matrix(left @ np.diag([9, 8, 7, 6, 5, 0.3, 0.2, 0.1]) @ right.T)
    v = leading_right_singular_vectors(matrix, 5, solver="randomized", power_iterations=3, seed=3)
    np.testing.assert_allclose(v @ v.T, right[:, :5] @ right[:, :5].T, atol=1e-8)


def exact_chebycf(x: np.ndarray, flatness: float, alpha: float, beta: float, rank: int) -> np.ndarray:
    """ChebyCF with the exact spectral filter h(L̃) in place of its Chebyshev interpolant."""
    du, di = x.sum(axis=1), x.sum(axis=0)
    inv_u = np.where(du > 0, 1 / np.sqrt(np.maximum(du, 1)), 0)
    inv_i = np.where(di > 0, 1 / np.sqrt(np.maximum(di, 1)), 0)
    norm = inv_u[:, None] * x * inv_i[None, :]
    laplacian = np.eye(x.shape[1]) - 2 * norm.T @ norm
    values, vectors = np.linalg.eigh(laplacian)
    h = vectors @ np.diag(plateau(np.clip(values, -1, 1), flatness)) @ vectors.T
    pre = np.where(di > 0, np.maximum(di, 1) ** -beta, 0)
    post = np.where(di > 0, np.maximum(di, 1) ** beta, 0)
    signal = x * pre[None, :]
    out = signal @ h
    if alpha > 0:
        _, _, vt = np.linalg.svd(norm)
        out = out + alpha * signal @ vt[:rank].T @ vt[:rank]
    return out * post[None, :]


def test_chebyshev_interpolation_converges_to_the_target():
    x = np.linspace(-1, 1, 401)
    errors = []
    for order in (4, 8, 16, 64):
        c = chebyshev_coefficients(lambda t: plateau(t, 1.5), order)
        errors.append(np.abs(np.polynomial.chebyshev.chebval(x, c) - plateau(x, 1.5)).max())
    assert errors == sorted(errors, reverse=True) and errors[-1] < 2e-3


def test_chebycf_approaches_the_exact_spectral_filter_as_the_order_grows(split):
    x = dense_train(split)
    exact = exact_chebycf(x, flatness=1.5, alpha=0.3, beta=0.4, rank=5)
    users = np.arange(split.log.n_users)
    errors = []
    for order in (2, 8, 32):
        model = ChebyCF(order=order, flatness=1.5, ideal_rank=5, alpha=0.3, beta=0.4).fit(split)
        errors.append(np.abs(model.score(users).numpy() - exact).max() / np.abs(exact).max())
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-2, errors
    # no ideal pass, no normalisation: the polynomial of L̃ alone
    model = ChebyCF(order=32, flatness=1.0, alpha=0.0, beta=0.0).fit(split)
    plain = exact_chebycf(x, flatness=1.0, alpha=0.0, beta=0.0, rank=1)
    np.testing.assert_allclose(model.score(users).numpy(), plain, atol=2e-2 * np.abs(plain).max())
    assert np.abs(model.score(users).numpy()[x > 0]).max() > 0


def test_filters_reject_bad_settings(split):
    with pytest.raises(ValueError, match="flatness must be a number > 0"):
        ChebyCF(flatness=0).fit(split)
    with pytest.raises(ValueError, match="svd must be one of"):
        GFCF(svd="lanczos").fit(split)
    with pytest.raises(RuntimeError, match="GFCF is not fitted"):
        GFCF().score(np.array([0]))


def test_tuner_picks_the_best_validation_setting(split):
    grid = {"l2": (0.5, 5.0, 50.0)}
    best, table = tune_grid(EASE, split, grid, name="ease")
    assert len(table) == 3 and table["chosen"].sum() == 1
    values = [
        evaluate(EASE(l2=v).fit(split), split, part="valid", cutoffs=(20,)).metrics["ndcg@20"] for v in grid["l2"]
    ]
    np.testing.assert_allclose(table["valid_ndcg@20"], values)
    assert best.l2 == grid["l2"][int(np.argmax(values))]
    assert table.loc[table["chosen"], "l2"].item() == best.l2
    with pytest.raises(ValueError, match="grid and fixed both set"):
        tune_grid(EASE, split, grid, l2=1.0)


def test_tune_linear_grid_dedups_rank_when_ideal_pass_is_off(split):
    _, table = tune_linear("gfcf", split, {"k": (3, 5), "alpha": (0.0, 0.5)})
    assert len(table) == 3  # (k, alpha=0) once
    assert "40 configurations" in describe_grid(CHEBYCF_GRID)
    with pytest.raises(ValueError, match="name must be one of"):
        tune_linear("svd", split)


def test_users_without_training_pairs_and_cold_items_score_zero():
    split = make_split(n_users=12, n_items=30, density=0.1, seed=4)
    x = dense_train(split)
    cold = np.flatnonzero(x.sum(axis=0) == 0)
    assert len(cold)
    for model in (EASE(l2=1.0), GFCF(alpha=0.5, k=3), ChebyCF(order=4, ideal_rank=3)):
        scores = model.fit(split).score(np.arange(split.log.n_users)).numpy()
        assert np.isfinite(scores).all()
        np.testing.assert_allclose(scores[:, cold], 0.0, atol=1e-6)
    assert sp.issparse(EASE(l2=1.0).fit(split).seen)


def test_evaluate_verb_tunes_and_prints_the_chosen_setting(capsys):
    import json

    from interestgraph.cli import main

    synthetic = ["--format", "synthetic", "--n-users", "60", "--n-items", "80", "--n-events", "1800"]
    grid = json.dumps({"gfcf": {"k": [4], "alpha": [0.0, 0.3]}, "chebycf": {"order": [4], "beta": [0.2, 0.4]}})
    argv = ["evaluate", *synthetic, "--models", "ease,gfcf,chebycf", "--grid", grid, "--json"]
    assert main(argv) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["ease"]["configurations"] == 6 and result["ease"]["tuned"]
    assert result["gfcf"]["configurations"] == 2 and set(result["gfcf"]["setting"]) == {"k", "alpha"}
    assert result["chebycf"]["setting"]["order"] == 4 and 0 <= result["chebycf"]["ndcg@20"] <= 1
    assert main([*argv[:-1]]) == 0
    assert "chosen on validation NDCG@20" in capsys.readouterr().out
    assert main(["evaluate", *synthetic, "--models", "ease", "--max-memory-gb", "0.0000001"]) == 2
    assert "needs about" in capsys.readouterr().err
    assert main(["evaluate", *synthetic, "--models", "gfcf", "--grid", '{"svd": {}}']) == 2


def test_model_quality_rows_for_the_linear_baselines(tmp_path):
    import json
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from benchmarks import model_quality
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph import build_interest_graph

    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_800, seed=1).log
    build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(tmp_path / "g")
    out = tmp_path / "out"
    argv = ["--protocols", "rs-4", "--seeds", "0,1", "--graph-dir", str(tmp_path / "g")]
    assert model_quality.main([*argv, "--models", "ease,gfcf", "--out", str(out)]) == 0
    payload = json.loads((out / "model-quality-rs-4.json").read_text())
    runs = payload["models"]["ease"]["runs"]
    assert len(runs) == 1 and runs[0]["configurations"] == 6 and "l2" in runs[0]["setting"]
    assert payload["models"]["gfcf"]["runs"][0]["configurations"] == 9  # (k, alpha = 0) once
    assert "chosen on validation NDCG@20" in (out / "model-quality-rs-4.md").read_text()
