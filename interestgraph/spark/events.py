"""The event log in Spark: read, validate, weight and split every event, as the pandas path does.

:func:`prepare_events` returns a Spark DataFrame with the canonical columns
(``user_id``, ``item_id``, ``timestamp``, ``event``, ``value``, ``text``) plus
``weight`` (float64), ``positive`` (bool), ``part`` (``train``/``valid``/``test``)
and ``row`` (the input order), computed with the same rules as
:meth:`~interestgraph.data.InteractionLog.from_frames`,
:class:`~interestgraph.data.EventWeights` and
:func:`~interestgraph.data.splits.given_split`:

* IDs: integral numbers, and texts that are all canonical integers (``"17"``,
  not ``"007"``), become int64; other texts are stripped strings. When the
  catalog and the log disagree on the kind, both become strings.
* Timestamps: Unix seconds (numbers, numeric text, or Spark timestamps);
  ``timestamp_unit="ms"`` divides by 1,000.
* Refused with a :class:`~interestgraph.errors.DataError` naming the source, the
  column, how many rows and examples: a missing required column, null or empty
  IDs or events, unparseable or negative timestamps, non-numeric or non-finite
  values, negative counts on non-rating events, event types with no weight, a
  ``part`` outside train/valid/test, and (for a given split) a pair with positive
  events in more than one part. Spark reads files in parallel, so messages name
  values rather than file lines.
* Dropped and noted: events on items missing from the catalog
  (``missing_items="drop"``) and identical duplicate rows.
* Split: with a ``part`` column, each positive (user, item) pair takes its
  positive events' part and every event on it follows; other events keep their
  own part (as :func:`~interestgraph.data.splits.given_split`). Without one,
  every event trains (the serving graph, ``all-train``).

Random and per-user temporal protocols (``rs-4``, ``tl-4``) draw their order and
tie-breaks from numpy's generator on one machine; a Spark re-implementation would
give a different split under the same name, so they are not offered here: split
with them in pandas (or upstream) and pass the result as the ``part`` column.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.schema import ITEM_ID, RATING_EVENTS, _CANONICAL_INT
from ..data.splits import PARTS
from ..data.weights import EventWeights
from ..errors import DataError

CANONICAL = ("user_id", ITEM_ID, "timestamp", "event", "value", "text")
_INTEGRAL = (T.ByteType, T.ShortType, T.IntegerType, T.LongType)
_FRACTIONAL = (T.FloatType, T.DoubleType, T.DecimalType)


@dataclass(frozen=True)
class PreparedEvents:
    """Events ready to aggregate.

    Attributes:
        frame: the Spark DataFrame described in the module docstring (cached).
        source: the name used in messages and manifests.
        has_timestamps: whether the input had a ``timestamp`` column.
        given_split: whether the input had a ``part`` column.
        notes: what was dropped, one sentence each.
        item_id_is_text: whether item IDs ended up as strings.
    """

    frame: DataFrame
    source: str
    has_timestamps: bool
    given_split: bool
    notes: tuple[str, ...]
    item_id_is_text: bool


def read_events(spark: SparkSession, source: str | DataFrame, *, format: str | None = None, sep: str | None = None, columns: Mapping[str, str] | None = None) -> tuple[DataFrame, str]:
    """Read an interactions table with Spark: a DataFrame as is, or any path Spark reads.

    Args:
        source: a Spark DataFrame, or a file / directory / glob (``s3a://``,
            ``hdfs://``, local) of Parquet, CSV/TSV (with a header) or JSON lines.
        format: ``parquet``, ``csv`` or ``json`` (None: from the suffix; a
            directory without one is read as Parquet).
        sep: CSV separator (None: tab for ``.tsv``, else comma).
        columns: canonical name -> the file's column name (as :func:`interestgraph.data.read_log`).

    Returns:
        ``(frame, name)``: the raw table and the name used in messages.
    """
    if isinstance(source, DataFrame):
        frame, name = source, "dataframe"
    else:
        name = str(source)
        suffix = Path(name.rstrip("/")).suffix.lower()
        fmt = format or {".parquet": "parquet", ".pq": "parquet", ".csv": "csv", ".tsv": "csv", ".txt": "csv", ".json": "json", ".jsonl": "json"}.get(suffix, "parquet" if suffix == "" else None)
        if fmt not in ("parquet", "csv", "json"):
            raise ValueError(f"format must be 'parquet', 'csv' or 'json' (cannot tell from {name!r}); got {format!r}")
        try:
            if fmt == "csv":
                frame = spark.read.option("header", True).option("sep", sep or ("\t" if suffix == ".tsv" else ",")).option("mode", "FAILFAST").csv(name)
            elif fmt == "json":
                frame = spark.read.option("mode", "FAILFAST").json(name)
            else:
                frame = spark.read.parquet(name)
        except Exception as exc:  # AnalysisException (missing path), Py4JJavaError (unreadable file)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{name}: Spark cannot read it as {fmt} ({first[:300]})") from None
    for canon, column in (columns or {}).items():
        if column not in frame.columns:
            raise DataError(f"{name}: the column mapping names missing column {column!r} (for {canon!r}; columns present: {', '.join(frame.columns)})")
        frame = frame.withColumnRenamed(column, canon)
    return frame, name


def _id_column(frame: DataFrame, column: str) -> tuple[Column, Column, bool]:
    """``(canonical value, is-bad flag, is_text)`` for an ID column (see the module docstring)."""
    kind = frame.schema[column].dataType
    raw = F.col(column)
    if isinstance(kind, T.BooleanType):
        return raw.cast("string"), F.lit(True), True
    if isinstance(kind, _INTEGRAL):
        return raw.cast("long"), raw.isNull(), False
    if isinstance(kind, _FRACTIONAL):
        integral = frame.select(F.min(F.when(raw.isNull() | (raw != F.floor(raw)) | F.isnan(raw.cast("double")), 0).otherwise(1)).alias("ok")).first()["ok"]
        if integral in (1, None):
            return raw.cast("long"), raw.isNull(), False
        return raw.cast("string"), raw.isNull(), True
    text = F.trim(raw.cast("string"))
    bad = raw.isNull() | (text == "")
    all_int = frame.select(F.min(F.when(F.trim(raw.cast("string")).rlike(f"^({_CANONICAL_INT})$"), 1).otherwise(0)).alias("ok")).first()["ok"]
    if all_int == 1:
        return text.cast("long"), bad, False
    return text, bad, True


def _timestamp_column(frame: DataFrame, unit: str) -> tuple[Column, Column]:
    """``(Unix seconds as long, is-bad flag)``: numbers, numeric text or Spark timestamps; nulls and negatives are bad."""
    kind = frame.schema["timestamp"].dataType
    raw = F.col("timestamp")
    if isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        seconds = F.unix_timestamp(raw.cast("timestamp")).cast("double")
    else:
        seconds = raw.cast("double")
        if unit == "ms":
            seconds = seconds / 1000.0
    bad = seconds.isNull() | F.isnan(seconds) | (seconds < 0)
    return F.floor(seconds).cast("long"), bad


def _weights(weights: EventWeights) -> tuple[Column, Column]:
    """``(weight, positive)`` columns of :meth:`EventWeights.apply` over ``event`` and ``value``."""
    base = F.lit(None).cast("double")
    for name, value in weights.events.items():
        base = F.when(F.col("event") == name, F.lit(float(value))).otherwise(base)
    value = F.col("value")
    threshold = float(weights.positive_threshold)
    is_rating = F.col("event").isin(list(weights.rating_events)) if weights.rating_events else F.lit(False)
    above = value >= threshold
    if weights.rating_weight == "binary":
        rating_pos, rating_neg = base, -base
    else:
        rating_pos, rating_neg = base * (value - threshold + 1.0), -base * (threshold - value)
    rating_w = F.when(above, rating_pos).otherwise(rating_neg if weights.negative == "negative" else F.lit(0.0))
    if weights.count_weight == "binary":
        count_w = base * F.when(value > 0, 1.0).otherwise(0.0)
    elif weights.count_weight == "log":
        count_w = base * F.log2(1.0 + F.greatest(value, F.lit(0.0)))
    else:
        count_w = base * value
    weight = F.when(is_rating, rating_w).otherwise(count_w)
    positive = F.when(is_rating, above & (base > 0)).otherwise(count_w > 0)
    return weight, positive


def _examples(frame: DataFrame, condition: Column, column: str, limit: int = 3) -> str:
    values = [row[0] for row in frame.where(condition).select(F.col(column).cast("string")).limit(limit).collect()]
    return ", ".join(repr(v) for v in values)


def prepare_events(
    spark: SparkSession,
    source: str | DataFrame,
    catalog_ids: pd.Series | None,
    *,
    weights: EventWeights | None = None,
    format: str | None = None,
    sep: str | None = None,
    columns: Mapping[str, str] | None = None,
    default_event: str = "interaction",
    timestamp_unit: str = "s",
    missing_items: str = "drop",
    catalog_name: str = "catalog",
) -> PreparedEvents:
    """Read, validate, weight and split the events (see the module docstring).

    Args:
        catalog_ids: the canonical catalog's ``item_id`` column (int64 or str); None when there is no
            catalog (every logged item is known).
        weights: event weights (default :class:`EventWeights`).
        missing_items: ``"drop"`` (noted) or ``"error"`` for events on items not in the catalog.
    """
    weights = weights or EventWeights()
    if missing_items not in ("drop", "error"):
        raise ValueError(f"missing_items must be 'drop' or 'error', got {missing_items!r}")
    if timestamp_unit not in ("s", "ms"):
        raise ValueError(f"timestamp_unit must be 's' or 'ms', got {timestamp_unit!r}")
    raw, name = read_events(spark, source, format=format, sep=sep, columns=columns)
    missing = [c for c in ("user_id", ITEM_ID) if c not in raw.columns]
    if missing:
        raise DataError(f"{name}: missing required column(s) {', '.join(map(repr, missing))} (columns: {', '.join(raw.columns)}); rename with columns={{...}}")
    raw = raw.withColumn("row", F.monotonically_increasing_id())

    user, user_bad, _ = _id_column(raw, "user_id")
    item, item_bad, item_text = _id_column(raw, ITEM_ID)
    catalog_text = item_text if catalog_ids is None else catalog_ids.dtype.kind not in "iu"
    if item_text != catalog_text:  # the pandas path's rule: strings on both sides when the kinds disagree
        item, item_text = item.cast("string"), True
        catalog_ids = catalog_ids.astype(str)
    has_timestamps = "timestamp" in raw.columns
    if has_timestamps:
        stamp, stamp_bad = _timestamp_column(raw, timestamp_unit)
    else:
        stamp, stamp_bad = F.lit(0).cast("long"), F.lit(False)
    if "event" in raw.columns:
        event = F.lower(F.trim(F.col("event").cast("string")))
        event_bad = F.col("event").isNull() | (event == "")
    else:
        if not isinstance(default_event, str) or not default_event.strip():
            raise ValueError(f"default_event must be a non-empty string, got {default_event!r}")
        event, event_bad = F.lit(default_event.strip().lower()), F.lit(False)
    if "value" in raw.columns:
        value = F.col("value").cast("double")
        value_unparsed = F.col("value").isNotNull() & value.isNull()
        value_nonfinite = value.isNull() | F.isnan(value) | (F.abs(value) == float("inf"))
    else:
        value, value_unparsed, value_nonfinite = F.lit(1.0), F.lit(False), F.lit(False)
    text = F.trim(F.col("text").cast("string")) if "text" in raw.columns else F.lit(None).cast("string")
    text = F.when(text == "", F.lit(None).cast("string")).otherwise(text)
    given = "part" in raw.columns
    part = F.lower(F.trim(F.col("part").cast("string"))) if given else F.lit("train")

    frame = raw.select(
        user.alias("user_id"), item.alias(ITEM_ID), stamp.alias("timestamp"), event.alias("event"), value.alias("value"), text.alias("text"),
        part.alias("part"), F.col("row"),
        user_bad.alias("_bad_user"), item_bad.alias("_bad_item"), stamp_bad.alias("_bad_time"), event_bad.alias("_bad_event"),
        value_unparsed.alias("_bad_value_text"), value_nonfinite.alias("_bad_value"),
    ).cache()
    checked = frame
    try:
        known_events = list(weights.events)
        rating_events = list(RATING_EVENTS)
        checks = {
            "user_id": (F.col("_bad_user"), "null or empty IDs"),
            ITEM_ID: (F.col("_bad_item"), "null or empty IDs"),
            "timestamp": (F.col("_bad_time"), "missing, unparseable or negative timestamps (Unix seconds expected)"),
            "event": (F.col("_bad_event"), "null or empty values"),
            "value": (F.col("_bad_value_text"), "non-numeric values"),
            "value ": (F.col("_bad_value") & ~F.col("_bad_value_text"), "missing, NaN or infinite values"),
            "value  ": ((F.col("value") < 0) & ~F.col("event").isin(rating_events) & ~F.col("_bad_value"), "negative counts on non-rating events (counts must be >= 0)"),
            "event ": (~F.col("event").isin(known_events) & ~F.col("_bad_event"), "event types with no weight (add them to EventWeights.events)"),
        }
        if given:
            checks["part"] = (~F.col("part").isin(list(PARTS)) | F.col("part").isNull(), f"values outside {', '.join(PARTS)}")
        counts = frame.select(*[F.sum(F.when(cond, 1).otherwise(0)).alias(f"c{k}") for k, (cond, _) in enumerate(checks.values())], F.count(F.lit(1)).alias("n")).first()
        if counts["n"] == 0:
            raise DataError(f"{name}: no interactions (the table has no rows)")
        for k, (column, (cond, what)) in enumerate(checks.items()):
            bad = counts[f"c{k}"] or 0
            if bad:
                shown = column.strip()
                example = "" if shown in ("user_id", ITEM_ID) else f" (e.g. {_examples(frame, cond, shown)})"
                raise DataError(f"{name}: column {shown!r} has {bad:,} {what}{example}")
        frame = frame.drop(*[c for c in frame.columns if c.startswith("_bad_")])

        notes: list[str] = []
        n_unknown = 0
        if catalog_ids is not None:
            ids = from_pandas_ids(spark, catalog_ids)
            unknown = frame.join(F.broadcast(ids), on=ITEM_ID, how="left_anti")
            n_unknown = unknown.count()
        if n_unknown:
            sample = ", ".join(repr(r[0]) for r in unknown.select(ITEM_ID).distinct().limit(3).collect())
            what = f"{name}: {n_unknown:,} interactions refer to items not in {catalog_name} (column 'item_id', e.g. {sample})"
            if missing_items == "error":
                raise DataError(what + "; pass missing_items='drop' to drop them")
            notes.append("dropped " + what.split(": ", 1)[1])
            frame = frame.join(F.broadcast(ids), on=ITEM_ID, how="left_semi")
        n_kept = counts["n"] - n_unknown
        frame = frame.dropDuplicates([*CANONICAL, "part"])

        weight, positive = _weights(weights)
        frame = frame.withColumn("weight", weight).withColumn("positive", positive)
        if given:
            pair_parts = frame.where(F.col("positive")).groupBy("user_id", ITEM_ID).agg(F.countDistinct("part").alias("n_parts"), F.first("part").alias("pair_part"))
            conflicts = pair_parts.where(F.col("n_parts") > 1)
            n_conflicts = conflicts.count()
            if n_conflicts:
                example = conflicts.select("user_id", ITEM_ID).first()
                raise DataError(f"{name}: {n_conflicts:,} (user, item) pairs have positive events in more than one part (e.g. user {example[0]!r}, item {example[1]!r}); a pair belongs to one part")
            frame = (frame.join(pair_parts.select("user_id", ITEM_ID, "pair_part"), on=["user_id", ITEM_ID], how="left")
                     .withColumn("part", F.coalesce(F.col("pair_part"), F.col("part"))).drop("pair_part"))
        prepared = frame.select(*CANONICAL, "weight", "positive", "part", "row").cache()
        n_unique = prepared.count()
        if n_unique < n_kept:
            notes.append(f"dropped {n_kept - n_unique:,} duplicate interaction rows")
    finally:
        checked.unpersist()  # the prepared frame is cached on its own
    return PreparedEvents(frame=prepared, source=name, has_timestamps=has_timestamps, given_split=given, notes=tuple(notes), item_id_is_text=item_text)


def from_pandas_ids(spark: SparkSession, ids: pd.Series) -> DataFrame:
    """A one-column Spark DataFrame ``item_id`` of catalog IDs (long or string)."""
    from .session import from_pandas

    kind = T.LongType() if ids.dtype.kind in "iu" else T.StringType()
    values = ids.to_numpy().astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(str).to_numpy().astype(object)
    return from_pandas(spark, pd.DataFrame({ITEM_ID: values}), schema=T.StructType([T.StructField(ITEM_ID, kind, False)]))
