"""The parts of the re-layered core (issue 24): the layer rule of paths/ and train/, callbacks that stop training,
the loss objects, the one fitted-state constructor, seeded parameter resets and the recommender contract."""

from __future__ import annotations

import ast
import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.sparse as sp
import torch

from interestgraph.baselines import BPRMF
from interestgraph.data import generate_synthetic
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import InterestGraphModel, ModelConfig, TrainConfig
from interestgraph.paths import PathScorer, build_state
from interestgraph.train import BPRLoss, Callback, SoftmaxLoss, Trainer, TrainingReport

PACKAGE = Path(__file__).resolve().parents[2] / "interestgraph"
FAST = dict(epochs=3, user_batch=32, warmup_epochs=1, verbose=False, cold_draws=0)

#: what each lower package must never import (higher layers)
FORBIDDEN = {
    "paths": ("train", "model", "evaluate", "baselines", "recommend", "viz", "cli", "spark"),
    "train": ("model", "evaluate", "baselines", "recommend", "viz", "cli", "spark"),
}


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """``(absolute module, imported names)`` of every import in one file of the package."""
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    package = parts[:-1]  # the package a relative import starts from (also for __init__.py)
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            base = list(package[: len(package) - node.level + 1]) if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            out.append((module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            out.extend((a.name, []) for a in node.names)
    return out


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_lower_layers_never_import_higher_ones_nor_private_names(layer):
    checked = 0
    for path in sorted((PACKAGE / layer).glob("*.py")):
        for module, names in _imports(path):
            if not module.startswith("interestgraph"):
                continue
            checked += 1
            top = module.split(".")[1] if "." in module else ""
            assert top not in FORBIDDEN[layer], f"{path.name} imports {module} (above {layer})"
            private = [n for n in names if n.startswith("_") and n != "__version__"]
            assert not private, f"{path.name} imports private names {private} from {module}"
    assert checked > 5


@pytest.fixture(scope="module")
def graph():
    log = generate_synthetic(n_users=80, n_items=120, n_interactions=2_500, seed=4).log
    return build_interest_graph(log, protocol="rs-4", encoder=LexicalEncoder(64))


class StopAfter(Callback):
    def __init__(self, batches: int | None = None, epochs: int | None = None):
        self.batches, self.epochs, self.seen = batches, epochs, []

    def on_batch_end(self, epoch, batch, loss):
        self.seen.append((epoch, batch, loss))
        return self.batches is not None and batch + 1 >= self.batches

    def on_epoch_end(self, epoch, record):
        return self.epochs is not None and epoch >= self.epochs


def test_a_callback_stops_an_epoch_after_a_batch_and_the_epoch_is_still_validated(graph):
    stop = StopAfter(batches=1)
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(graph, callbacks=[stop])
    assert [(e, b) for e, b, _ in stop.seen] == [(1, 0)]
    history = model.report_.history
    assert len(history) == 1 and history[0]["stopped"] is True and "valid_ndcg@20" in history[0]
    assert model.report_.epochs == 1 and model.report_.best_epoch == 1
    assert np.isfinite(model.score(np.arange(3)).numpy()).all()


def test_a_callback_stops_training_after_an_epoch(graph):
    stop = StopAfter(epochs=2)
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**FAST)).fit(graph, callbacks=[stop])
    assert model.report_.epochs == 2 and len(model.report_.history) == 2
    assert "stopped" not in model.report_.history[-1]
    assert all(np.isfinite(loss) for _, _, loss in stop.seen)


def test_the_trainer_returns_a_report_without_an_estimator(graph):
    config = ModelConfig(dim=8)
    types = tuple(t for t in ("user-item", "item-interest", "interest-interest") if t in config.edge_types)
    scorer = PathScorer.from_graph(config, graph, types)
    report = Trainer(TrainConfig(**FAST)).train(scorer, graph)  # no validation: the last epoch is kept
    assert isinstance(report, TrainingReport)
    assert report.epochs == 3 and report.best_epoch == 3 and np.isnan(report.best_valid_ndcg)
    assert all("valid_ndcg@20" not in h for h in report.history)
    assert report.operator.n_users == len(graph.users) and set(report.tables) == set(types)


def test_reset_parameters_under_a_seed_gives_the_same_parameters(graph):
    config = ModelConfig(dim=8, gate_rank=2)
    types = ("user-item", "item-interest", "interest-interest")
    torch.manual_seed(5)
    first = PathScorer.from_graph(config, graph, types)
    torch.manual_seed(5)
    second = PathScorer.from_graph(config, graph, types)
    with torch.no_grad():
        second.user_embedding.weight.add_(1.0)
        second.length_coef.mul_(3.0)
    torch.manual_seed(5)
    second.reset_parameters()
    for (name, a), (_, b) in zip(first.state_dict().items(), second.state_dict().items()):
        assert torch.equal(a, b), name
    assert float(first.user_embedding.weight.detach().std()) == pytest.approx(0.1, rel=0.2)
    assert torch.equal(first.length_coef, torch.ones(config.max_length))


def test_loss_objects_match_their_formulas():
    torch.manual_seed(0)
    scores = torch.randn(3, 6)
    rows, targets, negatives = torch.tensor([0, 1, 2, 2]), torch.tensor([1, 2, 3, 0]), torch.tensor([5, 4, 1, 1])
    allowed = torch.ones(3, 6, dtype=torch.bool)
    allowed[0, 4] = False
    softmax = SoftmaxLoss(temperature=2.0).terms(scores, rows, targets, allowed=allowed)
    logits = (scores / 2.0).masked_fill(~allowed, float("-inf"))
    expected = torch.log(torch.exp(logits).sum(dim=1))[rows] - logits[rows, targets]
    torch.testing.assert_close(softmax, expected)
    full = SoftmaxLoss(2.0).over_catalogue(scores, torch.tensor([1, 2, 3]))
    torch.testing.assert_close(full, torch.nn.functional.cross_entropy(scores / 2.0, torch.tensor([1, 2, 3])))
    bpr = BPRLoss().terms(scores, rows, targets, negatives)
    gap = scores[rows, targets] - scores[rows, negatives]
    torch.testing.assert_close(bpr, torch.log1p(torch.exp(-gap)))
    with pytest.raises(ValueError, match="temperature"):
        SoftmaxLoss(0.0)


def test_the_fitted_state_is_frozen_and_checked_by_its_one_constructor(graph):
    model = InterestGraphModel(ModelConfig(dim=8), TrainConfig(**{**FAST, "epochs": 1})).fit(graph)
    state = model.state_
    with pytest.raises(dataclasses.FrozenInstanceError):
        state.adjacency = None
    with pytest.raises(ValueError, match="seen"):
        state.replace(seen=sp.csr_matrix((2, 2)))
    with pytest.raises(ValueError, match="adjacency"):
        state.replace(adjacency=sp.csr_matrix((3, 3)))
    with pytest.raises(ValueError, match="unknown fields"):
        build_state(**{f.name: getattr(state, f.name) for f in dataclasses.fields(state)}, colour="red")
    # the public properties and the names earlier versions had (kept for scripts that read them) read the same state
    assert model.adjacency is state.adjacency and model.adjacency_ is state.adjacency
    assert model.seen is state.seen and model.history_ is model.report_.history
    with pytest.raises(AttributeError, match="read-only"):
        model.seen_ = state.seen
    assert model.layout == {"user": len(graph.users), "item": len(graph.items), "interest": len(graph.interests)}
    with pytest.raises(RuntimeError, match="not fitted"):
        _ = InterestGraphModel().adjacency
    assert getattr(InterestGraphModel(), "seen_", None) is None
    assert not hasattr(model, "start_") and not hasattr(model, "_check_fitted")  # aliases nothing reads any more


@pytest.mark.parametrize(
    "make",
    [
        lambda g: InterestGraphModel(ModelConfig(dim=8), TrainConfig(**{**FAST, "epochs": 1})).fit(g),
        lambda g: BPRMF(dim=8, max_epochs=1, seed=0).fit(g.split),
    ],
)
def test_every_recommender_meets_the_contract(graph, make):
    model = make(graph)
    log = graph.split.log
    assert isinstance(model.user_ids, pd.Index) and model.user_ids.equals(log.user_ids)
    assert isinstance(model.item_ids, pd.Index) and model.item_ids.equals(log.item_ids)
    assert (model.seen != graph.split.positive_matrix("train")).nnz == 0
    assert tuple(model.score(np.arange(4)).shape) == (4, log.n_items)
