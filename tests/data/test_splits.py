"""Split invariants: no leakage, proportions, temporal order, cold items, determinism."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestgraph.data import (
    EventWeights,
    InteractionLog,
    Protocol,
    generate_synthetic,
    given_split,
    global_time_split,
    leave_last_out_split,
    split_log,
    user_ratio_split,
)
from interestgraph.data.splits import _ratio_counts
from interestgraph.errors import DataError


@pytest.fixture(scope="module")
def synthetic_log() -> InteractionLog:
    return generate_synthetic(n_users=300, n_items=400, n_interactions=12_000, seed=3).log


def _pair_keys(frame: pd.DataFrame) -> set[tuple]:
    return set(zip(frame["user_id"], frame["item_id"]))


def test_ratio_counts_follow_recbole_rule():
    n = np.array([1, 2, 3, 5, 9, 10, 15, 20])
    train, valid, test = _ratio_counts(n, (0.8, 0.1, 0.1))
    assert train.tolist() == [1, 1, 1, 3, 7, 8, 13, 16]
    assert valid.tolist() == [0, 0, 1, 1, 1, 1, 1, 2]
    assert test.tolist() == [0, 1, 1, 1, 1, 1, 1, 2]
    assert (train + valid + test == n).all()


@pytest.mark.parametrize("protocol", ["rs-4", "tl-4", "cold-4"])
def test_no_pair_in_two_parts_and_side_data_follows_its_pair(synthetic_log, protocol):
    split = split_log(synthetic_log, protocol)
    pairs = split.pairs
    assert not pairs.duplicated(["user_id", "item_id"]).any()
    inter = split.log.interactions
    # every event on a valid/test positive pair (tags, queries, reviews included) is in that part
    for part in ("valid", "test"):
        keys = _pair_keys(split.positive_pairs(part))
        on_pairs = inter[[k in keys for k in zip(inter["user_id"], inter["item_id"])]]
        assert len(on_pairs) >= len(keys)
        assert (on_pairs["part"] == part).all()
    # training events never touch a valid/test pair
    held_out = _pair_keys(split.positive_pairs("valid")) | _pair_keys(split.positive_pairs("test"))
    assert not (_pair_keys(split.train) & held_out)


def test_rs4_proportions_and_user_filter(synthetic_log):
    split = split_log(synthetic_log, "rs-4")
    pairs = split.pairs
    per_user = pairs.groupby("user_id")["part"].value_counts().unstack(fill_value=0)
    total = per_user.sum(axis=1)
    assert (total >= 5).all()  # users with >= 5 positives only
    n_train, n_valid, n_test = _ratio_counts(total.to_numpy(), (0.8, 0.1, 0.1))
    assert (per_user["train"].to_numpy() == n_train).all()
    assert (per_user["valid"].to_numpy() == n_valid).all()
    assert (per_user["test"].to_numpy() == n_test).all()
    share = pairs["part"].value_counts(normalize=True)
    assert share["train"] == pytest.approx(0.8, abs=0.04)
    assert split.protocol.name == "rs-4" and split.protocol.seed == 2020
    assert split.protocol.params["positive_threshold"] == 4.0
    assert "seed 2020" in split.describe() and "rs-4" in split.describe()


def test_positives_follow_rating_threshold(synthetic_log):
    split = split_log(synthetic_log, "rs-4")
    inter = split.log.interactions
    ratings = inter[inter["event"] == "rating"]
    assert (ratings["positive"] == (ratings["value"] >= 4)).all()
    assert not inter.loc[inter["event"].isin(["tag", "query"]), "positive"].any()
    # low ratings make no positive pair unless another positive event exists on the pair
    low_only = ratings[~ratings["positive"]]
    positive_keys = _pair_keys(split.pairs)
    other_pos = inter[inter["positive"]]
    for key in list(zip(low_only["user_id"], low_only["item_id"]))[:50]:
        has_other = ((other_pos["user_id"] == key[0]) & (other_pos["item_id"] == key[1])).any()
        assert (key in positive_keys) == bool(has_other)


def test_tl4_trains_on_each_users_past(synthetic_log):
    split = split_log(synthetic_log, "tl-4")
    pairs = split.pairs
    first = pairs.groupby(["user_id", "part"])["timestamp"].agg(["min", "max"]).unstack()
    both = first.dropna()
    assert len(both) > 250
    assert (both[("max", "train")] <= both[("min", "valid")]).all()
    assert (both[("max", "valid")] <= both[("min", "test")]).all()
    # events that are on no positive pair go to the part their time falls in
    inter = split.log.interactions
    start_test = pairs[pairs["part"] == "test"].groupby("user_id")["timestamp"].min()
    loose = inter[~inter["positive"]].merge(start_test.rename("start_test"), left_on="user_id", right_index=True)
    loose_keys = _pair_keys(loose)
    positive_keys = _pair_keys(pairs)
    off_pair = loose[[k not in positive_keys for k in zip(loose["user_id"], loose["item_id"])]]
    assert len(off_pair) > 0 and len(loose_keys) > 0
    assert ((off_pair["timestamp"] >= off_pair["start_test"]) == (off_pair["part"] == "test")).all()


@pytest.mark.parametrize("protocol", ["tl-4", "leave-last", "global"])
def test_temporal_splits_keep_every_future_event_out_of_train(synthetic_log, protocol):
    """Not only pairs: every training event (side data, repeat events on a training
    pair) precedes the user's (or the global) start of valid and test."""
    if protocol == "tl-4":
        split = split_log(synthetic_log, "tl-4")
    elif protocol == "leave-last":
        split = leave_last_out_split(synthetic_log, min_user_positives=5)
    else:
        split = global_time_split(synthetic_log, 0.8, 0.9)
    inter = split.log.interactions
    pairs = split.pairs
    held_out_start = pairs[pairs["part"] != "train"].groupby("user_id")["timestamp"].min()
    last_train = inter[inter["part"] == "train"].groupby("user_id")["timestamp"].max()
    both = pd.concat([last_train.rename("last_train"), held_out_start.rename("start")], axis=1).dropna()
    assert len(both) > 100
    if protocol == "global":
        assert inter.loc[inter["part"] == "train", "timestamp"].max() < split.protocol.params["valid_start"]
    else:
        assert (both["last_train"] <= both["start"]).all()
    dropped = split.summary()["future_events_dropped"]
    assert dropped > 0 and any("after the user's training" in n for n in split.log.notes)
    events_of_kept_users = int(synthetic_log.interactions["user_id"].isin(split.log.user_ids).sum())
    assert dropped == events_of_kept_users - len(split.log)


def test_random_splits_drop_nothing(synthetic_log):
    assert split_log(synthetic_log, "rs-4").summary()["future_events_dropped"] == 0


def test_cold4_items_absent_from_train_and_are_candidates(synthetic_log):
    split = split_log(synthetic_log, "cold-4")
    cold = set(split.cold_items)
    with_positives = split.pairs["item_id"].nunique()
    assert len(cold) == round(0.1 * with_positives)
    inter = split.log.interactions
    assert not inter.loc[inter["part"] != "test", "item_id"].isin(cold).any()
    assert inter.loc[inter["item_id"].isin(cold), "part"].eq("test").all()
    assert cold <= set(split.candidate_items)
    train_items = set(split.positive_pairs("train")["item_id"])
    assert set(split.candidate_items) == train_items | cold


def test_candidates_are_items_with_training_positive(synthetic_log):
    split = split_log(synthetic_log, "rs-4")
    assert set(split.candidate_items) == set(split.positive_pairs("train")["item_id"])
    assert split.summary()["test_pairs_on_non_candidates"] == int(
        (~split.positive_pairs("test")["item_id"].isin(split.candidate_items)).sum()
    )


@pytest.mark.parametrize("protocol", ["rs-4", "tl-4", "cold-4"])
def test_same_seed_same_split_other_seed_differs(synthetic_log, protocol):
    a = split_log(synthetic_log, protocol, seed=7).log.interactions["part"]
    b = split_log(synthetic_log, protocol, seed=7).log.interactions["part"]
    c = split_log(synthetic_log, protocol, seed=8).log.interactions["part"]
    assert a.equals(b)
    if protocol != "tl-4":  # time order leaves the seed only ties to break
        assert not a.equals(c)


def test_unknown_protocol_is_a_value_error(synthetic_log):
    with pytest.raises(ValueError, match="protocol must be one of rs-4, tl-4, cold-4"):
        split_log(synthetic_log, "rs-5")


def _tiny_log(with_time: bool = True) -> InteractionLog:
    rows = []
    for u in range(4):
        for i in range(10):
            rows.append(
                {
                    "user_id": f"u{u}",
                    "item_id": i,
                    "timestamp": 1_600_000_000 + 1000 * i + u,
                    "event": "rating",
                    "value": 5.0 if (i + u) % 4 else 2.0,
                }
            )
    frame = pd.DataFrame(rows)
    if not with_time:
        frame = frame.drop(columns="timestamp")
    return InteractionLog.from_frames(frame)


def test_temporal_protocols_refuse_logs_without_time():
    log = _tiny_log(with_time=False)
    with pytest.raises(DataError, match="needs timestamps"):
        split_log(log, "tl-4")
    with pytest.raises(DataError, match="needs timestamps"):
        leave_last_out_split(log)
    with pytest.raises(DataError, match="needs timestamps"):
        global_time_split(log)
    assert split_log(log, "rs-4").pairs["part"].nunique() == 3


def test_leave_last_out_exact():
    split = leave_last_out_split(_tiny_log(), n_test=1, n_valid=1, weights=EventWeights())
    pairs = split.pairs.sort_values(["user_id", "timestamp"])
    for _, group in pairs.groupby("user_id"):
        assert group["part"].tolist()[-2:] == ["valid", "test"]
        assert (group["part"].iloc[:-2] == "train").all()


def test_global_time_split_cuts_everyone_at_once():
    split = global_time_split(_tiny_log(), valid_start=0.5, test_start=0.75)
    pairs = split.pairs
    t_valid, t_test = split.protocol.params["valid_start"], split.protocol.params["test_start"]
    assert (pairs.loc[pairs["part"] == "train", "timestamp"] < t_valid).all()
    assert (pairs.loc[pairs["part"] == "test", "timestamp"] >= t_test).all()
    dated = global_time_split(_tiny_log(), valid_start="2020-09-13T12:30:00Z", test_start="2020-09-13T14:00:00Z")
    assert dated.protocol.params["test_start"] == 1_600_005_600


def test_user_ratio_split_validates_arguments():
    log = _tiny_log()
    with pytest.raises(ValueError, match="ratios"):
        user_ratio_split(log, (0.0, 0.5, 0.5))
    with pytest.raises(ValueError, match="order"):
        user_ratio_split(log, order="sideways")


def test_given_split_keeps_the_given_parts():
    log = _tiny_log()
    part = np.where(log.interactions["item_id"].to_numpy() >= 8, "test", "train")
    split = given_split(log, part, name="given-test")
    assert split.protocol == Protocol("given-test", "given", split.protocol.params, None)
    assert (split.log.interactions["part"].to_numpy() == part).all()
    assert set(split.positive_pairs("test")["item_id"]) <= {8, 9}
    with pytest.raises(ValueError, match="part must have shape"):
        given_split(log, part[:-1], name="x")


def test_protocol_round_trips_through_dict(synthetic_log):
    protocol = split_log(synthetic_log, "cold-4").protocol
    assert Protocol.from_dict(protocol.to_dict()) == Protocol(
        protocol.name, protocol.method, protocol.to_dict()["params"], protocol.seed
    )


def test_fold_validation_moves_valid_into_train_and_says_so():
    from interestgraph.data import generate_synthetic
    from interestgraph.data.protocols import split_log

    split = split_log(generate_synthetic(n_users=50, n_items=60, n_interactions=1500, seed=1).log, "tl-4", seed=0)
    folded = split.fold_validation()
    train, valid, test = (split.positive_pairs(p) for p in ("train", "valid", "test"))
    assert len(folded.positive_pairs("train")) == len(train) + len(valid) and len(folded.positive_pairs("valid")) == 0
    assert folded.positive_pairs("test").equals(test)
    assert folded.protocol.params["validation_folded"] is True and "validation_folded=True" in folded.describe()
    assert list(folded.candidate_items) == list(split.candidate_items)
    with pytest.raises(ValueError, match="no validation part"):
        folded.fold_validation()
