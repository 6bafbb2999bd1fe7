"""Spark graph construction (local mode) equals the pandas build, edge for edge and weight for weight.

Needs pyspark (the ``spark`` extra, installed by the README's test command) and Java 17+;
without them the tests skip, except under ``CI=true``, where that is a failure.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestgraph.data import generate_synthetic, split_log
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import DataError
from interestgraph.graph import InterestGraph
from interestgraph.graph.build import build_interest_graph

ML_SMALL = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "ml-latest-small"


@pytest.fixture(scope="module")
def synthetic_split():
    """A synthetic log with ratings, tags, queries and reviews, split under rs-4 in pandas."""
    return split_log(generate_synthetic(n_users=150, n_items=240, n_interactions=6_000, seed=7).log, "rs-4")


def assert_same_graph(got: InterestGraph, want: InterestGraph) -> None:
    """Every table of two graphs equal: node sets, split, interests and every edge table (weights to float32
    rounding)."""
    assert got.counts() == want.counts()
    pd.testing.assert_index_equal(got.users, want.users)
    pd.testing.assert_index_equal(got.items, want.items)
    pd.testing.assert_frame_equal(got.interests, want.interests)
    assert got.reference_time == want.reference_time
    assert (
        got.split.protocol.to_dict() == want.split.protocol.to_dict()
        and got.split.protocol.is_temporal == want.split.protocol.is_temporal
    )
    pd.testing.assert_index_equal(got.split.candidate_items, want.split.candidate_items, check_names=False)
    pd.testing.assert_index_equal(got.split.cold_items, want.split.cold_items, check_names=False, exact=False)
    key = ["user_id", "item_id", "timestamp", "event", "value"]
    a = got.split.log.interactions.sort_values(key).reset_index(drop=True)
    b = want.split.log.interactions.sort_values(key).reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b, check_categorical=True)
    for table in ("user_tags", "text_links"):
        cols = list(getattr(want, table).columns)
        pd.testing.assert_frame_equal(
            getattr(got, table).sort_values(cols).reset_index(drop=True),
            getattr(want, table).sort_values(cols).reset_index(drop=True),
            obj=table,
        )
    assert set(got.edges) == set(want.edges)
    for kind in want.edges:
        x = got.edges[kind].sort_values(["src", "dst"]).reset_index(drop=True)
        y = want.edges[kind].sort_values(["src", "dst"]).reset_index(drop=True)
        np.testing.assert_array_equal(x[["src", "dst"]].to_numpy(), y[["src", "dst"]].to_numpy(), err_msg=kind)
        np.testing.assert_allclose(x["weight"].to_numpy(), y["weight"].to_numpy(), rtol=1e-6, atol=1e-7, err_msg=kind)
        assert x["weight"].dtype == y["weight"].dtype == np.float32


@pytest.mark.parametrize("protocol", ["rs-4", "tl-4", "cold-4"])
def test_a_pandas_split_through_parquet_equals_the_pandas_build(spark, synthetic_split, tmp_path, protocol):
    """The split made in pandas (random, temporal, cold-item) keeps its protocol, candidates and cold items."""
    from interestgraph.spark import build_interest_graph_spark, write_split_events

    split = (
        synthetic_split
        if protocol == "rs-4"
        else split_log(generate_synthetic(n_users=60, n_items=90, n_interactions=2_000, seed=5).log, protocol)
    )
    inter = split.log.interactions
    assert {"tag", "query", "review"} <= set(inter["event"]) and (inter["part"] != "train").any()
    want = build_interest_graph(split, encoder=LexicalEncoder())
    events = write_split_events(split, tmp_path / "events.parquet")
    got = build_interest_graph_spark(
        events,
        split.log.items,
        spark=spark,
        encoder=LexicalEncoder(),
        interest_fields=split.log.interest_fields,
        text_fields=split.log.text_fields,
    )
    assert got.protocol.name == protocol and got.protocol.method == split.protocol.method
    assert got.protocol.is_temporal == (protocol == "tl-4")
    assert len(got.split.cold_items) == len(split.cold_items) and (len(split.cold_items) > 0) == (protocol == "cold-4")
    assert len(want.text_links) > 0 and len(want.user_tags) > 0
    assert_same_graph(got, want)
    if protocol == "rs-4":  # the same on-disk format: it loads, and reads back as the pandas build
        assert len(want.edges["user-interest"]) > 1000
        loaded = InterestGraph.load(got.save(tmp_path / "graph"))
        assert_same_graph(loaded, want)
        manifest = json.loads((tmp_path / "graph" / "manifest.json").read_text())
        assert manifest["format"] == "interestgraph-graph" and "spark_events" in manifest["build_seconds"]


def _both(spark, tmp_path, events: pd.DataFrame, items: pd.DataFrame | None = None, config=None, **read):
    """Build from the same events with pandas (``InteractionLog.from_frames``) and with Spark (from Parquet)."""
    from interestgraph.data import InteractionLog
    from interestgraph.spark import build_interest_graph_spark

    path = tmp_path / "events.parquet"
    events.to_parquet(path, index=False)
    want = build_interest_graph(
        InteractionLog.from_frames(pd.read_parquet(path), items, **read), config, encoder=LexicalEncoder()
    )
    got = build_interest_graph_spark(str(path), items, config, spark=spark, encoder=LexicalEncoder(), **read)
    return got, want


REF = 1_700_000_000
GENRES = pd.DataFrame(
    {"item_id": [1, 2, 3], "title": ["Alien", "Heat", "Dune"], "genres": [["Alpha"], ["Beta"], ["Gamma"]]}
)
_HL = 180 * 86_400.0
_TIE = next(d for d in range(10, 1000) if np.float32(0.5 ** (d / _HL)) == np.float32(0.5 ** ((d + 1) / _HL)))


@pytest.mark.parametrize(
    "case",
    [
        "sub-second duplicates",
        "whitespace IDs",
        "ISO times",
        "milliseconds",
        "near tie at top-k",
        "unknown event on a dropped item",
    ],
)
def test_edge_cases_give_the_pandas_graph(spark, tmp_path, case):
    from interestgraph.graph.build import GraphConfig

    config, read, items = None, {}, GENRES
    if case == "sub-second duplicates":  # two views 0.5 s apart are two events, an exact repeat is one
        events = pd.DataFrame(
            {"user_id": [1, 1, 1, 2], "item_id": [1, 1, 1, 2], "timestamp": [10.2, 10.7, 10.7, 20.0], "event": "view"}
        )
    elif case == "whitespace IDs":  # Python's strip(): tabs and no-break spaces too
        events = pd.DataFrame(
            {
                "user_id": ["ann", "ann\t", "bob", "bob\xa0", "cy"],
                "item_id": ["1", "2\t", "2", "3", " 1"],
                "timestamp": [1, 2, 3, 4, 5],
                "event": "view",
            }
        )
    elif case == "ISO times":
        events = pd.DataFrame(
            {
                "user_id": [1, 1, 2],
                "item_id": [1, 2, 3],
                "timestamp": ["2024-03-01", "2024-03-01T12:00:00Z", "2024-04-02T08:30:00.5Z"],
                "event": "view",
            }
        )
    elif case == "milliseconds":
        events = pd.DataFrame(
            {
                "user_id": [1, 1, 2],
                "item_id": [1, 2, 3],
                "timestamp": [1_700_000_000_250, 1_700_000_000_750, 1_700_000_100_000],
                "event": "view",
            }
        )
        read = {"timestamp_unit": "ms"}
    elif case == "near tie at top-k":  # float32 user–item weights tie; the lower interest index wins, as in pandas
        events = pd.DataFrame(
            {
                "user_id": [1, 1, 2],
                "item_id": [1, 2, 3],
                "timestamp": [REF - _TIE - 1, REF - _TIE, REF],
                "event": "view",
            }
        )
        config = GraphConfig(user_interest_top_k=1)
    else:  # the unknown event type sits on an item the catalog lacks: dropped with its item, as pandas does
        events = pd.DataFrame(
            {"user_id": [1, 1, 2], "item_id": [1, 9, 2], "timestamp": [1, 2, 3], "event": ["view", "swipe", "view"]}
        )
    got, want = _both(spark, tmp_path, events, items, config, **read)
    assert_same_graph(got, want)
    if case == "sub-second duplicates":
        assert len(got.split.log.interactions) == 3 and got.edges["user-item"]["weight"].iloc[0] == pytest.approx(2.0)
    if case == "whitespace IDs":
        assert list(got.users) == ["ann", "bob", "cy"]


def test_all_train_from_csv_with_text_ids_equals_the_pandas_build(spark, tmp_path):
    """No part column: every event trains; CSV input (all strings, a quoted tag with doubled quotes, a comma and a
    newline) with its own column names, text user IDs, a delimited genre field."""
    from interestgraph.data.readers import read_log
    from interestgraph.spark import build_interest_graph_spark

    events = pd.DataFrame(
        {
            "user_id": ["ann", "ann", "ann", "bob", "bob", "cy", "cy", "cy", "cy", "bob", "ann"],
            "item_id": ["1", "2", "3", "2", "3", "1", "3", "4", "4", "4", "9"],
            "timestamp": [10, 20, 30, 40, 50, 60, 70, 80, 80, 90, 95],
            "event": [
                "rating",
                "rating",
                "view",
                "purchase",
                "tag",
                "rating",
                "click",
                "view",
                "view",
                "rating",
                "view",
            ],
            "value": [5, 3, 2, 1, 1, 4, 7, 1, 1, 4.5, 1],
            "text": ["", "", "", "", 'space "opera",\nepic', "", "", "", "", "", ""],
        }
    )
    items = pd.DataFrame(
        {
            "item_id": [1, 2, 3, 4],
            "title": ["Alien", "Heat", "Dune", "Up"],
            "genres": ["Sci-Fi|Horror", "Crime", "Sci-Fi", "Animation|Comedy"],
        }
    )
    events.rename(columns={"user_id": "customer"}).to_csv(tmp_path / "events.csv", index=False)
    items.rename(columns={"item_id": "sku"}).to_csv(tmp_path / "items.csv", index=False)
    maps = {"columns": {"user_id": "customer"}, "item_columns": {"item_id": "sku"}, "list_fields": {"genres": "|"}}
    log = read_log(tmp_path / "events.csv", tmp_path / "items.csv", **maps)
    want = build_interest_graph(log, encoder=LexicalEncoder())
    got = build_interest_graph_spark(
        str(tmp_path / "events.csv"), tmp_path / "items.csv", spark=spark, encoder=LexicalEncoder(), **maps
    )
    assert got.protocol.name == "all-train"
    assert any("not in" in n for n in got.split.log.notes) and any(
        "duplicate" in n for n in got.split.log.notes
    )  # item 9; the repeated cy/4 view
    assert list(got.users) == ["ann", "bob", "cy"]
    assert 'space "opera",\nepic' in set(got.split.log.interactions["text"].dropna())
    assert_same_graph(got, want)


@pytest.mark.skipif(not ML_SMALL.exists(), reason=f"ml-latest-small not found at {ML_SMALL}")
def test_ml_latest_small_rs4_equals_the_pandas_build(spark, tmp_path):
    """Real data: MovieLens ratings and tags under rs-4 (the split made in pandas, passed as the part column)."""
    from interestgraph.data.formats import load_source
    from interestgraph.spark import build_interest_graph_spark, write_split_events

    split = split_log(load_source(ML_SMALL, "movielens").log, "rs-4")
    want = build_interest_graph(split, encoder=LexicalEncoder())
    got = build_interest_graph_spark(
        write_split_events(split, tmp_path / "ml.parquet"),
        split.log.items,
        spark=spark,
        encoder=LexicalEncoder(),
        split_name="rs-4",
        interest_fields=split.log.interest_fields,
        text_fields=split.log.text_fields,
    )
    assert got.counts()["edges"]["user-item"] == 39_356  # positive training pairs of rs-4 on ml-latest-small
    assert_same_graph(got, want)


def _write(tmp_path: Path, frame: pd.DataFrame) -> str:
    path = tmp_path / "bad.parquet"
    frame.to_parquet(path, index=False)
    return str(path)


GOOD = {
    "user_id": [1, 1, 2],
    "item_id": [1, 2, 1],
    "timestamp": [1, 2, 3],
    "event": ["rating", "rating", "view"],
    "value": [5.0, 4.0, 1.0],
}


@pytest.mark.parametrize(
    "change, message",
    [
        ({"event": ["rating", "swipe", "view"]}, "'event' has 1 event types with no weight"),
        ({"user_id": [1, None, 2]}, "'user_id' has 1 null or empty IDs"),
        ({"value": [5.0, float("nan"), 1.0]}, "'value' has 1 missing, NaN or infinite values"),
        ({"value": [5.0, 4.0, -1.0]}, "'value' has 1 negative counts"),
        ({"timestamp": [1, -5, 3]}, "'timestamp' has 1 negative timestamps"),
        (
            {"timestamp": [1_700_000_000_000, 2, 3]},
            "'timestamp' has 1 timestamps in the future .*are they milliseconds",
        ),
        ({"timestamp": [20240101, 20240102, 20240103]}, "look like YYYYMMDD dates"),
        ({"timestamp": ["2024-01-01", "soon", "2024-01-03"]}, "'timestamp' has 1 missing or unparseable timestamps"),
        ({"value": ["5", "x", "1"]}, "'value' has 1 non-numeric values"),
        ({"part": ["train", "later", "test"]}, "'part' has 1 values outside train, valid, test"),
        (
            {
                "item_id": [1, 2, 1],
                "user_id": [1, 1, 1],
                "event": ["rating", "rating", "rating"],
                "value": [5.0, 4.0, 4.5],
                "part": ["train", "train", "test"],
            },
            r"1 \(user, item\) pairs have positive events in more than one part",
        ),
    ],
)
def test_bad_events_are_refused_naming_the_column(spark, tmp_path, change, message):
    from interestgraph.spark import build_interest_graph_spark

    path = _write(tmp_path, pd.DataFrame({**GOOD, **change}))
    items = pd.DataFrame({"item_id": [1, 2], "title": ["a", "b"]})
    with pytest.raises(DataError, match=message) as info:
        build_interest_graph_spark(path, items, spark=spark, encoder=LexicalEncoder())
    assert path in str(info.value)


def test_a_log_whose_catalog_gives_no_interest_points_still_builds(spark, tmp_path):
    """No interest fields, tags or keywords: users and items only, as the pandas build makes it."""
    from interestgraph.spark import build_interest_graph_spark

    items = pd.DataFrame({"item_id": [1, 2], "title": ["a", "b"]})
    got = build_interest_graph_spark(_write(tmp_path, pd.DataFrame(GOOD)), items, spark=spark, encoder=LexicalEncoder())
    assert got.counts()["nodes"]["interest"] == 0 and len(got.edges["user-interest"]) == 0
    assert sorted(map(tuple, got.edges["user-item"][["src", "dst"]].to_numpy().tolist())) == [(0, 0), (0, 1), (1, 0)]


def test_unreadable_input_and_missing_columns_are_refused(spark, tmp_path):
    from interestgraph.spark import build_interest_graph_spark

    with pytest.raises(DataError, match="Spark cannot read it"):
        build_interest_graph_spark(str(tmp_path / "nowhere.parquet"), spark=spark, encoder=LexicalEncoder())
    path = _write(tmp_path, pd.DataFrame({"user": [1], "item_id": [1]}))
    with pytest.raises(DataError, match=r"missing required column\(s\) 'user_id' \(columns: user, item_id\)"):
        build_interest_graph_spark(path, spark=spark, encoder=LexicalEncoder())
    with pytest.raises(DataError, match="refer to items not in catalog.*missing_items='drop'"):
        build_interest_graph_spark(
            _write(tmp_path, pd.DataFrame(GOOD)),
            pd.DataFrame({"item_id": [1]}),
            spark=spark,
            encoder=LexicalEncoder(),
            missing_items="error",
        )


def test_cli_build_spark_writes_a_graph_that_loads(spark, synthetic_split, tmp_path):
    """``interestgraph build-spark`` in the same process (reusing the session); a second run without --overwrite is
    refused."""
    from interestgraph.cli import main
    from interestgraph.spark import write_split_events

    events = write_split_events(synthetic_split, tmp_path / "events.parquet")
    items = tmp_path / "items.parquet"
    synthetic_split.log.items.to_parquet(items, index=False)
    out = tmp_path / "graph"
    argv = [
        "build-spark",
        str(events),
        "--items",
        str(items),
        "--split-name",
        "rs-4",
        "--encoder",
        "lexical",
        "--out",
        str(out),
        "--json",
    ]
    assert main(argv) == 0
    graph = InterestGraph.load(out)
    assert graph.protocol.name == "rs-4" and graph.counts()["edges"]["user-item"] > 0
    assert main(argv) == 2  # --out exists


def test_a_csv_spark_cannot_parse_is_one_data_error(spark, tmp_path):
    """Malformed input fails where Spark first parses it (before any column is inspected), as a DataError naming the
    file."""
    from interestgraph.spark import build_interest_graph_spark

    path = tmp_path / "broken.csv"
    path.write_text("user_id,item_id\n1,2\n1,2,3,4\n")  # a row with more fields than the header
    with pytest.raises(DataError, match=r"broken\.csv: Spark could not read or parse it"):
        build_interest_graph_spark(str(path), spark=spark, encoder=LexicalEncoder())
