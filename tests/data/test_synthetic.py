"""The synthetic default: exact sizes, determinism, and a planted truth that the log really carries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestgraph.data import SyntheticConfig, generate_synthetic
from interestgraph.data.synthetic import taxonomy


@pytest.fixture(scope="module")
def data():
    return generate_synthetic(n_users=400, n_items=600, n_interactions=20_000, seed=11)


def test_exact_sizes_and_schema(data):
    log = data.log
    assert len(log) == 20_000
    assert log.n_users == 400
    assert log.n_items == 600
    assert log.interest_fields == ("categories", "tags")
    assert log.text_fields == ("title", "description")
    assert set(log.events) == {"view", "click", "rating", "purchase", "tag", "query", "review"}
    per_user = log.interactions["user_id"].value_counts()
    assert per_user.min() >= SyntheticConfig().min_events_per_user
    text_events = log.interactions["event"].isin(["tag", "query", "review"])
    assert log.interactions.loc[text_events, "text"].notna().all()
    assert log.interactions.loc[~text_events, "text"].isna().all()
    assert log.items["title"].str.len().gt(0).all()
    assert log.interactions["timestamp"].is_monotonic_increasing


def test_deterministic_by_seed():
    a = generate_synthetic(n_users=50, n_items=80, n_interactions=1_000, seed=5)
    b = generate_synthetic(n_users=50, n_items=80, n_interactions=1_000, seed=5)
    c = generate_synthetic(n_users=50, n_items=80, n_interactions=1_000, seed=6)
    pd.testing.assert_frame_equal(a.log.interactions, b.log.interactions)
    pd.testing.assert_frame_equal(a.log.items, b.log.items)
    pd.testing.assert_frame_equal(a.truth.user_interests, b.truth.user_interests)
    assert not a.log.interactions.equals(c.log.interactions)


def test_catalog_tags_name_the_items_planted_interests(data):
    synonym_of = {s: i.name for _, _, i in taxonomy.all_interests() for s in i.synonyms}
    truth = data.truth.item_interests.groupby("item_id")["interest"].apply(set)
    written_as_synonym = 0
    for item_id, tags in zip(data.log.items["item_id"], data.log.items["tags"]):
        canonical = {synonym_of.get(t, t) for t in tags}
        assert canonical == truth[item_id]
        written_as_synonym += sum(t in synonym_of for t in tags)
    assert written_as_synonym > 50  # synonyms occur, so a later merge step has work to do


def test_planted_interests_are_recoverable_by_counting(data):
    """The user's strongest planted interest is the most frequent interest among their items' truth.

    This is the floor any interest-graph build must clear on this data; measured here: >= 0.85.
    """
    inter = data.log.interactions.merge(data.truth.item_interests, on="item_id")
    counts = inter.groupby(["user_id", "interest"]).size().rename("n").reset_index()
    top = counts.sort_values(["user_id", "n"], ascending=[True, False]).groupby("user_id").head(3)
    top_sets = top.groupby("user_id")["interest"].apply(set)
    hits = [data.truth.interests_of(u)[0] in top_sets[u] for u in top_sets.index]
    assert np.mean(hits) >= 0.85


def test_drift_moves_events_to_the_new_interest(data):
    ui = data.truth.user_interests
    drifting = data.truth.drift_time
    assert 0.3 < len(drifting) / 400 < 0.5  # drift_fraction 0.4
    old_rows = ui[ui["user_id"].isin(drifting.index) & (ui["end"] == ui["user_id"].map(drifting))]
    new_rows = ui[ui["user_id"].isin(drifting.index) & (ui["start"] == ui["user_id"].map(drifting))]
    assert len(old_rows) == len(new_rows) == len(drifting)
    carriers = data.truth.item_interests.groupby("interest")["item_id"].apply(set)
    inter = data.log.interactions
    before_old = after_old = before_new = after_new = 0
    for (_, old), (_, new) in zip(old_rows.iterrows(), new_rows.iterrows()):
        events = inter[inter["user_id"] == old["user_id"]]
        later = events["timestamp"] >= drifting[old["user_id"]]
        on_old = events["item_id"].isin(carriers[old["interest"]] - carriers[new["interest"]])
        on_new = events["item_id"].isin(carriers[new["interest"]] - carriers[old["interest"]])
        before_old += int((on_old & ~later).sum())
        after_old += int((on_old & later).sum())
        before_new += int((on_new & ~later).sum())
        after_new += int((on_new & later).sum())
    assert before_old > 3 * after_old  # the old interest fades after the drift ...
    assert after_new > 3 * before_new  # ... and the new one appears


def test_ratings_are_high_on_planted_items(data):
    inter = data.log.interactions
    ratings = inter[inter["event"] == "rating"][["user_id", "item_id", "value"]]
    planted = data.truth.user_interests[["user_id", "interest"]].drop_duplicates()
    user_items = planted.merge(data.truth.item_interests, on="interest")[["user_id", "item_id"]].drop_duplicates()
    marked = ratings.merge(user_items, on=["user_id", "item_id"], how="left", indicator=True)
    on_planted = marked["_merge"] == "both"
    assert 0.7 < on_planted.mean() < 0.95  # noise is 15% of events
    assert marked.loc[on_planted, "value"].mean() > marked.loc[~on_planted, "value"].mean() + 1.0


def test_related_interests_share_a_cluster(data):
    interest = data.truth.interests["interest"].iloc[0]
    related = data.truth.related(interest)
    cluster = data.truth.interests.set_index("interest").loc[interest, "cluster"]
    assert related and all(data.truth.interests.set_index("interest").loc[r, "cluster"] == cluster for r in related)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("n_users", 0, "n_users must be >= 1"),
        ("n_interactions", 10, "n_interactions"),
        ("noise", 1.5, "noise must be in"),
        ("interests_per_user", (3, 2), "interests_per_user"),
        ("event_mix", {"teleport": 1.0}, "unknown event types"),
        ("domains", ("astrology",), "unknown names"),
    ],
)
def test_config_errors_name_the_field(field, value, message):
    with pytest.raises(ValueError, match=message):
        SyntheticConfig(**{field: value})


def test_domain_subset():
    data = generate_synthetic(n_users=30, n_items=50, n_interactions=600, domains=("movies", "books"), seed=1)
    categories = {c[0] for c in data.log.items["categories"]}
    assert categories <= {"movies", "books"}
