"""Issue 27 item 6: ratings off a format's scale. MovieLens defines its scale (latest: 0.5 to 5 in halves; 100k and
1m: whole stars 1 to 5), so a rating off it is a DataError naming the file and line (CLI: exit 1, nothing built); a
generic csv log states no scale, so implausible rating values get a note instead."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from interestgraph.cli import main
from interestgraph.data.formats import load_source
from interestgraph.data.formats.movielens import load_movielens
from interestgraph.errors import DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "ml-latest-small"
MOVIES = "movieId,title,genres\n1,Alpha (1995),Comedy\n2,Beta (1996),Drama\n"


def _latest(directory: Path, rating: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ratings.csv").write_text(
        f"userId,movieId,rating,timestamp\n1,1,4.0,964982703\n1,2,{rating},964982704\n2,1,3.5,964982705\n"
    )
    (directory / "movies.csv").write_text(MOVIES)
    return directory


@pytest.mark.parametrize("rating", ["99", "0", "-1", "5.5", "4.7", "1e300", "inf"])
def test_movielens_latest_refuses_ratings_off_its_scale(tmp_path, rating):
    directory = _latest(tmp_path / "ml", rating)
    with pytest.raises(
        DataError,
        match=r"ratings\.csv: column 'rating' holds 1 rating\(s\) off the MovieLens latest "
        r"scale \(0\.5 to 5 in steps of 0\.5\), e\.g\. .* on line 3",
    ):
        load_movielens(directory)


@pytest.mark.parametrize("layout", ["100k", "1m"])
@pytest.mark.parametrize("rating", ["0", "6", "4.5"])
def test_movielens_100k_and_1m_take_whole_stars(tmp_path, layout, rating):
    directory = tmp_path / layout
    directory.mkdir()
    if layout == "100k":
        (directory / "u.data").write_text(f"1\t1\t4\t881250949\n1\t2\t{rating}\t881250950\n")
        (directory / "u.item").write_text("1|Alpha (1995)|01-Jan-1995||http://x|0|1" + "|0" * 17 + "\n")
        name = "u.data"
    else:
        (directory / "ratings.dat").write_text(f"1::1::4::978300760\n1::2::{rating}::978300761\n")
        (directory / "movies.dat").write_text("1::Alpha (1995)::Comedy\n2::Beta (1996)::Drama\n")
        name = "ratings.dat"
    with pytest.raises(
        DataError,
        match=rf"{name}: the rating field \(3rd\) holds 1 rating\(s\) off the MovieLens "
        rf"{layout} scale \(1 to 5 in steps of 1\), e\.g\. .* on line 2",
    ):
        load_movielens(directory)


def test_cli_build_of_a_movielens_rating_99_is_exit_1_and_writes_nothing(tmp_path, capsys):
    directory = _latest(tmp_path / "ml", "99")
    code = main(
        ["build", str(directory), "--format", "movielens", "--encoder", "lexical", "--out", str(tmp_path / "g"), "-q"]
    )
    err = capsys.readouterr().err
    assert code == 1 and "off the MovieLens latest scale" in err and "line 3" in err, err
    assert not (tmp_path / "g").exists()


def test_a_csv_log_notes_implausible_ratings(tmp_path, caplog):
    path = tmp_path / "events.csv"
    path.write_text("user_id,item_id,event,value\nu1,a,rating,4\nu1,b,rating,99\nu2,a,click,500\nu2,b,rating,3\n")
    with caplog.at_level(logging.WARNING, logger="interestgraph"):
        log = load_source(path, "csv").log
    assert len(log) == 4  # kept: a generic log states no scale
    note = [n for n in log.notes if "rating value" in n]
    assert note == [
        f"{path}: 1 rating value(s) outside 0 to 10 (line 3, e.g. 99); ratings at or above 4 count as "
        "positive interest by default, so check the scale (or rescale the column)"
    ]
    assert note[0] in caplog.text
    plain = tmp_path / "plain.csv"
    plain.write_text("user_id,item_id,event,value\nu1,a,rating,4.5\nu2,a,click,500\n")
    assert not [n for n in load_source(plain, "csv").log.notes if "rating value" in n]


@pytest.mark.skipif(not SHARED.is_dir(), reason="ml-latest-small not in ../shared/datasets")
def test_the_real_ml_latest_small_is_on_its_scale():
    assert len(load_movielens(SHARED, include_tags=False)) == 100_836
