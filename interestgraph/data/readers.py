"""Read behaviour logs and catalogs from DataFrames, CSV/TSV, Parquet and JSON lines.

The generic path for a user's own files::

    log = read_log(
        "events.csv", items="items.parquet",
        columns={"user_id": "customer", "item_id": "sku", "timestamp": "ts", "event": "action"},
        item_columns={"item_id": "sku", "title": "name"},
        list_fields={"categories": "|"},
    )

``columns`` / ``item_columns`` map canonical names (see
:mod:`interestgraph.data.schema`) to the names in the source; unmapped
canonical names are looked up under their own name. ``list_fields`` names the
catalog columns that hold interest labels and the delimiter that separates
labels in a text cell (Parquet and JSON lists need no delimiter).

Formats are inferred from the file name (``.csv``, ``.tsv``, ``.parquet``,
``.jsonl``, ``.json``, ``.ndjson``, each optionally ``.gz``) or given with
``format=``. A failure raises :class:`~interestgraph.errors.DataError` naming
the file and, for row errors, the file line numbers.
"""

from __future__ import annotations

import csv
import dataclasses
import gzip
import io
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from ..errors import DataError, describe_rows
from .schema import (
    INTERACTION_COLUMNS,
    RATING_EVENTS,
    REQUIRED_INTERACTION_COLUMNS,
    InteractionLog,
    OnDuplicates,
    OnMissingItems,
    column_list,
    require_columns,
)

#: Canonical ID columns, read as text from CSV/TSV so that originals are kept.
ID_COLUMNS = ("user_id", "item_id")
TableFormat = Literal["csv", "tsv", "parquet", "jsonl"]
TableSource = str | os.PathLike | pd.DataFrame

_SUFFIXES: dict[str, TableFormat] = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "jsonl",
}
#: File line of row 0 for each format (header line for CSV/TSV), for error messages.
_LINE_OFFSETS = {"csv": 2, "tsv": 2, "jsonl": 1, "parquet": None}


def infer_format(path: str | os.PathLike) -> TableFormat:
    """The table format from a file name (``.gz`` is looked through)."""
    name = Path(path).name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    for suffix, fmt in _SUFFIXES.items():
        if name.endswith(suffix):
            return fmt
    raise DataError(
        f"{path}: cannot tell the table format from the file name; pass format= one of csv, tsv, parquet, jsonl"
    )


def _open_text(path: Path, encoding: str) -> io.TextIOBase:
    # the caller owns the returned stream (and closes it), so no context manager here
    raw = gzip.open(path, "rb") if path.name.lower().endswith(".gz") else open(path, "rb")  # noqa: SIM115
    return io.TextIOWrapper(raw, encoding=encoding, newline="")


def read_table(
    source: TableSource,
    *,
    format: TableFormat | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    columns: Mapping[str, str] | None = None,
) -> tuple[pd.DataFrame, int | None, str]:
    """Read one table and rename its columns to canonical names.

    Args:
        source: a DataFrame or a file path.
        format: ``csv``, ``tsv``, ``parquet`` or ``jsonl``; inferred from the name when None.
        sep: field delimiter for csv/tsv (default ``,`` / tab).
        encoding: text encoding of csv/tsv/jsonl files (a UTF-8 BOM is skipped).
        columns: canonical name -> source column name.

    Returns:
        ``(table, line_offset, name)``: the table, the file line of its row 0
        (None for DataFrames and Parquet) and a display name for messages.
    """
    if isinstance(source, pd.DataFrame):
        table, line_offset, name = source, None, "dataframe"
    else:
        path = Path(source)
        name = str(path)
        if not path.is_file():
            raise DataError(f"{path}: no such file")
        fmt = format or infer_format(path)
        if fmt not in _LINE_OFFSETS:
            raise ValueError(f"format must be one of csv, tsv, parquet, jsonl; got {fmt!r}")
        if encoding.lower().replace("-", "") == "utf8":
            encoding = "utf-8-sig"  # tolerate a byte-order mark
        line_offset = _LINE_OFFSETS[fmt]
        try:
            if fmt == "parquet":
                table = pd.read_parquet(path)
            elif fmt == "jsonl":
                with _open_text(path, encoding) as handle:
                    table = pd.read_json(handle, lines=True, dtype=False)
            else:
                delimiter = sep or ("\t" if fmt == "tsv" else ",")
                with _open_text(path, encoding) as handle:
                    # IDs are read as text (so "007" stays "007"); only empty cells are missing ("NA" is a value)
                    text_dtypes = {(columns or {}).get(c, c): "str" for c in ID_COLUMNS}
                    table = pd.read_csv(
                        handle,
                        sep=delimiter,
                        engine="c",
                        quoting=csv.QUOTE_MINIMAL,
                        keep_default_na=False,
                        na_values=[""],
                        dtype=text_dtypes,
                    )
        except UnicodeDecodeError as exc:
            raise DataError(
                f"{path}: not valid {encoding} text at byte {exc.start}; pass encoding= (e.g. 'latin-1'), or "
                "--encoding latin-1 on the command line"
            ) from None
        except (ValueError, pd.errors.ParserError, OSError, EOFError) as exc:
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise DataError(f"{path}: cannot read as {fmt}: {first}") from None
        except ImportError as exc:  # pragma: no cover - pyarrow is a core dependency
            raise DataError(f"{path}: reading {fmt} needs an extra package: {exc}") from None
    table = rename_columns(table, columns or {}, name)
    return table, line_offset, name


def rename_columns(table: pd.DataFrame, columns: Mapping[str, str], source: str) -> pd.DataFrame:
    """Rename source columns to canonical names; a mapped source column must exist."""
    missing = [f"{src!r} (for {canon!r})" for canon, src in columns.items() if src not in table.columns]
    if missing:
        have = column_list(table.columns)
        raise DataError(
            f"{source}: column mapping names missing column(s) {', '.join(missing)} (columns present: {have})"
        )
    renames = {src: canon for canon, src in columns.items() if src != canon}
    shadowed = [canon for src, canon in renames.items() if canon in table.columns and canon not in renames]
    if shadowed:
        c = shadowed[0]
        raise DataError(
            f"{source}: column {c!r} is mapped from {columns[c]!r}, but the table also has a column {c!r}; map or "
            "rename that one too"
        )
    return table.rename(columns=renames) if renames else table


def split_list_fields(table: pd.DataFrame, list_fields: Mapping[str, str | None], source: str) -> pd.DataFrame:
    """Turn delimited text cells into lists for each ``field -> delimiter`` (None: cells are lists already)."""
    table = table.copy()
    for field, delimiter in list_fields.items():
        if field not in table.columns:
            raise DataError(
                f"{source}: list field {field!r} is not a column (columns present: {column_list(table.columns)})"
            )
        if delimiter is None:
            continue
        cells = table[field]
        table[field] = [
            list(value)
            if isinstance(value, (list, tuple, np.ndarray))
            else ([] if pd.isna(value) else str(value).split(delimiter))
            for value in cells
        ]
    return table


def _require_interaction_columns(table: pd.DataFrame, name: str) -> None:
    """``require_columns`` for the interactions, with a hint when the one column read is a whole delimited header."""
    try:
        require_columns(table, REQUIRED_INTERACTION_COLUMNS, name)
    except DataError as exc:
        header = str(table.columns[0]) if len(table.columns) == 1 else ""
        other = next((d for d in (";", "\t", "|", ",") if d in header), None)
        if other is None:
            raise
        raise DataError(f"{exc}; the header looks {other!r}-delimited: pass sep={other!r}") from None


def read_log(
    interactions: TableSource,
    items: TableSource | None = None,
    *,
    columns: Mapping[str, str] | None = None,
    item_columns: Mapping[str, str] | None = None,
    list_fields: Mapping[str, str | None] | None = None,
    text_fields: tuple[str, ...] | None = None,
    format: TableFormat | None = None,
    items_format: TableFormat | None = None,
    sep: str | None = None,
    encoding: str = "utf-8",
    default_event: str = "interaction",
    timestamp_unit: Literal["s", "ms"] = "s",
    missing_items: OnMissingItems = "drop",
    duplicates: OnDuplicates = "drop",
) -> InteractionLog:
    """Read an interactions table and an optional catalog into a validated :class:`InteractionLog`.

    See the module docstring for ``columns``, ``item_columns`` and
    ``list_fields``; the remaining options are those of
    :meth:`InteractionLog.from_frames`.
    """
    inter, line_offset, name = read_table(interactions, format=format, sep=sep, encoding=encoding, columns=columns)
    _require_interaction_columns(
        inter, name
    )  # before extra columns are dropped, so the message lists what the file has
    inter = inter[[c for c in INTERACTION_COLUMNS if c in inter.columns]]
    catalog = None
    items_name = None
    items_line_offset = None
    if items is not None:
        catalog, items_line_offset, items_name = read_table(
            items, format=items_format, sep=sep, encoding=encoding, columns=item_columns
        )
        if list_fields:
            catalog = split_list_fields(catalog, list_fields, items_name)
    elif list_fields:
        raise ValueError("list_fields needs an items catalog (items=...)")
    interest_fields = tuple(list_fields) if list_fields else None
    note = implausible_ratings(inter, default_event, name, line_offset)
    log = InteractionLog.from_frames(
        inter,
        catalog,
        interest_fields=interest_fields,
        text_fields=text_fields,
        default_event=default_event,
        timestamp_unit=timestamp_unit,
        missing_items=missing_items,
        duplicates=duplicates,
        source=name,
        items_source=items_name,
        line_offset=line_offset,
        items_line_offset=items_line_offset,
    )
    if note:
        logging.getLogger("interestgraph.data").warning(note)
        log = dataclasses.replace(log, notes=(*log.notes, note))
    return log


#: a rating outside this range gets a note (a generic log states no scale; the default positive threshold, 4,
#: assumes stars)
PLAUSIBLE_RATINGS = (0.0, 10.0)


def implausible_ratings(table: pd.DataFrame, default_event: str, name: str, line_offset: int | None) -> str | None:
    """A note when rating events (``rating``, ``review``) hold values outside :data:`PLAUSIBLE_RATINGS`: how
    many, the first with its line, and why it matters (None when there are none)."""
    if "value" not in table.columns:
        return None
    events = table["event"].astype(str).str.strip().str.lower() if "event" in table.columns else None
    rating = (
        events.isin(RATING_EVENTS).to_numpy()
        if events is not None
        else np.full(len(table), default_event in RATING_EVENTS)
    )
    values = pd.to_numeric(table["value"], errors="coerce").to_numpy(dtype=np.float64)
    low, high = PLAUSIBLE_RATINGS
    with np.errstate(invalid="ignore"):
        odd = rating & ~np.isnan(values) & ((values < low) | (values > high))
    if not odd.any():
        return None
    at = np.flatnonzero(odd)
    return (
        f"{name}: {len(at)} rating value(s) outside {low:g} to {high:g} ({describe_rows(at, line_offset=line_offset)}"
        f", e.g. {values[at[0]]:g}); ratings at or above 4 count as positive interest by default, so "
        "check the scale (or rescale the column)"
    )
