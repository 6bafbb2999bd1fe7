"""The behavioural aggregations of a graph build, computed by Spark.

Same algebra as :mod:`interestgraph.graph.weights` (see its docstring), as joins
and group-bys over the prepared events instead of scipy products:

* user–item: ``Σ weight · 0.5^((t_ref - t) / half_life)`` over each pair's
  positive training events;
* ``w(v|u)``: the user–item sums joined with the item–interest matrix ``B``
  (rows normalised to 1; broadcast, it is catalog-sized), plus the users' own
  tags and their queries/reviews mapped to interests, summed per
  (user, interest); each user's ``top_k`` by value (ties: the lower interest
  index) kept and normalised to sum 1 (a window per user).

Sums run in float64 on the executors; only the finished edge tables come back
to the driver (through Arrow), mapped to the graph's integer codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp
from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.schema import ITEM_ID
from ..graph.weights import SECONDS_PER_DAY, BehaviourEvents, decay_factor
from .session import from_pandas, to_pandas


def _edges(src: np.ndarray, dst: np.ndarray, weight: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"src": src.astype(np.int64), "dst": dst.astype(np.int64), "weight": weight.astype(np.float32)})


class SparkAggregation:
    """User–item and user–interest edges from a prepared Spark event frame.

    Args:
        spark: the session.
        events: the prepared events (:func:`~interestgraph.spark.events.prepare_events`).
        user_ids, item_ids: the graph's node order (sorted user IDs; catalog order).
    """

    def __init__(self, spark: SparkSession, events: DataFrame, user_ids: pd.Index, item_ids: pd.Index):
        self.spark, self.events, self.user_ids, self.item_ids = spark, events, user_ids, item_ids

    def _pairs(self, reference: int, half_life_days: float | None) -> DataFrame:
        """``user_id``, ``item_id``, ``w``: decayed positive training weights summed per pair (float64)."""
        train = self.events.where((F.col("part") == "train") & F.col("positive") & (F.col("weight") > 0))
        if half_life_days is None:
            decayed = F.col("weight")
        else:
            age = (F.lit(float(reference)) - F.col("timestamp").cast("double")) / F.lit(
                half_life_days * SECONDS_PER_DAY
            )
            decayed = F.col("weight") * F.pow(F.lit(0.5), age)
        return train.groupBy("user_id", ITEM_ID).agg(F.sum(decayed).alias("w"))

    def user_item(self, events: BehaviourEvents, *, reference: int, half_life_days: float | None) -> pd.DataFrame:
        """User–item edges ``src`` (user code), ``dst`` (item code), ``weight``, sorted by (src, dst)."""
        table = to_pandas(self._pairs(reference, half_life_days))
        src = self.user_ids.get_indexer(table["user_id"])
        dst = self.item_ids.get_indexer(table[ITEM_ID])
        order = np.lexsort((dst, src))
        return _edges(src[order], dst[order], table["w"].to_numpy(dtype=np.float64)[order])

    def user_interest(
        self,
        events: BehaviourEvents,
        item_interest: sp.csr_matrix,
        *,
        reference: int,
        half_life_days: float | None,
        tag_weight: float,
        text_weight: float,
        top_k: int | None,
    ) -> pd.DataFrame:
        """``w(v|u)`` edges ``src`` (user code), ``dst`` (interest), ``weight`` (sums to 1 per user), ordered by
        user, then weight descending, then interest (the order of
        :func:`~interestgraph.graph.weights.user_interest_edges`)."""
        b = sp.coo_matrix(item_interest)
        item_key = self.item_ids.to_numpy()[b.row]
        b_schema = T.StructType(
            [
                T.StructField(ITEM_ID, self.events.schema[ITEM_ID].dataType),
                T.StructField("interest", T.LongType()),
                T.StructField("b", T.DoubleType()),
            ]
        )
        b_frame = from_pandas(
            self.spark,
            pd.DataFrame({ITEM_ID: item_key, "interest": b.col.astype(np.int64), "b": b.data.astype(np.float64)}),
            schema=b_schema,
        )
        # A holds the float32 user–item weights (as the pandas path's matrix does); Σ_i A·B first, then tags and texts
        pairs = self._pairs(reference, half_life_days).withColumn("w", F.col("w").cast("float").cast("double"))
        raw = (
            pairs.join(F.broadcast(b_frame), on=ITEM_ID)
            .groupBy("user_id", "interest")
            .agg(F.sum(F.col("w") * F.col("b")).alias("raw"))
        )
        extra = self._extra(events, reference, half_life_days, tag_weight, text_weight)
        if extra is not None:
            extra = extra.groupBy("user_id", "interest").agg(F.sum("raw").alias("extra"))
            raw = raw.join(extra, on=["user_id", "interest"], how="full").select(
                "user_id",
                "interest",
                (F.coalesce(F.col("raw"), F.lit(0.0)) + F.coalesce(F.col("extra"), F.lit(0.0))).alias("raw"),
            )
        summed = raw.where(F.col("raw") > 0)
        if top_k is not None:
            rank = F.row_number().over(
                Window.partitionBy("user_id").orderBy(F.col("raw").desc(), F.col("interest").asc())
            )
            summed = summed.withColumn("rank", rank).where(F.col("rank") <= top_k).drop("rank")
        total = F.sum("raw").over(Window.partitionBy("user_id"))
        table = to_pandas(summed.withColumn("weight", F.col("raw") / total))
        src = self.user_ids.get_indexer(table["user_id"])
        dst = table["interest"].to_numpy(dtype=np.int64)
        value = table["raw"].to_numpy(dtype=np.float64)
        order = np.lexsort((dst, -value, src))
        return _edges(src[order], dst[order], table["weight"].to_numpy(dtype=np.float64)[order])

    def _extra(
        self,
        events: BehaviourEvents,
        reference: int,
        half_life_days: float | None,
        tag_weight: float,
        text_weight: float,
    ) -> DataFrame | None:
        """The users' own tags and mapped texts as ``user_id``, ``interest``, ``raw`` rows (these tables are already on
        the driver: the vocabulary and the text mapping need them), or None when there are none."""
        frames = []
        for table, scale, value in ((events.tags, tag_weight, None), (events.texts, text_weight, "similarity")):
            if scale == 0 or table.empty:
                continue
            w = scale * decay_factor(table["timestamp"].to_numpy(), reference, half_life_days)
            if value is not None:
                w = w * table[value].to_numpy(dtype=np.float64)
            frames.append(
                pd.DataFrame(
                    {
                        "user_id": self.user_ids.to_numpy()[table["user"].to_numpy()],
                        "interest": table["interest"].to_numpy(dtype=np.int64),
                        "raw": w,
                    }
                )
            )
        if not frames:
            return None
        schema = T.StructType(
            [
                T.StructField("user_id", self.events.schema["user_id"].dataType),
                T.StructField("interest", T.LongType()),
                T.StructField("raw", T.DoubleType()),
            ]
        )
        return from_pandas(self.spark, pd.concat(frames, ignore_index=True), schema=schema)
