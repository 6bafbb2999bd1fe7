"""MovieLens (GroupLens) in its three on-disk layouts.

* ml-latest-small / ml-latest / ml-25m / ml-20m: ``ratings.csv``
  (userId,movieId,rating,timestamp), ``movies.csv`` (movieId,title,genres with
  ``|``) and ``tags.csv`` (userId,movieId,tag,timestamp), UTF-8.
* ml-100k: ``u.data`` (tab-separated user, item, rating, timestamp) and
  ``u.item`` (``|``-separated, Latin-1: id, title, release date, video release
  date, IMDb URL, then 19 genre flags named by ``u.genre``).
* ml-1m: ``ratings.dat`` and ``movies.dat`` with ``::`` separators, Latin-1.

Ratings become ``rating`` events (value = stars); a rating off the layout's scale (latest: 0.5 to 5 in halves;
100k and 1m: whole stars 1 to 5) is refused with a DataError naming the file and line. User-applied tags become
``tag`` events whose ``text`` is the tag (weight 0 by default: side data that
travels with its (user, item) pair in a split). Genres are the list-valued
interest field ``genres``; ``(no genres listed)`` / ``unknown`` become an
empty list.

The MovieLens licence (GroupLens, research use, no redistribution without the
same terms) is in each dataset's README; interestgraph never ships the data.
"""

from __future__ import annotations

import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from ...errors import DataError
from ..readers import read_table
from ..schema import InteractionLog, OnDuplicates, OnMissingItems

NO_GENRE = {"(no genres listed)", "unknown"}
ML100K_GENRES = (
    "unknown",
    "Action",
    "Adventure",
    "Animation",
    "Children's",
    "Comedy",
    "Crime",
    "Documentary",
    "Drama",
    "Fantasy",
    "Film-Noir",
    "Horror",
    "Musical",
    "Mystery",
    "Romance",
    "Sci-Fi",
    "Thriller",
    "War",
    "Western",
)


def detect_movielens_layout(directory: str | os.PathLike) -> str:
    """``"latest"``, ``"100k"`` or ``"1m"`` from the files present in ``directory``."""
    directory = Path(directory)
    if (directory / "ratings.csv").is_file():
        return "latest"
    if (directory / "u.data").is_file():
        return "100k"
    if (directory / "ratings.dat").is_file():
        return "1m"
    if not directory.is_dir():
        raise DataError(f"{directory}: no such directory")
    raise DataError(f"{directory}: not a MovieLens directory (expected ratings.csv, u.data or ratings.dat)")


def _genres(cells: pd.Series) -> list[list[str]]:
    return [[g for g in str(cell).split("|") if g and g not in NO_GENRE] if pd.notna(cell) else [] for cell in cells]


def _read_raw(path: Path, **options) -> pd.DataFrame:
    """``pd.read_csv`` with failures turned into a DataError that names the file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        return pd.read_csv(path, **options) if "filepath_or_buffer" not in options else pd.read_csv(**options)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        first = " ".join(str(exc).split()) or type(exc).__name__
        raise DataError(f"{path}: cannot read as MovieLens: {first}") from None


def _integers(frame: pd.DataFrame, columns: list[str], path: Path) -> pd.DataFrame:
    """Check that ``columns`` hold integers; DataError naming the file, column and line otherwise."""
    for column in columns:
        numbers = pd.to_numeric(frame[column], errors="coerce")
        bad = np.flatnonzero(numbers.isna().to_numpy() | (numbers != np.round(numbers)).to_numpy())
        if len(bad):
            raise DataError(
                f"{path}: column {column!r} must hold integers; {len(bad)} do not (e.g. {frame[column].iloc[bad[0]]!r} "
                f"on line {bad[0] + 1})"
            )
    return frame


#: each layout's rating scale: lowest, highest, step
RATING_SCALES = {"latest": (0.5, 5.0, 0.5), "100k": (1.0, 5.0, 1.0), "1m": (1.0, 5.0, 1.0)}


def check_ratings(values: pd.Series, path: Path, layout: str, column: str, first_line: int) -> None:
    """Refuse ratings off the layout's scale (:data:`RATING_SCALES`): a DataError naming the file, the column, how
    many and the first one with its line. Cells that are not numbers are left to the log's validation."""
    low, high, step = RATING_SCALES[layout]
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64)
    known = ~np.isnan(numbers)
    with np.errstate(invalid="ignore", over="ignore"):
        steps = numbers / step
        off_step = ~np.isfinite(steps) | (np.abs(steps - np.round(steps)) > 1e-9)
        bad = known & ((numbers < low) | (numbers > high) | off_step)
    if bad.any():
        at = np.flatnonzero(bad)
        raise DataError(
            f"{path}: {column} holds {len(at)} rating(s) off the MovieLens {layout} scale ({low:g} to {high:g} in "
            f"steps of {step:g}), e.g. {numbers[at[0]]:g} on line {at[0] + first_line}"
        )


def _read_double_colon(path: Path, names: list[str]) -> pd.DataFrame:
    """Read a ``::``-separated ml-1m file quickly (the C parser takes one-character separators)."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    text = path.read_bytes().decode("latin-1")
    if "\t" in text:
        raise DataError(f"{path}: unexpected tab characters in a '::'-separated file")
    return _read_raw(
        path,
        filepath_or_buffer=io.StringIO(text.replace("::", "\t")),
        sep="\t",
        header=None,
        names=names,
        quoting=3,
        dtype={n: "str" for n in names if n in ("title", "genres")},
    )


def load_movielens(
    directory: str | os.PathLike,
    *,
    include_tags: bool = True,
    missing_items: OnMissingItems = "drop",
    duplicates: OnDuplicates = "drop",
) -> InteractionLog:
    """Load a MovieLens directory in any of the three layouts (see the module docstring).

    Args:
        directory: the dataset folder (e.g. ``../shared/datasets/ml-latest-small``).
        include_tags: add ``tags.csv`` as ``tag`` events (latest layout only).
        missing_items, duplicates: as in :meth:`InteractionLog.from_frames`.
    """
    directory = Path(directory)
    layout = detect_movielens_layout(directory)
    if layout == "latest":
        ratings, _, _ = read_table(
            directory / "ratings.csv", columns={"user_id": "userId", "item_id": "movieId", "value": "rating"}
        )
        check_ratings(ratings["value"], directory / "ratings.csv", layout, "column 'rating'", 2)
        ratings = ratings.assign(event="rating")
        frames = [ratings[["user_id", "item_id", "timestamp", "event", "value"]]]
        tags_path = directory / "tags.csv"
        if include_tags and tags_path.is_file():
            tags, _, _ = read_table(tags_path, columns={"user_id": "userId", "item_id": "movieId", "text": "tag"})
            frames.append(
                tags.assign(event="tag", value=1.0)[["user_id", "item_id", "timestamp", "event", "value", "text"]]
            )
        movies, _, movies_name = read_table(directory / "movies.csv", columns={"item_id": "movieId"})
        catalog = pd.DataFrame(
            {"item_id": movies["item_id"], "title": movies["title"], "genres": _genres(movies["genres"])}
        )
    elif layout == "100k":
        if not (directory / "u.item").is_file():
            raise DataError(f"{directory / 'u.item'}: no such file")
        ratings = _read_raw(
            directory / "u.data", sep="\t", header=None, names=["user_id", "item_id", "value", "timestamp"]
        )
        check_ratings(ratings["value"], directory / "u.data", layout, "the rating field (3rd)", 1)
        frames = [ratings.assign(event="rating")]
        movies_name = str(directory / "u.item")
        genre_names = list(ML100K_GENRES)
        genre_file = directory / "u.genre"
        if genre_file.is_file():
            listed = _read_raw(genre_file, sep="|", header=None, names=["name", "index"], encoding="latin-1").dropna()
            genre_names = listed.sort_values("index")["name"].tolist()
        columns = [
            "item_id",
            "title",
            "release_date",
            "video_release_date",
            "imdb_url",
            *[f"g{i}" for i in range(len(genre_names))],
        ]
        movies = _read_raw(directory / "u.item", sep="|", header=None, names=columns, encoding="latin-1", quoting=3)
        _integers(movies.fillna(dict.fromkeys(columns[5:], 0)), columns[5:], directory / "u.item")
        flags = movies[[f"g{i}" for i in range(len(genre_names))]].fillna(0).to_numpy(dtype=np.int64).astype(bool)
        genre_array = np.array(genre_names, dtype=object)
        catalog = pd.DataFrame(
            {
                "item_id": movies["item_id"],
                "title": movies["title"].fillna(""),
                "genres": [[g for g in genre_array[row] if g not in NO_GENRE] for row in flags],
            }
        )
    else:
        movies_name = str(directory / "movies.dat")
        ratings = _read_double_colon(directory / "ratings.dat", ["user_id", "item_id", "value", "timestamp"])
        check_ratings(ratings["value"], directory / "ratings.dat", layout, "the rating field (3rd)", 1)
        frames = [ratings.assign(event="rating")]
        movies = _read_double_colon(directory / "movies.dat", ["item_id", "title", "genres"])
        catalog = pd.DataFrame(
            {"item_id": movies["item_id"], "title": movies["title"], "genres": _genres(movies["genres"])}
        )

    interactions = pd.concat(frames, ignore_index=True)
    return InteractionLog.from_frames(
        interactions,
        catalog,
        interest_fields=("genres",),
        text_fields=("title",),
        missing_items=missing_items,
        duplicates=duplicates,
        source=f"MovieLens {layout} ({directory})",
        items_source=movies_name,
    )
