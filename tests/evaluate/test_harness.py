"""Metrics against hand computation and torch_geometric; the protocol's masking; paired comparisons."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch

from interestgraph.data import InteractionLog, generate_synthetic, given_split, split_log
from interestgraph.evaluate import average_runs, compare, evaluate, positive_matrix, ranking_metrics


def test_metrics_by_hand():
    # one user, 3 relevant items, ranked list hits at positions 1 and 3 (1-based)
    hits = torch.tensor([[True, False, True, False, False]])
    out = ranking_metrics(hits, torch.tensor([3]), cutoffs=(1, 3, 5))
    dcg3 = 1 / math.log2(2) + 1 / math.log2(4)
    idcg3 = 1 / math.log2(2) + 1 / math.log2(3) + 1 / math.log2(4)
    assert out["recall@3"].item() == pytest.approx(2 / 3)
    assert out["precision@3"].item() == pytest.approx(2 / 3)
    assert out["ndcg@3"].item() == pytest.approx(dcg3 / idcg3)
    assert out["ndcg@1"].item() == pytest.approx(1.0)
    assert out["hit@1"].item() == 1.0
    assert out["mrr@5"].item() == pytest.approx(1.0)
    assert out["map@3"].item() == pytest.approx((1.0 + 2 / 3) / 3)
    assert out["map@1"].item() == pytest.approx(1.0)  # denominator min(3, 1)
    late = ranking_metrics(torch.tensor([[False, False, True]]), torch.tensor([1]), cutoffs=(2, 3))
    assert late["mrr@2"].item() == 0.0 and late["mrr@3"].item() == pytest.approx(1 / 3)
    assert late["ndcg@3"].item() == pytest.approx(1 / math.log2(4))
    with pytest.raises(ValueError, match="n_relevant"):
        ranking_metrics(hits, torch.tensor([0]), cutoffs=(1,))


@pytest.mark.parametrize("k", [1, 5, 20])
def test_metrics_match_torch_geometric_on_random_data(k):
    from torch_geometric.metrics import (
        LinkPredHitRatio,
        LinkPredMAP,
        LinkPredMRR,
        LinkPredNDCG,
        LinkPredPrecision,
        LinkPredRecall,
    )

    gen = torch.Generator().manual_seed(k)
    n_users, n_items = 64, 50
    relevant = torch.rand(n_users, n_items, generator=gen) < 0.08
    relevant[torch.arange(n_users), torch.randint(0, n_items, (n_users,), generator=gen)] = True  # >= 1 each
    ranking = torch.argsort(torch.rand(n_users, n_items, generator=gen), dim=1)[:, :k]
    hits = torch.gather(relevant, 1, ranking)
    ours = ranking_metrics(hits, relevant.sum(dim=1), cutoffs=(k,))
    edge_label_index = relevant.nonzero().t()
    for name, cls in [
        ("recall", LinkPredRecall),
        ("precision", LinkPredPrecision),
        ("ndcg", LinkPredNDCG),
        ("hit", LinkPredHitRatio),
        ("mrr", LinkPredMRR),
        ("map", LinkPredMAP),
    ]:
        metric = cls(k)
        metric.update(ranking, edge_label_index)
        assert ours[f"{name}@{k}"].mean().item() == pytest.approx(float(metric.compute()), rel=1e-5), name


class _Fixed:
    """Scores = a fixed matrix (n_users, n_items)."""

    def __init__(self, scores: np.ndarray):
        self.scores = torch.tensor(scores, dtype=torch.float32)

    def fit(self, split):
        return self

    def score(self, users):
        return self.scores[torch.as_tensor(users)]


def _tiny_split():
    # user u0: train i0, i1; valid i2; test i3.  user u1: train i0; valid i1; test i2, i4(no training positive)
    rows = [
        ("u0", "i0", "train"),
        ("u0", "i1", "train"),
        ("u0", "i2", "valid"),
        ("u0", "i3", "test"),
        ("u1", "i0", "train"),
        ("u1", "i1", "valid"),
        ("u1", "i2", "test"),
        ("u1", "i4", "test"),
        ("u1", "i3", "train"),
    ]
    frame = pd.DataFrame({"user_id": [r[0] for r in rows], "item_id": [r[1] for r in rows]})
    log = InteractionLog.from_frames(frame)
    return given_split(log, np.array([r[2] for r in rows]), name="tiny")


def test_seen_items_and_non_candidates_are_masked():
    split = _tiny_split()
    # items i0..i4; i4 has no training positive, so it is not a candidate
    assert set(split.candidate_items) == {"i0", "i1", "i3"}
    # a model that loves the seen items and i4 still gets them masked
    scores = np.array([[9, 9, 1, 5, 8], [9, 1, 5, 9, 8]], dtype=float)
    result = evaluate(_Fixed(scores), split, cutoffs=(1,))
    table = result.per_user.set_index("user_id")
    # u0 test i3: candidates left after masking train (i0, i1) and valid (i2): {i3} -> hit at rank 1
    assert table.loc["u0", "recall@1"] == 1.0
    # u1 test {i2, i4}: i2 is not a candidate either (no training positive), i4 neither: nothing can be hit
    assert table.loc["u1", "recall@1"] == 0.0 and table.loc["u1", "n_relevant"] == 2
    assert any("not candidates" in n for n in result.notes)
    valid = evaluate(_Fixed(scores), split, part="valid", cutoffs=(1,)).per_user.set_index("user_id")
    # on valid, test items are not masked: u0 ranks among {i3} (i2 is not a candidate) -> miss
    assert valid.loc["u0", "recall@1"] == 0.0


@pytest.fixture(scope="module")
def synthetic_split():
    return split_log(generate_synthetic(n_users=200, n_items=300, n_interactions=8_000, seed=5).log, "rs-4")


class _Pop:
    def fit(self, split):
        self.pop = torch.tensor(np.asarray(positive_matrix(split, "train").sum(axis=0)).ravel(), dtype=torch.float32)
        return self

    def score(self, users):
        return self.pop.expand(len(users), -1)


class _Random:
    def __init__(self, seed):
        self.seed = seed

    def fit(self, split):
        self.n_items = split.log.n_items
        return self

    def score(self, users):
        gen = torch.Generator().manual_seed(self.seed)
        return torch.rand(len(users), self.n_items, generator=gen)


def test_batch_size_does_not_change_results(synthetic_split):
    model = _Pop().fit(synthetic_split)
    a = evaluate(model, synthetic_split, batch_size=7)
    b = evaluate(model, synthetic_split, batch_size=10_000)
    assert a.metrics == pytest.approx(b.metrics)
    assert "seed 2020" in a.describe() and "rs-4" in a.describe()
    assert sum(v["users"] for v in a.by_activity.values()) == len(a.per_user)


def test_coverage_and_popularity(synthetic_split):
    result = evaluate(_Pop().fit(synthetic_split), synthetic_split, cutoffs=(10,))
    n_candidates = len(synthetic_split.candidate_items)
    assert (
        10 / n_candidates <= result.metrics["coverage@10"] < 0.2
    )  # the same popular items for everyone, minus each user's seen ones
    random = evaluate(_Random(0).fit(synthetic_split), synthetic_split, cutoffs=(10,))
    assert random.metrics["coverage@10"] > 0.9
    assert result.metrics["popularity@10"] > 3 * random.metrics["popularity@10"]


def test_paired_comparison(synthetic_split):
    pop = evaluate(_Pop().fit(synthetic_split), synthetic_split, name="pop")
    rnd = evaluate(_Random(1).fit(synthetic_split), synthetic_split, name="random")
    verdict = compare(pop, rnd, "ndcg@20")
    assert verdict["difference"] > 0 and verdict["ci_low"] > 0 and verdict["p_value"] < 1e-3
    assert verdict["statement"].startswith("pop beats random on ndcg@20")
    same = compare(rnd, rnd, "ndcg@20")
    assert same["difference"] == 0 and same["p_value"] == 1.0 and "not distinguishable" in same["statement"]
    other = evaluate(_Pop().fit(synthetic_split), split_log(synthetic_split.log, "rs-4", seed=1), name="pop")
    with pytest.raises(ValueError, match="share protocol"):
        compare(pop, other)


def test_average_runs_averages_per_user_and_reports_the_spread(synthetic_split):
    runs = [
        evaluate(_Random(seed).fit(synthetic_split), synthetic_split, cutoffs=(20,), name="random")
        for seed in (1, 2, 3)
    ]
    mean = average_runs(runs)
    assert mean.metrics["ndcg@20"] == pytest.approx(np.mean([r.metrics["ndcg@20"] for r in runs]))
    assert mean.metrics["ndcg@20_std"] == pytest.approx(np.std([r.metrics["ndcg@20"] for r in runs], ddof=1))
    first_user = runs[0].per_user["user_id"].iloc[0]
    by_hand = np.mean([r.per_user.set_index("user_id").loc[first_user, "ndcg@20"] for r in runs])
    assert mean.per_user.set_index("user_id").loc[first_user, "ndcg@20"] == pytest.approx(by_hand)
    pop = evaluate(_Pop().fit(synthetic_split), synthetic_split, cutoffs=(20,), name="pop")
    assert compare(pop, mean)["ci_low"] > 0  # averaged results pair like single ones
    with pytest.raises(ValueError, match="at least one"):
        average_runs([])
    valid = evaluate(_Pop().fit(synthetic_split), synthetic_split, part="valid", cutoffs=(20,))
    with pytest.raises(ValueError, match="share protocol and part"):
        average_runs([pop, valid])


def test_cold_items_reported_separately():
    split = split_log(generate_synthetic(n_users=200, n_items=300, n_interactions=8_000, seed=5).log, "cold-4")
    result = evaluate(_Pop().fit(split), split)
    assert result.cold["users"] > 0
    assert result.cold["recall@20"] == 0.0  # popularity from training cannot reach a cold item
    rnd = evaluate(_Random(2).fit(split), split)
    assert rnd.cold["recall@20"] > 0
    # warm items' pairs, by hand: the same full ranking, hits and relevant pairs counted on non-cold items only
    log = split.log
    cold = np.zeros(log.n_items, dtype=bool)
    cold[log.item_ids.get_indexer(split.cold_items)] = True
    candidates = np.zeros(log.n_items, dtype=bool)
    candidates[log.item_ids.get_indexer(split.candidate_items)] = True
    seen = (positive_matrix(split, "train") + positive_matrix(split, "valid")).toarray() > 0
    target = positive_matrix(split, "test").toarray() > 0
    users = np.flatnonzero(target.any(axis=1))  # one batch: the random scores are row by row of this order
    scores = _Random(2).fit(split).score(users).numpy().astype(np.float64)
    scores[:, ~candidates] = -np.inf
    scores[seen[users]] = -np.inf
    recalls = []
    for row, u in enumerate(users):
        if not (target[u] & ~cold).any():
            continue
        top = np.argsort(-scores[row])[:20]
        recalls.append((target[u, top] & ~cold[top]).sum() / (target[u] & ~cold).sum())
    assert rnd.warm["users"] == len(recalls) > 0
    assert rnd.warm["recall@20"] == pytest.approx(np.mean(recalls), rel=1e-6)
    assert rnd.to_dict()["warm"] == rnd.warm and result.warm["recall@20"] > 0


def test_bad_arguments(synthetic_split):
    model = _Pop().fit(synthetic_split)
    with pytest.raises(ValueError, match="part must be"):
        evaluate(model, synthetic_split, part="train")
    with pytest.raises(ValueError, match="cutoffs"):
        evaluate(model, synthetic_split, cutoffs=(0,))

    class Wrong:
        def score(self, users):
            return torch.zeros(len(users), 3)

    with pytest.raises(ValueError, match="model.score returned shape"):
        evaluate(Wrong(), synthetic_split)
