"""The item–item path model's log-sized sums, computed by Spark for a graph built there.

:class:`~interestgraph.model.ItemPathModel` starts from two sums over the training positives whose cost grows with
the log, not the catalogue:

* the co-occurrence ``Xᵀ D_u^-e X`` (EASE's Gram at ``e`` = 0; GF-CF's ``R̃ᵀR̃`` before the item degrees at
  ``e`` = 1): one self-join of each user's positives, so ``Σ_u d_u²`` rows;
* the transition counts ``T[j, i] = Σ decay^(g-1)`` over the users' sequences: each positive joined with the one
  ``g ≤ window`` places later (an equi-join on the position, so ``window ×`` the positives, never ``d_u²``).

Both run on the executors as joins and group-bys; only the finished ``(j, i, value)`` tables come back to the driver
(through Arrow), in the graph's item codes. The rest of the fit (the ridge's inverse, the spectral parts) is
catalogue-sized and stays on the driver. The result equals the local computation
(:func:`~interestgraph.paths.cooccurrence`, :func:`~interestgraph.paths.transition_counts`) on the same events
and split (float64 sums; the tests check it)::

    graph = build_interest_graph_spark("events.parquet", "catalog.parquet", spark=spark)
    aggregates = item_aggregates_spark("events.parquet", graph, spark=spark)
    model = ItemPathModel(config).fit(graph, aggregates=aggregates)
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.schema import ITEM_ID
from ..errors import DataError
from ..graph.interest_graph import InterestGraph
from ..ops import check_positive_int
from ..paths import ItemAggregates, check_number
from .events import prepare_events
from .session import from_pandas, to_pandas


class SparkItemAggregates(ItemAggregates):
    """:class:`~interestgraph.paths.ItemAggregates` of a prepared Spark event frame (the build's events).

    Args:
        spark: the session.
        events: prepared events (:func:`~interestgraph.spark.prepare_events`: ``user_id``, ``item_id``,
            ``timestamp``, ``positive``, ``part``).
        item_ids: the graph's item order (``graph.split.log.item_ids``): the codes of the results.
        expected_pairs: the number of training positive pairs the graph holds; a different count raises
            :class:`~interestgraph.errors.DataError` (the events are not the graph's). None: not checked.

    A training pair is a (user, item) with a positive event in the ``train`` part, timed by its first positive
    event, as :attr:`~interestgraph.data.Split.pairs`. Results are computed once per setting and kept.
    """

    def __init__(
        self, spark: SparkSession, events: DataFrame, item_ids: pd.Index, *, expected_pairs: int | None = None
    ) -> None:
        self.spark, self.events, self.item_ids = spark, events, item_ids
        self.expected_pairs = expected_pairs
        self._pairs: DataFrame | None = None
        self._results: dict[tuple, sp.csr_matrix] = {}

    def pairs(self) -> DataFrame:
        """``user_id``, ``code`` (the item's code), ``t`` (first positive time), ``pos`` (0-based place in the user's
        sequence by time, then code), ``degree`` (the user's training positives): one row per training pair."""
        if self._pairs is not None:
            return self._pairs
        kind = self.events.schema[ITEM_ID].dataType
        keys = self.item_ids.to_numpy()
        keys = keys.astype(np.int64) if isinstance(kind, T.LongType) else keys.astype(str).astype(object)
        codes = from_pandas(
            self.spark,
            pd.DataFrame({ITEM_ID: keys, "code": np.arange(len(keys), dtype=np.int64)}),
            schema=T.StructType([T.StructField(ITEM_ID, kind, False), T.StructField("code", T.LongType(), False)]),
        )
        train = self.events.where((F.col("part") == "train") & F.col("positive"))
        pairs = (
            train.groupBy("user_id", ITEM_ID)
            .agg(F.min(F.col("timestamp").cast("long")).alias("t"))
            .join(F.broadcast(codes), on=ITEM_ID, how="left")
        )
        user = Window.partitionBy("user_id")
        pairs = pairs.select(
            "user_id",
            "code",
            "t",
            (F.row_number().over(user.orderBy("t", "code")) - 1).alias("pos"),
            F.count(F.lit(1)).over(user).alias("degree"),
        ).cache()
        counts = pairs.agg(F.count(F.lit(1)).alias("n"), F.count("code").alias("known")).first()
        if counts["known"] != counts["n"]:
            pairs.unpersist()
            raise DataError(
                f"{counts['n'] - counts['known']:,} training pairs name items that are not in the graph's item order: "
                "the events are not the ones the graph was built from"
            )
        if self.expected_pairs is not None and counts["n"] != self.expected_pairs:
            pairs.unpersist()
            raise DataError(
                f"the events hold {counts['n']:,} training positive pairs, the graph {self.expected_pairs:,}: they are "
                "not the events (or not the split) the graph was built from"
            )
        self._pairs = pairs
        return pairs

    def _collect(self, table: DataFrame) -> sp.csr_matrix:
        """``(j, i, value)`` rows as an ``(n_items, n_items)`` float64 CSR."""
        frame = to_pandas(table)
        n = len(self.item_ids)
        return sp.csr_matrix(
            (
                frame["value"].to_numpy(dtype=np.float64),
                (frame["j"].to_numpy(dtype=np.int64), frame["i"].to_numpy(dtype=np.int64)),
            ),
            shape=(n, n),
        )

    def cooccurrence(self, user_exponent: float) -> sp.csr_matrix:
        check_number("user_exponent", user_exponent, 0.0)
        key = ("cooccurrence", float(user_exponent))
        if key not in self._results:
            pairs = self.pairs()
            left = pairs.select("user_id", F.col("code").alias("j"), "degree")
            right = pairs.select("user_id", F.col("code").alias("i"))
            weight = F.lit(1.0) if user_exponent == 0 else F.pow(F.col("degree").cast("double"), -float(user_exponent))
            table = left.join(right, on="user_id").groupBy("j", "i").agg(F.sum(weight).alias("value"))
            self._results[key] = self._collect(table)
        return self._results[key]

    def transition_counts(self, window: int, decay: float) -> sp.csr_matrix:
        check_positive_int("window", window)
        check_number("decay", decay, 0.0, 1.0, low_open=True)
        key = ("transition_counts", int(window), float(decay))
        if key not in self._results:
            pairs = self.pairs()
            source = pairs.select(
                "user_id",
                F.col("code").alias("j"),
                F.explode(F.sequence(F.lit(1), F.lit(int(window)))).alias("gap"),
                "pos",
            ).withColumn("pos", F.col("pos") + F.col("gap"))
            target = pairs.select("user_id", F.col("code").alias("i"), "pos")
            table = (
                source.join(target, on=["user_id", "pos"])
                .where(F.col("j") != F.col("i"))  # an item repeated in one sequence does not lead to itself
                .groupBy("j", "i")
                .agg(F.sum(F.pow(F.lit(float(decay)), F.col("gap") - 1)).alias("value"))
            )
            self._results[key] = self._collect(table)
        return self._results[key]

    def unpersist(self) -> None:
        """Release the cached pairs on the executors (the collected results stay)."""
        if self._pairs is not None:
            self._pairs.unpersist()
            self._pairs = None


def item_aggregates_spark(
    interactions: str | os.PathLike | DataFrame,
    graph: InterestGraph,
    *,
    spark: SparkSession | None = None,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    default_event: str = "interaction",
    timestamp_unit: str = "s",
    missing_items: str = "drop",
) -> SparkItemAggregates:
    """The item–item sums of ``graph``'s training positives from the events it was built from, on Spark.

    ``interactions`` and the reading options are those given to
    :func:`~interestgraph.spark.build_interest_graph_spark`; the events are prepared again with the graph's event
    weights and catalog, so the training pairs are the graph's (checked: a different count raises
    :class:`~interestgraph.errors.DataError`). Pass the result to ``ItemPathModel.fit(graph, aggregates=...)``.
    """
    from .session import spark_session

    spark = spark or spark_session()
    log = graph.split.log
    prepared = prepare_events(
        spark,
        str(interactions) if isinstance(interactions, os.PathLike) else interactions,
        log.items[ITEM_ID],
        weights=graph.config.weights,
        format=format,
        columns=columns,
        default_event=default_event,
        timestamp_unit=timestamp_unit,
        missing_items=missing_items,
    )
    aggregates = SparkItemAggregates(
        spark, prepared.frame, log.item_ids, expected_pairs=int((graph.split.pairs["part"] == "train").sum())
    )
    try:
        aggregates.pairs()  # the training pairs, cached on the executors and checked against the graph now
    finally:
        prepared.frame.unpersist()
    return aggregates
