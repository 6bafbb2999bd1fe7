"""LightGCN benchmark text format: tiny train.txt / test.txt fixtures written per test."""

from __future__ import annotations

import numpy as np
import pytest

from interestgraph.data.formats.lightgcn import load_lightgcn, read_lightgcn_file
from interestgraph.errors import DataError

# user 0: 8 train items, user 1: 2, user 2: 1, user 3: none (a bare user line); a blank line inside
TRAIN = "0 0 1 2 3 4 5 6 7\n1 1 2\n\n2 4\n3\n"
# item 8 and 9 appear only in test
TEST = "0 8\n1 3 9\n2 0\n"


def write_dataset(directory, train=TRAIN, test=TEST):
    directory.mkdir(parents=True, exist_ok=True)
    if train is not None:
        (directory / "train.txt").write_text(train)
    if test is not None:
        (directory / "test.txt").write_text(test)
    (directory / "item_list.txt").write_text("org_id remap_id\nabc 0\n")  # ignored
    return directory


def pair_set(frame):
    return set(zip(frame["user_id"].tolist(), frame["item_id"].tolist()))


def test_read_file_pairs_and_dtypes(tmp_path):
    path = tmp_path / "train.txt"
    path.write_text(TRAIN)
    pairs = read_lightgcn_file(path)
    assert list(pairs.columns) == ["user_id", "item_id"]
    assert pairs["user_id"].dtype == np.int64 and pairs["item_id"].dtype == np.int64
    assert pairs["user_id"].tolist() == [0] * 8 + [1, 1, 2]
    assert pairs["item_id"].tolist() == [0, 1, 2, 3, 4, 5, 6, 7, 1, 2, 4]


def test_read_file_crlf_tabs_big_ids_and_no_trailing_newline(tmp_path):
    path = tmp_path / "x.txt"
    path.write_bytes(b"10 123456789012 7\r\n11\t0  5 \r\n12 3")
    pairs = read_lightgcn_file(path)
    assert pairs["user_id"].tolist() == [10, 10, 11, 11, 12]
    assert pairs["item_id"].tolist() == [123456789012, 7, 0, 5, 3]


def test_read_empty_file(tmp_path):
    path = tmp_path / "empty.txt"
    path.write_text("\n\n")
    pairs = read_lightgcn_file(path)
    assert len(pairs) == 0 and pairs["user_id"].dtype == np.int64


def test_load_given_split(tmp_path):
    directory = write_dataset(tmp_path / "gowalla")
    split = load_lightgcn(directory)
    log = split.log
    assert len(log) == 15
    assert not log.has_timestamps
    assert (log.interactions["timestamp"] == 0).all()
    assert log.n_users == 3  # user 3 has no items
    assert log.n_items == 10
    assert log.interactions["user_id"].dtype == np.int64 and log.interactions["item_id"].dtype == np.int64
    assert log.interactions["event"].unique().tolist() == ["interaction"]
    assert (log.interactions["value"] == 1.0).all()
    assert len(split.positive_pairs("train")) == 11
    assert len(split.positive_pairs("valid")) == 0
    assert len(split.positive_pairs("test")) == 4
    assert pair_set(split.positive_pairs("test")) == {(0, 8), (1, 3), (1, 9), (2, 0)}
    assert split.candidate_items.tolist() == [0, 1, 2, 3, 4, 5, 6, 7]
    assert len(split.cold_items) == 0
    assert split.protocol.name == "lightgcn-given"
    assert split.protocol.method == "given"
    assert split.protocol.params["source"] == str(directory)
    assert split.protocol.params["valid_ratio"] == 0.0
    assert split.protocol.seed is None


def test_valid_ratio_carves_from_train_only(tmp_path):
    directory = write_dataset(tmp_path / "d")
    base = load_lightgcn(directory)
    split = load_lightgcn(directory, valid_ratio=0.25)
    train, valid, test = (split.positive_pairs(p) for p in ("train", "valid", "test"))
    # user 0: 8 * 0.25 = 2; user 1: 2 * 0.25 = 0.5 -> 1 (keeps 1 train pair); user 2: a single pair stays in train
    assert (len(train), len(valid), len(test)) == (8, 3, 4)
    assert valid["user_id"].tolist() == [0, 0, 1]
    assert pair_set(valid) <= pair_set(base.positive_pairs("train"))
    assert pair_set(train) | pair_set(valid) == pair_set(base.positive_pairs("train"))
    assert pair_set(test) == pair_set(base.positive_pairs("test"))
    assert split.protocol.params["valid_ratio"] == 0.25
    assert split.protocol.seed == 2020

    again = load_lightgcn(directory, valid_ratio=0.25)
    assert pair_set(again.positive_pairs("valid")) == pair_set(valid)
    other = load_lightgcn(directory, valid_ratio=0.25, seed=7)
    assert len(other.positive_pairs("valid")) == 3
    assert pair_set(other.positive_pairs("valid")) != pair_set(valid)


@pytest.mark.parametrize("ratio", [1.0, -0.1, 1.5])
def test_valid_ratio_out_of_range(tmp_path, ratio):
    directory = write_dataset(tmp_path / "d")
    with pytest.raises(ValueError, match="valid_ratio"):
        load_lightgcn(directory, valid_ratio=ratio)


def test_train_test_overlap_raises(tmp_path):
    directory = write_dataset(tmp_path / "d", test="0 8 3\n1 3 9 2\n2 0\n")
    with pytest.raises(
        DataError,
        match=r"2 \(user, item\) pairs are in both train.txt and test.txt \(first: user 0, item 3; train.txt line 1, "
        r"test.txt line 1\)",
    ):
        load_lightgcn(directory)


def test_duplicate_pair_within_file_raises(tmp_path):
    directory = write_dataset(tmp_path / "d", train="0 1 2 1\n1 1\n")
    with pytest.raises(
        DataError, match=r"train.txt: 1 duplicate \(user, item\) pairs \(first: user 0, item 1; line 1\)"
    ):
        load_lightgcn(directory)


@pytest.mark.parametrize("token", ["x2", "1.5", "-1", "2,"])
def test_non_integer_token_names_line(tmp_path, token):
    directory = write_dataset(tmp_path / "d", train=f"0 0 1\n1 1 {token}\n2 4\n")
    with pytest.raises(DataError, match=r"train.txt: line 2: ") as info:
        load_lightgcn(directory)
    assert repr(token) in str(info.value)


def test_missing_test_file_raises(tmp_path):
    directory = write_dataset(tmp_path / "d", test=None)
    with pytest.raises(DataError, match="test.txt: no such file"):
        load_lightgcn(directory)


def test_missing_directory_raises(tmp_path):
    with pytest.raises(DataError, match="no such directory"):
        load_lightgcn(tmp_path / "nope")
