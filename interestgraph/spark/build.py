"""``build_interest_graph_spark``: the graph build with Spark doing the log-sized work.

What runs where:

==========================  ==========  ===========================================
step                        where       what
==========================  ==========  ===========================================
read, validate, weight,     Spark       every event (:mod:`.events`)
split
collect the split log       → driver    the graph directory stores it (Arrow)
interest points, encoding,  driver      catalog-, vocabulary- and text-sized
text mapping, kNN edges                 (the pandas path's own code)
user–item, ``w(v|u)``       Spark       joins and group-bys (:mod:`.aggregate`)
write                       driver      the same directory as ``InterestGraph.save``
==========================  ==========  ===========================================

The result equals :func:`~interestgraph.graph.build_interest_graph` on the same
events and split, edge for edge and weight for weight (float32 tolerance; the
tests check it), and is saved in the same on-disk format, so ``train``,
``evaluate`` and ``show`` take it unchanged. The driver holds the finished graph,
split log included, as training does.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame, SparkSession

from ..data.readers import read_table, split_list_fields
from ..data.schema import ITEM_ID, TITLE, InteractionLog, resolve_catalog
from ..data.splits import PARTS, Protocol, Split, base_protocol_params, part_column
from ..errors import DataError
from ..graph.build import build_interest_graph
from ..graph.config import GraphConfig
from ..graph.interest_graph import InterestGraph
from ..progress import progress
from .aggregate import SparkAggregation
from .events import CANONICAL, prepare_events
from .session import to_pandas


def read_catalog(
    items: str | os.PathLike | pd.DataFrame | DataFrame | None,
    *,
    list_fields: Mapping[str, str | None] | None = None,
    interest_fields: Sequence[str] | None = None,
    text_fields: Sequence[str] | None = None,
    item_columns: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame | None, tuple, tuple, str]:
    """The catalog on the driver in canonical form: ``(items, interest_fields, text_fields, name)``.

    ``items`` is a file our readers take (CSV/TSV/JSON lines/Parquet), a pandas or
    Spark DataFrame, or None (a bare catalog of the logged item IDs is made later).
    ``list_fields`` splits delimited cells into label lists (``{"genres": "|"}``);
    ``item_columns`` renames the file's columns to canonical ones (``{"item_id": "movieId"}``).
    """
    if items is None:
        if list_fields or item_columns:
            raise ValueError("list_fields and item_columns need an items catalog (items=...)")
        return None, (), (TITLE,), "catalog"
    if isinstance(items, DataFrame):
        table, name = to_pandas(items), "catalog (Spark DataFrame)"
    elif isinstance(items, pd.DataFrame):
        table, name = items, "catalog"
    else:
        table, _, name = read_table(items, columns=item_columns)
    if item_columns and not isinstance(items, (str, os.PathLike)):
        from ..data.readers import rename_columns

        table = rename_columns(table, item_columns, name)
    if list_fields:
        table = split_list_fields(table, list_fields, name)
        interest_fields = tuple(list_fields) if interest_fields is None else interest_fields
    catalog, interests, texts = resolve_catalog(table, name, interest_fields, text_fields, None)
    return catalog.sort_values(ITEM_ID, kind="stable").reset_index(drop=True), tuple(interests), tuple(texts), name


def build_interest_graph_spark(
    interactions: str | os.PathLike | DataFrame,
    items: str | os.PathLike | pd.DataFrame | DataFrame | None = None,
    config: GraphConfig | None = None,
    *,
    spark: SparkSession | None = None,
    encoder=None,
    split_name: str | None = None,
    protocol: Protocol | Mapping | None = None,
    cold_items: Sequence | None = None,
    format: str | None = None,
    columns: Mapping[str, str] | None = None,
    list_fields: Mapping[str, str | None] | None = None,
    interest_fields: Sequence[str] | None = None,
    text_fields: Sequence[str] | None = None,
    item_columns: Mapping[str, str] | None = None,
    default_event: str = "interaction",
    timestamp_unit: str = "s",
    missing_items: str = "drop",
) -> InterestGraph:
    """Build the interest graph with Spark (see the module docstring).

    Args:
        interactions: a Spark DataFrame, or any path Spark reads (Parquet, CSV/TSV
            with a header, JSON lines) with the canonical columns ``user_id``,
            ``item_id`` and optionally ``timestamp`` (Unix seconds), ``event``,
            ``value``, ``text`` and ``part`` (a given split: ``train``/``valid``/``test``).
        items: the catalog (see :func:`read_catalog`).
        config: build settings (:class:`~interestgraph.graph.GraphConfig`).
        spark: the session (None: :func:`~interestgraph.spark.spark_session`, local mode).
        encoder: the text encoder (None: the default MiniLM).
        split_name: the protocol name recorded for a given ``part`` column
            (default ``"given"``); without a ``part`` column the split is ``all-train``.
        protocol, cold_items: the protocol that made the ``part`` column and its cold
            items (held out of training, ranked at evaluation), so the graph records
            the split as the pandas path does (a temporal protocol, say, switches
            recency on in training). None: read from the Parquet metadata that
            :func:`write_split_events` stores, when ``interactions`` is such a file.
        format, columns: how to read ``interactions`` (:func:`~interestgraph.spark.events.read_events`).
        list_fields, interest_fields, text_fields, item_columns: how to read the catalog (:func:`read_catalog`).
        default_event, timestamp_unit, missing_items: as in :meth:`InteractionLog.from_frames`.
    """
    from .session import spark_session

    config = config or GraphConfig()
    started = time.perf_counter()
    spark = spark or spark_session()
    bar = progress(total=2, desc="spark: events", unit="step")
    catalog, interest_fields, text_fields, catalog_name = read_catalog(
        items,
        list_fields=list_fields,
        interest_fields=interest_fields,
        text_fields=text_fields,
        item_columns=item_columns,
    )
    prepared = prepare_events(
        spark,
        str(interactions) if isinstance(interactions, os.PathLike) else interactions,
        catalog[ITEM_ID] if catalog is not None else None,
        weights=config.weights,
        format=format,
        columns=columns,
        default_event=default_event,
        timestamp_unit=timestamp_unit,
        missing_items=missing_items,
        catalog_name=catalog_name,
    )
    bar.update()
    bar.set_postfix_str("collect")
    table = to_pandas(prepared.frame.orderBy("row")).drop(columns="row")
    bar.update()
    bar.close()
    if protocol is None and cold_items is None:
        protocol, cold_items = split_metadata(interactions)
    if catalog is None:  # a bare catalog of the logged items (no titles), as InteractionLog.from_frames makes one
        catalog = pd.DataFrame({ITEM_ID: np.sort(pd.unique(table[ITEM_ID])), TITLE: ""})
    elif prepared.item_id_is_text and catalog[ITEM_ID].dtype.kind in "iu":
        catalog = (
            catalog.assign(item_id=catalog[ITEM_ID].astype("str"))
            .sort_values(ITEM_ID, kind="stable")
            .reset_index(drop=True)
        )
    try:
        split = _split_of(
            table, catalog, interest_fields, text_fields, prepared, config, split_name, protocol, cold_items
        )
        seconds_events = time.perf_counter() - started
        aggregation = SparkAggregation(spark, prepared.frame, split.log.user_ids, split.log.item_ids)
        graph = build_interest_graph(split, config, encoder=encoder, aggregation=aggregation)
    finally:
        prepared.frame.unpersist()
    graph.build_seconds = {
        "total": round(time.perf_counter() - started, 3),
        "spark_events": round(seconds_events, 3),
        **{k: v for k, v in graph.build_seconds.items() if k != "total"},
    }
    return graph


def _split_of(
    table: pd.DataFrame,
    catalog: pd.DataFrame,
    interest_fields: tuple,
    text_fields: tuple,
    prepared,
    config: GraphConfig,
    split_name: str | None,
    protocol: Protocol | Mapping | None,
    cold_items: Sequence | None,
) -> Split:
    """The collected events as the :class:`Split` the pandas path would hold (same columns, dtypes, protocol,
    candidates and cold items: candidates are the items with a training positive plus the cold items)."""
    inter = pd.DataFrame(
        {
            "user_id": table["user_id"].to_numpy()
            if table["user_id"].dtype.kind in "iu"
            else table["user_id"].astype("str"),
            ITEM_ID: table[ITEM_ID].to_numpy() if table[ITEM_ID].dtype.kind in "iu" else table[ITEM_ID].astype("str"),
            "timestamp": table["timestamp"].to_numpy(dtype=np.int64),
            "event": table["event"].astype("str"),
            "value": table["value"].to_numpy(dtype=np.float64),
            "text": table["text"].astype("str"),
            "weight": table["weight"].to_numpy(dtype=np.float64),
            "positive": table["positive"].to_numpy(dtype=bool),
            "part": part_column(pd.Index(PARTS).get_indexer(table["part"]).astype(np.int8)),
        }
    )
    log = InteractionLog(
        interactions=inter,
        items=catalog,
        interest_fields=interest_fields,
        text_fields=text_fields,
        has_timestamps=prepared.has_timestamps,
        source=prepared.source,
        notes=prepared.notes,
    )
    train_positive = (inter["part"] == "train").to_numpy() & inter["positive"].to_numpy()
    if not train_positive.any():
        raise DataError(f"{prepared.source}: the split left no positive interactions in train")
    if protocol is None:
        name = (split_name or "given") if prepared.given_split else "all-train"
        protocol = Protocol(name, "given", base_protocol_params(config.weights, 1), None)
    elif not isinstance(protocol, Protocol):
        protocol = Protocol.from_dict(protocol)
    if not prepared.given_split and protocol.method != "given":
        raise ValueError(f"protocol: {protocol.name!r} describes a split, but {prepared.source} has no part column")
    cold = pd.Index(list(cold_items or []))
    if len(cold):
        cold = (
            cold.astype(str)
            if log.item_ids.dtype.kind not in "iu" or cold.dtype.kind not in "iu"
            else cold.astype(np.int64)
        )
        codes = log.item_ids.get_indexer(cold)
        if (codes < 0).any():
            raise DataError(
                f"{prepared.source}: cold_items names {int((codes < 0).sum())} items that are not in the catalog (e.g. "
                f"{list(cold[codes < 0][:3])})"
            )
    else:
        codes = np.array([], dtype=np.int64)
    candidate_codes = np.union1d(np.unique(log.item_codes()[train_positive]), codes)
    return Split(
        log=log,
        protocol=protocol,
        candidate_items=log.item_ids[candidate_codes],
        cold_items=log.item_ids[np.sort(codes)],
    )


#: Parquet metadata key under which :func:`write_split_events` stores the protocol and cold items
SPLIT_METADATA_KEY = b"interestgraph.split"


def split_metadata(path) -> tuple[dict | None, list | None]:
    """``(protocol dict, cold item IDs)`` stored by :func:`write_split_events` in a local Parquet file, else
    ``(None, None)``."""
    if isinstance(path, DataFrame) or not Path(str(path)).is_file():
        return None, None
    import pyarrow.parquet as pq

    try:
        metadata = pq.read_schema(str(path)).metadata or {}
    except Exception:
        return None, None
    if SPLIT_METADATA_KEY not in metadata:
        return None, None
    stored = json.loads(metadata[SPLIT_METADATA_KEY])
    return stored["protocol"], stored["cold_items"]


def write_split_events(split: Split, path: str | os.PathLike) -> Path:
    """Write a split's events with their ``part`` column as one Parquet file (canonical columns + ``part``), the
    input :func:`build_interest_graph_spark` takes for a split made in pandas (``rs-4``, ``tl-4``, ``cold-4``, ...);
    the protocol and the cold items travel in the file's metadata (:data:`SPLIT_METADATA_KEY`)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    path = Path(path)
    inter = split.log.interactions
    frame = inter[list(CANONICAL)].assign(part=inter["part"].astype("str"))
    table = pa.Table.from_pandas(frame, preserve_index=False)
    stored = {
        "protocol": split.protocol.to_dict(),
        "cold_items": [v.item() if hasattr(v, "item") else v for v in split.cold_items],
    }
    table = table.replace_schema_metadata(
        {**(table.schema.metadata or {}), SPLIT_METADATA_KEY: json.dumps(stored).encode()}
    )
    pq.write_table(table, path)
    return path
