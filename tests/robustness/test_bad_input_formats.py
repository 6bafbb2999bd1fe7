"""Every format reader, fed garbage in the files it reads, refuses with an error of ours that names the file;
and graph building on random small valid logs keeps its invariants (hypothesis)."""

from __future__ import annotations

import gzip
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from interestgraph.data import InteractionLog
from interestgraph.data.formats import load_source
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.errors import InterestGraphError
from interestgraph.graph.build import build_interest_graph

GARBAGE = st.binary(min_size=0, max_size=300) | st.text(max_size=200).map(lambda t: t.encode("utf-8"))

# format → (files to write, which of them gets the garbage, the other files' valid content)
LAYOUTS = {
    "movielens-ratings": (
        "movielens",
        {"ratings.csv": None, "movies.csv": b"movieId,title,genres\n1,Toy Story (1995),Animation|Comedy\n"},
    ),
    "movielens-movies": (
        "movielens",
        {"ratings.csv": b"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n", "movies.csv": None},
    ),
    "movielens-1m": ("movielens", {"ratings.dat": None, "movies.dat": b"1::Toy Story (1995)::Animation|Comedy\n"}),
    "lightgcn-train": ("lightgcn", {"train.txt": None, "test.txt": b"0 1\n"}),
    "lightgcn-test": ("lightgcn", {"train.txt": b"0 1 2\n1 0\n", "test.txt": None}),
    "dataset-manifest": ("dataset", {"manifest.json": None}),
}


def _load(kind: str, files: dict[str, bytes | None], garbage: bytes):
    root = Path(tempfile.mkdtemp(prefix="ig-garbage-"))
    try:
        for name, content in files.items():
            (root / name).write_bytes(garbage if content is None else content)
        try:
            load_source(root, kind)
        except InterestGraphError as exc:
            message = str(exc)
            assert str(root) in message or any(name in message for name in files), message
            assert "\n" not in message.strip() and len(message) < 2_000
    finally:
        shutil.rmtree(root, ignore_errors=True)


@pytest.mark.parametrize("layout", sorted(LAYOUTS))
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(garbage=GARBAGE)
def test_format_readers_refuse_garbage_with_our_error(layout, garbage):
    kind, files = LAYOUTS[layout]
    _load(kind, files, garbage)


@settings(max_examples=25, deadline=None)
@given(garbage=GARBAGE, gz=st.booleans())
def test_amazon_reader_refuses_garbage(garbage, gz):
    root = Path(tempfile.mkdtemp(prefix="ig-amazon-"))
    try:
        path = root / ("reviews.json.gz" if gz else "reviews.json")
        path.write_bytes(gzip.compress(garbage) if gz else garbage)
        try:
            load_source(path, "amazon")
        except InterestGraphError as exc:
            assert path.name in str(exc) or str(root) in str(exc), str(exc)
    finally:
        shutil.rmtree(root, ignore_errors=True)


BUILT: list[int] = []
EVENTS = st.lists(
    st.tuples(
        st.integers(0, 7),
        st.integers(0, 9),
        st.integers(1_600_000_000, 1_700_000_000),
        st.sampled_from(["view", "click", "purchase", "rating", "tag"]),
        st.floats(0.5, 5.0),
        st.sampled_from(["", "space", "robots", "cooking", "jazz", "<b>x</b>"]),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=30, deadline=None)
@given(events=EVENTS)
def test_graph_building_on_random_small_logs_keeps_its_invariants(events):
    frame = pd.DataFrame(events, columns=["user_id", "item_id", "timestamp", "event", "value", "text"])
    frame["user_id"] = "u" + frame["user_id"].astype(str)
    frame["item_id"] = "i" + frame["item_id"].astype(str)
    frame.loc[frame["event"] != "tag", "text"] = None
    items = pd.DataFrame(
        {
            "item_id": [f"i{k}" for k in range(10)],
            "title": [f"item {k} about {t}" for k, t in zip(range(10), ["space", "robots", "cooking", "jazz"] * 3)],
            "genres": [
                ["sci-fi"],
                ["sci-fi", "robots"],
                ["food"],
                ["music"],
                [],
                ["food"],
                ["music"],
                ["sci-fi"],
                [],
                ["music"],
            ],
        }
    )
    try:
        log = InteractionLog.from_frames(frame, items, interest_fields=("genres",))
    except InterestGraphError:
        return  # a log validation refuses (say, no positive) is the reader's business, tested elsewhere
    try:
        graph = build_interest_graph(log, encoder=LexicalEncoder(64))
    except InterestGraphError:
        return
    BUILT.append(len(graph.edges["user-interest"]))
    n = {"user": len(graph.users), "item": len(graph.items), "interest": len(graph.interests)}
    ends = {
        "user-item": ("user", "item"),
        "item-interest": ("item", "interest"),
        "user-interest": ("user", "interest"),
        "interest-interest": ("interest", "interest"),
        "item-item": ("item", "item"),
    }
    for kind, table in graph.edges.items():
        src, dst = ends[kind]
        assert table["src"].between(0, n[src] - 1).all() and table["dst"].between(0, n[dst] - 1).all(), kind
        assert np.isfinite(table["weight"].to_numpy()).all() and (table["weight"].to_numpy() >= 0).all(), kind
    ui = graph.edges["user-interest"]
    if len(ui):
        assert (ui.groupby("src")["weight"].sum() <= 1 + 1e-6).all()  # w(v|u) is a share of the user's evidence


def test_the_property_test_built_graphs():
    """Guards the test above against passing vacuously (every example refused before a graph was built)."""
    test_graph_building_on_random_small_logs_keeps_its_invariants()
    assert len(BUILT) >= 10 and max(BUILT) > 0, BUILT
