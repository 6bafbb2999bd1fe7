"""The memory plan made before training: a run that cannot fit stops before its first step with the largest
user_batch that fits (keeping a checkpoint it resumes from), one that fits only with the compact allocator gets it,
one that fits runs as is."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import torch

from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import TrainingError
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.train import Callback, Trainer, memory, trainer
from interestgraph.train.memory import (
    LIVE_BYTES_PER_NODE_COLUMN,
    RETAINED_BYTES_PER_NODE_COLUMN,
    available_bytes,
    calibration_bytes,
    plan_memory,
    step_bytes,
)

CPU = torch.device("cpu")
GIB = 2**30
STEP_FREE = 32 * 2**20  # below the fixed part of a step: no batch fits


def test_the_plan_runs_as_is_compacts_or_refuses_by_the_free_memory():
    n, batch = 100_000, 256
    live, retained = step_bytes(n, batch), step_bytes(n, batch, retained=True)
    assert retained - live == (RETAINED_BYTES_PER_NODE_COLUMN - LIVE_BYTES_PER_NODE_COLUMN) * n * batch
    assert plan_memory(n, batch, 0, CPU, (retained, "test")).mode == "default"
    assert plan_memory(n, batch, 0, CPU, (retained - 1, "test")).mode == "compact"
    assert plan_memory(n, batch, 0, CPU, (live, "test")).mode == "compact"
    # a GPU's caching allocator does not fragment like glibc's heap: the live size decides
    assert plan_memory(n, batch, 0, torch.device("cuda"), (live, "test")).mode == "default"
    assert plan_memory(n, batch, 0, CPU, (None, "unreadable")).mode == "unchecked"
    with pytest.raises(TrainingError, match=r"user_batch=256 users on 100,000 nodes holds about 2\.\d\d GiB") as caught:
        plan_memory(n, batch, 0, CPU, (live - 1, "test figure"))
    fits = int(re.search(r"lower user_batch to (\d+) or less", str(caught.value)).group(1))
    assert step_bytes(n, fits) <= live - 1 < step_bytes(n, fits + 1)  # the largest batch that fits
    assert "(test figure)" in str(caught.value)


def test_calibration_memory_counts_and_can_leave_no_batch(monkeypatch):
    kept = calibration_bytes(4, 2048, 40_981, softmax=True)
    assert kept == 4 * 2048 * 40_981 * 8 and calibration_bytes(4, 2048, 40_981, softmax=False) == 0
    with pytest.raises(TrainingError, match=r"calibration keeps 2\.50 GiB.*no user_batch fits"):
        plan_memory(70_839, 256, kept, CPU, (kept, "test"))
    monkeypatch.setenv(memory.CHECK_VARIABLE, "0")
    assert plan_memory(70_839, 256, kept, CPU, (1, "test")).mode == "unchecked"


def test_the_free_memory_is_read_and_a_memory_limit_lowers_it():
    free, source = available_bytes(CPU)
    assert free is not None and free > 0 and source
    code = (
        "import resource, torch; from interestgraph.train.memory import available_bytes; "
        "resource.setrlimit(resource.RLIMIT_AS, (int(open('/proc/self/statm').read().split()[0]) * 4096 + 2**30, "
        "resource.RLIM_INFINITY)); print(*available_bytes(torch.device('cpu')), sep='|')"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    value, where = out.split("|")
    assert int(value) <= GIB and where == "RLIMIT_AS less the mapped memory"


@pytest.fixture(scope="module")
def graph():
    log = generate_synthetic(n_users=120, n_items=150, n_interactions=3_000, seed=3).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())


class Steps(Callback):
    def __init__(self):
        self.steps = 0

    def on_batch_end(self, epoch, batch, loss):
        self.steps += 1


def _model(epochs: int) -> InterestGraphModel:
    return InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=epochs, user_batch=32, verbose=True, seed=1))


def test_a_run_that_cannot_fit_stops_before_its_first_step(graph, monkeypatch):
    monkeypatch.setattr(trainer, "available_bytes", lambda device: (STEP_FREE, "a test's figure"))
    steps = Steps()
    model = _model(2)
    with pytest.raises(TrainingError, match=r"not enough memory to train.*a test's figure.*no step was taken"):
        model.fit(graph, callbacks=[steps])
    assert steps.steps == 0


def test_a_refused_resume_keeps_the_checkpoint(graph, tmp_path, monkeypatch):
    model = _model(1)
    Trainer(model.train, checkpoint_dir=tmp_path / "ckpt").fit(model, graph)
    before = {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir() if p.is_file()}
    monkeypatch.setattr(trainer, "available_bytes", lambda device: (STEP_FREE, "a test's figure"))
    again = _model(2)
    with pytest.raises(TrainingError, match=r"checkpoint of the last finished epoch is kept"):
        Trainer(again.train, checkpoint_dir=tmp_path / "ckpt").fit(again, graph)
    assert {p.name: p.read_bytes() for p in (tmp_path / "ckpt").iterdir() if p.is_file()} == before


def test_a_run_that_fits_only_compact_switches_the_allocator_and_says_so(graph, monkeypatch, capsys):
    calls = []
    monkeypatch.setattr(trainer, "compact_allocator", lambda: calls.append(1) or True)
    nodes = graph.counts()["nodes"]
    n = sum(nodes.values())
    free = (step_bytes(n, 32) + step_bytes(n, 32, retained=True)) // 2  # a calibration of 0: cold_draws below
    monkeypatch.setattr(trainer, "available_bytes", lambda device: (free, "a test's figure"))
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(epochs=1, user_batch=32, cold_draws=0, seed=1))
    model.fit(graph)
    assert calls == [1] and "allocations of 4 MiB or more now go straight back" in capsys.readouterr().err


@pytest.mark.skipif(sys.platform != "linux", reason="mallopt is glibc's (Linux)")
def test_the_compact_allocator_takes_effect_on_glibc():
    code = "from interestgraph.train.memory import compact_allocator; print(compact_allocator())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_cli_stops_with_exit_1_and_writes_nothing(graph, tmp_path, monkeypatch, capsys):
    from interestgraph.cli import main

    graph_dir = graph.save(tmp_path / "g")
    monkeypatch.setattr(trainer, "available_bytes", lambda device: (STEP_FREE, "a test's figure"))
    code = main(["train", str(graph_dir), "--out", str(tmp_path / "m"), "--epochs", "1", "--dim", "8", "-q"])
    err = capsys.readouterr().err
    assert code == 1 and "not enough memory to train" in err and "lower user_batch" not in err
    assert "no user_batch fits" in err and not (tmp_path / "m").exists()
