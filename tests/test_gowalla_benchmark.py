"""benchmarks/gowalla.py runs end to end on a tiny LightGCN-format dataset (it measures; this only checks it works)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def lightgcn_files(directory: Path, n_users: int = 50, n_items: int = 40, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    train, test = [], []
    for user in range(n_users):
        items = rng.choice(n_items, size=14, replace=False)
        train.append(" ".join(map(str, [user, *items[:11]])))
        test.append(" ".join(map(str, [user, *items[11:]])))
    (directory / "train.txt").write_text("\n".join(train) + "\n")
    (directory / "test.txt").write_text("\n".join(test) + "\n")
    return directory


def extra_model():
    """The --extra hook: (make, grid)."""
    from interestgraph.baselines import ItemKNN

    return ItemKNN, {"k": [5, 20]}


def test_gowalla_benchmark_tunes_on_validation_then_scores_test_once(tmp_path, capsys):
    from benchmarks import gowalla

    data = lightgcn_files(tmp_path / "data")
    grid = {
        "gfcf": {"k": [4], "alpha": [0.0, 0.3]},
        "chebycf": {"order": [4], "ideal_rank": [4], "beta": [0.2, 0.4]},
        "item-path": {"theta": [-0.1, 0.2], "rounds": 1},
    }
    base = {"lowpass_rank": 4, "spectral_rank": 4, "max_dense_items": 30}  # 40 items: the sparse route, cheby backbone
    argv = [
        "--data", str(data), "--models", "gfcf,chebycf,ease,item-path,lightgcn", "--grid", json.dumps(grid),
        "--item-path-base", json.dumps(base),
        "--max-memory-gb", "0.000001", "--lightgcn-minutes", "0.001", "--valid-users", "30",
        "--extra", "knn=tests.test_gowalla_benchmark:extra_model", "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert gowalla.main(argv) == 0
    printed = capsys.readouterr().out
    payload = json.loads((tmp_path / "out" / "gowalla-benchmark.json").read_text())
    models = payload["models"]
    assert set(models) == {"gfcf", "chebycf", "ease", "knn", "item-path", "lightgcn"}
    path = models["item-path"]
    # ChebyCF's 2 × 2 backbones + one round (the grid above) over the 4 components × 2 weights
    assert path["configurations"] == len(path["sweep"]) == 4 + 4 * 2
    assert path["valid_ndcg@20"] == max(row["ndcg@20"] for row in path["sweep"])
    assert path["setting"]["cheby"] == 1.0 and 0 < path["test"]["ndcg@20"] <= 1 and path["test_users"] == 50
    assert path["latency_ms"]["top20_median"] > 0 and path["latency_ms"]["explain_median"] > 0
    assert "needs about" in models["ease"]["skipped"]  # the memory guard, with its estimate
    for name in ("gfcf", "chebycf", "knn"):
        entry = models[name]
        assert entry["configurations"] == len(entry["sweep"]) == 2
        best = max(row["valid_ndcg@20"] for row in entry["sweep"])
        assert entry["valid_ndcg@20"] == best
        assert 0 < entry["test"]["ndcg@20"] <= 1 and entry["test_users"] == 50
    assert models["lightgcn"]["converged"] is False and models["lightgcn"]["epochs"] >= 1
    assert payload["tuning_protocol"]["params"]["valid_users"] == 30
    popularity = payload["held_out_popularity"]
    assert set(popularity) == {
        "train (tuning split)",
        "valid (tuning split)",
        "train (final split)",
        "test (final split)",
    }
    assert popularity["test (final split)"]["pairs"] == 50 * 3 and popularity["train (final split)"]["pairs"] == 50 * 11
    assert all(v["mean_train_degree"] > 0 and 0 <= v["top1pct_share"] <= 1 for v in popularity.values())
    assert "share on the top 1 % of items" in printed
    assert "<- chosen" in printed and "did NOT converge" in printed and "tuning sweep" in printed
    # every tested model's per-user figures are written, and two of them pair across processes
    out = tmp_path / "out"
    assert {models[name]["per_user_file"] for name in ("gfcf", "chebycf", "knn", "item-path")} == {
        p.name for p in out.glob("test-per-user-*.parquet")
    }
    assert (
        gowalla.main(["--pair", str(out / "test-per-user-item-path.parquet"), str(out / "test-per-user-gfcf.parquet")])
        == 0
    )
    paired = capsys.readouterr().out
    assert paired.count("item-path") == 2 and "gfcf on ndcg@20: mean difference" in paired and "50 users" in paired
    with pytest.raises(SystemExit, match="not a file"):
        gowalla.main(["--pair", str(out / "missing.parquet"), str(out / "test-per-user-gfcf.parquet")])


def test_gowalla_test_figure_matches_the_lightgcn_metric_definitions(tmp_path):
    """Recall@20 = hits / |test items|; NDCG@20 with the ideal over min(|test|, 20); training items masked."""
    from interestgraph.baselines import GFCF
    from interestgraph.data.formats.lightgcn import load_lightgcn
    from interestgraph.evaluate import evaluate

    data = lightgcn_files(tmp_path / "data", n_items=30)
    split = load_lightgcn(data)
    model = GFCF(alpha=0.0).fit(split)
    result = evaluate(model, split, part="test", cutoffs=(20,))
    train = split.positive_matrix("train").toarray() > 0
    test = split.positive_matrix("test").toarray() > 0
    scores = model.score(np.arange(split.log.n_users)).numpy()
    scores[train] = -np.inf
    recalls, ndcgs = [], []
    for u in np.flatnonzero(test.any(axis=1)):
        top = np.argsort(-scores[u], kind="stable")[:20]
        hits = test[u, top]
        recalls.append(hits.sum() / test[u].sum())
        ideal = (1 / np.log2(np.arange(2, min(test[u].sum(), 20) + 2))).sum()
        ndcgs.append((hits / np.log2(np.arange(2, 22))).sum() / ideal)
    assert abs(result.metrics["recall@20"] - np.mean(recalls)) < 1e-6
    assert abs(result.metrics["ndcg@20"] - np.mean(ndcgs)) < 1e-6


def test_held_out_popularity_measures_each_parts_items_by_training_degree(tmp_path):
    """A test part made of the most popular training item shows as head-heavy next to a random validation carve."""
    from benchmarks import gowalla
    from interestgraph.data.formats.lightgcn import load_lightgcn

    data = tmp_path / "data"
    data.mkdir()
    train = [[u, 0, 1 + u, 21 + u] if u % 2 else [u, 1 + u, 21 + u, 41 + u] for u in range(20)]  # item 0: degree 10
    (data / "train.txt").write_text("".join(" ".join(map(str, line)) + "\n" for line in train))
    (data / "test.txt").write_text("".join(f"{u} 0\n" for u in range(0, 20, 2)))  # item 0 for the users without it
    final = load_lightgcn(data)
    tuning = gowalla.tuning_split(data, 0.25, 0, 0)
    popularity = gowalla.held_out_popularity(tuning, final)
    degree = np.asarray(final.positive_matrix("train").sum(axis=0)).ravel()
    assert popularity["test (final split)"] == {"pairs": 10, "mean_train_degree": degree[0], "top1pct_share": 1.0}
    train_items = final.positive_matrix("train").indices
    assert popularity["train (final split)"]["mean_train_degree"] == round(float(degree[train_items].mean()), 1)
    assert (
        popularity["valid (tuning split)"]["mean_train_degree"] < popularity["test (final split)"]["mean_train_degree"]
    )


def test_spectral_exploration_scores_every_epsilon_and_rank_on_validation_only(tmp_path, capsys):
    from benchmarks import gowalla_spectral

    data = lightgcn_files(tmp_path / "data")
    base = {"lowpass_rank": 4, "max_dense_items": 30}  # 40 items: the sparse route, cheby backbone
    argv = [
        "--data", str(data), "--valid-users", "30", "--epsilon", "0.25,0.5", "--rank", "3,5", "--theta", "0.5,1.0",
        "--base", json.dumps(base), "--out", str(tmp_path / "out"),
    ]  # fmt: skip
    assert gowalla_spectral.main(argv) == 0
    payload = json.loads((tmp_path / "out" / "gowalla-spectral.json").read_text())
    assert {(r["epsilon"], r["rank"]) for r in payload["rows"]} == {(0.25, 3), (0.25, 5), (0.5, 3), (0.5, 5)}
    assert len(payload["rows"]) == 4 * 3  # per (ε, rank): the backbone, then the two weights
    assert payload["best"]["ndcg@20"] == max(r["ndcg@20"] for r in payload["rows"])
    printed = capsys.readouterr().out
    assert "the test part is not scored" in printed and "best: ε" in printed
