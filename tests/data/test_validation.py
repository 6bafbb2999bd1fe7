"""Validation in InteractionLog.from_frames: every bad input is a DataError that names the column and rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from interestgraph.data.readers import read_log
from interestgraph.data.schema import InteractionLog, parse_timestamps
from interestgraph.errors import DataError


def _frame(**columns) -> pd.DataFrame:
    return pd.DataFrame(columns)


# --------------------------------------------------------------- required columns


@pytest.mark.parametrize("missing", ["user_id", "item_id"])
def test_missing_required_column_names_it_and_the_columns_present(missing):
    cols = {"user_id": [1, 2], "item_id": [3, 4], "rating": [5.0, 4.0]}
    del cols[missing]
    with pytest.raises(DataError, match=rf"missing required column\(s\) '{missing}' \(columns present: .*rating"):
        InteractionLog.from_frames(pd.DataFrame(cols), source="events.csv")


def test_missing_item_id_in_catalog_is_named():
    with pytest.raises(
        DataError, match=r"catalog: missing required column\(s\) 'item_id' \(columns present: sku, title\)"
    ):
        InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), _frame(sku=[1], title=["a"]))


# --------------------------------------------------------------------------- IDs


def test_null_numeric_ids_name_column_and_rows():
    with pytest.raises(DataError, match=r"column 'user_id' has 2 null IDs \(rows 1, 3\)"):
        InteractionLog.from_frames(_frame(user_id=[1, None, 2, np.nan], item_id=[1, 2, 3, 4]))


def test_null_string_ids_name_column_and_row():
    with pytest.raises(DataError, match=r"column 'item_id' has 1 null or empty IDs \(row 2\)"):
        InteractionLog.from_frames(_frame(user_id=["a", "b", "c"], item_id=["x", "y", None]))


@pytest.mark.parametrize("blank", ["", "   ", "\t"])
def test_empty_and_whitespace_ids_are_rejected(blank):
    with pytest.raises(DataError, match=r"column 'user_id' has 1 null or empty IDs \(row 1\)"):
        InteractionLog.from_frames(_frame(user_id=["a", blank, "c"], item_id=["x", "y", "z"]))


def test_string_ids_are_stripped():
    log = InteractionLog.from_frames(_frame(user_id=["  a ", "a"], item_id=["x", " x"]), duplicates="keep")
    assert log.interactions["user_id"].tolist() == ["a", "a"]
    assert log.interactions["item_id"].tolist() == ["x", "x"]
    assert log.n_users == 1 and log.n_items == 1


def test_integer_ids_stay_int64():
    log = InteractionLog.from_frames(
        _frame(user_id=[10, 20], item_id=[7, 8]), _frame(item_id=[8, 7, 9], title=["b", "a", "c"])
    )
    assert log.interactions["user_id"].dtype == np.int64
    assert log.interactions["item_id"].dtype == np.int64
    assert log.items["item_id"].dtype == np.int64
    assert log.items["item_id"].tolist() == [7, 8, 9]  # catalog sorted by item_id
    assert log.items["title"].tolist() == ["a", "b", "c"]
    assert log.n_items == 3  # items nobody touched stay in the catalog


def test_string_ids_stay_strings():
    log = InteractionLog.from_frames(_frame(user_id=["u2", "u1"], item_id=["b", "a"]))
    assert pd.api.types.is_string_dtype(log.interactions["user_id"].dtype)
    assert pd.api.types.is_string_dtype(log.interactions["item_id"].dtype)
    assert log.interactions["user_id"].tolist() == ["u2", "u1"]
    assert all(isinstance(v, str) for v in log.items["item_id"])
    assert list(log.user_ids) == ["u1", "u2"]


def test_integral_float_ids_become_int64_and_fractional_ones_strings():
    log = InteractionLog.from_frames(_frame(user_id=[1.0, 2.0], item_id=[3.0, 4.5]))
    assert log.interactions["user_id"].dtype == np.int64
    assert log.interactions["user_id"].tolist() == [1, 2]
    assert pd.api.types.is_string_dtype(log.interactions["item_id"].dtype)
    assert log.interactions["item_id"].tolist() == ["3.0", "4.5"]


def test_plain_integer_text_ids_become_int64_and_match_integer_ids():
    log = InteractionLog.from_frames(
        _frame(user_id=[1, 1, 2], item_id=[1, 2, 2]),
        _frame(item_id=["1", "2", "3"], title=["one", "two", "three"]),
    )
    assert log.notes == ()
    assert len(log) == 3
    assert log.interactions["item_id"].tolist() == [1, 2, 2]
    assert log.items["item_id"].dtype == np.int64
    assert log.item_codes().tolist() == [0, 1, 1]


def test_int_vs_text_item_ids_become_strings_on_both_sides_and_still_match():
    log = InteractionLog.from_frames(
        _frame(user_id=[1, 1, 2], item_id=[7, 12, 12]),
        _frame(item_id=["007", "7", "12"], title=["zero-zero-seven", "seven", "twelve"]),
    )
    assert log.notes == ()
    assert log.interactions["item_id"].tolist() == ["7", "12", "12"]
    assert all(isinstance(v, str) for v in log.interactions["item_id"])
    assert sorted(log.items["item_id"]) == ["007", "12", "7"]
    assert log.items.set_index("item_id").loc[log.interactions["item_id"], "title"].tolist() == [
        "seven",
        "twelve",
        "twelve",
    ]
    # user IDs are not affected by the item-ID alignment
    assert log.interactions["user_id"].dtype == np.int64


def test_user_and_item_codes_are_contiguous_and_consistent():
    inter = _frame(user_id=["z", "a", "m", "a", "z"], item_id=[30, 10, 20, 30, 10])
    log = InteractionLog.from_frames(inter, _frame(item_id=[40, 30, 20, 10]))
    users, items = log.user_codes(), log.item_codes()
    assert users.dtype == np.int64 and items.dtype == np.int64
    assert users.tolist() == [2, 0, 1, 0, 2]
    assert items.tolist() == [2, 0, 1, 2, 0]
    assert sorted(set(users)) == list(range(log.n_users))
    assert log.n_users == 3 and log.n_items == 4
    assert list(log.user_ids[users]) == log.interactions["user_id"].tolist()
    assert list(log.item_ids[items]) == log.interactions["item_id"].tolist()
    assert list(log.item_ids) == [10, 20, 30, 40]


# --------------------------------------------------------------------- timestamps


def test_unparseable_timestamps_name_rows():
    # an ISO column (it holds a real date): the epoch number, 'soon' and 'x' are all unreadable as dates
    with pytest.raises(
        DataError,
        match=r"column 'timestamp' has 3 missing or unparseable timestamps \(e\.g\. '1700000000', 'soon', 'x'; rows 0, "
        r"1, 3\)",
    ):
        InteractionLog.from_frames(
            _frame(user_id=[1, 2, 3, 4], item_id=[1, 2, 3, 4], timestamp=["1700000000", "soon", "2024-01-01", "x"])
        )
    # a numeric column: only the words are errors
    with pytest.raises(DataError, match=r"has 2 missing or unparseable timestamps \(e\.g\. 'soon', 'x'; rows 1, 3\)"):
        InteractionLog.from_frames(
            _frame(user_id=[1, 2, 3, 4], item_id=[1, 2, 3, 4], timestamp=["1700000000", "soon", "1700000001", "x"])
        )


def test_one_reading_per_timestamp_column():
    years = InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=["2024", "2024-06-01"]))
    assert years.interactions["timestamp"].tolist() == [
        1_704_067_200,
        1_717_200_000,
    ]  # "2024" is a year here, not 2024 s
    with pytest.raises(DataError, match="look like YYYYMMDD dates"):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=["20240101", "20240315"]))
    with pytest.raises(DataError, match="look like YYYYMMDD dates"):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=[20240101, 20240315]))


def test_sub_second_events_are_not_duplicates():
    frame = _frame(
        user_id=["u"] * 3,
        item_id=["a"] * 3,
        timestamp=[1_700_000_000_000, 1_700_000_000_200, 1_700_000_000_400],
        event=["click"] * 3,
    )
    log = InteractionLog.from_frames(frame, timestamp_unit="ms")
    assert len(log) == 3 and log.notes == ()
    assert "_exact_timestamp" not in log.interactions.columns
    assert log.interactions["timestamp"].tolist() == [1_700_000_000] * 3


def test_unparseable_timestamps_in_csv_give_file_line_numbers(tmp_path):
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,timestamp\n1,1,1700000000\n1,2,1700000001\n2,1,yesterday\n2,2,1700000003\n2,3,\n")
    with pytest.raises(
        DataError, match=r"events\.csv: column 'timestamp' has 2 missing or unparseable timestamps .*lines 4, 6\)"
    ):
        read_log(path)


def test_negative_timestamps():
    with pytest.raises(DataError, match=r"column 'timestamp' has 1 negative timestamps \(before 1970-01-01; row 1\)"):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=[10, -5]))


def test_far_future_seconds_without_millisecond_hint():
    with pytest.raises(
        DataError, match=r"column 'timestamp' has 1 timestamps in the future \(after .*; row 1\)$"
    ) as info:
        InteractionLog.from_frames(
            _frame(user_id=[1, 2], item_id=[1, 2], timestamp=[1_700_000_000, 4_102_444_800])
        )  # 2100-01-01
    assert "milliseconds" not in str(info.value)


def test_millisecond_timestamps_read_as_seconds_get_the_hint():
    with pytest.raises(
        DataError, match=r"2 timestamps in the future .*rows 0, 1\); are they milliseconds\? pass timestamp_unit='ms'"
    ):
        InteractionLog.from_frames(
            _frame(user_id=[1, 2], item_id=[1, 2], timestamp=[1_700_000_000_123, 1_700_000_001_999])
        )


def test_timestamp_unit_ms():
    log = InteractionLog.from_frames(
        _frame(user_id=[1, 2], item_id=[1, 2], timestamp=[1_700_000_000_123, 1_700_000_001_999]), timestamp_unit="ms"
    )
    assert log.interactions["timestamp"].dtype == np.int64
    assert log.interactions["timestamp"].tolist() == [1_700_000_000, 1_700_000_001]
    assert log.has_timestamps


def test_timestamp_unit_is_checked():
    with pytest.raises(ValueError, match="timestamp_unit"):
        InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), timestamp_unit="us")


def test_iso_8601_strings_parse_to_unix_seconds():
    stamps = ["2024-03-01", "2024-03-01T12:00:00Z", "2024-03-01T12:00:00+02:00"]
    log = InteractionLog.from_frames(_frame(user_id=[1, 2, 3], item_id=[1, 2, 3], timestamp=stamps))
    assert log.interactions["timestamp"].tolist() == [1_709_251_200, 1_709_294_400, 1_709_287_200]


def test_datetime64_columns_parse_to_unix_seconds():
    naive = pd.to_datetime(["2024-03-01 12:00:00", "1970-01-02 00:00:00"])
    log = InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=naive))
    assert log.interactions["timestamp"].tolist() == [1_709_294_400, 86_400]  # naive = UTC
    aware = pd.Series(pd.to_datetime(["2024-03-01 12:00:00"]).tz_localize("Europe/Berlin"))  # +01:00 in March
    assert parse_timestamps(aware).tolist() == [1_709_290_800]


def test_missing_datetime_is_unparseable():
    stamps = pd.Series(pd.to_datetime(["2024-03-01", None]))
    with pytest.raises(DataError, match=r"1 missing or unparseable timestamps .*row 1\)"):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], timestamp=stamps))


def test_no_timestamp_column_gives_zeros():
    log = InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2]))
    assert not log.has_timestamps
    assert log.interactions["timestamp"].tolist() == [0, 0]
    assert log.interactions["timestamp"].dtype == np.int64


# ------------------------------------------------------------------------- values


def test_non_numeric_values():
    with pytest.raises(DataError, match=r"column 'value' has 1 non-numeric values \(e\.g\. 'five'; row 2\)"):
        InteractionLog.from_frames(
            _frame(user_id=[1, 2, 3], item_id=[1, 2, 3], event="rating", value=["4", "3.5", "five"])
        )


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_and_inf_values(bad):
    with pytest.raises(DataError, match=r"column 'value' has 1 missing, NaN or infinite values \(row 1\)"):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], event="rating", value=[4.0, bad]))


def test_negative_count_on_count_event_is_rejected():
    with pytest.raises(
        DataError, match=r"column 'value' has 1 negative counts on non-rating events \(row 1\); counts must be >= 0"
    ):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[1, 2], event=["rating", "view"], value=[-1.0, -2.0]))


def test_negative_rating_is_allowed_and_events_are_normalised():
    log = InteractionLog.from_frames(
        _frame(user_id=[1, 2], item_id=[1, 2], event=[" Rating", "VIEW"], value=[-1.0, 3.0])
    )
    assert log.interactions["event"].tolist() == ["rating", "view"]
    assert log.interactions["value"].tolist() == [-1.0, 3.0]
    assert log.events == ["rating", "view"]


def test_defaults_for_optional_columns():
    log = InteractionLog.from_frames(_frame(user_id=[1], item_id=[2], extra=["dropped"]), default_event="Click")
    assert list(log.interactions.columns) == ["user_id", "item_id", "timestamp", "event", "value", "text"]
    row = log.interactions.iloc[0]
    assert row["event"] == "click" and row["value"] == 1.0 and pd.isna(row["text"])


def test_empty_event_is_rejected():
    with pytest.raises(DataError, match=r"column 'event' has 2 null or empty values \(rows 0, 2\)"):
        InteractionLog.from_frames(_frame(user_id=[1, 2, 3], item_id=[1, 2, 3], event=[" ", "view", None]))


# -------------------------------------------------------------- catalog and rows


def test_missing_items_dropped_and_counted_in_notes():
    inter = _frame(user_id=[1, 1, 2, 2], item_id=[1, 5, 2, 5])
    log = InteractionLog.from_frames(inter, _frame(item_id=[1, 2]))
    assert len(log) == 2
    assert log.interactions["item_id"].tolist() == [1, 2]
    assert log.notes == (
        "dropped 2 interactions refer to 1 items not in catalog (column 'item_id', e.g. 5; rows 1, 3)",
    )


def test_missing_items_error():
    inter = _frame(user_id=[1, 1, 2], item_id=[1, 5, 6])
    with pytest.raises(
        DataError,
        match=r"2 interactions refer to 2 items not in catalog \(column 'item_id', e\.g\. 5, 6; rows 1, 2\); pass "
        r"missing_items='drop'",
    ):
        InteractionLog.from_frames(inter, _frame(item_id=[1, 2]), missing_items="error")


def test_missing_items_in_csv_give_line_numbers(tmp_path):
    (tmp_path / "e.csv").write_text("user_id,item_id\n1,1\n1,9\n2,1\n")
    (tmp_path / "items.csv").write_text("item_id,title\n1,One\n")
    log = read_log(tmp_path / "e.csv", tmp_path / "items.csv")
    assert len(log) == 2
    assert len(log.notes) == 1
    assert log.notes[0].startswith("dropped 1 interactions refer to 1 items not in ")
    assert log.notes[0].endswith("(column 'item_id', e.g. 9; line 3)")


def test_duplicates_drop_is_the_default_and_noted():
    inter = _frame(user_id=[1, 1, 1, 2], item_id=[1, 1, 2, 1], timestamp=[5, 5, 5, 5])
    log = InteractionLog.from_frames(inter)
    assert len(log) == 3
    assert log.notes == ("dropped 1 duplicate interaction rows (row 1)",)


def test_duplicates_error():
    inter = _frame(user_id=[1, 2, 1, 1], item_id=[1, 1, 1, 1])
    with pytest.raises(
        DataError, match=r"2 duplicate interaction rows \(rows 2, 3\); pass duplicates='drop' or 'keep'"
    ):
        InteractionLog.from_frames(inter, duplicates="error")


def test_duplicates_keep():
    log = InteractionLog.from_frames(_frame(user_id=[1, 1], item_id=[1, 1]), duplicates="keep")
    assert len(log) == 2
    assert log.notes == ()


def test_rows_differing_only_in_time_or_text_are_not_duplicates():
    inter = _frame(user_id=[1, 1, 1], item_id=[1, 1, 1], timestamp=[1, 2, 2], event="tag", text=["a", "a", "b"])
    log = InteractionLog.from_frames(inter, duplicates="error")
    assert len(log) == 3


def test_duplicate_row_numbers_after_dropping_missing_items():
    # row 0 refers to a missing item and is dropped; row 2 duplicates row 1
    inter = _frame(user_id=[1, 1, 1], item_id=[9, 2, 2])
    with pytest.raises(DataError, match=r"1 duplicate interaction rows \(row 2\)"):
        InteractionLog.from_frames(inter, _frame(item_id=[2]), duplicates="error")


def test_empty_after_validation():
    with pytest.raises(
        DataError, match=r"no interactions left after validation \(dropped 2 interactions refer to 2 items"
    ):
        InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=[7, 8]), _frame(item_id=[1, 2]))


def test_empty_table():
    with pytest.raises(DataError, match=r"no interactions left after validation \(the table has no rows\)"):
        InteractionLog.from_frames(
            pd.DataFrame({"user_id": pd.Series([], dtype="int64"), "item_id": pd.Series([], dtype="int64")})
        )


def test_duplicate_catalog_ids():
    with pytest.raises(DataError, match=r"items\.csv: column 'item_id' has 1 duplicate IDs \(e\.g\. 2; rows 1, 3\)"):
        InteractionLog.from_frames(
            _frame(user_id=[1], item_id=[1]), _frame(item_id=[1, 2, 3, 2]), items_source="items.csv"
        )


def test_duplicate_catalog_ids_after_normalisation():
    # " b" and "b" are the same ID once stripped
    with pytest.raises(DataError, match=r"column 'item_id' has 1 duplicate IDs \(e\.g\. 'b'; rows 0, 1\)"):
        InteractionLog.from_frames(_frame(user_id=["u"], item_id=["b"]), _frame(item_id=[" b", "b"]))


def test_interest_field_with_strings_instead_of_lists():
    items = _frame(item_id=[1, 2, 3], genres=[["Drama"], "Comedy|Drama", None])
    with pytest.raises(
        DataError,
        match=r"interest field 'genres' must hold lists of labels; 1 cells are not lists \(row 1\); split delimited "
        r"strings when reading \(list_fields=\{'genres': '\|'\}\)",
    ):
        InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), items, interest_fields=["genres"])


def test_interest_fields_detected_and_cleaned():
    items = _frame(
        item_id=[1, 2, 3],
        title=[" A ", None, "C"],
        genres=[[" Drama ", "", "Comedy"], None, ("War",)],
        blurb=["x", "y", "z"],
    )
    log = InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), items)
    assert log.interest_fields == ("genres",)
    assert log.text_fields == ("title", "blurb")
    assert log.items["genres"].tolist() == [["Drama", "Comedy"], [], ["War"]]
    assert log.items["title"].tolist() == ["A", "", "C"]


def test_bare_catalog_when_items_is_none():
    log = InteractionLog.from_frames(_frame(user_id=[1, 2], item_id=["b", "a"]))
    assert log.items["item_id"].tolist() == ["a", "b"]
    assert log.items["title"].tolist() == ["", ""]
    assert log.interest_fields == () and log.text_fields == ("title",)


def test_bad_options_are_value_errors():
    with pytest.raises(ValueError, match="missing_items"):
        InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), missing_items="ignore")
    with pytest.raises(ValueError, match="duplicates"):
        InteractionLog.from_frames(_frame(user_id=[1], item_id=[1]), duplicates="merge")
    with pytest.raises(TypeError, match="DataFrame"):
        InteractionLog.from_frames([{"user_id": 1, "item_id": 1}])


def test_data_error_is_a_value_error():
    assert issubclass(DataError, ValueError)


# ------------------------------------------------------------ inputs untouched


@pytest.mark.parametrize(
    "inter, items",
    [
        (
            _frame(user_id=[" a", "b"], item_id=[1, 2], timestamp=["2024-01-01", "soon"]),
            _frame(item_id=["1", "2"], title=["x", "y"]),
        ),
        (_frame(user_id=[" a", "b"], item_id=[1, 2], event=["VIEW", "view"], value=[1, -1]), None),
        (_frame(user_id=["a", "b"], item_id=[1.0, 2.0]), _frame(item_id=[1, 1], genres=[["x"], ["y"]])),
        (_frame(user_id=["a", "b"], item_id=[1, 2]), _frame(item_id=[3, 4], genres=[" x", ["y"]])),
    ],
)
def test_failed_from_frames_leaves_inputs_unchanged(inter, items):
    inter_before = inter.copy(deep=True)
    items_before = None if items is None else items.copy(deep=True)
    with pytest.raises(DataError):
        InteractionLog.from_frames(inter, items, missing_items="error")
    pd.testing.assert_frame_equal(inter, inter_before)
    if items is not None:
        pd.testing.assert_frame_equal(items, items_before)


def test_successful_from_frames_leaves_inputs_unchanged():
    inter = _frame(
        user_id=[" a", "b", "b"],
        item_id=[1, 2, 2],
        event=["VIEW", "view", "view"],
        timestamp=["2024-01-01", "2024-01-02", "2024-01-02"],
    )
    items = _frame(item_id=["2", "1"], title=[" y ", "x"], genres=[["g "], None])
    inter_before, items_before = inter.copy(deep=True), items.copy(deep=True)
    log = InteractionLog.from_frames(inter, items)
    assert len(log) == 2
    pd.testing.assert_frame_equal(inter, inter_before)
    pd.testing.assert_frame_equal(items, items_before)


# ------------------------------------------------------------- property test

_USER_IDS = st.sampled_from(["a", "b", " c", "", "  ", None, 1, 2, "1", 3.0])
_ITEM_IDS = st.sampled_from(["x", "y", "z ", "", None, 1, 2, "2", 2.5, 7.0])
_CATALOG_IDS = st.sampled_from(["x", "y", "z", 1, 2, "2", 2.5, 7, None])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(_USER_IDS, _ITEM_IDS, st.integers(0, 1_700_000_000)), min_size=0, max_size=12),
    catalog=st.none() | st.lists(_CATALOG_IDS, min_size=1, max_size=6),
    missing_items=st.sampled_from(["drop", "error"]),
    duplicates=st.sampled_from(["drop", "error", "keep"]),
)
def test_from_frames_succeeds_consistently_or_raises_data_error(rows, catalog, missing_items, duplicates):
    inter = (
        pd.DataFrame(rows, columns=["user_id", "item_id", "timestamp"])
        if rows
        else pd.DataFrame({"user_id": [], "item_id": [], "timestamp": []})
    )
    items = None if catalog is None else pd.DataFrame({"item_id": catalog})
    try:
        log = InteractionLog.from_frames(inter, items, missing_items=missing_items, duplicates=duplicates)
    except DataError:
        return
    users = log.user_codes()
    items_codes = log.item_codes()
    assert len(log) > 0
    assert users.min() >= 0 and users.max() < log.n_users
    assert sorted(set(users.tolist())) == list(range(log.n_users))
    assert items_codes.min() >= 0 and items_codes.max() < log.n_items
    assert log.interactions["item_id"].isin(log.items["item_id"]).all()
    assert not log.items["item_id"].duplicated().any()
    assert log.interactions["timestamp"].between(0, 1_700_000_000).all()
    if duplicates != "keep":
        assert not log.interactions.duplicated().any()
