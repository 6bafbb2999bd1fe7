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
    code = accuracy.main(
        [
            "--dataset",
            "lightgcn",
            "--path",
            str(data),
            "--models",
            "pop,itemknn,lightgcn",
            "--tune",
            "--max-epochs",
            "2",
            "--eval-every",
            "1",
            "--batch-size",
            "256",
            "--out",
            str(out),
        ]
    )
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
    code = model_quality.main(
        [
            "--protocols",
            "rs-4",
            "--seeds",
            "0,1",
            "--graph-dir",
            str(tmp_path / "g"),
            "--models",
            "itemknn,lightgcn,interestgraph",
            "--lightgcn-max-epochs",
            "2",
            "--train-config",
            json.dumps({"epochs": 2, "user_batch": 32, "verbose": False}),
            "--model-config",
            json.dumps({"dim": 8}),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    payload = json.loads((out / "model-quality-rs-4.json").read_text())
    assert [r["seed"] for r in payload["models"]["interestgraph"]["runs"]] == [0, 1]
    assert {c["b"] for c in payload["comparisons"]} == {"itemknn", "lightgcn"}
    assert all(c["ci_low"] <= c["difference"] <= c["ci_high"] for c in payload["comparisons"])
    assert (out / "model-quality-rs-4-per-user.parquet").is_file()
    # a later run of one model is paired with the stored per-user results of the others
    again = tmp_path / "again"
    code = model_quality.main(
        [
            "--protocols",
            "rs-4",
            "--seeds",
            "3",
            "--graph-dir",
            str(tmp_path / "g"),
            "--models",
            "interestgraph",
            "--train-config",
            json.dumps({"epochs": 1, "user_batch": 32, "verbose": False}),
            "--model-config",
            json.dumps({"dim": 8}),
            "--reuse",
            str(out / "model-quality-rs-4-per-user.parquet"),
            "--out",
            str(again),
        ]
    )
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
    assert (
        recommend_latency.main(
            ["--model", str(tmp_path / "m"), "--repeats", "5", "--repeats-all", "2", "-k", "5", "--out", str(out)]
        )
        == 0
    )
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
        assert 0 <= row["ndcg@20"] <= 1 and row["train_seconds"] > 0 and row["device"] == "cpu"
    assert 0 < payload["protocol"]["popularity_recall@20"] < 1 and "MostPopular" in (tmp_path / "speed.md").read_text()
    assert "gowalla-shaped" in capsys.readouterr().out


def _speed(tmp_path, *argv: str) -> dict:
    """Run ``benchmarks/speed.py`` on one thread with ``--out tmp_path`` and return its ``speed.json``."""
    from benchmarks import speed

    assert speed.main([*argv, "--threads", "1", "--out", str(tmp_path)]) == 0
    return json.loads((tmp_path / "speed.json").read_text())


def test_speed_stand_in_has_the_gowalla_shape_and_structure_beyond_popularity():
    from benchmarks import speed
    from interestgraph.baselines import ItemKNN, MostPopular
    from interestgraph.evaluate import evaluate, positive_matrix

    split = speed.gowalla_like(0.02)
    train, test = positive_matrix(split, "train"), positive_matrix(split, "test")
    assert (
        train.shape == (597, 819) and 0.8 < train.nnz / (0.02 * speed.GOWALLA["train"]) < 1.05
    )  # heavy users clipped at items // 2
    assert train.multiply(test).nnz == 0  # a pair is in one part
    degree = np.asarray((train + test).sum(axis=1)).ravel()
    assert degree.min() >= 10 and degree.max() > 10 * np.median(degree)  # heavy-tailed user degrees
    n_test = np.asarray(test.sum(axis=1)).ravel()
    assert np.array_equal(n_test, np.maximum(1, np.round(0.2 * degree)))  # 80:20 per user
    assert speed.gowalla_like(0.02).log.interactions.equals(split.log.interactions)  # seeded
    # per-user structure: item co-occurrence predicts a user's test items better than popularity alone
    # (on the popularity-only stand-in this replaced, ItemKNN scored 0.93x MostPopular's recall@20 here)
    knn = evaluate(ItemKNN().fit(split), split, part="test", cutoffs=(20,)).metrics["recall@20"]
    popular = evaluate(MostPopular().fit(split), split, part="test", cutoffs=(20,)).metrics["recall@20"]
    assert knn > 1.25 * popular


def test_speed_time_to_accuracy_drives_lightgcn_fit_and_reads_its_history(capsys):
    import torch

    from benchmarks import speed
    from interestgraph.evaluate import evaluate

    split = speed.gowalla_like(0.005)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        _fit_to_target_checks(speed, split, evaluate, capsys)
    finally:
        torch.set_num_threads(threads)


def _fit_to_target_checks(speed, split, evaluate, capsys) -> None:
    import time

    import torch

    never = speed.parser().parse_args(
        ["--target-recall", "1", "--max-epochs", "3", "--eval-every", "1", "--batch-size", "512"]
    )
    _, ours = speed.lightgcn_pair(never, torch.device("cpu"), 99)
    started = time.perf_counter()
    run = speed.fit_to_target(ours, speed.OURS, split, never)
    wall = time.perf_counter() - started
    assert run["stopped"] == "max epochs" and run["epochs"] == ours.epochs_ == 3 and ours.max_epochs == 3
    assert [row["epoch"] for row in run["log"]] == [1, 2, 3]
    assert (
        [row["train_seconds"] for row in run["log"]]
        == [h["seconds"] for h in ours.history_]
        == sorted({h["seconds"] for h in ours.history_})
    )
    assert run["train_seconds"] == ours.history_[-1]["seconds"] <= ours.train_seconds_
    assert run["train_seconds"] <= wall - sum(
        row["eval_seconds"] for row in run["log"]
    )  # the evaluations are off the clock
    assert (
        run["log"][-1]["recall@20"] == evaluate(ours, split, part="test", cutoffs=(20,)).metrics["recall@20"]
    )  # the weights it evaluated
    assert run["time_to_target_seconds"] is None and run["setup_seconds"] is None and run["device"] == "cpu"

    # target 0: the fit stops at the first evaluation (epoch 2 of at most 6)
    zero = speed.parser().parse_args(
        ["--target-recall", "0", "--eval-every", "2", "--max-epochs", "6", "--batch-size", "512"]
    )
    _, ours = speed.lightgcn_pair(zero, torch.device("cpu"), 99)
    run = speed.fit_to_target(ours, speed.OURS, split, zero)
    assert (
        run["stopped"] == "target"
        and ours.epochs_ == len(ours.history_) == run["epochs_to_target"] == run["epochs"] == 2
    )
    assert ours.max_epochs == 6 and [row["epoch"] for row in run["log"]] == [2]
    assert run["time_to_target_seconds"] == run["log"][0]["train_seconds"] == ours.history_[-1]["seconds"] > 0
    assert "epoch    2" in capsys.readouterr().out


def test_speed_time_to_accuracy_logs_every_evaluation_and_the_time_to_target(tmp_path):
    from benchmarks.speed import OURS, REFERENCE

    common = ["--sections", "time-to-accuracy", "--scale", "0.005", "--batch-size", "512"]
    never = _speed(tmp_path / "never", *common, "--target-recall", "1", "--max-epochs", "3", "--eval-every", "1")[
        "time_to_accuracy"
    ]
    assert set(never["runs"]) == {REFERENCE, OURS} and never["protocol"]["target_recall@20"] == 1.0
    assert 0 < never["protocol"]["popularity_recall@20"] < 1
    assert never["runs"][REFERENCE]["setup_seconds"] < never["runs"][REFERENCE]["log"][0]["train_seconds"]
    assert never["protocol"]["devices"] == {REFERENCE: "cpu", OURS: "cpu"}
    for run in never["runs"].values():
        assert (
            [row["epoch"] for row in run["log"]] == [1, 2, 3] and run["stopped"] == "max epochs" and run["epochs"] == 3
        )
        elapsed = [row["train_seconds"] for row in run["log"]]
        assert (
            all(a < b for a, b in zip(elapsed, elapsed[1:]))
            and elapsed[-1] == run["train_seconds"]
            and run["mean_epoch_seconds"] > 0
        )
        assert all(
            0 <= row["recall@20"] <= 1 and 0 <= row["ndcg@20"] <= 1 and row["eval_seconds"] > 0 for row in run["log"]
        )
        assert run["time_to_target_seconds"] is None and run["epochs_to_target"] is None
    assert never["speedup_time_to_target"] is None and never["speedup_at_least"] is None

    # target 0 is reached at the first evaluation (epoch 2): the ratio is the quotient of the two times
    both = _speed(tmp_path / "both", *common, "--target-recall", "0", "--eval-every", "2")["time_to_accuracy"]
    ref, ours = both["runs"][REFERENCE], both["runs"][OURS]
    for run in (ref, ours):
        assert run["stopped"] == "target" and run["epochs_to_target"] == 2 and len(run["log"]) == 1
        assert run["time_to_target_seconds"] == run["log"][0]["train_seconds"] > 0
    assert both["speedup_time_to_target"] == ref["time_to_target_seconds"] / ours["time_to_target_seconds"]

    # a spent budget stops after the epoch that spent it, with a last evaluation off the schedule
    budget = _speed(
        tmp_path / "budget", *common, "--tta-reference", "none", "--max-minutes", "1e-9", "--eval-every", "5"
    )["time_to_accuracy"]
    assert list(budget["runs"]) == [OURS]
    assert budget["runs"][OURS]["stopped"] == "time budget" and [
        row["epoch"] for row in budget["runs"][OURS]["log"]
    ] == [1]


def test_speed_encoder_section_times_both_encoders_on_the_same_texts(tmp_path):
    payload = _speed(tmp_path, "--sections", "encoder", "--encoder-texts", "24", "--encoder-repeats", "2")
    encoder = payload["encoder"]
    assert (
        encoder["protocol"]["texts"] == encoder["protocol"]["distinct"] == 24 and encoder["protocol"]["device"] == "cpu"
    )
    ours, ref = encoder["rows"][encoder["ours"]], encoder["rows"][encoder["reference"]]
    for row in (ours, ref):
        assert len(row["seconds"]) == 2 and row["texts_per_second"] == 24 / min(row["seconds"]) > 0
    assert encoder["ratio_texts_per_second"] == ours["texts_per_second"] / ref["texts_per_second"]
    assert encoder["agreement"]["min_cosine"] > 0.9999  # float32 on the CPU: the same vectors
    assert (
        payload["hardware"]["torch_threads"] == 1 and "Text encoder throughput" in (tmp_path / "speed.md").read_text()
    )


def test_speed_joint_section_splits_the_epoch_time_of_both_encoder_modes(tmp_path):
    from benchmarks.speed import EPOCH_PARTS, JOINT_VARIANTS

    joint = _speed(tmp_path, "--sections", "joint", "--joint-scale", "0.04", "--joint-epochs", "2")["joint"]
    assert [row["encoder_mode"] for row in joint["rows"].values()] == list(JOINT_VARIANTS.values()) == ["frozen", "top"]
    for row in joint["rows"].values():
        seconds = row["seconds"]
        assert row["epochs"] == 2 and len(seconds["per_epoch"]) == 2 and seconds["epoch"] > 0
        assert all(seconds[part] >= 0 for part in EPOCH_PARTS)
        assert sum(seconds[part] for part in EPOCH_PARTS) <= seconds["epoch"] + 5e-3  # parts are rounded to 1 ms each
    frozen, tuned = (joint["rows"][name]["seconds"] for name in JOINT_VARIANTS)
    assert frozen["encoder"] == 0 < tuned["encoder"] and frozen["refine"] > 0 and tuned["refine"] > 0
    assert joint["ratio_epoch_seconds"] == tuned["epoch"] / frozen["epoch"]
    assert joint["fine_tuning_seconds_per_epoch"] == tuned["epoch"] - frozen["epoch"]


def test_speed_benchmark_names_the_bad_argument(tmp_path, capsys):
    import pytest

    from benchmarks import speed

    with pytest.raises(SystemExit):
        speed.main(["--sections", "throughput,warp", "--out", str(tmp_path)])
    assert "--sections" in capsys.readouterr().err
    with pytest.raises(SystemExit, match="--target-recall"):
        speed.main(["--sections", "time-to-accuracy", "--target-recall", "1.5"])
    assert not (tmp_path / "speed.json").exists()


def test_model_ablation_benchmark_applies_train_overrides_to_every_variant(tmp_path):
    from benchmarks import model_ablation
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph import build_interest_graph

    log = generate_synthetic(n_users=50, n_items=60, n_interactions=1_500, seed=2).log
    build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(tmp_path / "g")
    out = tmp_path / "out"
    code = model_ablation.main(
        [
            "--graph",
            str(tmp_path / "g"),
            "--variants",
            "0,1",
            "--train-config",
            json.dumps({"loss": "bpr", "epochs": 2, "user_batch": 32}),
            "--out",
            str(out),
        ]
    )
    assert code == 0
    payload = json.loads((out / "model-ablation-rs-4.json").read_text())
    assert len(payload["rows"]) == 2 and all(r["epochs"] <= 2 for r in payload["rows"])
    assert "--train-config" in payload["command"] and '"loss": "bpr"' in payload["command"]
    assert "vs_default" in payload["rows"][1]


def test_item_path_latency_benchmark_fits_saves_then_loads(tmp_path, capsys):
    from benchmarks import item_path_latency

    data = _lightgcn_files(tmp_path / "data")
    setting = json.dumps(
        {
            **item_path_latency.GOWALLA_SETTING,
            **{"lowpass_rank": 6, "spectral_rank": 6, "lowpass_solver": "exact", "max_dense_items": 30},
        }
    )
    common = ["--data", str(data), "--model", str(tmp_path / "model"), "--users", "8", "--breakdown-users", "4"]
    assert item_path_latency.main([*common, "--setting", setting, "--out", str(tmp_path / "a")]) == 0
    fitted = json.loads((tmp_path / "a" / "item-path-latency.json").read_text())
    assert fitted["model"].startswith("fitted") and fitted["fit_seconds"] >= 0
    assert fitted["theta"] == item_path_latency.GOWALLA_SETTING["theta"]
    assert item_path_latency.main([*common, "--out", str(tmp_path / "b")]) == 0  # loads the saved model
    loaded = json.loads((tmp_path / "b" / "item-path-latency.json").read_text())
    assert loaded["model"].startswith("loaded") and loaded["theta"] == fitted["theta"]
    for entry in (fitted, loaded):
        assert 0 < entry["top20_ms"]["median"] <= entry["top20_ms"]["p95"]
        assert 0 < entry["explain_ms"]["median"] <= entry["explain_ms"]["p95"]
        assert set(entry["breakdown_ms"]) == {f"{p}{c}" for p in ("", "explain ") for c in fitted["theta"]}
    assert "top-20 of one user, 8 users" in capsys.readouterr().out


def test_cold_user_benchmark_chooses_the_prior_on_validation_and_compares_the_item_path_model(tmp_path):
    import json

    from benchmarks import cold_user

    code = cold_user.main(
        ["--synthetic", "--encoder", "lexical", "--epochs", "1", "--out", str(tmp_path), "--cache-dir", str(tmp_path)]
    )
    assert code == 0
    report = json.loads((tmp_path / "cold-user.json").read_text())
    prior = report["choices"][cold_user.MODEL]
    assert prior["chosen"] in cold_user.PRIOR_GRID
    assert [t["setting"] for t in prior["tried"]] == list(cold_user.PRIOR_GRID)
    assert len(report["choices"]["EASE fold-in + popularity prior"]["tried"]) == len(cold_user.EASE_GRID) * len(
        cold_user.PRIOR_GRID
    )
    for n in ("1", "3", "5"):
        assert cold_user.MODEL in report["tables"][n] and "EASE fold-in + popularity prior" in report["tables"][n]
    baselines = {c["baseline"] for c in report["comparisons"]}
    assert cold_user.MODEL not in baselines and "popularity" in baselines
    assert report["item_path"]["tried"] > 0
    assert "item-path model − this" in (tmp_path / "cold-user.md").read_text()
    # one line of text: the synthetic users' first tags and queries; the route's setting chosen on validation
    text = report["text"]
    assert min(text["users"].values()) >= cold_user.MIN_TEXT_USERS
    assert [tuple(t["setting"]) for t in text["choice"]["tried"]] == cold_user.QUERY_GRID
    table = text["table"]
    assert set(table) == {cold_user.QUERY_MODEL, "interest-graph model (query route)", "popularity"} | {
        "text content (same encoder)",
        "dense retrieval (item documents)",
    }
    assert table[cold_user.QUERY_MODEL]["ndcg@20"][0] > 0
    assert "**One line of text**" in (tmp_path / "cold-user.md").read_text()


def test_text_rich_catalogue_has_the_review_dataset_shape_and_builds_with_text_links():
    from benchmarks.graph_build import text_rich_log
    from interestgraph.encoder import LexicalEncoder
    from interestgraph.graph import build_interest_graph

    log = text_rich_log(n_items=150, reviewed=15, n_reviews=240, n_users=200, seed=1)
    inter = log.interactions
    assert log.n_items == 150 and len(inter) == 240 and set(inter["event"]) == {"review"}
    assert inter["item_id"].nunique() <= 15 and inter["text"].notna().all()
    # long texts: several sentences per review and per description
    assert inter["text"].str.count(r"\.").mean() > 4 and log.items["description"].str.count(r"\.").mean() > 6
    assert inter["user_id"].value_counts().max() <= 6
    graph = build_interest_graph(log, encoder=LexicalEncoder())
    assert len(graph.text_links) > 0 and graph.counts()["nodes"]["item"] == 150
    import pytest

    with pytest.raises(ValueError, match="reviewed"):
        text_rich_log(n_items=10, reviewed=20)


def test_an_isolated_case_that_dies_raises_instead_of_waiting_forever():
    import operator

    import pytest

    from benchmarks._isolated import run_isolated

    # operator.truediv(1, 0, queue) fails in the child before any result is put
    with pytest.raises(RuntimeError, match="exited with code 1 before its result"):
        run_isolated(operator.truediv, 1, 0)


def test_local_item_sums_report_their_time_size_and_memory(tmp_path, capsys):
    """``spark_build.py --local-only`` (no Spark): the local item-item sums of a synthetic rs-4 split, with the
    self-join size that a Spark co-occurrence would shuffle."""
    from benchmarks import spark_build
    from interestgraph.data import split_log
    from interestgraph.paths import cooccurrence

    spark_build.main(["--datasets", "synthetic-5k", "--local-only", "--out", str(tmp_path)])
    (row,) = json.loads((tmp_path / "item-sums-local.json").read_text())["rows"]
    train = split_log(spark_build.load("synthetic-5k"), "rs-4").positive_matrix("train")
    assert row["training_pairs"] == train.nnz and row["items"] == train.shape[1] == 200
    assert row["self_join_rows"] == int((np.diff(train.indptr) ** 2).sum()) > row["cooccurrence"]["nonzeros"]
    assert row["cooccurrence"]["nonzeros"] == cooccurrence(train).nnz > 0 and row["transitions"]["nonzeros"] > 0
    assert row["cooccurrence"]["seconds"] >= 0 and row["cooccurrence"]["peak_above_start_mib"] >= 0
    assert "local scipy sums" in capsys.readouterr().out
