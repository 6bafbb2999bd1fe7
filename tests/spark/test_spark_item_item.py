"""The item–item path model's sums on Spark (local mode) equal the local ones, and the model fitted from them scores
as the model fitted locally, on the inputs the Spark build is tested on (synthetic rs-4 / tl-4 / cold-4 splits made in
pandas, ml-latest-small under rs-4)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from interestgraph.data import generate_synthetic, split_log
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import DataError
from interestgraph.graph.build import build_interest_graph
from interestgraph.model import ItemPathConfig, ItemPathModel
from interestgraph.paths import cooccurrence, split_pair_times, transition_counts

ML_SMALL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "ml-latest-small"


@pytest.fixture(scope="module")
def splits():
    return {
        "rs-4": split_log(generate_synthetic(n_users=150, n_items=240, n_interactions=6_000, seed=7).log, "rs-4"),
        "tl-4": split_log(generate_synthetic(n_users=60, n_items=90, n_interactions=2_000, seed=5).log, "tl-4"),
        "cold-4": split_log(generate_synthetic(n_users=60, n_items=90, n_interactions=2_000, seed=5).log, "cold-4"),
    }


def assert_same_sums(aggregates, split) -> None:
    train = split.positive_matrix("train")
    times = split_pair_times(split)
    for exponent in (0.0, 1.0, 0.5):
        got, want = aggregates.cooccurrence(exponent), cooccurrence(train, exponent)
        assert got.shape == want.shape == (split.log.n_items,) * 2
        np.testing.assert_array_equal(got.toarray() != 0, want.toarray() != 0)
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-12, atol=0)
    assert aggregates.cooccurrence(0.0).diagonal().sum() == train.nnz  # the diagonal holds the item degrees
    for window, decay in ((10, 0.8), (2, 0.5)):
        got, want = aggregates.transition_counts(window, decay), transition_counts(times, window, decay)
        assert want.nnz > 0 and got.diagonal().sum() == 0
        np.testing.assert_array_equal(got.toarray() != 0, want.toarray() != 0)
        np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-12, atol=0)


@pytest.mark.parametrize("protocol", ["rs-4", "tl-4", "cold-4"])
def test_spark_sums_and_the_model_fitted_from_them_equal_the_local_ones(spark, splits, tmp_path, protocol):
    from interestgraph.spark import build_interest_graph_spark, item_aggregates_spark, write_split_events

    split = splits[protocol]
    events = write_split_events(split, tmp_path / "events.parquet")
    read = dict(interest_fields=split.log.interest_fields, text_fields=split.log.text_fields)
    if protocol == "rs-4":  # the whole route: the graph built on Spark too
        graph = build_interest_graph_spark(events, split.log.items, spark=spark, encoder=LexicalEncoder(), **read)
    else:
        graph = build_interest_graph(split, encoder=LexicalEncoder())
    aggregates = item_aggregates_spark(events, graph, spark=spark)
    assert_same_sums(aggregates, split)
    theta = {"ridge": 1.0, "lowpass": 0.3, "interest": 0.1}
    if protocol == "tl-4":
        theta["transition"] = 0.4
    config = ItemPathConfig(theta=theta, lowpass_rank=8, lowpass_solver="exact", dtype="float64", rescale=False)
    local = ItemPathModel(config).fit(graph)
    on_spark = ItemPathModel(config).fit(graph, aggregates=aggregates)
    assert set(on_spark.components_) == set(theta)
    users = np.arange(min(40, split.log.n_users))
    np.testing.assert_allclose(on_spark.score(users), local.score(users), rtol=1e-7, atol=1e-9)
    if protocol == "cold-4":  # cold items are candidates with no training pair: zero rows and columns in the sums
        cold = split.log.item_ids.get_indexer(split.cold_items)
        assert len(cold) and aggregates.cooccurrence(0.0)[cold].nnz == 0
    aggregates.unpersist()


def test_events_that_are_not_the_graphs_are_refused(spark, splits, tmp_path):
    from interestgraph.spark import item_aggregates_spark, write_split_events

    graph = build_interest_graph(splits["tl-4"], encoder=LexicalEncoder())
    other = write_split_events(splits["cold-4"], tmp_path / "other.parquet")  # the same log, another split
    with pytest.raises(DataError, match="training positive pairs, the graph"):
        item_aggregates_spark(other, graph, spark=spark)


@pytest.mark.skipif(not ML_SMALL.exists(), reason=f"ml-latest-small not found at {ML_SMALL}")
def test_ml_latest_small_rs4_sums_equal_the_local_ones(spark, tmp_path):
    """Real data: 39,356 training pairs of 610 users (the co-occurrence self-join: Σ d_u² = 7.2M rows)."""
    from interestgraph.data.formats import load_source
    from interestgraph.spark import SparkItemAggregates, prepare_events, write_split_events

    split = split_log(load_source(ML_SMALL, "movielens").log, "rs-4")
    events = str(write_split_events(split, tmp_path / "ml.parquet"))
    prepared = prepare_events(spark, events, split.log.items["item_id"])
    aggregates = SparkItemAggregates(spark, prepared.frame, split.log.item_ids, expected_pairs=39_356)
    train = split.positive_matrix("train")
    np.testing.assert_allclose(aggregates.cooccurrence(0.0).toarray(), cooccurrence(train).toarray(), rtol=0, atol=0)
    times = split_pair_times(split)
    got, want = aggregates.transition_counts(10, 0.8), transition_counts(times, 10, 0.8)
    np.testing.assert_allclose(got.toarray(), want.toarray(), rtol=1e-12, atol=0)
