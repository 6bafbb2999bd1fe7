"""Defects found in review, each pinned by a test."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from interestgraph.cli import main
from interestgraph.data import InteractionLog, SyntheticConfig, given_split, read_log
from interestgraph.data.formats.movielens import load_movielens
from interestgraph.errors import DataError


def test_mapping_onto_an_existing_column_is_a_data_error(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("user_id,item_id,sku\nu1,i1,s1\n")
    with pytest.raises(DataError, match="'item_id' is mapped from 'sku', but the table also has a column 'item_id'"):
        read_log(path, columns={"item_id": "sku"})
    assert main(["inspect", str(path), "--format", "csv", "--map", "item_id=sku"]) == 1


def test_duplicate_column_names_are_a_data_error():
    frame = pd.DataFrame([["u", "i", "j"]], columns=["user_id", "item_id", "item_id"])
    with pytest.raises(DataError, match="'item_id' appear more than once"):
        InteractionLog.from_frames(frame)


def test_malformed_movielens_100k_is_a_data_error_naming_the_file(tmp_path, capsys):
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n1\t2\t3\t881250949\t99\n")
    (tmp_path / "u.item").write_bytes(b"1|Toy Story (1995)|01-Jan-1995||http://x|" + b"|".join([b"0"] * 19) + b"\n")
    with pytest.raises(DataError, match=r"u\.data: cannot read as MovieLens"):
        load_movielens(tmp_path)
    assert main(["inspect", str(tmp_path), "--format", "movielens"]) == 1
    assert "u.data" in capsys.readouterr().err
    (tmp_path / "u.data").write_text("1\t1\t5\t881250949\n")
    (tmp_path / "u.item").write_bytes(
        b"1|Toy Story (1995)|01-Jan-1995||http://x|" + b"|".join([b"x"] + [b"0"] * 18) + b"\n"
    )
    with pytest.raises(DataError, match=r"u\.item: column 'g0' must hold integers"):
        load_movielens(tmp_path)


def test_interest_and_text_fields_must_not_overlap():
    items = pd.DataFrame({"item_id": [1], "g": [["a", "b"]]})
    frame = pd.DataFrame({"user_id": [1], "item_id": [1]})
    with pytest.raises(ValueError, match="overlap on \\['g'\\]"):
        InteractionLog.from_frames(frame, items, interest_fields=("g",), text_fields=("g",))
    with pytest.raises(ValueError, match="text_fields must not include 'item_id'"):
        InteractionLog.from_frames(frame, items, interest_fields=("g",), text_fields=("item_id",))


def test_given_split_refuses_a_pair_in_two_parts():
    log = InteractionLog.from_frames(
        pd.DataFrame({"user_id": ["u", "u", "u"], "item_id": ["a", "a", "b"], "timestamp": [1, 2, 3]})
    )
    with pytest.raises(DataError, match="1 \\(user, item\\) pairs have positive events in more than one part"):
        given_split(log, np.array(["train", "test", "train"]), name="bad")


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("min_events_per_user", 0, "min_events_per_user must be >= 1"),
        ("activity_sigma", -1.0, "activity_sigma must be >= 0"),
        ("start", "soon", "start must be an ISO date"),
        ("days", 100_000, "reaches into the future"),
        ("domains", (), "domains must name at least one"),
    ],
)
def test_generator_config_gaps(field, value, message):
    with pytest.raises(ValueError, match=message):
        SyntheticConfig(**{field: value})


def test_id_cells_bool_and_mixed_object():
    with pytest.raises(DataError, match="true/false values"):
        InteractionLog.from_frames(pd.DataFrame({"user_id": [True, False], "item_id": [1, 2]}))
    mixed = pd.Series([1, "1", 1.0, 7], dtype=object)
    log = InteractionLog.from_frames(pd.DataFrame({"user_id": mixed, "item_id": [1, 2, 3, 4]}))
    assert log.interactions["user_id"].tolist() == [1, 1, 1, 7] and log.n_users == 2


def test_cli_source_with_synthetic_and_negative_seed(tmp_path, capsys):
    assert main(["inspect", str(tmp_path), "--format", "synthetic"]) == 2
    assert "reads no SOURCE" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "--format", "synthetic", "--split-seed", "-1"])
    assert exit_info.value.code == 2
    assert "--split-seed" in capsys.readouterr().err


def test_failed_demo_writes_nothing(tmp_path):
    assert main(["demo", "--out", str(tmp_path / "d"), "--n-users", "3", "--n-items", "3", "--n-events", "24"]) == 1
    assert not (tmp_path / "d").exists()
