"""EventWeights.apply (exact weights and positives) and the log filters (k-core, min rating, date window)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from interestgraph.data.filters import filter_dates, filter_min_rating, k_core
from interestgraph.data.schema import InteractionLog
from interestgraph.data.weights import DEFAULT_EVENT_WEIGHTS, EventWeights
from interestgraph.errors import DataError


def _events(pairs: list[tuple[str, float]]) -> pd.DataFrame:
    return pd.DataFrame({"event": [e for e, _ in pairs], "value": [float(v) for _, v in pairs]})


RATINGS = _events([("rating", 5.0), ("rating", 4.0), ("rating", 3.5), ("rating", 1.0), ("review", 4.5)])


# ------------------------------------------------------------------- ratings


def test_binary_rating_weights_and_threshold_boundary():
    weight, positive = EventWeights().apply(RATINGS)
    assert weight.dtype == np.float64 and positive.dtype == bool
    assert weight.tolist() == [1.0, 1.0, 0.0, 0.0, 1.0]
    assert positive.tolist() == [True, True, False, False, True]  # 4.0 is positive, 3.5 is not


def test_linear_rating_weights():
    weight, positive = EventWeights(rating_weight="linear").apply(RATINGS)
    # events["rating"] * (rating - 4 + 1) above the threshold; 0 below with negative="drop"
    assert weight.tolist() == [2.0, 1.0, 0.0, 0.0, 1.5]
    assert positive.tolist() == [True, True, False, False, True]


def test_linear_rating_weights_scale_with_the_event_weight():
    weights = EventWeights(
        events={**DEFAULT_EVENT_WEIGHTS, "rating": 2.5}, rating_weight="linear", positive_threshold=3.0
    )
    weight, positive = weights.apply(_events([("rating", 5.0), ("rating", 3.0), ("rating", 2.9)]))
    assert weight.tolist() == pytest.approx([7.5, 2.5, 0.0])
    assert positive.tolist() == [True, True, False]


def test_negative_drop_gives_zero_and_not_positive():
    weight, positive = EventWeights(negative="drop").apply(_events([("rating", 3.5), ("rating", 0.5)]))
    assert weight.tolist() == [0.0, 0.0]
    assert not positive.any()


def test_negative_binary_gives_minus_the_event_weight():
    weight, positive = EventWeights(negative="negative").apply(RATINGS)
    assert weight.tolist() == [1.0, 1.0, -1.0, -1.0, 1.0]
    assert positive.tolist() == [True, True, False, False, True]


def test_negative_linear_gives_minus_the_distance_below_the_threshold():
    weights = EventWeights(events={**DEFAULT_EVENT_WEIGHTS, "rating": 2.0}, rating_weight="linear", negative="negative")
    weight, positive = weights.apply(_events([("rating", 3.5), ("rating", 1.0), ("rating", 4.0), ("rating", -1.0)]))
    assert weight.tolist() == [-1.0, -6.0, 2.0, -10.0]  # -2 * (4 - r) below, 2 * (r - 3) at/above
    assert positive.tolist() == [False, False, True, False]


def test_zero_weight_rating_event_is_never_positive():
    weights = EventWeights(events={**DEFAULT_EVENT_WEIGHTS, "review": 0.0})
    weight, positive = weights.apply(_events([("review", 5.0)]))
    assert weight.tolist() == [0.0]
    assert positive.tolist() == [False]


# -------------------------------------------------------------------- counts

COUNTS = _events([("view", 0), ("view", 1), ("view", 3), ("purchase", 2), ("click", 7)])


def test_count_weights_log():
    weight, positive = EventWeights(count_weight="log").apply(COUNTS)
    expected = [0.0, 1.0, 2.0, 3.0 * math.log2(3.0), 3.0]
    assert weight.tolist() == pytest.approx(expected, abs=1e-12)
    assert weight[1] == 1.0 and weight[2] == 2.0 and weight[4] == 3.0  # log2(1 + 1), log2(1 + 3), log2(1 + 7)
    assert positive.tolist() == [False, True, True, True, True]


def test_count_weights_binary():
    weight, positive = EventWeights(count_weight="binary").apply(COUNTS)
    assert weight.tolist() == [0.0, 1.0, 1.0, 3.0, 1.0]
    assert positive.tolist() == [False, True, True, True, True]


def test_count_weights_linear():
    weight, positive = EventWeights(count_weight="linear").apply(COUNTS)
    assert weight.tolist() == [0.0, 1.0, 3.0, 6.0, 7.0]
    assert positive.tolist() == [False, True, True, True, True]


def test_default_is_log_counts_and_binary_ratings():
    weights = EventWeights()
    assert weights.count_weight == "log" and weights.rating_weight == "binary"
    assert weights.negative == "drop" and weights.positive_threshold == 4.0


@pytest.mark.parametrize("event", ["tag", "query"])
def test_side_events_have_weight_zero_and_are_not_positive(event):
    for count_weight in ("binary", "log", "linear"):
        weight, positive = EventWeights(count_weight=count_weight).apply(_events([(event, 1.0), (event, 5.0)]))
        assert weight.tolist() == [0.0, 0.0]
        assert not positive.any()


def test_mixed_log_keeps_row_order():
    frame = _events([("view", 1), ("rating", 2.0), ("tag", 1), ("rating", 4.5), ("purchase", 1)])
    weight, positive = EventWeights().apply(frame)
    assert weight.tolist() == [1.0, 0.0, 0.0, 1.0, 3.0]
    assert positive.tolist() == [True, False, False, True, True]


# -------------------------------------------------------------------- errors


def test_unknown_event_is_named():
    frame = _events([("view", 1), ("wishlist", 1), ("bookmark", 1), ("wishlist", 2)])
    with pytest.raises(
        DataError,
        match=r"log\.csv: event type\(s\) 'bookmark', 'wishlist' have no weight \(rows 1, 2, 3\); add them to "
        r"EventWeights\.events.*'bookmark': 1\.0",
    ):
        EventWeights().apply(frame, source="log.csv")


def test_rating_event_without_a_weight_is_an_error():
    with pytest.raises(DataError, match=r"event type\(s\) 'rating' have no weight \(row 0\)"):
        EventWeights(events={"view": 1.0}).apply(_events([("rating", 5.0)]))


@pytest.mark.parametrize(
    "kwargs, field",
    [
        ({"rating_weight": "log"}, "rating_weight"),
        ({"count_weight": "sqrt"}, "count_weight"),
        ({"negative": "flip"}, "negative"),
        ({"positive_threshold": float("nan")}, "positive_threshold"),
        ({"positive_threshold": float("inf")}, "positive_threshold"),
        ({"events": {"view": -1.0}}, r"events\['view'\]"),
        ({"events": {"click": float("nan")}}, r"events\['click'\]"),
        ({"events": {"buy": float("inf")}}, r"events\['buy'\]"),
    ],
)
def test_invalid_config_is_a_value_error_naming_the_field(kwargs, field):
    with pytest.raises(ValueError, match=rf"^{field} must"):
        EventWeights(**kwargs)


def test_to_dict_round_trips_the_settings():
    weights = EventWeights(
        events={"view": 2.0, "rating": 1.0},
        rating_weight="linear",
        count_weight="binary",
        negative="negative",
        positive_threshold=3.5,
    )
    assert weights.to_dict() == {
        "events": {"view": 2.0, "rating": 1.0},
        "rating_events": ["rating", "review"],
        "positive_threshold": 3.5,
        "rating_weight": "linear",
        "count_weight": "binary",
        "negative": "negative",
    }


# ------------------------------------------------------------------- filters


def _ratings_log(
    rows: list[tuple[str, str, float]], *, extra: list[tuple[str, str, str, float]] = ()
) -> InteractionLog:
    records = [{"user_id": u, "item_id": i, "event": "rating", "value": r} for u, i, r in rows]
    records += [{"user_id": u, "item_id": i, "event": e, "value": v} for u, i, e, v in extra]
    return InteractionLog.from_frames(pd.DataFrame(records), source="toy")


def test_k_core_needs_more_than_one_round():
    # round 1: u4 has one positive item -> (u4, C) goes; round 2: C is left with only u3 -> (u3, C) goes;
    # round 3: u3 is left with only B -> (u3, B) goes; then u1, u2 x A, B is a 2-core.
    log = _ratings_log(
        [
            ("u1", "A", 5),
            ("u1", "B", 5),
            ("u2", "A", 4),
            ("u2", "B", 5),
            ("u3", "B", 5),
            ("u3", "C", 4),
            ("u4", "C", 5),
            ("u3", "A", 2),
        ],
        extra=[("u1", "A", "tag", 1.0), ("u4", "A", "view", 0.0)],
    )
    assert len(log) == 10
    core = k_core(log, min_user=2, min_item=2)
    inter = core.interactions
    assert sorted(inter["user_id"].unique()) == ["u1", "u2"]
    assert sorted(inter["item_id"].unique()) == ["A", "B"]
    assert len(core) == 5  # four positive ratings and u1's tag on A
    assert sorted(zip(inter["user_id"], inter["item_id"], inter["event"])) == [
        ("u1", "A", "rating"),
        ("u1", "A", "tag"),
        ("u1", "B", "rating"),
        ("u2", "A", "rating"),
        ("u2", "B", "rating"),
    ]
    assert core.notes == ("k-core (users >= 2, items >= 2) removed 5 events",)
    assert core.n_items == log.n_items == 3  # the catalog stays whole
    assert len(log) == 10  # the input log is not modified


def test_k_core_one_pass_would_not_be_enough():
    # a single pruning pass keeps u3 and C; the iterated core does not
    log = _ratings_log(
        [("u1", "A", 5), ("u1", "B", 5), ("u2", "A", 5), ("u2", "B", 5), ("u3", "B", 5), ("u3", "C", 5), ("u4", "C", 5)]
    )
    core = k_core(log, min_user=2, min_item=2)
    assert set(core.interactions["user_id"]) == {"u1", "u2"}
    assert set(core.interactions["item_id"]) == {"A", "B"}


def test_k_core_counts_distinct_positive_items_under_the_weights():
    # repeated ratings of one item count once; low ratings do not count
    log = _ratings_log([("u1", "A", 5), ("u1", "A", 4), ("u1", "B", 2), ("u2", "A", 5), ("u2", "B", 5)])
    core = k_core(log, min_user=2, min_item=1)
    assert set(core.interactions["user_id"]) == {"u2"}
    # with a threshold of 2 u1's low rating counts
    core2 = k_core(log, min_user=2, min_item=1, weights=EventWeights(positive_threshold=2.0))
    assert len(core2) == len(log)
    assert core2 is log  # nothing removed: same log, no note


def test_k_core_empty_result():
    log = _ratings_log([("u1", "A", 5), ("u2", "B", 5)])
    with pytest.raises(DataError, match=r"toy: the log is empty after filtering \(k-core \(users >= 2, items >= 2\)\)"):
        k_core(log, min_user=2, min_item=2)


def test_k_core_bad_arguments():
    log = _ratings_log([("u1", "A", 5)])
    with pytest.raises(ValueError, match="min_user and min_item must be >= 1"):
        k_core(log, min_user=0)


def test_filter_min_rating_keeps_other_events():
    log = _ratings_log(
        [("u1", "A", 5), ("u1", "B", 3.5), ("u2", "A", 4), ("u2", "C", 1)],
        extra=[("u1", "C", "view", 2.0), ("u2", "B", "tag", 1.0)],
    )
    out = filter_min_rating(log, 4)
    assert list(zip(out.interactions["user_id"], out.interactions["item_id"], out.interactions["event"])) == [
        ("u1", "A", "rating"),
        ("u2", "A", "rating"),
        ("u1", "C", "view"),
        ("u2", "B", "tag"),
    ]
    assert out.notes == ("min rating 4 removed 2 events",)
    out2 = filter_min_rating(log, 3.5)
    assert len(out2) == 5
    assert out2.notes == ("min rating 3.5 removed 1 events",)


def test_filter_min_rating_empty_result():
    log = _ratings_log([("u1", "A", 1), ("u2", "A", 2)])
    with pytest.raises(DataError, match=r"toy: the log is empty after filtering \(min rating 3\)"):
        filter_min_rating(log, 3)


def _timed_log() -> InteractionLog:
    # 2019-12-31T23:59:59Z, 2020-01-01T00:00:00Z, 2020-06-01, 2021-01-01T00:00:00Z, 2021-01-01T00:00:01Z
    stamps = [1_577_836_799, 1_577_836_800, 1_590_969_600, 1_609_459_200, 1_609_459_201]
    return InteractionLog.from_frames(
        pd.DataFrame({"user_id": [1, 2, 3, 4, 5], "item_id": [1, 1, 1, 1, 1], "timestamp": stamps}), source="timed"
    )


@pytest.mark.parametrize(
    "start, end",
    [
        ("2020-01-01", "2021-01-01"),
        (1_577_836_800, 1_609_459_200),
        ("2020-01-01T00:00:00Z", pd.Timestamp("2021-01-01")),
    ],
)
def test_filter_dates_is_half_open(start, end):
    out = filter_dates(_timed_log(), start, end)
    assert out.interactions["timestamp"].tolist() == [1_577_836_800, 1_590_969_600]
    assert out.notes == (f"date window [{start}, {end}) removed 3 events",)


def test_filter_dates_open_ends():
    log = _timed_log()
    assert filter_dates(log, start="2020-06-01").interactions["user_id"].tolist() == [3, 4, 5]
    assert filter_dates(log, end="2020-06-01").interactions["user_id"].tolist() == [1, 2]
    assert filter_dates(log) is log


def test_filter_dates_empty_result():
    with pytest.raises(
        DataError, match=r"timed: the log is empty after filtering \(date window \[2000-01-01, 2001-01-01\)\)"
    ):
        filter_dates(_timed_log(), "2000-01-01", "2001-01-01")


def test_filter_dates_needs_timestamps():
    log = InteractionLog.from_frames(pd.DataFrame({"user_id": [1], "item_id": [1]}), source="untimed")
    with pytest.raises(DataError, match="untimed: a date window needs timestamps, and this log has none"):
        filter_dates(log, "2020-01-01")


def test_filter_dates_bad_bounds():
    log = _timed_log()
    with pytest.raises(ValueError, match="start must be an ISO date or Unix seconds, got 'last year'"):
        filter_dates(log, "last year")
    with pytest.raises(ValueError, match=r"start \('2021-01-01'\) must be before end \('2020-01-01'\)"):
        filter_dates(log, "2021-01-01", "2020-01-01")


def test_filter_dates_accepts_an_end_in_the_future():
    out = filter_dates(_timed_log(), "2020-01-01", "2100-01-01")
    assert out.interactions["user_id"].tolist() == [2, 3, 4, 5]


def test_filters_chain_and_accumulate_notes():
    log = _ratings_log([("u1", "A", 5), ("u1", "B", 1), ("u2", "A", 5), ("u2", "B", 5), ("u3", "A", 5)])
    out = k_core(filter_min_rating(log, 4), min_user=2, min_item=1)
    assert out.notes == ("min rating 4 removed 1 events", "k-core (users >= 2, items >= 1) removed 2 events")
    assert set(out.interactions["user_id"]) == {"u2"}
