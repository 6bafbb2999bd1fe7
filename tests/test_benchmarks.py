"""The benchmark scripts run end to end on tiny inputs (they measure; these tests only check that they work)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _lightgcn_files(directory: Path, n_users: int = 40, n_items: int = 60, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    directory.mkdir(parents=True)
    train, test = [], []
    for user in range(n_users):
        items = rng.choice(n_items, size=12, replace=False)
        train.append(" ".join(map(str, [user, *items[:10]])))
        test.append(" ".join(map(str, [user, *items[10:]])))
    (directory / "train.txt").write_text("\n".join(train) + "\n")
    (directory / "test.txt").write_text("\n".join(test) + "\n")
    return directory


def test_accuracy_benchmark_reads_the_lightgcn_format_and_reports_the_grid(tmp_path, capsys):
    from benchmarks import accuracy

    data = _lightgcn_files(tmp_path / "data")
    out = tmp_path / "out"
    code = accuracy.main(["--dataset", "lightgcn", "--path", str(data), "--models", "pop,itemknn,lightgcn", "--tune",
                          "--max-epochs", "2", "--eval-every", "1", "--batch-size", "256", "--out", str(out)])
    assert code == 0
    payload = json.loads((out / "accuracy-lightgcn-lightgcn-given.json").read_text())
    assert set(payload["models"]) == {"pop", "itemknn", "lightgcn", "lightgcn-tuned"}
    assert len(payload["tuning_grid"]) == 8 and sum(row["chosen"] for row in payload["tuning_grid"]) == 1
    assert 0 <= payload["models"]["itemknn"]["metrics"]["ndcg@20"] <= 1 and payload["versions"]["torch"]
    assert "protocol" in (out / "accuracy-lightgcn-lightgcn-given.md").read_text()


def test_model_quality_benchmark_pairs_models_over_seeds(tmp_path):
    from benchmarks import model_quality
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph import build_interest_graph

    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_800, seed=1).log
    build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(tmp_path / "g")
    out = tmp_path / "out"
    code = model_quality.main(["--protocols", "rs-4", "--seeds", "0,1", "--graph-dir", str(tmp_path / "g"), "--models", "itemknn,lightgcn,interestgraph",
                               "--lightgcn-max-epochs", "2", "--train-config", json.dumps({"epochs": 2, "user_batch": 32, "verbose": False}),
                               "--model-config", json.dumps({"dim": 8}), "--out", str(out)])
    assert code == 0
    payload = json.loads((out / "model-quality-rs-4.json").read_text())
    assert [r["seed"] for r in payload["models"]["interestgraph"]["runs"]] == [0, 1]
    assert {c["b"] for c in payload["comparisons"]} == {"itemknn", "lightgcn"}
    assert all(c["ci_low"] <= c["difference"] <= c["ci_high"] for c in payload["comparisons"])
    assert (out / "model-quality-rs-4-per-user.parquet").is_file()
    # a later run of one model is paired with the stored per-user results of the others
    again = tmp_path / "again"
    code = model_quality.main(["--protocols", "rs-4", "--seeds", "3", "--graph-dir", str(tmp_path / "g"), "--models", "interestgraph",
                               "--train-config", json.dumps({"epochs": 1, "user_batch": 32, "verbose": False}), "--model-config", json.dumps({"dim": 8}),
                               "--reuse", str(out / "model-quality-rs-4-per-user.parquet"), "--out", str(again)])
    assert code == 0
    reused = json.loads((again / "model-quality-rs-4.json").read_text())
    assert {c["b"] for c in reused["comparisons"]} == {"itemknn", "lightgcn"}
    assert reused["models"]["lightgcn"]["metrics"]["ndcg@20"] == payload["models"]["lightgcn"]["metrics"]["ndcg@20"]


def test_recommend_latency_benchmark_times_a_saved_model(tmp_path):
    from benchmarks import recommend_latency
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph import build_interest_graph
    from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig

    log = generate_synthetic(n_users=40, n_items=60, n_interactions=1_000, seed=2).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())
    InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=1, verbose=False)).fit(graph).save(tmp_path / "m")
    out = tmp_path / "out"
    assert recommend_latency.main(["--model", str(tmp_path / "m"), "--repeats", "5", "--repeats-all", "2", "-k", "5", "--out", str(out)]) == 0
    payload = json.loads((out / "recommend-latency.json").read_text())
    assert payload["single_user_ms"]["n"] == 5 and payload["single_user_ms"]["median"] > 0
    assert len(payload["all_users_seconds"]["runs"]) == 2 and payload["explain_ms"]["median"] > 0
    assert "protocol rs-4" in (out / "recommend-latency.md").read_text()


def test_speed_benchmark_trains_both_lightgcns_and_reports_the_ratio(tmp_path, capsys):
    from benchmarks import speed

    assert speed.main(["--scale", "0.002", "--epochs", "1", "--threads", "1", "--out", str(tmp_path)]) == 0
    payload = json.loads((tmp_path / "speed.json").read_text())
    assert set(payload["rows"]) == {"PyG LightGCN (example loop)", "interestgraph LightGCN"}
    assert payload["ratio_epochs_per_second"] > 0 and payload["protocol"]["batch_size"] == 2048
    for row in payload["rows"].values():
        assert 0 <= row["ndcg@20"] <= 1 and row["train_seconds"] > 0
    assert "gowalla-shaped" in capsys.readouterr().out
