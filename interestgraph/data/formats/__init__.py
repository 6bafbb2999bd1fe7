"""Format adapters, and one entry point that loads any supported source by format name.

=============  ==========================================================  ==================
format         SOURCE (and ``items``)                                       returns a split?
=============  ==========================================================  ==================
movielens      a MovieLens folder (latest/25m CSV, 100k, 1m layouts)        no
amazon         Amazon Reviews 2018 reviews JSON lines; ``items`` = metadata  no
lightgcn       a folder with LightGCN's train.txt / test.txt                yes (given split)
csv            any CSV/TSV/Parquet/JSON-lines table + mapping; ``items``     no
dataset        a directory written by :func:`~interestgraph.data.save_dataset`  no
synthetic      none (the embedded default; sized by a SyntheticConfig)      no
=============  ==========================================================  ==================
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ..schema import InteractionLog
from ..splits import Split

FORMATS = ("movielens", "amazon", "lightgcn", "csv", "dataset", "synthetic")


@dataclass(frozen=True, eq=False)
class LoadedSource:
    """A loaded log, plus the split it came with (LightGCN files) or None."""

    log: InteractionLog
    given_split: Split | None = None


def load_source(
    source: str | os.PathLike | None,
    format: str,
    *,
    items: str | os.PathLike | None = None,
    columns: Mapping[str, str] | None = None,
    item_columns: Mapping[str, str] | None = None,
    list_fields: Mapping[str, str | None] | None = None,
    default_event: str = "interaction",
    synthetic: Mapping[str, Any] | None = None,
    encoding: str | None = None,
) -> LoadedSource:
    """Load ``source`` in the named ``format`` (see the module table).

    Args:
        source: a file or folder (ignored for ``synthetic``).
        format: one of :data:`FORMATS`.
        items: the catalog file (``csv``) or metadata file (``amazon``).
        columns, item_columns, list_fields: the mapping for ``csv`` (see
            :func:`~interestgraph.data.read_log`).
        default_event: ``csv``: the event type when the table has no event
            column (``rating`` for a table of star ratings).
        synthetic: :class:`~interestgraph.data.SyntheticConfig` fields for ``synthetic``.
        encoding: ``csv``: the text encoding of csv / tsv / jsonl files (default UTF-8, a byte-order mark skipped);
            the other formats know their own and refuse it.
    """
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}; got {format!r}")
    if format == "synthetic":
        from ..synthetic import generate_synthetic

        return LoadedSource(generate_synthetic(**dict(synthetic or {})).log)
    if source is None:
        raise ValueError(f"format {format!r} needs a SOURCE path")
    if encoding is not None and format != "csv":
        raise ValueError(f"encoding= applies to format 'csv' only (format {format!r} knows its own); got {encoding!r}")
    if format == "movielens":
        from .movielens import load_movielens

        return LoadedSource(load_movielens(source))
    if format == "amazon":
        from .amazon import load_amazon

        return LoadedSource(load_amazon(source, items))
    if format == "lightgcn":
        from .lightgcn import load_lightgcn

        split = load_lightgcn(source)
        return LoadedSource(split.log, split)
    if format == "dataset":
        from ..storage import load_dataset

        return LoadedSource(load_dataset(source))
    from ..readers import read_log

    return LoadedSource(
        read_log(
            source,
            items,
            columns=columns,
            item_columns=item_columns,
            list_fields=list_fields,
            default_event=default_event,
            encoding=encoding or "utf-8",
        )
    )
