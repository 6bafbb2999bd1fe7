"""Training faults: a run killed with SIGKILL resumes to the same model, a non-finite loss stops with a clear
message and keeps the last good checkpoint, a checkpoint is only resumed by the run that wrote it, and the same
seed gives the same recommendations."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from interestgraph.cli import main
from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import ArtifactError, TrainingError
from interestgraph.graph import InterestGraph
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.paths import PathScorer
from interestgraph.recommend import recommend
from interestgraph.train import Trainer

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ["--epochs", "12", "--patience", "12", "--dim", "8", "--user-batch", "32", "--seed", "7", "-q"]


@pytest.fixture(scope="module")
def graph_dir(tmp_path_factory):
    log = generate_synthetic(n_users=150, n_items=200, n_interactions=6_000, seed=2).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder()).save(
        tmp_path_factory.mktemp("faults") / "g"
    )


def _cli(*argv: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "INTERESTGRAPH_PROGRESS": "0"}
    return subprocess.Popen(
        [sys.executable, "-m", "interestgraph", *argv],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _epoch(checkpoint: Path) -> int:
    try:
        return json.loads((checkpoint / "state.json").read_text())["epoch"]
    except (OSError, ValueError, KeyError):
        return 0


def _break_after(monkeypatch, steps: int, broken) -> None:
    """From the ``steps + 1``-th training step on, the walk scores go through ``broken`` (which may raise)."""
    real = PathScorer.walk_scores
    calls = {"n": 0}

    def wrapped(self, *args, **kwargs):
        calls["n"] += 1
        scores = real(self, *args, **kwargs)
        return broken(scores) if calls["n"] > steps else scores

    monkeypatch.setattr(PathScorer, "walk_scores", wrapped)


def test_a_run_killed_with_sigkill_resumes_to_the_same_model(graph_dir, tmp_path):
    checkpoint = tmp_path / "ckpt"
    killed = _cli(
        "train", str(graph_dir), "--out", str(tmp_path / "resumed"), "--checkpoint-dir", str(checkpoint), *SETTINGS
    )
    deadline = time.monotonic() + 120
    while _epoch(checkpoint) < 3 and killed.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert killed.poll() is None, "the run ended before it could be killed: " + killed.stderr.read()[-500:]
    killed.send_signal(signal.SIGKILL)
    killed.wait(30)
    assert killed.returncode == -signal.SIGKILL
    stopped_at = _epoch(checkpoint)
    assert 3 <= stopped_at < 12 and not (tmp_path / "resumed").exists()
    resumed = _cli(
        "train",
        str(graph_dir),
        "--out",
        str(tmp_path / "resumed"),
        "--checkpoint-dir",
        str(checkpoint),
        "--resume",
        *SETTINGS,
        "--json",
    )
    straight = _cli("train", str(graph_dir), "--out", str(tmp_path / "straight"), *SETTINGS, "--json")
    out_r, err_r = resumed.communicate(timeout=300)
    out_s, err_s = straight.communicate(timeout=300)
    assert resumed.returncode == 0 and straight.returncode == 0, err_r[-800:] + err_s[-800:]
    a, b = json.loads(out_r), json.loads(out_s)
    assert a["epochs"] == b["epochs"] == 12 and a["best_epoch"] == b["best_epoch"]
    assert a["valid"]["ndcg@20"] == pytest.approx(b["valid"]["ndcg@20"], abs=1e-6)
    m_r, m_s = InterestGraphModel.load(tmp_path / "resumed"), InterestGraphModel.load(tmp_path / "straight")
    assert [h["loss"] for h in m_r.report_.history] == pytest.approx([h["loss"] for h in m_s.report_.history], rel=1e-6)
    users = np.arange(m_r.n_users)
    assert torch.allclose(m_r.score(users), m_s.score(users), atol=1e-6)  # the stated tolerance: 1e-6 on every score


def test_resume_guards_on_the_command_line(graph_dir, tmp_path, capsys):
    checkpoint = tmp_path / "ckpt"
    assert main(["train", str(graph_dir), "--out", str(tmp_path / "m"), "--resume", *SETTINGS]) == 2
    assert "--resume needs --checkpoint-dir" in capsys.readouterr().err
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m"),
                "--checkpoint-dir",
                str(checkpoint),
                "--resume",
                *SETTINGS,
            ]
        )
        == 2
    )
    assert "holds no checkpoint" in capsys.readouterr().err
    short = ["--epochs", "2", *SETTINGS[2:]]
    assert (
        main(["train", str(graph_dir), "--out", str(tmp_path / "m"), "--checkpoint-dir", str(checkpoint), *short]) == 0
    )
    assert (
        main(["train", str(graph_dir), "--out", str(tmp_path / "m2"), "--checkpoint-dir", str(checkpoint), *short]) == 2
    )
    assert "pass --resume" in capsys.readouterr().err
    # a checkpoint resumes only the run that wrote it: other settings are refused, naming what changed
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m3"),
                "--checkpoint-dir",
                str(checkpoint),
                "--resume",
                *short,
                "--lr",
                "0.5",
            ]
        )
        == 1
    )
    err = capsys.readouterr().err
    assert "other settings" in err and "train_config.lr" in err and not (tmp_path / "m3").exists()
    # more epochs are allowed: the run goes on from epoch 3
    assert (
        main(
            [
                "train",
                str(graph_dir),
                "--out",
                str(tmp_path / "m4"),
                "--checkpoint-dir",
                str(checkpoint),
                "--resume",
                "--epochs",
                "4",
                *SETTINGS[2:],
                "--json",
            ]
        )
        == 0
    )
    assert json.loads(capsys.readouterr().out)["epochs"] == 4


def test_a_non_finite_loss_stops_with_a_message_and_keeps_the_last_checkpoint(graph_dir, tmp_path, monkeypatch):
    graph = InterestGraph.load(graph_dir)
    _break_after(monkeypatch, 8, lambda scores: scores * float("nan"))  # a few good steps, then NaN
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=10, user_batch=64, verbose=False, seed=1))
    with pytest.raises(
        TrainingError, match=r"epoch \d+: the loss became nan .*checkpoint of the last finished epoch is kept"
    ):
        Trainer(model.train, checkpoint_dir=tmp_path / "ckpt").fit(model, graph)
    assert _epoch(tmp_path / "ckpt") >= 1  # the last good epoch survives
    with pytest.raises(TrainingError, match="nothing was saved"):
        InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=2, user_batch=64, verbose=False, seed=1)).fit(graph)


def test_checkpoint_of_another_graph_is_refused(graph_dir, tmp_path):
    graph = InterestGraph.load(graph_dir)
    first = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=1, user_batch=64, verbose=False, seed=1))
    Trainer(first.train, checkpoint_dir=tmp_path / "ckpt").fit(first, graph)
    other = build_interest_graph(
        generate_synthetic(n_users=150, n_items=200, n_interactions=6_000, seed=3).log,
        protocol="rs-4",
        encoder=LexicalEncoder(),
    )
    again = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=2, user_batch=64, verbose=False, seed=1))
    with pytest.raises(ArtifactError, match="graph differs"):
        Trainer(again.train, checkpoint_dir=tmp_path / "ckpt").fit(again, other)


def test_same_seed_same_recommendations(graph_dir):
    graph = InterestGraph.load(graph_dir)
    lists = []
    for _ in range(2):
        model = InterestGraphModel(
            ModelConfig(dim=8), TrainConfig(epochs=3, user_batch=64, verbose=False, seed=11)
        ).fit(graph)
        lists.append(recommend(model, None, k=10))
    assert lists[0]["item_id"].tolist() == lists[1]["item_id"].tolist()
    assert lists[0]["score"].to_numpy() == pytest.approx(lists[1]["score"].to_numpy(), rel=0, abs=0)


def test_out_of_memory_stops_with_advice_and_keeps_the_last_checkpoint(graph_dir, tmp_path, monkeypatch):
    graph = InterestGraph.load(graph_dir)

    def exhausted(scores):
        raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")

    _break_after(monkeypatch, 8, exhausted)
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=10, user_batch=64, verbose=False, seed=1))
    with pytest.raises(
        TrainingError,
        match=r"out of memory \(OutOfMemoryError\); lower user_batch=64 .*"
        r"checkpoint of the last finished epoch is kept",
    ):
        Trainer(model.train, checkpoint_dir=tmp_path / "ckpt").fit(model, graph)
    assert _epoch(tmp_path / "ckpt") >= 1


@pytest.mark.parametrize(
    "message, advised",
    [
        (
            "[enforce fail at alloc_cpu.cpp:117] data. DefaultCPUAllocator: can't allocate memory: you tried to "
            "allocate 1238876160 bytes.",
            True,
        ),
        ("mat1 and mat2 shapes cannot be multiplied (3x4 and 5x6)", False),
    ],
)
def test_the_cpu_allocators_runtime_error_gets_the_same_advice_and_other_runtime_errors_pass(
    graph_dir, tmp_path, monkeypatch, message, advised
):
    graph = InterestGraph.load(graph_dir)

    def exhausted(scores):
        raise RuntimeError(message)

    _break_after(monkeypatch, 8, exhausted)
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=10, user_batch=64, verbose=False, seed=1))
    expected = (
        (TrainingError, r"out of memory \(RuntimeError\); lower user_batch=64")
        if advised
        else (RuntimeError, "shapes cannot be multiplied")
    )
    with pytest.raises(expected[0], match=expected[1]) as caught:
        Trainer(model.train, checkpoint_dir=tmp_path / "ckpt").fit(model, graph)
    assert isinstance(caught.value, TrainingError) == advised
