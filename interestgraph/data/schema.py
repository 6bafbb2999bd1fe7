"""The canonical form of a behaviour log: an interactions table and an item catalog.

Every reader and format adapter produces an :class:`InteractionLog`; every
later stage (interests, graph, splits, evaluation) reads only this form.

Interactions (``InteractionLog.interactions``), one row per event:

============  =========================  ==========================================
column        dtype                      meaning
============  =========================  ==========================================
user_id       int64 or str               original user ID (kept as given)
item_id       int64 or str               original item ID, same kind as the catalog
timestamp     int64                      Unix time in seconds (UTC); 0 when the
                                         source has no time (``has_timestamps``)
event         str                        event type: rating, view, click, purchase,
                                         tag, review, query, ... (lowercase)
value         float64                    the rating for rating-like events, a count
                                         (>= 0) for the others; 1.0 when absent
text          str, may be missing        free text of the event: a tag, a review,
                                         a search query
============  =========================  ==========================================

Later stages add columns (a split adds ``weight``, ``positive`` and ``part``).

Item catalog (``InteractionLog.items``), one row per item, sorted by ``item_id``:
``item_id``, ``title`` (str, may be empty), the free-text fields named in
``text_fields`` (str), and the list-valued interest fields named in
``interest_fields`` (each cell a Python ``list[str]``: genres, categories, tags).

IDs may be strings or integers; originals are kept in the tables and mapped to
contiguous indices (``user_codes()``, ``item_codes()``) for the numeric stages.
Text IDs that are all plain integers (``"17"``, no leading zeros) are read as
int64, so a CSV and a JSON file of the same log agree; ``"007"`` stays text.
When interactions and catalog disagree on the kind (integers on one side,
strings on the other) both sides become strings.
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..errors import DataError, describe_rows

logger = logging.getLogger("interestgraph.data")

INTERACTION_COLUMNS = ("user_id", "item_id", "timestamp", "event", "value", "text")
REQUIRED_INTERACTION_COLUMNS = ("user_id", "item_id")
ITEM_ID = "item_id"
TITLE = "title"
DEFAULT_EVENT = "interaction"
#: Events whose ``value`` is a rating, not a count; other events' values must be >= 0.
RATING_EVENTS = ("rating", "review")
#: Latest accepted timestamp = now + this slack (clock skew between systems).
FUTURE_SLACK_SECONDS = 86_400

_EXACT_TIME = "_exact_timestamp"
#: 1970-01-01 at second resolution: subtracting it keeps a column's own unit (a nanosecond epoch would
#: force dates past 2262, such as 9999-12-31, into nanoseconds and overflow instead of failing validation)
_EPOCH = pd.Timestamp(0, tz="UTC").as_unit("s")
#: IDs written as integers without leading zeros or '+' are read as int64 (``"17"`` and ``17`` are the same ID;
#: ``"007"`` stays text); others stay text. Public: the Spark reader applies the same rule.
CANONICAL_INT_ID = r"0|-?[1-9][0-9]{0,17}"

OnMissingItems = Literal["drop", "error"]
OnDuplicates = Literal["drop", "error", "keep"]


@dataclass(frozen=True, eq=False)
class InteractionLog:
    """A validated behaviour log: interactions plus item catalog (see the module docstring).

    Build one with :meth:`from_frames` (validates and normalises) or a reader
    in :mod:`interestgraph.data.readers` / :mod:`interestgraph.data.formats`;
    the plain constructor trusts its arguments.

    Attributes:
        interactions: events, shape ``(n_events, >= 6)``, canonical columns first.
        items: catalog, shape ``(n_items, ...)``, sorted by ``item_id``.
        interest_fields: names of the list-valued catalog columns.
        text_fields: names of the free-text catalog columns (``title`` first).
        has_timestamps: False when the source had no time (timestamps are 0).
        source: where the log came from, for messages and manifests.
        notes: what validation dropped or changed, one sentence each.
    """

    interactions: pd.DataFrame
    items: pd.DataFrame
    interest_fields: tuple[str, ...] = ()
    text_fields: tuple[str, ...] = (TITLE,)
    has_timestamps: bool = True
    source: str = "dataframe"
    notes: tuple[str, ...] = ()

    # ------------------------------------------------------------------ ids
    @cached_property
    def _user_factors(self) -> tuple[np.ndarray, pd.Index]:
        codes, uniques = pd.factorize(self.interactions["user_id"], sort=True)
        return codes.astype(np.int64), pd.Index(uniques, name="user_id")

    @cached_property
    def user_ids(self) -> pd.Index:
        """Original user IDs, sorted; position = contiguous user index."""
        return self._user_factors[1]

    @cached_property
    def item_ids(self) -> pd.Index:
        """Original item IDs in catalog order (sorted); position = contiguous item index."""
        return pd.Index(self.items[ITEM_ID].to_numpy(), name=ITEM_ID)

    def user_codes(self) -> np.ndarray:
        """Contiguous user index of every interaction, shape ``(n_events,)``, int64."""
        if "_user_factors" in self.__dict__ or "user_ids" not in self.__dict__:
            return self._user_factors[0]
        return self.user_ids.get_indexer(self.interactions["user_id"]).astype(np.int64)

    def item_codes(self) -> np.ndarray:
        """Contiguous item index of every interaction, shape ``(n_events,)``, int64."""
        return self.item_ids.get_indexer(self.interactions[ITEM_ID]).astype(np.int64)

    @property
    def n_users(self) -> int:
        return len(self.user_ids)

    @property
    def n_items(self) -> int:
        """Items in the catalog (including items nobody interacted with)."""
        return len(self.items)

    def __len__(self) -> int:
        return len(self.interactions)

    @property
    def events(self) -> list[str]:
        """Distinct event types, sorted."""
        return sorted(self.interactions["event"].unique().tolist())

    def item_texts(self, separator: str = ". ") -> list[str]:
        """One text per catalog item (catalog order): its text fields joined, title first;
        the item ID when an item has no text at all."""
        return catalog_texts(self.items, self.text_fields, separator)

    @property
    def has_ratings(self) -> bool:
        """True when the log holds rating-like events (its positives come from a rating threshold)."""
        return bool(self.interactions["event"].isin(RATING_EVENTS).any())

    # ------------------------------------------------------------- helpers
    def with_interactions(
        self, interactions: pd.DataFrame, note: str | None = None, *, user_ids: pd.Index | None = None
    ) -> InteractionLog:
        """A copy of this log with other interactions (same catalog), without re-validation.

        ``user_ids``: the sorted distinct users of ``interactions`` when the
        caller knows them (saves a pass over the table).
        """
        notes = self.notes + ((note,) if note else ())
        new = dataclasses.replace(self, interactions=interactions.reset_index(drop=True), notes=notes)
        if user_ids is not None:
            new.__dict__["user_ids"] = user_ids  # seeds the cached property
        return new

    def summary(self) -> dict[str, Any]:
        """Counts for reports: users, items, events by type, time range, text coverage."""
        inter = self.interactions
        out: dict[str, Any] = {
            "source": self.source,
            "users": self.n_users,
            "items": self.n_items,
            "items_with_interactions": int(inter[ITEM_ID].nunique()),
            "interactions": len(inter),
            "events": {str(k): int(v) for k, v in inter["event"].value_counts().sort_index().items()},
            "interactions_with_text": int(inter["text"].notna().sum()),
            "interest_fields": list(self.interest_fields),
            "text_fields": list(self.text_fields),
        }
        if self.has_timestamps and len(inter):
            out["first_time"] = _iso(int(inter["timestamp"].min()))
            out["last_time"] = _iso(int(inter["timestamp"].max()))
        for field in self.interest_fields:
            labels = self.items[field].explode().dropna()
            out[f"distinct_{field}"] = int(labels.nunique())
        if self.notes:
            out["notes"] = list(self.notes)
        return out

    # -------------------------------------------------------- construction
    @classmethod
    def from_frames(
        cls,
        interactions: pd.DataFrame,
        items: pd.DataFrame | None = None,
        *,
        interest_fields: Sequence[str] | None = None,
        text_fields: Sequence[str] | None = None,
        default_event: str = DEFAULT_EVENT,
        timestamp_unit: Literal["s", "ms"] = "s",
        missing_items: OnMissingItems = "drop",
        duplicates: OnDuplicates = "drop",
        source: str = "dataframe",
        items_source: str | None = None,
        line_offset: int | None = None,
        items_line_offset: int | None = None,
    ) -> InteractionLog:
        """Validate and normalise two tables already in canonical column names.

        Args:
            interactions: needs ``user_id`` and ``item_id``; ``timestamp``,
                ``event``, ``value`` and ``text`` are optional (defaults:
                no time, ``default_event``, 1.0, missing). Extra columns are dropped.
            items: the catalog; needs ``item_id``. ``None`` builds a bare
                catalog from the item IDs in the log (no titles).
            interest_fields: list-valued catalog columns (cells are lists of
                strings, or missing). ``None`` takes every column whose cells
                are lists.
            text_fields: free-text catalog columns; ``None`` takes ``title``
                plus every other string column that is not an interest field.
            default_event: event name when there is no ``event`` column.
            timestamp_unit: unit of numeric timestamps, seconds or milliseconds.
                Strings and datetimes are parsed as ISO 8601 in either case.
            missing_items: interactions whose item is not in the catalog are
                dropped and counted in ``notes`` (``"drop"``) or fail (``"error"``).
            duplicates: identical event rows are dropped and counted
                (``"drop"``), fail (``"error"``) or are kept (``"keep"``).
            source, items_source: names used in messages (file paths).
            line_offset, items_line_offset: file line of row 0 (2 for CSV with
                a header, 1 for JSON lines), so errors give file line numbers.

        Raises:
            DataError: naming the column and the first offending rows, for a
                missing required column, null or empty IDs, unparseable,
                negative or future timestamps, non-finite values, negative
                counts, duplicate catalog IDs, items missing from the catalog
                (with ``missing_items="error"``), duplicate rows (with
                ``duplicates="error"``), or no interactions left.
        """
        _check_option("missing_items", missing_items, ("drop", "error"))
        _check_option("duplicates", duplicates, ("drop", "error", "keep"))
        _check_option("timestamp_unit", timestamp_unit, ("s", "ms"))
        if not isinstance(interactions, pd.DataFrame):
            raise TypeError(f"interactions must be a pandas DataFrame, got {type(interactions).__name__}")
        items_source = items_source or (f"{source} (catalog)" if items is None else "catalog")
        notes: list[str] = []

        inter = _canonical_interactions(interactions, source, default_event, timestamp_unit, line_offset)
        has_timestamps = "timestamp" in interactions.columns

        if items is None:
            catalog = pd.DataFrame({ITEM_ID: pd.unique(inter[ITEM_ID]), TITLE: ""})
            interest_fields, text_fields = (), (TITLE,)
        else:
            if not isinstance(items, pd.DataFrame):
                raise TypeError(f"items must be a pandas DataFrame or None, got {type(items).__name__}")
            catalog, interest_fields, text_fields = resolve_catalog(
                items, items_source, interest_fields, text_fields, items_line_offset
            )

        inter, catalog = _align_id_kinds(inter, catalog)
        original_rows = np.arange(len(inter))  # positions in the input, for messages after rows are dropped

        known = inter[ITEM_ID].isin(catalog[ITEM_ID])
        if not known.all():
            bad = np.flatnonzero(~known.to_numpy())
            missing_ids = pd.unique(inter[ITEM_ID].iloc[bad])
            what = (
                f"{source}: {len(bad)} interactions refer to {len(missing_ids)} items not in {items_source} "
                f"(column 'item_id', e.g. {_sample(missing_ids)}; {describe_rows(bad, line_offset=line_offset)})"
            )
            if missing_items == "error":
                raise DataError(what + "; pass missing_items='drop' to drop them")
            notes.append("dropped " + what.split(": ", 1)[1])
            inter = inter[known.to_numpy()]
            original_rows = original_rows[known.to_numpy()]

        if duplicates != "keep":
            dup = inter.duplicated(keep="first").to_numpy()
            if dup.any():
                positions = original_rows[dup]
                what = (
                    f"{source}: {len(positions)} duplicate interaction rows "
                    f"({describe_rows(positions, line_offset=line_offset)})"
                )
                if duplicates == "error":
                    raise DataError(what + "; pass duplicates='drop' or 'keep'")
                notes.append("dropped " + what.split(": ", 1)[1])
                inter = inter[~dup]

        inter = inter.drop(columns=[_EXACT_TIME], errors="ignore")
        if inter.empty:
            reason = "; ".join(notes) if notes else "the table has no rows"
            raise DataError(f"{source}: no interactions left after validation ({reason})")

        for note in notes:
            logger.warning(note)
        catalog = catalog.sort_values(ITEM_ID, kind="stable").reset_index(drop=True)
        return cls(
            interactions=inter.reset_index(drop=True),
            items=catalog,
            interest_fields=tuple(interest_fields),
            text_fields=tuple(text_fields),
            has_timestamps=has_timestamps,
            source=source,
            notes=tuple(notes),
        )


# --------------------------------------------------------------------------- checks


def catalog_texts(items: pd.DataFrame, text_fields: Sequence[str], separator: str = ". ") -> list[str]:
    """One text per row of a canonical catalog: its ``text_fields`` joined (those present, in order),
    the item ID when a row has no text at all."""
    fields = [f for f in text_fields if f in items.columns]
    ids = items[ITEM_ID].astype("str")
    if not fields:
        return ids.tolist()
    joined = items[fields[0]].astype("str").fillna("")
    for f in fields[1:]:
        part = items[f].astype("str").fillna("")
        joined = joined.where(part == "", joined.where(joined == "", joined + separator) + part)
    return joined.where(joined.str.strip() != "", ids).tolist()


def canonical_catalog(
    items: pd.DataFrame, *, interest_fields: Sequence[str], text_fields: Sequence[str], source: str = "items"
) -> pd.DataFrame:
    """A catalog table in canonical form (IDs normalised and unique, list-valued ``interest_fields``,
    string ``text_fields``), for items given outside a log (items added to a trained model).

    Raises:
        DataError: a missing ``item_id`` column, null / duplicate IDs, interest cells that are not lists.
    """
    present_interest = [f for f in interest_fields if f in items.columns]
    present_text = [f for f in text_fields if f in items.columns and f not in present_interest]
    table, _, _ = resolve_catalog(items, source, present_interest, present_text, None)
    return table


def _check_option(name: str, value: Any, allowed: Iterable[str]) -> None:
    allowed = tuple(allowed)
    if value not in allowed:
        raise ValueError(f"{name} must be one of {allowed}, got {value!r}")


def _iso(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds))


def _sample(values: Sequence[Any], limit: int = 3) -> str:
    shown = ", ".join(repr(v.item() if hasattr(v, "item") else v) for v in values[:limit])
    return shown + (", ..." if len(values) > limit else "")


def column_list(columns: Iterable[Any], limit: int = 12, width: int = 60) -> str:
    """The first column names for a message: control and other unprintable characters escaped, long names
    cut, so that a binary or mis-delimited header still gives one short, readable line."""
    shown = []
    for column in list(columns)[:limit]:
        text = str(column)
        cut = len(text) > width
        text = text[: width - 3] if cut else text
        if not text.isprintable():
            text = text.encode("unicode_escape").decode("ascii")
        shown.append(text + "..." if cut else text)
    return ", ".join(shown) or "none"


def require_columns(frame: pd.DataFrame, required: Iterable[str], source: str) -> None:
    """Raise :class:`DataError` naming every required column that ``frame`` lacks (or holds twice)."""
    duplicated = frame.columns[frame.columns.duplicated()].unique().tolist()
    if duplicated:
        raise DataError(f"{source}: column name(s) {', '.join(map(repr, duplicated))} appear more than once")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        have = column_list(frame.columns)
        raise DataError(
            f"{source}: missing required column(s) {', '.join(map(repr, missing))} (columns present: {have})"
        )


def _normalise_ids(values: pd.Series, column: str, source: str, line_offset: int | None) -> pd.Series:
    """IDs as int64 when every value is an integer, else as stripped strings; no nulls or empties."""
    null = values.isna().to_numpy()
    if pd.api.types.is_bool_dtype(values.dtype) or (
        values.dtype == object and values.map(lambda v: isinstance(v, (bool, np.bool_))).any()
    ):
        raise DataError(f"{source}: column {column!r} holds true/false values, which cannot be IDs")
    if values.dtype == object:  # mixed cells (JSON): 7, 7.0 and "7" are the same ID
        values = values.map(
            lambda v: int(v) if isinstance(v, (float, np.floating)) and np.isfinite(v) and float(v).is_integer() else v
        )
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        if null.any():
            bad = np.flatnonzero(null)
            raise DataError(
                f"{source}: column {column!r} has {len(bad)} null IDs ({describe_rows(bad, line_offset=line_offset)})"
            )
        numbers = values.to_numpy(dtype=np.float64)
        if np.all(np.isfinite(numbers)) and np.all(numbers == np.round(numbers)) and np.all(np.abs(numbers) < 2**62):
            return pd.Series(values.to_numpy().astype(np.int64), index=values.index, name=column)
        return values.astype(str).rename(column)
    as_text = values.astype("str").str.strip()
    empty = null | (as_text == "").to_numpy()
    if empty.any():
        bad = np.flatnonzero(empty)
        raise DataError(
            f"{source}: column {column!r} has {len(bad)} null or empty IDs "
            f"({describe_rows(bad, line_offset=line_offset)})"
        )
    if as_text.str.fullmatch(CANONICAL_INT_ID).all():  # "17" and 17 are the same ID; "007" is not 7
        return pd.Series(as_text.to_numpy().astype(np.int64), index=values.index, name=column)
    return as_text.rename(column)


def _align_id_kinds(inter: pd.DataFrame, catalog: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Give interactions and catalog the same item-ID kind (strings when they disagree)."""
    left_int = pd.api.types.is_integer_dtype(inter[ITEM_ID].dtype)
    right_int = pd.api.types.is_integer_dtype(catalog[ITEM_ID].dtype)
    if left_int != right_int:
        inter = inter.assign(item_id=inter[ITEM_ID].astype("str"))
        catalog = catalog.assign(item_id=catalog[ITEM_ID].astype("str"))
    return inter, catalog


def parse_timestamps(
    values: pd.Series,
    *,
    column: str = "timestamp",
    source: str = "interactions",
    unit: Literal["s", "ms"] = "s",
    line_offset: int | None = None,
    now: float | None = None,
    exact: bool = False,
) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
    """Parse a timestamp column to Unix seconds, shape ``(n,)``, int64 (floored).

    One reading per column: numbers (or text that is all numbers) are Unix
    seconds, or milliseconds with ``unit="ms"``; otherwise every value is
    parsed as ISO 8601 (``2024-03-01``, ``2024-03-01T12:00:00Z``); datetime
    columns are converted (naive ones taken as UTC). With ``exact=True`` the
    un-floored float seconds are returned too, as ``(seconds, exact)``.

    Raises:
        DataError: for missing or unparseable values, numbers that look like
            ``YYYYMMDD`` dates, times before 1970, or times more than a day in
            the future (likely milliseconds read as seconds), naming the first
            offending rows.
    """
    divisor = 1000.0 if unit == "ms" else 1.0
    numeric_reading = False
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        stamps = pd.to_datetime(values, utc=True)
        seconds = (stamps - _EPOCH).dt.total_seconds().to_numpy(dtype=np.float64)
    elif pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        raw = values.to_numpy(dtype=np.float64)
        seconds = raw / divisor
        numeric_reading = True
    else:
        text = values.astype("str").str.strip()
        raw = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
        present = values.notna().to_numpy()
        words = present & ~np.isfinite(raw)
        iso_words = (
            words.any() and pd.to_datetime(text[words], utc=True, errors="coerce", format="ISO8601").notna().any()
        )
        if iso_words:  # an ISO column: every value is read as a date ("2024" is the year 2024)
            parsed = pd.to_datetime(text.where(present), utc=True, errors="coerce", format="ISO8601")
            seconds = (parsed - _EPOCH).dt.total_seconds().to_numpy(dtype=np.float64)
        else:  # a numeric column: the values that are not numbers are the errors
            seconds = raw / divisor
            numeric_reading = True
    bad = ~np.isfinite(seconds)
    if bad.any():
        rows = np.flatnonzero(bad)
        examples = _sample(values.iloc[rows[:3]].tolist())
        raise DataError(
            f"{source}: column {column!r} has {len(rows)} missing or unparseable timestamps "
            f"(e.g. {examples}; {describe_rows(rows, line_offset=line_offset)}); "
            "expected Unix seconds or ISO 8601 dates, one kind per column"
        )
    if numeric_reading and len(raw) and np.all((raw >= 19000101) & (raw <= 21001231) & (raw == np.round(raw))):
        as_dates = pd.to_datetime(pd.Series(raw.astype(np.int64)).astype(str), format="%Y%m%d", errors="coerce")
        if as_dates.notna().all():
            raise DataError(
                f"{source}: column {column!r} holds numbers like {int(raw[0])} that look like YYYYMMDD dates, not Unix "
                "seconds; convert them to ISO dates (2024-01-31) or Unix seconds"
            )
    if (seconds < 0).any():
        rows = np.flatnonzero(seconds < 0)
        raise DataError(
            f"{source}: column {column!r} has {len(rows)} negative timestamps (before 1970-01-01; "
            f"{describe_rows(rows, line_offset=line_offset)})"
        )
    latest = (time.time() if now is None else now) + FUTURE_SLACK_SECONDS
    if (seconds > latest).any():
        rows = np.flatnonzero(seconds > latest)
        hint = (
            "; are they milliseconds? pass timestamp_unit='ms'"
            if numeric_reading and unit == "s" and np.nanmax(seconds) > 1e11
            else ""
        )
        raise DataError(
            f"{source}: column {column!r} has {len(rows)} timestamps in the future (after "
            f"{_iso(int(min(latest, 2**62)))}; {describe_rows(rows, line_offset=line_offset)}){hint}"
        )
    floored = np.floor(seconds).astype(np.int64)
    return (floored, seconds) if exact else floored


def _canonical_interactions(
    frame: pd.DataFrame, source: str, default_event: str, unit: str, line_offset: int | None
) -> pd.DataFrame:
    require_columns(frame, REQUIRED_INTERACTION_COLUMNS, source)
    n = len(frame)
    out = pd.DataFrame(index=pd.RangeIndex(n))
    frame = frame.reset_index(drop=True)
    out["user_id"] = _normalise_ids(frame["user_id"], "user_id", source, line_offset)
    out[ITEM_ID] = _normalise_ids(frame[ITEM_ID], ITEM_ID, source, line_offset)
    if "timestamp" in frame.columns:
        out["timestamp"], exact = parse_timestamps(
            frame["timestamp"], source=source, unit=unit, line_offset=line_offset, exact=True
        )
        if (exact != out["timestamp"].to_numpy()).any():
            out[_EXACT_TIME] = exact  # sub-second times tell events apart in the duplicate check; dropped after it
    else:
        out["timestamp"] = np.zeros(n, dtype=np.int64)

    if "event" in frame.columns:
        events = frame["event"].astype("str").str.strip().str.lower()
        empty = (frame["event"].isna() | (events == "")).to_numpy()
        if empty.any():
            bad = np.flatnonzero(empty)
            raise DataError(
                f"{source}: column 'event' has {len(bad)} null or empty values "
                f"({describe_rows(bad, line_offset=line_offset)})"
            )
        out["event"] = events
    else:
        if not isinstance(default_event, str) or not default_event.strip():
            raise ValueError(f"default_event must be a non-empty string, got {default_event!r}")
        out["event"] = pd.Series([default_event.strip().lower()] * n, dtype="str")

    if "value" in frame.columns:
        values = pd.to_numeric(frame["value"], errors="coerce").to_numpy(dtype=np.float64)
        unparsed = frame["value"].notna().to_numpy() & np.isnan(values)
        if unparsed.any():
            bad = np.flatnonzero(unparsed)
            raise DataError(
                f"{source}: column 'value' has {len(bad)} non-numeric values (e.g. "
                f"{_sample(frame['value'].iloc[bad[:3]].tolist())}; {describe_rows(bad, line_offset=line_offset)})"
            )
        nonfinite = ~np.isfinite(values)
        if nonfinite.any():
            bad = np.flatnonzero(nonfinite)
            raise DataError(
                f"{source}: column 'value' has {len(bad)} missing, NaN or infinite values "
                f"({describe_rows(bad, line_offset=line_offset)})"
            )
        negative = (values < 0) & ~out["event"].isin(RATING_EVENTS).to_numpy()
        if negative.any():
            bad = np.flatnonzero(negative)
            raise DataError(
                f"{source}: column 'value' has {len(bad)} negative counts on non-rating events "
                f"({describe_rows(bad, line_offset=line_offset)}); counts must be >= 0"
            )
        out["value"] = values
    else:
        out["value"] = np.ones(n, dtype=np.float64)

    if "text" in frame.columns:
        text = frame["text"].astype("str").str.strip()
        out["text"] = text.mask(frame["text"].isna() | (text == ""))
    else:
        out["text"] = pd.Series(pd.NA, index=out.index, dtype="str")
    return out


def _is_list_cell(value: Any) -> bool:
    return isinstance(value, (list, tuple, np.ndarray))


def _as_label_list(value: Any) -> list[str]:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return []
    labels = [str(v).strip() for v in value if v is not None and not (isinstance(v, float) and math.isnan(v))]
    return [v for v in labels if v]


def resolve_catalog(
    items: pd.DataFrame,
    source: str,
    interest_fields: Sequence[str] | None,
    text_fields: Sequence[str] | None,
    line_offset: int | None,
) -> tuple[pd.DataFrame, tuple[str, ...], tuple[str, ...]]:
    """The catalog in canonical form: one row per unique ``item_id``, interest fields as label lists, text fields
    as stripped strings (``title`` first, ``""`` when absent).

    Used by :class:`InteractionLog`, by :func:`canonical_catalog` (fields given) and by any other engine that reads
    a catalog (``interestgraph.spark``), so all of them check and shape it the same way.

    Args:
        items: the raw catalog table (must have ``item_id``).
        source: named in error messages (a file name or ``"items"``).
        interest_fields: columns of label lists; ``None`` takes every column holding a list.
        text_fields: free-text columns; ``None`` takes ``title`` and every string column that is not an interest
            field.
        line_offset: file line of the first row, so errors name file lines (``None``: name row positions).

    Returns:
        ``(catalog, interest_fields, text_fields)``, the two field tuples as resolved.

    Raises:
        DataError: a missing ``item_id``, duplicate IDs, or interest cells that are not lists (rows named).
        ValueError: a column given as both an interest and a text field, or ``item_id`` among the fields.
    """
    require_columns(items, (ITEM_ID,), source)
    items = items.reset_index(drop=True)
    out = pd.DataFrame({ITEM_ID: _normalise_ids(items[ITEM_ID], ITEM_ID, source, line_offset)})
    dup = out[ITEM_ID].duplicated(keep=False).to_numpy()
    if dup.any():
        bad = np.flatnonzero(dup)
        raise DataError(
            f"{source}: column 'item_id' has {int(out[ITEM_ID].duplicated().sum())} duplicate IDs (e.g. "
            f"{_sample(pd.unique(out[ITEM_ID].iloc[bad]))}; {describe_rows(bad, line_offset=line_offset)})"
        )

    others = [c for c in items.columns if c != ITEM_ID]
    overlap = set(interest_fields or ()) & set(text_fields or ())
    if overlap:
        raise ValueError(
            f"interest_fields and text_fields overlap on {sorted(overlap)}; a column is either a list of labels or "
            "free text"
        )
    for name, fields in (("interest_fields", interest_fields), ("text_fields", text_fields)):
        if fields is not None and ITEM_ID in fields:
            raise ValueError(f"{name} must not include {ITEM_ID!r}")
    if interest_fields is None:
        interest_fields = [c for c in others if items[c].map(_is_list_cell).any()]
    for field in interest_fields:
        require_columns(items, (field,), source)
        cells = items[field]
        bad_cells = ~(cells.map(_is_list_cell) | cells.isna()).to_numpy()
        if bad_cells.any():
            bad = np.flatnonzero(bad_cells)
            raise DataError(
                f"{source}: interest field {field!r} must hold lists of labels; {len(bad)} cells are not lists "
                f"({describe_rows(bad, line_offset=line_offset)}); split delimited strings when reading "
                f"(list_fields={{{field!r}: '|'}})"
            )
        out[field] = [_as_label_list(v) for v in cells]

    if text_fields is None:
        text_fields = [
            c
            for c in others
            if c not in interest_fields
            and (c == TITLE or pd.api.types.is_string_dtype(items[c].dtype) or items[c].dtype == object)
        ]
    text_fields = [TITLE] + [c for c in text_fields if c != TITLE]
    for field in text_fields:
        if field == TITLE and TITLE not in items.columns:
            out[TITLE] = ""
            continue
        require_columns(items, (field,), source)
        out[field] = items[field].astype("str").fillna("").str.strip()
    return out, tuple(interest_fields), tuple(text_fields)
