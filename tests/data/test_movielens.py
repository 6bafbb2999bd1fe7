"""load_movielens on tiny fixtures in its three layouts, and on the real ml-latest-small (from ../shared)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from interestgraph.data.formats.movielens import ML100K_GENRES, detect_movielens_layout, load_movielens
from interestgraph.data.protocols import split_log
from interestgraph.errors import DataError

SHARED = Path(__file__).resolve().parents[2].parent / "shared" / "datasets" / "ml-latest-small"


# ------------------------------------------------------------------ latest layout


def _write_latest(directory: Path, *, tags: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ratings.csv").write_text(
        "userId,movieId,rating,timestamp\n"
        "1,1,4.0,964982703\n"
        "1,2,3.5,964982704\n"
        "2,1,5.0,964982705\n"
        "2,3,0.5,964982706\n"
        "3,2,4.5,964982707\n",
        encoding="utf-8",
    )
    (directory / "movies.csv").write_text(
        "movieId,title,genres\n"
        "1,Toy Story (1995),Adventure|Animation|Children|Comedy|Fantasy\n"
        '2,"American President, The (1995)",Comedy|Drama|Romance\n'
        "3,Strange Film (2018),(no genres listed)\n"
        '4,"Misérables, Les (1995)",Drama|War\n',
        encoding="utf-8",
    )
    if tags:
        (directory / "tags.csv").write_text(
            "userId,movieId,tag,timestamp\n"
            "2,1,pixar,1445714994\n"
            "2,1,Highly quotable,1445714996\n"
            "3,3,bizarre ünïcode,1445714997\n",
            encoding="utf-8",
        )
    return directory


def test_latest_layout(tmp_path):
    directory = _write_latest(tmp_path / "ml-tiny")
    assert detect_movielens_layout(directory) == "latest"
    log = load_movielens(directory)
    assert log.n_users == 3
    assert log.n_items == 4
    assert len(log) == 8
    assert log.has_timestamps
    assert log.notes == ()
    assert log.interest_fields == ("genres",) and log.text_fields == ("title",)
    inter = log.interactions
    ratings = inter[inter["event"] == "rating"]
    assert len(ratings) == 5
    assert ratings["value"].tolist() == [4.0, 3.5, 5.0, 0.5, 4.5]
    assert ratings["timestamp"].tolist() == [964982703, 964982704, 964982705, 964982706, 964982707]
    assert ratings["text"].isna().all()
    tags = inter[inter["event"] == "tag"]
    assert list(zip(tags["user_id"], tags["item_id"], tags["text"], tags["value"])) == [
        (2, 1, "pixar", 1.0),
        (2, 1, "Highly quotable", 1.0),
        (3, 3, "bizarre ünïcode", 1.0),
    ]
    assert tags["timestamp"].tolist() == [1445714994, 1445714996, 1445714997]
    assert inter["user_id"].dtype == np.int64 and inter["item_id"].dtype == np.int64
    items = log.items
    assert items["item_id"].tolist() == [1, 2, 3, 4]
    assert items["title"].tolist() == [
        "Toy Story (1995)",
        "American President, The (1995)",
        "Strange Film (2018)",
        "Misérables, Les (1995)",
    ]
    assert items["genres"].tolist() == [
        ["Adventure", "Animation", "Children", "Comedy", "Fantasy"],
        ["Comedy", "Drama", "Romance"],
        [],
        ["Drama", "War"],
    ]
    assert log.events == ["rating", "tag"]


def test_latest_layout_without_tags(tmp_path):
    directory = _write_latest(tmp_path / "ml-tiny")
    log = load_movielens(directory, include_tags=False)
    assert log.events == ["rating"]
    assert len(log) == 5
    no_file = load_movielens(_write_latest(tmp_path / "ml-notags", tags=False))
    assert len(no_file) == 5


def test_latest_layout_drops_ratings_of_unknown_movies(tmp_path):
    directory = _write_latest(tmp_path / "ml-tiny")
    with open(directory / "ratings.csv", "a", encoding="utf-8") as handle:
        handle.write("3,99,4.0,964982708\n")
    log = load_movielens(directory)
    assert len(log) == 8
    assert (
        len(log.notes) == 1 and "1 interactions refer to 1 items not in" in log.notes[0] and "e.g. 99" in log.notes[0]
    )
    with pytest.raises(DataError, match=r"1 interactions refer to 1 items not in .*movies\.csv"):
        load_movielens(directory, missing_items="error")


# -------------------------------------------------------------------- 100k layout

TOY_STORY_GENRES = ["Animation", "Children's", "Comedy"]
CAFE_GENRES = ["Comedy", "Drama", "Romance"]


def _flags(genres: list[str]) -> str:
    return "|".join("1" if g in genres else "0" for g in ML100K_GENRES)


def _write_100k(directory: Path, *, genre_file: bool = True) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "u.data").write_text(
        "1\t1\t5\t874965758\n1\t2\t3\t876893171\n2\t1\t4\t878542960\n3\t2\t1\t876893119\n3\t3\t2\t876893120\n"
    )
    lines = [
        f"1|Toy Story (1995)|01-Jan-1995||http://us.imdb.com/M/title-exact?Toy%20Story%20(1995)|{_flags(TOY_STORY_GENRES)}",
        f"2|Café au lait (1994)|01-Jan-1994||http://us.imdb.com/M/title-exact?Caf%E9%20au%20lait%20(1994)|{_flags(CAFE_GENRES)}",
        f"3|unknown||||{_flags(['unknown'])}",
        f'4|Öst & "Quoted" (1996)|01-Jan-1996||http://x|{_flags(["Western"])}',
    ]
    (directory / "u.item").write_bytes(("\n".join(lines) + "\n").encode("latin-1"))
    if genre_file:
        (directory / "u.genre").write_bytes(
            ("".join(f"{g}|{i}\n" for i, g in enumerate(ML100K_GENRES)) + "\n").encode("latin-1")
        )
    return directory


@pytest.mark.parametrize("genre_file", [True, False], ids=["u.genre", "built-in-genres"])
def test_100k_layout(tmp_path, genre_file):
    directory = _write_100k(tmp_path / "ml-100k", genre_file=genre_file)
    assert detect_movielens_layout(directory) == "100k"
    log = load_movielens(directory)
    assert len(ML100K_GENRES) == 19
    assert log.n_users == 3
    assert log.n_items == 4
    assert len(log) == 5
    assert log.events == ["rating"]
    assert log.has_timestamps
    inter = log.interactions
    assert inter["value"].tolist() == [5.0, 3.0, 4.0, 1.0, 2.0]
    assert inter["timestamp"].tolist() == [874965758, 876893171, 878542960, 876893119, 876893120]
    assert log.items["title"].tolist() == [
        "Toy Story (1995)",
        "Café au lait (1994)",
        "unknown",
        'Öst & "Quoted" (1996)',
    ]
    assert log.items["genres"].tolist() == [TOY_STORY_GENRES, CAFE_GENRES, [], ["Western"]]


def test_100k_needs_u_item(tmp_path):
    directory = _write_100k(tmp_path / "ml-100k")
    (directory / "u.item").unlink()
    with pytest.raises(DataError, match=r"u\.item: no such file"):
        load_movielens(directory)


# ---------------------------------------------------------------------- 1m layout


def _write_1m(directory: Path) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "ratings.dat").write_bytes(
        b"1::1193::5::978300760\n1::661::3::978302109\n2::1193::4::978298413\n2::3000::5::978299000\n"
    )
    movies = (
        "1193::One Flew Over the Cuckoo's Nest (1975)::Drama\n"
        "661::James and the Giant Peach (1996)::Animation|Children's|Musical\n"
        "3000::Café au Lait (Métisse) (1993)::Comedy\n"
        '42::Star Wars: Episode IV - "A New Hope" (1977)::Action|Sci-Fi\n'
    )
    (directory / "movies.dat").write_bytes(movies.encode("latin-1"))
    return directory


def test_1m_layout(tmp_path):
    directory = _write_1m(tmp_path / "ml-1m")
    assert detect_movielens_layout(directory) == "1m"
    log = load_movielens(directory)
    assert log.n_users == 2
    assert log.n_items == 4
    assert len(log) == 4
    assert log.events == ["rating"]
    inter = log.interactions
    assert list(zip(inter["user_id"], inter["item_id"], inter["value"], inter["timestamp"])) == [
        (1, 1193, 5.0, 978300760),
        (1, 661, 3.0, 978302109),
        (2, 1193, 4.0, 978298413),
        (2, 3000, 5.0, 978299000),
    ]
    items = log.items
    assert items["item_id"].tolist() == [42, 661, 1193, 3000]
    assert items["title"].tolist() == [
        'Star Wars: Episode IV - "A New Hope" (1977)',
        "James and the Giant Peach (1996)",
        "One Flew Over the Cuckoo's Nest (1975)",
        "Café au Lait (Métisse) (1993)",
    ]
    assert items["genres"].tolist() == [
        ["Action", "Sci-Fi"],
        ["Animation", "Children's", "Musical"],
        ["Drama"],
        ["Comedy"],
    ]


def test_1m_needs_movies_dat(tmp_path):
    directory = _write_1m(tmp_path / "ml-1m")
    (directory / "movies.dat").unlink()
    with pytest.raises(DataError, match=r"movies\.dat: no such file"):
        load_movielens(directory)


# ----------------------------------------------------------------- layout errors


def test_not_a_movielens_directory(tmp_path):
    with pytest.raises(
        DataError, match=r"not a MovieLens directory \(expected ratings\.csv, u\.data or ratings\.dat\)"
    ):
        load_movielens(tmp_path)
    with pytest.raises(DataError, match=r"nowhere: no such directory"):
        load_movielens(tmp_path / "nowhere")


# ------------------------------------------------------------- real ml-latest-small


@pytest.fixture(scope="module")
def real_dir() -> Path:
    if not (SHARED / "ratings.csv").is_file():
        pytest.skip(
            f"{SHARED} not present (MovieLens ml-latest-small is read from ../shared, never copied into the repo)"
        )
    return SHARED


@pytest.fixture(scope="module")
def real_log(real_dir):
    return load_movielens(real_dir)


def test_real_ml_latest_small_counts(real_dir, real_log):
    log = real_log
    # independent counts with plain pandas
    ratings = pd.read_csv(real_dir / "ratings.csv")
    tags = pd.read_csv(real_dir / "tags.csv")
    movies = pd.read_csv(real_dir / "movies.csv")
    assert (len(ratings), len(tags), len(movies), ratings["userId"].nunique()) == (100_836, 3_683, 9_742, 610)

    assert log.n_users == 610
    assert log.n_items == 9_742
    counts = log.interactions["event"].value_counts().to_dict()
    assert counts == {"rating": 100_836, "tag": 3_683}
    assert len(log) == 104_519
    assert log.has_timestamps
    assert log.notes == ()
    assert log.interactions["text"].notna().sum() == 3_683

    all_genres = set(movies["genres"].str.split("|").explode())
    assert len(all_genres) == 20 and "(no genres listed)" in all_genres
    genres = set(log.items["genres"].explode().dropna())
    assert genres == all_genres - {"(no genres listed)"}
    assert len(genres) == 19
    assert int((log.items["genres"].map(len) == 0).sum()) == int((movies["genres"] == "(no genres listed)").sum()) == 34

    titles = dict(zip(log.items["item_id"], log.items["title"]))
    assert titles[1] == "Toy Story (1995)"
    assert titles[73] == "Misérables, Les (1995)"
    assert titles[293] == "Léon: The Professional (a.k.a. The Professional) (Léon) (1994)"


def test_real_ml_latest_small_rs4_split(real_dir, real_log):
    ratings = pd.read_csv(real_dir / "ratings.csv")
    positives = ratings.loc[ratings["rating"] >= 4, ["userId", "movieId"]].drop_duplicates()
    per_user = positives.groupby("userId").size()
    kept_users = per_user.index[per_user >= 5]
    expected_pairs = positives[positives["userId"].isin(kept_users)]
    assert len(kept_users) == 603
    assert len(expected_pairs) == 48_562

    split = split_log(real_log, "rs-4")
    pairs = split.pairs
    assert len(pairs) == 48_562
    assert sum(len(split.positive_pairs(p)) for p in ("train", "valid", "test")) == 48_562
    train = split.train
    assert train.loc[train["positive"], "user_id"].nunique() == 603
    assert split.log.n_users == 603
    got = set(zip(pairs["user_id"], pairs["item_id"]))
    assert got == set(zip(expected_pairs["userId"], expected_pairs["movieId"]))
    assert not pairs.duplicated(["user_id", "item_id"]).any()
