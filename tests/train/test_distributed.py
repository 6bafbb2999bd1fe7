"""Data-parallel training (torch.distributed, gloo, 2 CPU processes) follows the one-process trajectory.

Two processes are spawned once (FileStore rendez-vous in ``tmp_path``, one torch thread each) and
run every scenario; after leaving the group, each also trains the one-process references of some
scenarios under the same conditions (one thread), so the comparison isolates the data-parallel
split. Tolerance: losses and validation NDCG within ``rtol=1e-4``, parameters within
``rtol=1e-4, atol=1e-6`` (only the summation order of the gradients differs; measured gaps are
~1e-8). The two ranks must hold bit-identical parameters.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from interestgraph.graph import InterestGraph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.train import Trainer, distributed

WORLD = 2
RTOL = 1e-4
#: name -> (ModelConfig kwargs, TrainConfig kwargs); user_batch values leave uneven shards, and user_batch=7 with
#: refined edges, no text and no pair gates covers other parameter sets
SCENARIOS = {
    "base": (dict(dim=8, gate_rank=2), dict(epochs=3, patience=3, seed=4, user_batch=15, negatives=2, l2=1e-3)),
    "refined_cold": (
        dict(dim=8, gate_rank=0, text_features=False, similarity_edges="refined", remine_every=1),
        dict(epochs=2, patience=2, seed=2, user_batch=7, negatives=2, cold_items=0.2, cold_draws=2),
    ),
    "resume": (dict(dim=8, gate_rank=2), dict(epochs=3, patience=3, seed=9, user_batch=16, negatives=2)),
}
#: which rank trains which one-process reference after leaving the group (balances the two processes)
REFERENCES = {0: ("base", "refined_cold"), 1: ("resume",)}


def _train_config(name: str, **extra) -> TrainConfig:
    return TrainConfig(**{**SCENARIOS[name][1], "verbose": False, "device": "cpu", **extra})


def _fit(name: str, graph, trainer: Trainer | None = None, **extra) -> dict:
    model = InterestGraphModel(ModelConfig(**SCENARIOS[name][0]), _train_config(name, **extra))
    (trainer or Trainer(model.train)).fit(model, graph)
    return {
        "history": model.report_.history,
        "state": {k: v.detach().clone() for k, v in model.scorer.state_dict().items()},
        "best_epoch": model.report_.best_epoch,
        "cold_calibration": model.report_.cold_calibration,
        "adjacency": model.adjacency.toarray(),
    }


def _worker(rank: int, world: int, init_file: str, graph_dir: str, out: str) -> None:
    """One spawned process: the scenarios data-parallel, then (outside the group) its share of the references."""
    torch.set_num_threads(1)
    out_dir = Path(out)
    torch.distributed.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    graph = InterestGraph.load(graph_dir)
    results: dict = {
        "world": distributed.world(),
        "main": distributed.is_main_process(),
        "active": distributed.is_active(),
    }
    results["base"] = _fit("base", graph, log_path=str(out_dir / "base-log.csv"))
    results["refined_cold"] = _fit("refined_cold", graph)
    checkpoint = out_dir / "checkpoint"
    _fit(
        "resume", graph, Trainer(_train_config("resume", epochs=2), checkpoint_dir=checkpoint), epochs=2
    )  # "killed" after epoch 2
    results["resume"] = _fit(
        "resume", graph, Trainer(_train_config("resume"), checkpoint_dir=checkpoint)
    )  # resumed to epoch 3
    try:
        _fit("base", graph, encoder_mode="top")
    except ValueError as exc:
        results["refused"] = str(exc)
    torch.distributed.destroy_process_group()
    results["references"] = {name: _fit(name, graph) for name in REFERENCES[rank]}
    torch.save(results, out_dir / f"rank{rank}.pt")


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory) -> Path:
    from interestgraph.data import generate_synthetic
    from interestgraph.encoder.lexical import LexicalEncoder
    from interestgraph.graph.build import build_interest_graph

    directory = tmp_path_factory.mktemp("distributed") / "graph"
    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_800, seed=1).log
    build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(directory)
    return directory


@pytest.fixture(scope="module")
def runs(graph_dir, tmp_path_factory) -> dict:
    out = tmp_path_factory.mktemp("ranks")
    context = torch.multiprocessing.spawn(
        _worker, args=(WORLD, str(out / "rendezvous"), str(graph_dir), str(out)), nprocs=WORLD, join=False
    )
    deadline = time.monotonic() + 240
    while not context.join(timeout=1):
        if time.monotonic() > deadline:
            for process in context.processes:
                process.kill()
            pytest.fail("the two training processes did not finish in 240 s (a collective waiting forever?)")
    ranks = [torch.load(out / f"rank{rank}.pt", weights_only=False) for rank in range(WORLD)]
    references = {name: result for rank in ranks for name, result in rank["references"].items()}
    return {"ranks": ranks, "references": references, "out": out}


def _column(history: list[dict], key: str) -> np.ndarray:
    return np.array([row[key] for row in history], dtype=np.float64)


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_two_processes_follow_the_one_process_trajectory(runs, name):
    reference = runs["references"][name]
    for rank in runs["ranks"]:
        got = rank[name]
        assert len(got["history"]) == len(reference["history"])
        np.testing.assert_allclose(_column(got["history"], "loss"), _column(reference["history"], "loss"), rtol=RTOL)
        np.testing.assert_allclose(
            _column(got["history"], "valid_ndcg@20"), _column(reference["history"], "valid_ndcg@20"), rtol=RTOL
        )
        assert got["best_epoch"] == reference["best_epoch"]
        assert got["state"].keys() == reference["state"].keys()
        for key, value in reference["state"].items():
            torch.testing.assert_close(
                got["state"][key], value, rtol=RTOL, atol=1e-6, msg=lambda m, key=key: f"{name} {key}: {m}"
            )
        np.testing.assert_allclose(got["adjacency"], reference["adjacency"], rtol=RTOL, atol=1e-6)
        assert got["cold_calibration"]["bias"] == reference["cold_calibration"]["bias"]


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_both_ranks_hold_identical_models(runs, name):
    first, second = (rank[name] for rank in runs["ranks"])
    assert all(torch.equal(first["state"][key], second["state"][key]) for key in first["state"])
    assert np.array_equal(first["adjacency"], second["adjacency"])
    assert first["history"][-1]["loss"] == second["history"][-1]["loss"]  # the logged loss is the global one
    assert [row["valid_ndcg@20"] for row in first["history"]] == [row["valid_ndcg@20"] for row in second["history"]]
    assert first["cold_calibration"] == second["cold_calibration"]


def test_only_rank_0_writes_and_the_group_is_seen(runs):
    assert [rank["world"] for rank in runs["ranks"]] == [(0, WORLD), (1, WORLD)]
    assert [rank["main"] for rank in runs["ranks"]] == [True, False] and all(rank["active"] for rank in runs["ranks"])
    with (runs["out"] / "base-log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(row["epoch"]) for row in rows] == [1, 2, 3]  # one row per epoch: rank 1 wrote nothing
    assert (runs["out"] / "checkpoint" / "state.json").is_file()


def test_a_trained_encoder_is_refused_under_distributed_training(runs):
    for rank in runs["ranks"]:
        assert "encoder_mode='top'" in rank["refused"] and "distributed" in rank["refused"]


def test_init_from_env_reads_torchrun_variables(monkeypatch):
    for name in distributed.ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    assert distributed.init_from_env() is False  # no WORLD_SIZE: one process, nothing to join
    assert distributed.world() == (0, 1) and distributed.is_main_process() and not distributed.is_active()
    monkeypatch.setenv("WORLD_SIZE", "2")
    monkeypatch.setenv("RANK", "0")
    with pytest.raises(ValueError, match="LOCAL_RANK, MASTER_ADDR, MASTER_PORT"):
        distributed.init_from_env("cpu")
    monkeypatch.setenv("WORLD_SIZE", "two")
    with pytest.raises(ValueError, match="WORLD_SIZE"):
        distributed.init_from_env("cpu")
    for name, value in (
        ("WORLD_SIZE", "2"),
        ("RANK", "5"),
        ("LOCAL_RANK", "0"),
        ("MASTER_ADDR", "localhost"),
        ("MASTER_PORT", "1"),
    ):
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="RANK=5"):
        distributed.init_from_env("cpu")
    assert distributed.backend_for("cuda") == "nccl" and distributed.backend_for("cpu") == "gloo"


def test_torchrun_cli_trains_like_one_process(graph_dir, tmp_path, capsys):
    """``python -m torch.distributed.run --nproc-per-node 2 -m interestgraph train``: one JSON result, a model equal
    to one process's."""
    from interestgraph.cli import main

    flags = [
        "--epochs",
        "2",
        "--dim",
        "8",
        "--user-batch",
        "15",
        "--negatives",
        "2",
        "--cold-draws",
        "2",
        "--device",
        "cpu",
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "INTERESTGRAPH_PROGRESS": "0"}
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc-per-node",
        str(WORLD),
        "-m",
        "interestgraph",
        "train",
        str(graph_dir),
        "--out",
        str(tmp_path / "m2"),
        *flags,
    ]
    proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=180)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout)  # rank 0 alone prints: exactly one JSON object
    assert result["processes"] == WORLD and result["epochs"] == 2
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        assert main(["train", str(graph_dir), "--out", str(tmp_path / "m1"), *flags]) == 0
    finally:
        torch.set_num_threads(threads)
    single = json.loads(capsys.readouterr().out)
    assert single["processes"] == 1
    assert result["valid"]["ndcg@20"] == pytest.approx(single["valid"]["ndcg@20"], rel=RTOL)
    two, one = InterestGraphModel.load(tmp_path / "m2"), InterestGraphModel.load(tmp_path / "m1")
    np.testing.assert_allclose(_column(two.report_.history, "loss"), _column(one.report_.history, "loss"), rtol=RTOL)
    users = np.arange(10)
    np.testing.assert_allclose(two.score(users).numpy(), one.score(users).numpy(), rtol=1e-3, atol=1e-5)
