"""CUDA paths against the CPU: every ``device="cuda"`` the README names, on tiny synthetic data.

Marked ``cuda`` (``pytest -m cuda`` runs them with the other GPU tests) and skipped without CUDA.
``INTERESTGRAPH_TEST_DEVICE=cpu`` runs them on the CPU instead: a dry run of their logic (both sides
on the CPU), for machines without a GPU.

What "matches" means here:

- scoring a fitted model (``model.score`` / ``recommend`` with ``device="cuda"``) reads the same frozen
  ``W`` as the CPU, in float32: equal within float32 summation-order noise;
- LightGCN / BPR-MF draw their pairs on the CPU and run no autocast, so a fit on CUDA follows the CPU's
  fit within float32 noise (two epochs);
- the path model trains under bf16 autocast on CUDA, so its parameters drift from the CPU's: its losses
  and test metrics must stay close, not equal;
- the encoder under bf16 autocast gives vectors within cosine 0.99 of float32's, and with autocast off
  within float32 noise.
"""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from interestgraph.baselines import BPRMF, LightGCN
from interestgraph.data import generate_synthetic, split_log
from interestgraph.encoder import EncoderConfig, TextEncoder
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.evaluate import evaluate
from interestgraph.graph import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.recommend import recommend

DEVICE = os.environ.get("INTERESTGRAPH_TEST_DEVICE", "cuda")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(DEVICE.startswith("cuda") and not torch.cuda.is_available(), reason="needs CUDA"),
]

FAST = dict(epochs=3, user_batch=64, warmup_epochs=1, cold_draws=1, verbose=False, seed=11)
TEXTS = [f"{genre} film number {i} with {extra}" for i, (genre, extra) in enumerate([
    ("noir", "a heist"), ("space opera", "robots"), ("romantic comedy", "a wedding"), ("war", "submarines"),
] * 8)]  # fmt: skip


@pytest.fixture(scope="module")
def graph():
    log = generate_synthetic(n_users=120, n_items=150, n_interactions=4_000, seed=3).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder())


@pytest.fixture(scope="module")
def cpu_model(graph):
    return InterestGraphModel(ModelConfig(dim=16), TrainConfig(device="cpu", **FAST)).fit(graph)


@pytest.fixture(scope="module")
def gpu_model(graph):
    return InterestGraphModel(ModelConfig(dim=16), TrainConfig(device=DEVICE, **FAST)).fit(graph)


@pytest.fixture(scope="module")
def split():
    log = generate_synthetic(n_users=200, n_items=150, n_interactions=6_000, popularity_skew=0.3, seed=1).log
    return split_log(log, "rs-4")


def test_scoring_a_cpu_model_on_the_device_equals_the_cpu(cpu_model):
    users = np.arange(40)
    on_cpu = cpu_model.score(users)
    on_device = cpu_model.score(users, device=DEVICE)
    assert on_device.dtype == torch.float32 and on_device.shape == on_cpu.shape
    scale = float(on_cpu.abs().max())
    torch.testing.assert_close(on_device.cpu(), on_cpu, rtol=1e-4, atol=1e-5 * scale)
    again = cpu_model.score(users, device=DEVICE)  # W is cached on the device: the second call reads it again
    torch.testing.assert_close(again.cpu(), on_device.cpu(), rtol=0, atol=0)


def test_recommend_on_the_device_gives_the_cpu_lists(cpu_model):
    users = list(cpu_model.user_ids[:30])
    on_cpu = recommend(cpu_model, users, k=20)
    on_device = recommend(cpu_model, users, k=20, device=DEVICE, batch_size=7)  # several batches
    assert len(on_device) == len(on_cpu) == 20 * len(users)
    np.testing.assert_allclose(on_device["score"], on_cpu["score"], rtol=1e-4, atol=1e-6)
    # the same items per user (ties may swap places), and nothing the user has seen
    for (_, a), (_, b) in zip(on_cpu.groupby("user_id"), on_device.groupby("user_id")):
        assert len(set(a["item_id"]) ^ set(b["item_id"])) <= 2
    seen = cpu_model.seen.tocsr()
    codes = cpu_model.user_ids.get_indexer(on_device["user_id"])
    items = cpu_model.item_ids.get_indexer(on_device["item_id"])
    assert not np.asarray(seen[codes, items]).any()


def test_the_path_model_fits_on_the_device_close_to_the_cpu(graph, cpu_model, gpu_model):
    # patience 5 > 3 epochs: no early stop
    assert len(gpu_model.report_.history) == len(cpu_model.report_.history) == FAST["epochs"]
    assert all(np.isfinite(h["loss"]) for h in gpu_model.report_.history)
    # bf16 autocast on CUDA: the first epoch's loss within 5 %, the test metrics within 0.05
    first_cpu, first_gpu = cpu_model.report_.history[0]["loss"], gpu_model.report_.history[0]["loss"]
    assert abs(first_gpu - first_cpu) <= 0.05 * abs(first_cpu)
    m_cpu = evaluate(cpu_model, graph.split, cutoffs=(20,)).metrics
    m_gpu = evaluate(gpu_model, graph.split, cutoffs=(20,)).metrics
    assert abs(m_gpu["ndcg@20"] - m_cpu["ndcg@20"]) <= 0.05 and abs(m_gpu["recall@20"] - m_cpu["recall@20"]) <= 0.05
    # the fitted state is device-independent: W and the coefficients are plain CPU arrays
    assert isinstance(gpu_model.coefficients_, np.ndarray) and gpu_model.adjacency_.shape == cpu_model.adjacency_.shape
    assert gpu_model.score(np.arange(5)).device.type == "cpu"


def test_a_model_fitted_on_the_device_saves_and_scores_on_the_cpu(gpu_model, tmp_path):
    gpu_model.save(tmp_path / "model")
    loaded = InterestGraphModel.load(tmp_path / "model")
    users = np.arange(25)
    torch.testing.assert_close(loaded.score(users), gpu_model.score(users), rtol=1e-5, atol=1e-7)
    expected = gpu_model.score(users)
    scale = float(expected.abs().max())
    torch.testing.assert_close(loaded.score(users, device=DEVICE).cpu(), expected, rtol=1e-4, atol=1e-5 * scale)


@pytest.mark.parametrize("cls", [LightGCN, BPRMF])
def test_bpr_baselines_train_on_the_device_as_on_the_cpu(split, cls):
    settings = dict(lr=5e-3, batch_size=512, max_epochs=2, eval_every=1, patience=3, seed=7)
    on_cpu = cls(**settings, device="cpu").fit(split)
    on_device = cls(**settings, device=DEVICE).fit(split)
    assert on_device.device_.type == torch.device(DEVICE).type
    users = np.arange(50)
    a, b = on_cpu.score(users), on_device.score(users)
    assert b.device.type == "cpu" and b.dtype == torch.float32
    torch.testing.assert_close(b, a, rtol=1e-3, atol=1e-4)  # the same pairs, float32 both: only summation order
    np.testing.assert_allclose([h["loss"] for h in on_device.history_], [h["loss"] for h in on_cpu.history_], rtol=1e-3)
    assert abs(on_device.best_valid_ndcg_ - on_cpu.best_valid_ndcg_) <= 0.01


def test_lightgcn_on_epoch_stops_a_device_fit(split):
    seen = []

    def stop_after_two(model, record):
        seen.append(record["epoch"])
        return record["epoch"] >= 2

    model = LightGCN(lr=5e-3, batch_size=512, max_epochs=50, eval_every=1, seed=7, device=DEVICE)
    model.fit(split, on_epoch=stop_after_two)
    assert seen == [1, 2] and model.epochs_ == 2


def test_encoder_bf16_autocast_on_the_device_is_close_to_float32():
    reference = TextEncoder(EncoderConfig(device="cpu", cache_dir=None)).encode(TEXTS)
    autocast = TextEncoder(EncoderConfig(device=DEVICE, cache_dir=None, bf16_autocast=True))
    plain = TextEncoder(EncoderConfig(device=DEVICE, cache_dir=None, bf16_autocast=False))
    assert autocast.device.type == torch.device(DEVICE).type
    a, p = autocast.encode(TEXTS), plain.encode(TEXTS)
    assert a.dtype == p.dtype == torch.float32 and a.device.type == p.device.type == "cpu"
    assert (a * reference).sum(dim=1).min().item() > 0.99  # bf16: close, not equal
    assert (p * reference).sum(dim=1).min().item() > 0.99999  # float32 on both: summation order only
    torch.testing.assert_close(a.norm(dim=1), torch.ones(len(TEXTS)), rtol=0, atol=1e-4)


def test_joint_training_with_the_top_layer_runs_on_the_device():
    log = generate_synthetic(n_users=60, n_items=80, n_interactions=1_500, seed=4).log
    graph = build_interest_graph(log, protocol="rs-4", encoder=TextEncoder(EncoderConfig(device=DEVICE)))
    train = TrainConfig(
        device=DEVICE,
        epochs=2,
        encoder_mode="top",
        encoder_warmup_epochs=0,
        encoder_interests=8,
        encoder_items=4,
        user_batch=32,
        cold_draws=0,
        verbose=False,
        seed=3,
    )
    model = InterestGraphModel(ModelConfig(dim=16), train).fit(graph)
    assert model.report_.epochs >= 1 and all(np.isfinite(h["loss"]) for h in model.report_.history)
    assert model.report_.epoch_seconds["encoder"] > 0  # the encoder's steps ran and were timed apart
    assert all(torch.isfinite(t).all() for t in model.encoder_state_.values())
    assert model.score(np.arange(5), device=DEVICE).isfinite().all()


def test_the_readme_device_flags_of_the_command_line_run(tmp_path, capsys):
    from interestgraph.cli import main

    data, graph, model = tmp_path / "data", tmp_path / "graph", tmp_path / "model"
    assert main(["generate", "--out", str(data), "--n-users", "50", "--n-items", "70", "--n-events", "1200"]) == 0
    build = ["build", str(data), "--format", "dataset", "--protocol", "rs-4", "--out", str(graph)]
    assert main([*build, "--device", DEVICE]) == 0
    assert main(["train", str(graph), "--out", str(model), "--epochs", "2", "--device", DEVICE, "--json"]) == 0
    capsys.readouterr()
    evaluate_args = ["evaluate", str(graph), "--format", "graph", "--models", f"bpr,lightgcn,{model}"]
    assert main([*evaluate_args, "--max-epochs", "2", "--cutoffs", "20", "--device", DEVICE, "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    text = json.dumps(result)
    assert "lightgcn" in text.lower() and "ndcg@20" in text
