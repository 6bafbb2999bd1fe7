"""Defects found in the review of the graph stage, each pinned by a test."""

from __future__ import annotations

import pandas as pd
import pytest

from interestgraph.data import InteractionLog
from interestgraph.encoder.lexical import LexicalEncoder
from interestgraph.graph import GraphConfig, build_interest_graph
from interestgraph.graph.build import all_train_split
from interestgraph.interests.extract import InterestConfig, extract_interests
from interestgraph.interests.normalise import normalise_label

DAY = 86_400
T0 = int(pd.Timestamp("2020-01-15", tz="UTC").timestamp())


def _log(events, items=None):
    items = (
        items
        if items is not None
        else pd.DataFrame(
            {
                "item_id": ["a", "b", "c"],
                "title": ["Alpha", "Beta", "Gamma"],
                "genres": [["jazz"], ["rock"], ["jazz", "rock"]],
            }
        )
    )
    frame = pd.DataFrame(events, columns=["user_id", "item_id", "timestamp", "event", "value", "text"])
    return InteractionLog.from_frames(frame, items, interest_fields=("genres",) if "genres" in items else None)


CONFIG = GraphConfig(half_life_days=30.0, item_k=0, interests=InterestConfig(keywords_per_item=0))


def test_timeline_for_a_user_active_in_one_month_and_first_period_kept():
    one_burst = build_interest_graph(
        _log([("u", "a", T0, "view", 1.0, None), ("u", "b", T0 + DAY, "view", 1.0, None)]),
        CONFIG,
        encoder=LexicalEncoder(),
    )
    timeline = one_burst.interest_timeline("u")
    assert timeline["period"].unique().tolist() == [pd.Timestamp("2020-01-01", tz="UTC")]
    assert set(timeline["interest"]) == {"jazz", "rock"}
    spread = build_interest_graph(
        _log(
            [
                ("u", "a", T0, "view", 1.0, None),
                ("u", "b", T0 + 26 * DAY, "view", 1.0, None),
                ("u", "c", T0 + 79 * DAY, "view", 1.0, None),
            ]
        ),
        CONFIG,
        encoder=LexicalEncoder(),
    )
    periods = spread.interest_timeline("u")["period"].unique()
    assert [p.strftime("%Y-%m") for p in periods] == ["2020-01", "2020-02", "2020-03", "2020-04"]
    january = spread.interest_timeline("u").query("period == @periods[0]").set_index("interest")["weight"]
    assert january["jazz"] == pytest.approx(1.0) and january["rock"] == 0.0  # as of the end of January: only item a


def test_decay_reference_counts_tags_after_the_last_positive_event():
    log = _log(
        [
            ("u", "a", T0, "view", 1.0, None),
            ("u", "c", T0 + 10 * DAY, "tag", 1.0, "rock"),
            ("v", "c", T0 + 10 * DAY, "tag", 1.0, "rock"),
            ("v", "b", T0, "view", 1.0, None),
        ]
    )
    graph = build_interest_graph(log, CONFIG, encoder=LexicalEncoder())
    assert graph.reference_time == T0 + 10 * DAY
    stored = graph.user_interests("u", top=None)
    as_of = graph.user_interests("u", at=graph.reference_time, top=None)
    pd.testing.assert_frame_equal(stored, as_of, check_exact=False, rtol=1e-6)


def test_items_without_text_get_no_similarity_edges():
    items = pd.DataFrame({"item_id": [str(1000 + k) for k in range(6)], "genres": [["x"]] * 6})
    events = [("u", str(1000 + k), T0 + k, "view", 1.0, None) for k in range(6)]
    graph = build_interest_graph(
        _log(events, items),
        GraphConfig(item_k=5, item_threshold=0.0, interests=InterestConfig(keywords_per_item=0)),
        encoder=LexicalEncoder(),
    )
    assert len(graph.edges["item-item"]) == 0
    assert float(graph.item_vectors.abs().sum()) == 0.0


def test_a_log_without_catalog_builds_a_user_item_graph():
    log = InteractionLog.from_frames(pd.DataFrame({"user_id": [0, 0, 1, 1, 2], "item_id": [1, 2, 2, 3, 1]}))
    graph = build_interest_graph(log, encoder=LexicalEncoder())
    assert len(graph.interests) == 0 and graph.interest_vectors.shape == (0, LexicalEncoder().dim)
    assert len(graph.edges["user-item"]) == 5 and len(graph.edges["user-interest"]) == 0


def test_keywords_on_a_small_catalog():
    """40 items, 13 topic words each in 3 items: max_df (5% of 40 = 2 items) would be below
    min_df (3); it is raised to min_df instead of silently mining nothing."""
    topics = [
        "dragon",
        "galaxy",
        "pirate",
        "castle",
        "robot",
        "jungle",
        "desert",
        "ocean",
        "winter",
        "circus",
        "zombie",
        "samurai",
        "wizard",
    ]
    titles = [f"the {topics[k // 3]} story" if k < 39 else "an epilogue" for k in range(40)]
    items = pd.DataFrame({"item_id": range(40), "title": titles})
    log = InteractionLog.from_frames(
        pd.DataFrame({"user_id": [0] * 40, "item_id": range(40)}), items, interest_fields=()
    )
    vocab = extract_interests(all_train_split(log), InterestConfig(merge_threshold=None))
    assert set(vocab.labels) == set(topics)


def test_interest_config_validation():
    with pytest.raises(ValueError, match="text_threshold must be in"):
        InterestConfig(text_threshold=2.0)
    with pytest.raises(ValueError, match="min_items must be an integer"):
        InterestConfig(min_items=0.5)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("children’s", "children's"), ("İstanbul", "istanbul"), ("a\u200bb", "ab"), (float("nan"), "")],
)
def test_normalisation_variants(raw, expected):
    assert normalise_label(raw) == expected
