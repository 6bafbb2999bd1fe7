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
  Text is stripped the way Python's ``str.strip()`` strips it (tabs, no-break
  spaces), not only of ASCII spaces as Spark's ``trim``.
* Timestamps, one reading per column: numbers or numeric text are Unix seconds
  (``timestamp_unit="ms"``: milliseconds), other text is ISO 8601, timestamp and
  date columns are converted; the exact (sub-second) time tells duplicates apart,
  the stored time is floored to seconds.
* Refused with a :class:`~interestgraph.errors.DataError` naming the source, the
  column, how many rows and examples: a missing required column, null or empty
  IDs or events, unparseable, negative or future timestamps (with a hint when
  they look like milliseconds), ``YYYYMMDD`` numbers, non-numeric or non-finite
  values, negative counts on non-rating events, event types with no weight (on
  items the catalog has), a ``part`` outside train/valid/test, a file Spark
  cannot parse, and (for a given split) a pair with positive events in more than
  one part. Casts are ``try_cast``, so Spark 4's ANSI mode never turns a bad
  cell into a Java exception. Spark reads files in parallel, so messages name
  values rather than file lines.
* Dropped and noted: events on items missing from the catalog
  (``missing_items="drop"``) and identical duplicate rows (compared after the
  parts are settled).
* CSV is read with RFC 4180 quoting (doubled quotes, quoted newlines), as pandas
  reads it.
* Split: with a ``part`` column, each positive (user, item) pair takes its
  positive events' part and every event on it follows; other events keep their
  own part (as :func:`~interestgraph.data.splits.given_split`). Without one,
  every event trains (the serving graph, ``all-train``).

Random and per-user temporal protocols (``rs-4``, ``tl-4``, ``cold-4``) draw their
order and tie-breaks from numpy's generator on one machine; a Spark re-implementation
would give a different split under the same name, so they are not offered here: split
with them in pandas (or upstream) and pass the result as the ``part`` column
(:func:`~interestgraph.spark.write_split_events` also stores the protocol and the cold
items in the file's metadata, so the graph records the split exactly).
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T

from ..data.schema import CANONICAL_INT_ID, FUTURE_SLACK_SECONDS, ITEM_ID, RATING_EVENTS
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


def read_events(
    spark: SparkSession,
    source: str | DataFrame,
    *,
    format: str | None = None,
    sep: str | None = None,
    columns: Mapping[str, str] | None = None,
) -> tuple[DataFrame, str]:
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
        fmt = format or {
            ".parquet": "parquet",
            ".pq": "parquet",
            ".csv": "csv",
            ".tsv": "csv",
            ".txt": "csv",
            ".json": "json",
            ".jsonl": "json",
        }.get(suffix, "parquet" if suffix == "" else None)
        if fmt not in ("parquet", "csv", "json"):
            raise ValueError(f"format must be 'parquet', 'csv' or 'json' (cannot tell from {name!r}); got {format!r}")
        try:
            if fmt == "csv":
                frame = (
                    spark.read.option("header", True)
                    .option("sep", sep or ("\t" if suffix == ".tsv" else ","))
                    .option("mode", "FAILFAST")
                    .option("escape", '"')
                    .option("multiLine", True)
                    .csv(name)
                )  # RFC 4180 quoting, as pandas reads it
            elif fmt == "json":
                frame = spark.read.option("mode", "FAILFAST").json(name)
            else:
                frame = spark.read.parquet(name)
        except Exception as exc:  # AnalysisException (missing path), Py4JJavaError (unreadable file)
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{name}: Spark cannot read it as {fmt} ({first[:300]})") from None
    for canon, column in (columns or {}).items():
        if column not in frame.columns:
            raise DataError(
                f"{name}: the column mapping names missing column {column!r} (for {canon!r}; columns present: "
                f"{', '.join(frame.columns)})"
            )
        frame = frame.withColumnRenamed(column, canon)
    return frame, name


#: Python's ``str.strip()`` whitespace (Spark's ``trim`` strips only ASCII spaces)
_STRIP = r"(?U)^[\s\x{1c}-\x{1f}]+|[\s\x{1c}-\x{1f}]+$"


def _strip(column: Column) -> Column:
    """``column`` as text with leading and trailing whitespace removed the way Python's ``str.strip()`` does."""
    return F.regexp_replace(column.cast("string"), _STRIP, "")


def _id_column(frame: DataFrame, column: str) -> tuple[Column, Column, bool]:
    """``(canonical value, is-bad flag, is_text)`` for an ID column (see the module docstring)."""
    kind = frame.schema[column].dataType
    raw = F.col(column)
    if isinstance(kind, T.BooleanType):
        return raw.cast("string"), F.lit(True), True
    if isinstance(kind, _INTEGRAL):
        return raw.cast("long"), raw.isNull(), False
    if isinstance(kind, _FRACTIONAL):
        number = raw.cast("double")
        bad = raw.isNull() | F.isnan(number) | (F.abs(number) == float("inf"))
        integral = frame.select(
            F.min(F.when(bad, 1).when((number != F.floor(number)) | (F.abs(number) >= 2.0**62), 0).otherwise(1)).alias(
                "ok"
            )
        ).first()["ok"]
        if integral in (1, None):
            return number.cast("long"), bad, False
        return raw.cast("string"), bad, True
    text = _strip(raw)
    bad = raw.isNull() | (text == "")
    all_int = frame.select(F.min(F.when(text.rlike(f"^({CANONICAL_INT_ID})$"), 1).otherwise(0)).alias("ok")).first()[
        "ok"
    ]
    if all_int == 1:
        return text.cast("long"), bad, False
    return text, bad, True


def _timestamp_column(frame: DataFrame, unit: str) -> tuple[Column, bool]:
    """``(exact Unix seconds as double, numeric reading)``, read as :func:`~interestgraph.data.schema.parse_timestamps`
    reads a column: one reading per column; numbers (or text that is all numbers) are Unix seconds (milliseconds with
    ``unit="ms"``), other text is ISO 8601, timestamp and date columns are converted. Unparseable values are null."""
    kind = frame.schema["timestamp"].dataType
    raw = F.col("timestamp")
    divisor = 1000.0 if unit == "ms" else 1.0
    if isinstance(kind, (T.TimestampType, T.TimestampNTZType, T.DateType)):
        return F.unix_micros(raw.cast("timestamp")) / 1e6, False
    if isinstance(kind, (*_INTEGRAL, *_FRACTIONAL)):
        return raw.cast("double") / divisor, True
    text = _strip(raw)
    number = text.try_cast("double")
    iso = F.unix_micros(F.try_to_timestamp(text)) / 1e6
    words = frame.select(
        F.max(F.when(raw.isNotNull() & number.isNull() & iso.isNotNull(), 1).otherwise(0)).alias("iso")
    ).first()["iso"]
    if words == 1:  # an ISO column: every value is read as a date
        return iso, False
    return number / divisor, True


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
        raise DataError(
            f"{name}: missing required column(s) {', '.join(map(repr, missing))} (columns: {', '.join(raw.columns)}); "
            f"rename with columns={{...}}"
        )
    # parsed once: the column-kind passes, the checks and the weighting all read this cache, and a file Spark
    # cannot parse (malformed CSV/JSON, unreadable Parquet) fails here, as one DataError
    raw = raw.withColumn("row", F.monotonically_increasing_id()).cache()
    try:
        n_rows = raw.count()
    except Exception as exc:
        raw.unpersist()
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DataError(f"{name}: Spark could not read or parse it ({first[:300]})") from None
    if n_rows == 0:
        raw.unpersist()
        raise DataError(f"{name}: no interactions (the table has no rows)")
    try:
        user, user_bad, _ = _id_column(raw, "user_id")
        item, item_bad, item_text = _id_column(raw, ITEM_ID)
        catalog_text = item_text if catalog_ids is None else catalog_ids.dtype.kind not in "iu"
        if item_text != catalog_text:  # the pandas path's rule: strings on both sides when the kinds disagree
            item, item_text = item.cast("string"), True
            catalog_ids = catalog_ids.astype(str)
        has_timestamps = "timestamp" in raw.columns
        if has_timestamps:
            exact, numeric_time = _timestamp_column(raw, timestamp_unit)
        else:
            exact, numeric_time = F.lit(0.0), False
        if "event" in raw.columns:
            event = F.lower(_strip(F.col("event")))
            event_bad = F.col("event").isNull() | (event == "")
        else:
            if not isinstance(default_event, str) or not default_event.strip():
                raise ValueError(f"default_event must be a non-empty string, got {default_event!r}")
            event, event_bad = F.lit(default_event.strip().lower()), F.lit(False)
        if "value" in raw.columns:
            value = (
                F.col("value").try_cast("double")
                if isinstance(raw.schema["value"].dataType, T.StringType)
                else F.col("value").cast("double")
            )
            value_unparsed = F.col("value").isNotNull() & value.isNull()
            value_nonfinite = value.isNull() | F.isnan(value) | (F.abs(value) == float("inf"))
        else:
            value, value_unparsed, value_nonfinite = F.lit(1.0), F.lit(False), F.lit(False)
        text = _strip(F.col("text")) if "text" in raw.columns else F.lit(None).cast("string")
        text = F.when(text == "", F.lit(None).cast("string")).otherwise(text)
        given = "part" in raw.columns
        part = F.lower(_strip(F.col("part"))) if given else F.lit("train")

        frame = raw.select(
            user.alias("user_id"),
            item.alias(ITEM_ID),
            exact.alias("_exact"),
            event.alias("event"),
            value.alias("value"),
            text.alias("text"),
            part.alias("part"),
            F.col("row"),
            (F.col("timestamp").cast("string") if has_timestamps else F.lit(None).cast("string")).alias("_raw_time"),
            user_bad.alias("_bad_user"),
            item_bad.alias("_bad_item"),
            event_bad.alias("_bad_event"),
            value_unparsed.alias("_bad_value_text"),
            value_nonfinite.alias("_bad_value"),
        )
        if catalog_ids is not None:  # a flag, so unknown event types on items about to be dropped are not refused
            ids = from_pandas_ids(spark, catalog_ids).withColumn("_known", F.lit(True))
            frame = frame.join(F.broadcast(ids), on=ITEM_ID, how="left").withColumn(
                "_known", F.coalesce(F.col("_known"), F.lit(False))
            )
        else:
            frame = frame.withColumn("_known", F.lit(True))
        known_events = list(weights.events)
        rating_events = list(RATING_EVENTS)
        stamp = F.col("_exact")
        latest = time.time() + FUTURE_SLACK_SECONDS
        checks = {
            "user_id": (F.col("_bad_user"), "null or empty IDs"),
            ITEM_ID: (F.col("_bad_item"), "null or empty IDs"),
            "timestamp": (
                stamp.isNull() | F.isnan(stamp),
                "missing or unparseable timestamps (expected Unix seconds or ISO 8601 dates, one kind per column)",
            ),
            "timestamp ": (stamp < 0, "negative timestamps (before 1970-01-01)"),
            "timestamp  ": (stamp > latest, "timestamps in the future (more than a day from now)"),
            "event": (F.col("_bad_event"), "null or empty values"),
            "value": (F.col("_bad_value_text"), "non-numeric values"),
            "value ": (F.col("_bad_value") & ~F.col("_bad_value_text"), "missing, NaN or infinite values"),
            "value  ": (
                (F.col("value") < 0) & ~F.col("event").isin(rating_events) & ~F.col("_bad_value"),
                "negative counts on non-rating events (counts must be >= 0)",
            ),
            "event ": (
                F.col("_known") & ~F.col("event").isin(known_events) & ~F.col("_bad_event"),
                "event types with no weight (add them to EventWeights.events)",
            ),
        }
        if given:
            checks["part"] = (
                ~F.col("part").isin(list(PARTS)) | F.col("part").isNull(),
                f"values outside {', '.join(PARTS)}",
            )
        summary = [
            *[F.sum(F.when(cond, 1).otherwise(0)).alias(f"c{k}") for k, (cond, _) in enumerate(checks.values())],
            F.sum(F.when(F.col("_known"), 0).otherwise(1)).alias("unknown"),
            F.max(stamp).alias("latest"),
            F.min(
                F.when(stamp.isNull(), 1)
                .when((stamp >= 19000101) & (stamp <= 21001231) & (stamp == F.floor(stamp)), 1)
                .otherwise(0)
            ).alias("yyyymmdd"),
        ]
        counts = frame.select(*summary).first()
        for k, (column, (cond, what)) in enumerate(checks.items()):
            bad = counts[f"c{k}"] or 0
            if bad:
                shown = column.strip()
                example = (
                    ""
                    if shown in ("user_id", ITEM_ID)
                    else f" (e.g. {_examples(frame, cond, '_raw_time' if shown == 'timestamp' else shown)})"
                )
                hint = (
                    "; are they milliseconds? pass timestamp_unit='ms'"
                    if column == "timestamp  "
                    and numeric_time
                    and timestamp_unit == "s"
                    and (counts["latest"] or 0) > 1e11
                    else ""
                )
                raise DataError(f"{name}: column {shown!r} has {bad:,} {what}{example}{hint}")
        if has_timestamps and numeric_time and counts["yyyymmdd"] == 1:
            sample = frame.select(F.col("_exact").cast("long")).first()[0]
            dates = frame.select(
                F.min(
                    F.when(F.to_date(F.col("_exact").cast("long").cast("string"), "yyyyMMdd").isNull(), 0).otherwise(1)
                )
            ).first()[0]
            if dates == 1:
                raise DataError(
                    f"{name}: column 'timestamp' holds numbers like {sample} that look like YYYYMMDD dates, not Unix "
                    "seconds; convert them to ISO dates (2024-01-31) or Unix seconds"
                )
        frame = frame.drop("_raw_time", *[c for c in frame.columns if c.startswith("_bad_")])

        notes: list[str] = []
        n_unknown = counts["unknown"] or 0
        if n_unknown:
            sample = ", ".join(
                repr(r[0]) for r in frame.where(~F.col("_known")).select(ITEM_ID).distinct().limit(3).collect()
            )
            what = (
                f"{name}: {n_unknown:,} interactions refer to items not in {catalog_name} (column 'item_id', e.g. "
                f"{sample})"
            )
            if missing_items == "error":
                raise DataError(what + "; pass missing_items='drop' to drop them")
            notes.append("dropped " + what.split(": ", 1)[1])
            frame = frame.where(F.col("_known"))
        n_kept = n_rows - n_unknown

        weight, positive = _weights(weights)
        frame = frame.withColumn("weight", weight).withColumn("positive", positive)
        if given:
            pair_parts = (
                frame.where(F.col("positive"))
                .groupBy("user_id", ITEM_ID)
                .agg(F.countDistinct("part").alias("n_parts"), F.first("part").alias("pair_part"))
            )
            conflicts = pair_parts.where(F.col("n_parts") > 1)
            n_conflicts = conflicts.count()
            if n_conflicts:
                example = conflicts.select("user_id", ITEM_ID).first()
                raise DataError(
                    f"{name}: {n_conflicts:,} (user, item) pairs have positive events in more than one part (e.g. user "
                    f"{example[0]!r}, item {example[1]!r}); a pair belongs to one part"
                )
            frame = (
                frame.join(pair_parts.select("user_id", ITEM_ID, "pair_part"), on=["user_id", ITEM_ID], how="left")
                .withColumn("part", F.coalesce(F.col("pair_part"), F.col("part")))
                .drop("pair_part")
            )
        # identical events (to the exact time, as the pandas reader compares them) after the parts are settled
        frame = frame.dropDuplicates(["user_id", ITEM_ID, "_exact", "event", "value", "text", "part"])
        prepared = frame.select(
            "user_id",
            ITEM_ID,
            F.floor(F.col("_exact")).cast("long").alias("timestamp"),
            "event",
            "value",
            "text",
            "weight",
            "positive",
            "part",
            "row",
        ).cache()
        n_unique = prepared.count()
        if n_unique < n_kept:
            notes.append(f"dropped {n_kept - n_unique:,} duplicate interaction rows")
    finally:
        raw.unpersist()  # the prepared frame is cached on its own
    return PreparedEvents(
        frame=prepared,
        source=name,
        has_timestamps=has_timestamps,
        given_split=given,
        notes=tuple(notes),
        item_id_is_text=item_text,
    )


def from_pandas_ids(spark: SparkSession, ids: pd.Series) -> DataFrame:
    """A one-column Spark DataFrame ``item_id`` of catalog IDs (long or string)."""
    from .session import from_pandas

    kind = T.LongType() if ids.dtype.kind in "iu" else T.StringType()
    values = ids.to_numpy().astype(np.int64) if ids.dtype.kind in "iu" else ids.astype(str).to_numpy().astype(object)
    return from_pandas(
        spark, pd.DataFrame({ITEM_ID: values}), schema=T.StructType([T.StructField(ITEM_ID, kind, False)])
    )
