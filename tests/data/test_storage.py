"""Dataset directories: exact round trip, extra tables, refusal of damaged files."""

from __future__ import annotations

import pandas as pd
import pytest

from interestgraph.data import generate_synthetic, load_dataset, save_dataset, split_log
from interestgraph.data.storage import load_table
from interestgraph.errors import ArtifactError


@pytest.fixture(scope="module")
def data():
    return generate_synthetic(n_users=60, n_items=90, n_interactions=1_500, seed=2)


def test_round_trip_is_exact(tmp_path, data):
    path = save_dataset(data.log, tmp_path / "ds", tables={"truth_user_interests": data.truth.user_interests})
    back = load_dataset(path)
    pd.testing.assert_frame_equal(back.interactions, data.log.interactions)
    pd.testing.assert_frame_equal(back.items, data.log.items)
    assert back.interest_fields == data.log.interest_fields
    assert back.text_fields == data.log.text_fields
    assert back.has_timestamps and back.source == data.log.source
    assert isinstance(back.items["tags"].iloc[0], list)
    pd.testing.assert_frame_equal(load_table(path, "truth_user_interests"), data.truth.user_interests)
    with pytest.raises(ArtifactError, match="no table 'nope'"):
        load_table(path, "nope")


def test_split_columns_survive(tmp_path, data):
    split = split_log(data.log, "rs-4")
    back = load_dataset(save_dataset(split.log, tmp_path / "split"))
    pd.testing.assert_frame_equal(back.interactions, split.log.interactions)


def test_damaged_dataset_is_refused(tmp_path, data):
    path = save_dataset(data.log, tmp_path / "ds")
    with open(path / "items.parquet", "r+b") as handle:
        handle.seek(10)
        handle.write(b"\x00\x01")
    with pytest.raises(ArtifactError, match="items.parquet"):
        load_dataset(path)


def test_reserved_table_names(tmp_path, data):
    with pytest.raises(ValueError, match="must not be named"):
        save_dataset(data.log, tmp_path / "ds", tables={"items": data.log.items})
    assert not (tmp_path / "ds").exists()
