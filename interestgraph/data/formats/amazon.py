"""Amazon Reviews 2018 (McAuley lab, UCSD) in its JSON-lines layout.

Two files per category, each JSON lines, plain or gzip-compressed:

* reviews (``Books.json.gz``, ``Books_5.json.gz``, ...): one review per line
  with ``overall`` (rating 1-5), ``reviewerID``, ``asin``, ``unixReviewTime``
  (Unix seconds), ``reviewTime`` (``"09 13, 2009"``), ``reviewText``,
  ``summary`` and side fields (``verified``, ``vote``, ``style``,
  ``reviewerName``, ``image``) that are ignored here.
* metadata (``meta_Books.json.gz``): one product per line with ``asin``,
  ``title``, ``description`` (list of paragraphs, or a string), ``category``
  (list, top-level store category first), ``brand``, ``feature`` (list) and
  fields that are ignored here (``also_buy``, ``also_view``, ``rank``,
  ``price``, ``imageURL``, ``details``, ...).

Reviews become ``review`` events: ``user_id`` = ``reviewerID``, ``item_id`` =
``asin`` (kept as the original strings), ``timestamp`` = ``unixReviewTime``
(``reviewTime`` parsed as ``%m %d, %Y`` UTC on rows that lack it), ``value`` =
``overall`` and ``text`` = ``summary + ". " + reviewText``. The catalog has the
text fields ``title``, ``description``, ``feature``, ``brand`` and the interest
field ``categories`` (``category`` with HTML entities unescaped).

Files are parsed strictly as JSON, one object per line. Older Amazon dumps
(2014 and before) hold Python dict literals instead; they are refused with a
:class:`~interestgraph.errors.DataError` and never evaluated. The metadata
files repeat some products (the same ``asin`` on several lines); the first
line wins and the number dropped is recorded in ``InteractionLog.notes``.

The data's terms (research use) are on the dataset's page; interestgraph never
ships the data.
"""

from __future__ import annotations

import dataclasses
import gzip
import html
import json
import logging
import math
import os
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

from ...errors import DataError, describe_rows
from ..schema import InteractionLog

logger = logging.getLogger("interestgraph.data")

REVIEW_EVENT = "review"
REVIEW_TIME_FORMAT = "%m %d, %Y"
TEXT_FIELDS = ("title", "description", "feature", "brand")
INTEREST_FIELDS = ("categories",)
_BOM = b"\xef\xbb\xbf"


# --------------------------------------------------------------------------- JSON lines


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


#: Strict JSON: NaN / Infinity (which json.loads accepts by default) are refused.
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _open_binary(path: Path):
    with open(path, "rb") as probe:
        magic = probe.read(2)
    return gzip.open(path, "rb") if magic == b"\x1f\x8b" else open(path, "rb")


def _iter_json_lines(path: Path) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield ``(file line number, object)`` for every non-blank line of a JSON-lines file.

    Raises:
        DataError: the file is missing or unreadable (bad gzip, bad UTF-8),
            or a line is not a JSON object (naming the line; Python dict
            literals get their own message and are never evaluated).
    """
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    number = 0
    try:
        with _open_binary(path) as handle:
            for number, raw in enumerate(handle, start=1):
                if number == 1 and raw.startswith(_BOM):
                    raw = raw[len(_BOM) :]
                line = raw.strip()
                if not line:
                    continue
                try:
                    record = _DECODER.decode(line.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise DataError(
                        f"{path}: line {number} is not valid UTF-8 text (byte {exc.start} of the line)"
                    ) from None
                except ValueError as exc:  # json.JSONDecodeError is a ValueError
                    raise DataError(_not_json_message(path, number, line, exc)) from None
                if not isinstance(record, dict):
                    raise DataError(
                        f"{path}: line {number} is a JSON {type(record).__name__}, not an object; expected JSON lines "
                        "with one object per line"
                    )
                yield number, record
    except (OSError, EOFError, zlib.error) as exc:
        where = f" after line {number}" if number else ""
        raise DataError(f"{path}: cannot read the file{where}: {exc or type(exc).__name__}") from None


def _not_json_message(path: Path, number: int, line: bytes, exc: ValueError) -> str:
    detail = f"{exc.msg} at column {exc.colno}" if isinstance(exc, json.JSONDecodeError) else str(exc)
    head = line[:2]
    if head in (b"{'", b"{u") or (line.startswith(b"{") and b"': " in line[:200]):
        return (
            f"{path}: not JSON lines: line {number} looks like a Python dict literal (single quotes; {detail}), "
            "as in the older Amazon review dumps; interestgraph never evaluates Python literals: "
            "convert the file to JSON lines (one json.dumps object per line) or use the 2018 release"
        )
    return f"{path}: not JSON lines: line {number} is not valid JSON ({detail})"


def _read_fields(path: Path, fields: dict[str, Callable[[Any], Any]]) -> tuple[dict[str, list[Any]], np.ndarray]:
    """Read a JSON-lines file into one list per field (``fields`` maps name -> converter of the raw value).

    Returns the columns and the file line number of each row, ``(n_rows,)`` int64.
    """
    columns: dict[str, list[Any]] = {name: [] for name in fields}
    appenders = [(name, columns[name].append, convert) for name, convert in fields.items()]
    lines: list[int] = []
    for number, record in _iter_json_lines(path):
        lines.append(number)
        get = record.get
        for name, append, convert in appenders:
            append(convert(get(name)))
    return columns, np.asarray(lines, dtype=np.int64)


def _line_offset(lines: np.ndarray) -> int | None:
    """1 when row ``i`` is file line ``i + 1`` (no blank lines inside), else None (messages give row positions)."""
    return 1 if np.array_equal(lines, np.arange(1, len(lines) + 1)) else None


def _where(lines: np.ndarray, positions: np.ndarray) -> str:
    return describe_rows(lines[positions], line_offset=0)


def _lines(n: int) -> str:
    return f"{n} line" if n == 1 else f"{n} lines"


# --------------------------------------------------------------------------- cell converters


def _raw(value: Any) -> Any:
    return value


def _clean_text(value: Any) -> str:
    """A text cell: strings stripped, lists joined with a space (empty parts dropped), missing -> ''."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        parts = (_clean_text(v) for v in value)
        return " ".join(p for p in parts if p)
    if isinstance(value, float) and math.isnan(value):
        return ""
    return str(value).strip()


def _categories(value: Any) -> list[str]:
    """The ``category`` list: HTML entities unescaped, stripped, empties dropped (a string is one category)."""
    if value is None:
        return []
    if isinstance(value, str) or not isinstance(value, (list, tuple)):
        value = [value]
    out = []
    for label in value:
        if label is None:
            continue
        text = html.unescape(str(label)).strip()
        if text:
            out.append(text)
    return out


def _id_column(values: list[Any], field: str, path: Path, lines: np.ndarray) -> pd.Series:
    """IDs as stripped strings; DataError naming the Amazon field for missing, null or empty ones."""
    ids = pd.Series(values, dtype="str").str.strip()
    bad = (ids.isna() | (ids == "")).to_numpy()
    if bad.any():
        positions = np.flatnonzero(bad)
        raise DataError(
            f"{path}: required field {field!r} is missing, null or empty on {_lines(len(positions))} "
            f"({_where(lines, positions)})"
        )
    return ids


# --------------------------------------------------------------------------- reviews


def _review_text(summaries: list[str], bodies: list[str]) -> pd.Series:
    texts = []
    for summary, body in zip(summaries, bodies):
        if summary and body:
            texts.append(f"{summary}. {body}")
        else:
            texts.append(summary or body or None)
    return pd.Series(texts, dtype="str")


def _numbers(values: list[Any]) -> tuple[np.ndarray, np.ndarray]:
    """``(float64 values, present mask)``; a present value that is not a number (or is a bool) gives NaN."""
    raw = pd.Series(values, dtype=object)
    present = raw.notna().to_numpy()
    is_bool = raw.map(lambda v: isinstance(v, bool)).to_numpy(dtype=bool)
    numbers = pd.to_numeric(raw.mask(is_bool), errors="coerce").to_numpy(dtype=np.float64)
    return numbers, present


def _timestamps(unix: list[Any], review_time: list[Any], path: Path, lines: np.ndarray) -> np.ndarray:
    seconds, present = _numbers(unix)
    garbled = present & ~np.isfinite(seconds)
    if garbled.any():
        positions = np.flatnonzero(garbled)
        examples = ", ".join(repr(unix[p]) for p in positions[:3])
        raise DataError(
            f"{path}: field 'unixReviewTime' is not a number on {_lines(len(positions))} (e.g. {examples}; "
            f"{_where(lines, positions)})"
        )
    fallback = np.flatnonzero(~present)
    if len(fallback):
        texts = pd.Series([review_time[p] for p in fallback], dtype="str").str.strip()
        missing = (texts.isna() | (texts == "")).to_numpy()
        if missing.any():
            positions = fallback[missing]
            raise DataError(
                f"{path}: {len(positions)} reviews have neither 'unixReviewTime' nor 'reviewTime' "
                f"({_where(lines, positions)})"
            )
        parsed = pd.to_datetime(texts, format=REVIEW_TIME_FORMAT, errors="coerce", utc=True)
        unparsed = parsed.isna().to_numpy()
        if unparsed.any():
            positions = fallback[unparsed]
            examples = ", ".join(repr(review_time[p]) for p in positions[:3])
            raise DataError(
                f"{path}: field 'reviewTime' is not a date like '09 13, 2009' on {_lines(len(positions))} (e.g. "
                f"{examples}; {_where(lines, positions)})"
            )
        seconds = seconds.copy()
        seconds[fallback] = (parsed - pd.Timestamp(0, tz="UTC")).dt.total_seconds().to_numpy()
    return np.floor(seconds).astype(np.int64)


def _read_reviews(path: Path, include_text: bool) -> tuple[pd.DataFrame, int | None]:
    fields: dict[str, Callable[[Any], Any]] = {
        "reviewerID": _raw,
        "asin": _raw,
        "overall": _raw,
        "unixReviewTime": _raw,
        "reviewTime": _raw,
    }
    if include_text:
        fields.update(summary=_clean_text, reviewText=_clean_text)
    columns, lines = _read_fields(path, fields)
    if not len(lines):
        raise DataError(f"{path}: no reviews (the file is empty)")
    users = _id_column(columns["reviewerID"], "reviewerID", path, lines)
    items = _id_column(columns["asin"], "asin", path, lines)
    ratings, present = _numbers(columns["overall"])
    if not present.all():
        positions = np.flatnonzero(~present)
        raise DataError(
            f"{path}: required field 'overall' is missing or null on {_lines(len(positions))} "
            f"({_where(lines, positions)})"
        )
    bad = ~np.isfinite(ratings)
    if bad.any():
        positions = np.flatnonzero(bad)
        examples = ", ".join(repr(columns["overall"][p]) for p in positions[:3])
        raise DataError(
            f"{path}: field 'overall' is not a finite number on {_lines(len(positions))} (e.g. {examples}; "
            f"{_where(lines, positions)})"
        )
    frame = pd.DataFrame(
        {
            "user_id": users,
            "item_id": items,
            "timestamp": _timestamps(columns["unixReviewTime"], columns["reviewTime"], path, lines),
            "event": pd.Series([REVIEW_EVENT] * len(lines), dtype="str"),
            "value": ratings,
        }
    )
    if include_text:
        frame["text"] = _review_text(columns["summary"], columns["reviewText"])
    return frame, _line_offset(lines)


# --------------------------------------------------------------------------- metadata


def _read_meta(path: Path) -> tuple[pd.DataFrame, int | None, str | None]:
    """The catalog, its line offset (None when rows no longer match lines) and the duplicate note (or None)."""
    fields = {
        "asin": _raw,
        "title": _clean_text,
        "description": _clean_text,
        "brand": _clean_text,
        "feature": _clean_text,
        "category": _categories,
    }
    columns, lines = _read_fields(path, fields)
    catalog = pd.DataFrame(
        {
            "item_id": _id_column(columns["asin"], "asin", path, lines),
            **{name: pd.Series(columns[name], dtype="str") for name in TEXT_FIELDS},
            "categories": pd.Series(columns["category"], dtype=object),
        }
    )
    note = None
    dup = catalog["item_id"].duplicated(keep="first").to_numpy()
    if dup.any():
        positions = np.flatnonzero(dup)
        repeated = pd.unique(catalog["item_id"].iloc[positions])
        shown = ", ".join(repr(v) for v in repeated[:3]) + (", ..." if len(repeated) > 3 else "")
        note = (
            f"dropped {len(positions)} duplicate product rows for {len(repeated)} items in {path} "
            f"(field 'asin', e.g. {shown}; {_where(lines, positions)}); kept the first row of each"
        )
        catalog = catalog[~dup].reset_index(drop=True)
        lines = lines[~dup]
    return catalog, _line_offset(lines), note


# --------------------------------------------------------------------------- public


def load_amazon(
    reviews: str | os.PathLike,
    meta: str | os.PathLike | None = None,
    *,
    missing_items: Literal["drop", "error"] = "drop",
    duplicates: Literal["drop", "error", "keep"] = "drop",
    include_text: bool = True,
) -> InteractionLog:
    """Load an Amazon Reviews 2018 category (see the module docstring).

    Args:
        reviews: the reviews file, JSON lines, plain or ``.gz``.
        meta: the product metadata file, JSON lines, plain or ``.gz``;
            ``None`` builds a bare catalog from the reviewed ``asin`` values.
        missing_items: reviews of products missing from ``meta`` are dropped
            and counted in ``notes`` (``"drop"``) or fail (``"error"``).
        duplicates: identical review rows are dropped (``"drop"``), fail
            (``"error"``) or are kept (``"keep"``).
        include_text: put ``summary. reviewText`` in the ``text`` column;
            False leaves ``text`` missing (smaller in memory).

    Returns:
        An :class:`InteractionLog` of ``review`` events (value = star rating).

    Raises:
        DataError: a file is missing, not JSON lines (a Python-literal dump,
            a malformed line: the message names the line), lacks a required
            field (``reviewerID``, ``asin``, ``overall``; named), or fails the
            canonical validation of :meth:`InteractionLog.from_frames`.
    """
    reviews_path = Path(reviews)
    frame, line_offset = _read_reviews(reviews_path, include_text)
    catalog = None
    items_line_offset = None
    note = None
    if meta is not None:
        catalog, items_line_offset, note = _read_meta(Path(meta))
    log = InteractionLog.from_frames(
        frame,
        catalog,
        interest_fields=INTEREST_FIELDS if catalog is not None else None,
        text_fields=TEXT_FIELDS if catalog is not None else None,
        default_event=REVIEW_EVENT,
        missing_items=missing_items,
        duplicates=duplicates,
        source=str(reviews),
        items_source=str(meta) if meta is not None else None,
        line_offset=line_offset,
        items_line_offset=items_line_offset,
    )
    if note is not None:
        logger.warning(note)
        log = dataclasses.replace(log, notes=log.notes + (note,))
    return log
